// scheduler_bench: how fast the pure scheduler places single-device jobs on a large cluster.
//
//   scheduler_bench [--nodes 10000] [--devices 8] [--jobs 1000,10000,100000] [--policy composed]
//
// For each queue size N: N one-gpu jobs of 10 tenants are submitted to an idle cluster of
// nodes x devices; then (a) one Schedule() pass places the whole queue: wall time and
// placements/s; (b) on a fresh copy, Schedule(now, 1) is called until the queue is placed: the
// latency of each decision, p50/p99/max. Single thread. Prints a table and one JSON line per N.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "scheduler/scheduler.h"

namespace {

using hac::scheduler::ComposedConfig;
using hac::scheduler::FifoConfig;
using hac::scheduler::JobId;
using hac::scheduler::JobRequest;
using hac::scheduler::NodeId;
using hac::scheduler::NodeSpec;
using hac::scheduler::NodeState;
using hac::scheduler::Scheduler;
using hac::scheduler::SchedulerConfig;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::unique_ptr<Scheduler> Build(const SchedulerConfig& config, int nodes, int devices, int jobs,
                                 absl::Time now, double* add_nodes_s, double* submit_s) {
  auto s = std::move(Scheduler::Create(config)).value();
  auto t0 = Clock::now();
  for (int n = 0; n < nodes; ++n) {
    NodeSpec spec{NodeId{"node-" + std::to_string(n)}, "pool-a", NodeState::kReady, {}};
    for (int d = 0; d < devices; ++d) spec.devices.push_back({d, "gpu", "h100", 80LL << 30});
    if (!s->AddNode(spec).ok()) std::abort();
  }
  auto t1 = Clock::now();
  for (int j = 0; j < jobs; ++j) {
    JobRequest r;
    char id[32];
    std::snprintf(id, sizeof id, "j-%06d", j);
    r.id = JobId{id};
    r.tenant = "tenant-" + std::to_string(j % 10);
    r.submit_time = now - absl::Seconds(jobs - j);
    r.max_runtime = absl::Hours(1);
    r.alternatives.push_back({"gpu", std::nullopt, 1, 1, 0, 1.0});
    if (!s->Submit(r).ok()) std::abort();
  }
  auto t2 = Clock::now();
  *add_nodes_s = Seconds(t1 - t0);
  *submit_s = Seconds(t2 - t1);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int nodes = 10000, devices = 8;
  std::vector<int> sizes = {1000, 10000, 100000};
  std::string policy = "composed";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--nodes") {
      nodes = std::atoi(value.c_str());
    } else if (flag == "--devices") {
      devices = std::atoi(value.c_str());
    } else if (flag == "--jobs") {
      sizes.clear();
      for (absl::string_view v : absl::StrSplit(value, ',')) {
        int n = 0;
        if (absl::SimpleAtoi(v, &n)) sizes.push_back(n);
      }
    } else if (flag == "--policy") {
      policy = value;
    } else {
      std::fprintf(stderr, "usage: %s [--nodes N] [--devices D] [--jobs a,b,c] [--policy composed|fifo]\n", argv[0]);
      return 2;
    }
  }
  const SchedulerConfig config = policy == "fifo" ? FifoConfig() : ComposedConfig();
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  std::printf("scheduler_bench: %d nodes x %d gpu, policy %s, one thread\n", nodes, devices,
              policy.c_str());
  std::printf("%8s %10s %12s %14s %10s %10s %10s %10s\n", "jobs", "placed", "pass_s",
              "placements/s", "p50_us", "p99_us", "max_us", "submit_s");
  for (int jobs : sizes) {
    double add_s = 0, submit_s = 0;
    auto s = Build(config, nodes, devices, jobs, now, &add_s, &submit_s);
    auto t0 = Clock::now();
    auto decisions = s->Schedule(now);
    double pass_s = Seconds(Clock::now() - t0);
    size_t placed = decisions.size();

    auto s2 = Build(config, nodes, devices, jobs, now, &add_s, &submit_s);
    std::vector<double> lat;
    lat.reserve(placed);
    for (;;) {
      auto a = Clock::now();
      auto d = s2->Schedule(now, 1);
      auto b = Clock::now();
      if (d.empty()) break;
      lat.push_back(std::chrono::duration<double, std::micro>(b - a).count());
    }
    std::sort(lat.begin(), lat.end());
    auto pct = [&](double p) {
      return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, static_cast<size_t>(p * lat.size()))];
    };
    double rate = pass_s > 0 ? placed / pass_s : 0;
    std::printf("%8d %10zu %12.4f %14.0f %10.2f %10.2f %10.2f %10.3f\n", jobs, placed, pass_s, rate,
                pct(0.50), pct(0.99), lat.empty() ? 0.0 : lat.back(), submit_s);
    std::printf(
        "{\"bench\":\"scheduler\",\"policy\":\"%s\",\"nodes\":%d,\"devices_per_node\":%d,"
        "\"jobs\":%d,\"placed\":%zu,\"pass_seconds\":%.6f,\"placements_per_second\":%.0f,"
        "\"decision_p50_us\":%.3f,\"decision_p99_us\":%.3f,\"decision_max_us\":%.3f,"
        "\"add_nodes_seconds\":%.4f,\"submit_seconds\":%.4f}\n",
        policy.c_str(), nodes, devices, jobs, placed, pass_s, rate, pct(0.50), pct(0.99),
        lat.empty() ? 0.0 : lat.back(), add_s, submit_s);
  }
  return 0;
}
