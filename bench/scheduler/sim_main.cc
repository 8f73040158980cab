// hac-sim: replays a job trace on a simulated cluster through hac::scheduler and compares
// scheduling policies side by side.
//
//   hac-sim --trace FILE [--cluster FILE] [--policy NAME]... [-o table|json] [--limit N]
//
// --policy: "fifo" (strict FIFO, first fit: the baseline), "composed" (every policy: priority
// with aging, weighted DRF fair share, quota, best fit, earliest-finish alternatives, backfill,
// preemption) or the path of a scheduler config file (docs/scheduler.md). Default: fifo and
// composed. Without --cluster: 80 nodes x 8 gpu, sized for the Philly trace (see trace.h).
// --limit N replays only the first N jobs by submit time.
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bench/scheduler/simulator.h"
#include "bench/scheduler/trace.h"

namespace {

int Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --trace FILE [--cluster FILE] [--policy fifo|composed|CONFIG]... "
               "[-o table|json] [--limit N]\n",
               argv0);
  return 2;
}

std::string Json(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  std::string trace_path, cluster_path, output = "table";
  std::vector<std::string> policies;
  long limit = -1;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) return Usage(argv[0]);
    std::string value = argv[++i];
    if (flag == "--trace") trace_path = value;
    else if (flag == "--cluster") cluster_path = value;
    else if (flag == "--policy") policies.push_back(value);
    else if (flag == "-o" || flag == "--output") output = value;
    else if (flag == "--limit") limit = std::atol(value.c_str());
    else return Usage(argv[0]);
  }
  if (trace_path.empty() || (output != "table" && output != "json")) return Usage(argv[0]);
  if (policies.empty()) policies = {"fifo", "composed"};

  auto trace = hac::sim::LoadTrace(trace_path);
  if (!trace.ok()) {
    std::fprintf(stderr, "hac-sim: %s\n", std::string(trace.status().message()).c_str());
    return 1;
  }
  if (limit >= 0 && static_cast<size_t>(limit) < trace->size()) trace->resize(limit);
  hac::sim::ClusterSpec cluster = hac::sim::DefaultCluster();
  if (!cluster_path.empty()) {
    auto c = hac::sim::LoadCluster(cluster_path);
    if (!c.ok()) {
      std::fprintf(stderr, "hac-sim: %s\n", std::string(c.status().message()).c_str());
      return 1;
    }
    cluster = *c;
  }
  std::set<std::string> tenants;
  for (const auto& j : *trace) tenants.insert(j.tenant);

  std::vector<hac::sim::SimResult> results;
  for (const std::string& name : policies) {
    hac::scheduler::SchedulerConfig config;
    if (name == "fifo") {
      config = hac::scheduler::FifoConfig();
    } else if (name == "composed") {
      config = hac::scheduler::ComposedConfig();
    } else {
      std::ifstream in(name);
      std::stringstream text;
      text << in.rdbuf();
      auto parsed = hac::scheduler::ParseSchedulerConfig(text.str());
      if (!in || !parsed.ok()) {
        std::fprintf(stderr, "hac-sim: policy %s: %s\n", name.c_str(),
                     in ? std::string(parsed.status().message()).c_str()
                        : "not fifo, composed or a readable config file");
        return 1;
      }
      config = *parsed;
    }
    // DRF class weights: the cluster file's prices; with only gpu the default weight 1.
    for (const auto& [cls, price] : cluster.price) config.price.emplace(cls, price);
    auto r = hac::sim::Simulate(*trace, cluster, name, config);
    if (!r.ok()) {
      std::fprintf(stderr, "hac-sim: %s: %s\n", name.c_str(),
                   std::string(r.status().message()).c_str());
      return 1;
    }
    results.push_back(*r);
  }

  std::string cluster_desc;
  for (const auto& p : cluster.pools) {
    if (!cluster_desc.empty()) cluster_desc += " + ";
    cluster_desc += std::to_string(p.nodes) + " x " + std::to_string(p.devices_per_node) + " " +
                    p.device_class;
  }
  if (output == "json") {
    std::printf("{\"trace\":%s,\"jobs\":%zu,\"tenants\":%zu,\"cluster\":%s,\"devices\":%lld,"
                "\"policies\":[",
                Json(trace_path).c_str(), trace->size(), tenants.size(), Json(cluster_desc).c_str(),
                static_cast<long long>(cluster.Devices()));
    for (size_t i = 0; i < results.size(); ++i) {
      const auto& r = results[i];
      std::printf(
          "%s{\"policy\":%s,\"completed\":%zu,\"never_started\":%zu,\"jct_avg_s\":%.1f,"
          "\"jct_median_s\":%.1f,\"jct_p99_s\":%.1f,\"queue_avg_s\":%.1f,\"queue_median_s\":%.1f,"
          "\"queue_p99_s\":%.1f,\"makespan_s\":%.1f,\"utilization\":%.4f,\"jain\":%.4f,"
          "\"preemptions\":%zu,\"passes\":%zu,\"wall_s\":%.2f}",
          i ? "," : "", Json(r.policy).c_str(), r.completed, r.never_started, r.jct_avg,
          r.jct_median, r.jct_p99, r.queue_avg, r.queue_median, r.queue_p99, r.makespan,
          r.utilization, r.jain, r.preemptions, r.passes, r.wall_seconds);
    }
    std::printf("]}\n");
    return 0;
  }
  std::printf("hac-sim: %s: %zu jobs, %zu tenants; cluster %s (%lld devices)\n",
              trace_path.c_str(), trace->size(), tenants.size(), cluster_desc.c_str(),
              static_cast<long long>(cluster.Devices()));
  auto row = [&](const char* label, auto value) {
    std::printf("%-28s", label);
    for (const auto& r : results) std::printf(" %14s", value(r).c_str());
    std::printf("\n");
  };
  auto fmt = [](const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return std::string(buf);
  };
  using R = hac::sim::SimResult;
  row("policy", [](const R& r) { return r.policy; });
  row("jobs completed", [](const R& r) { return std::to_string(r.completed); });
  row("JCT avg (h)", [&](const R& r) { return fmt("%.2f", r.jct_avg / 3600); });
  row("JCT median (h)", [&](const R& r) { return fmt("%.2f", r.jct_median / 3600); });
  row("JCT p99 (h)", [&](const R& r) { return fmt("%.1f", r.jct_p99 / 3600); });
  row("queueing delay avg (h)", [&](const R& r) { return fmt("%.2f", r.queue_avg / 3600); });
  row("queueing delay median (h)", [&](const R& r) { return fmt("%.3f", r.queue_median / 3600); });
  row("queueing delay p99 (h)", [&](const R& r) { return fmt("%.1f", r.queue_p99 / 3600); });
  row("makespan (days)", [&](const R& r) { return fmt("%.1f", r.makespan / 86400); });
  row("device utilization (%)", [&](const R& r) { return fmt("%.1f", 100 * r.utilization); });
  row("Jain fairness (tenants)", [&](const R& r) { return fmt("%.3f", r.jain); });
  row("preemptions", [](const R& r) { return std::to_string(r.preemptions); });
  row("scheduling passes", [](const R& r) { return std::to_string(r.passes); });
  row("replay wall time (s)", [&](const R& r) { return fmt("%.1f", r.wall_seconds); });
  return 0;
}
