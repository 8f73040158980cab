// hac-bench-e2e: starts hacd and N hac-agents (sim-npu devices) on this machine, then measures
//   1. submit-to-running latency on an idle cluster: jobs submitted one at a time; latency =
//      the attempt's start time (when the agent started the process) - the job's create time
//      (when hacd committed it); both clocks are this host's.
//   2. end-to-end throughput of trivial jobs (`/bin/true`): M jobs in R rounds, each submitted
//      with 8 calls in flight from one completion queue until hacd counts all of them ended
//      (its hac_jobs gauge, polled every 5 ms; a watch stream per job cost hacd and the bench
//      more than some of the jobs did); then every job is checked to have SUCCEEDED,
// beside the raw fork/exec/wait rate of `/bin/true` on the same machine in the same run,
// measured for 1 s before each round and after the last (the cluster idle meanwhile): the
// ratio of all rounds to the mean of all windows, and each round's ratio to the two windows
// around it (median, min, max); and the CPU that hacd and the agents spent per job.
// Prints a table and one JSON line.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "hac/v1/admin.grpc.pb.h"
#include "hac/v1/jobs.grpc.pb.h"
#include "bench/bench_util.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

ABSL_FLAG(int, agents, 4, "node agents");
ABSL_FLAG(int, devices, 4, "sim-npu devices per agent");
ABSL_FLAG(int, latency_jobs, 50, "jobs for the latency measurement");
ABSL_FLAG(int, throughput_jobs, 5000, "jobs for the throughput measurement (about 5 s)");
ABSL_FLAG(int, rounds, 5, "rounds the throughput jobs are split into, a raw fork/exec "
          "measurement before each and after the last");

extern char** environ;

namespace {

using google::protobuf::util::TimeUtil;
using hac::bench::CpuSeconds;
using hac::bench::MetricSample;
using hac::bench::Percentile;

// fork/exec/wait of /bin/true on `workers` threads for `d`.
double ForkExecRate(int workers, absl::Duration d) {
  std::atomic<int64_t> n{0};
  std::vector<std::thread> ts;
  const absl::Time end = absl::Now() + d;
  for (int w = 0; w < workers; ++w) {
    ts.emplace_back([&] {
      char arg0[] = "/bin/true";
      char* argv[] = {arg0, nullptr};
      while (absl::Now() < end) {
        pid_t pid;
        if (posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ) != 0) break;
        int st;
        waitpid(pid, &st, 0);
        n.fetch_add(1);
      }
    });
  }
  for (auto& t : ts) t.join();
  return static_cast<double>(n.load()) / absl::ToDoubleSeconds(d);
}

// Jobs hacd counts as ended (hac_jobs gauge), 0 when /metrics cannot be read.
double EndedJobs(const std::string& metrics) {
  const std::string text = hac::testing::HttpGet(metrics, "/metrics").value_or("");
  double n = 0;
  for (const char* state : {"succeeded", "failed", "cancelled"}) {
    n += MetricSample(text, absl::StrCat("hac_jobs{state=\"", state, "\"}")).value_or(0);
  }
  return n;
}

// Transactions hacd's store has committed so far.
double Commits(const std::string& metrics) {
  return MetricSample(hac::testing::HttpGet(metrics, "/metrics").value_or(""),
                      "hac_store_commit_batches")
      .value_or(0);
}

// CPU seconds used so far by hacd and by all the agents.
struct Cpu {
  double hacd = 0;
  double agents = 0;
};
Cpu CpuOf(const hac::testing::Process& hacd,
          const std::vector<std::unique_ptr<hac::testing::Process>>& agents) {
  Cpu c;
  c.hacd = CpuSeconds(hacd.pid());
  for (const auto& a : agents) c.agents += CpuSeconds(a->pid());
  return c;
}

// /bin/true on one NPU: the program the raw fork/exec loop runs, by the same absolute path (a
// bare `true` would add a PATH search, one failed execve per directory before /bin).
hac::v1::SubmitJobRequest TrivialJob(const std::string& name) {
  hac::v1::SubmitJobRequest req;
  req.mutable_spec()->set_name(name);
  auto* d = req.mutable_spec()->add_devices();
  d->set_device_class("npu");
  d->set_count(1);
  req.mutable_spec()->mutable_command()->add_argv("/bin/true");
  return req;
}

class Client {
 public:
  Client(std::shared_ptr<grpc::Channel> ch, std::string token)
      : stub_(hac::v1::JobService::NewStub(ch)), bearer_("Bearer " + std::move(token)) {}
  std::string Submit(const std::string& name) {
    const hac::v1::SubmitJobRequest req = TrivialJob(name);
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", bearer_);
    hac::v1::SubmitJobResponse resp;
    if (!stub_->SubmitJob(&ctx, req, &resp).ok()) return "";
    return resp.job().id();
  }
  hac::v1::Job Get(const std::string& id) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", bearer_);
    hac::v1::GetJobRequest req;
    req.set_id(id);
    hac::v1::Job job;
    stub_->GetJob(&ctx, req, &job);
    return job;
  }
  // Blocks until the job ends; returns its final state.
  hac::v1::JobState Wait(const std::string& id) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", bearer_);
    hac::v1::WatchJobRequest req;
    req.set_id(id);
    auto reader = stub_->WatchJob(&ctx, req);
    hac::v1::JobEvent ev;
    hac::v1::JobState last = hac::v1::JOB_STATE_UNSPECIFIED;
    while (reader->Read(&ev)) last = ev.job().state();
    reader->Finish();
    return last;
  }

 private:
  std::unique_ptr<hac::v1::JobService::Stub> stub_;
  std::string bearer_;
};

// Each raw fork/exec measurement.
constexpr absl::Duration kForkWindow = absl::Seconds(1);
// Submissions in flight during a round.
constexpr int kInFlight = 8;

// One round: `n` trivial jobs submitted with kInFlight calls in flight, driven from one
// completion queue (as gRPC's own benchmark clients do: a thread per call would take the cores'
// time from what is measured), until hacd counts them all ended. Appends their ids ("" for a
// failed submission) to `ids`; returns how long it took, or a negative duration after 5 minutes.
absl::Duration RunRound(const std::shared_ptr<grpc::Channel>& ch, const std::string& token,
                        const std::string& metrics, int n, std::vector<std::string>& ids) {
  const double ended0 = EndedJobs(metrics);
  const absl::Time t0 = absl::Now();
  auto stub = hac::v1::JobService::NewStub(ch);
  grpc::CompletionQueue cq;
  const hac::v1::SubmitJobRequest req = TrivialJob("tp");
  const std::string bearer = "Bearer " + token;
  struct Call {
    std::unique_ptr<grpc::ClientContext> ctx;
    std::unique_ptr<grpc::ClientAsyncResponseReader<hac::v1::SubmitJobResponse>> rpc;
    hac::v1::SubmitJobResponse resp;
    grpc::Status status;
  };
  std::vector<Call> calls(std::min(kInFlight, n));
  int sent = 0;
  auto send = [&](Call& c) {
    c.ctx = std::make_unique<grpc::ClientContext>();
    c.ctx->AddMetadata("authorization", bearer);
    c.rpc = stub->AsyncSubmitJob(c.ctx.get(), req, &cq);
    c.rpc->Finish(&c.resp, &c.status, &c);
    ++sent;
  };
  for (Call& c : calls) send(c);
  size_t in_flight = calls.size();
  void* tag = nullptr;
  bool ok = false;
  while (in_flight > 0 && cq.Next(&tag, &ok)) {
    auto* c = static_cast<Call*>(tag);
    ids.push_back(ok && c->status.ok() ? c->resp.job().id() : "");
    if (sent < n) {
      send(*c);
    } else {
      --in_flight;
    }
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  const absl::Time give_up = absl::Now() + absl::Minutes(5);
  while (EndedJobs(metrics) - ended0 < n) {
    if (absl::Now() > give_up) return -absl::Seconds(1);
    absl::SleepFor(absl::Milliseconds(5));
  }
  return absl::Now() - t0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_throughput_jobs) < 1) {
    std::fprintf(stderr, "--throughput_jobs must be at least 1\n");
    return 2;
  }
  const int nagents = absl::GetFlag(FLAGS_agents);
  // The machine's own rate is measured with as many workers as cores (below, between rounds).
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  hac::testing::TempDir dir;
  const std::string bin = std::string(HAC_BIN_DIR) + "/bin/";
  auto hacd = hac::testing::Process::Start(
      {bin + "hacd", "--listen=127.0.0.1:0", "--metrics-listen=127.0.0.1:0",
       "--db=" + dir.File("h.db"),
       "--admin-token-file=" + dir.File("admin.token")},
      {}, dir.File("hacd.log"));
  auto ready = hacd->WaitForLine("hacd ready ", absl::Seconds(30));
  if (!ready) return 1;
  std::string addr, metrics;
  for (absl::string_view kv : absl::StrSplit(ready->substr(11), ' ')) {
    if (absl::ConsumePrefix(&kv, "grpc=")) addr = std::string(kv);
    if (absl::ConsumePrefix(&kv, "metrics=")) metrics = std::string(kv);
  }
  std::string admin;
  std::getline(std::ifstream(dir.File("admin.token")), admin);
  auto ch = grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
  auto adm = hac::v1::AdminService::NewStub(ch);
  std::string tenant_token, join_token;
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + admin);
    hac::v1::CreateTenantRequest req;
    req.set_name("bench");
    hac::v1::CreateTenantResponse resp;
    if (!adm->CreateTenant(&ctx, req, &resp).ok()) return 1;
    tenant_token = resp.token();
    grpc::ClientContext ctx2;
    ctx2.AddMetadata("authorization", "Bearer " + admin);
    hac::v1::CreateJoinTokenResponse jt;
    if (!adm->CreateJoinToken(&ctx2, hac::v1::CreateJoinTokenRequest(), &jt).ok()) return 1;
    join_token = jt.token();
    std::ofstream(dir.File("join.token")) << join_token << "\n";
  }
  std::vector<std::unique_ptr<hac::testing::Process>> agents;
  for (int i = 0; i < nagents; ++i) {
    const std::string node = absl::StrCat("n", i);
    agents.push_back(hac::testing::Process::Start(
        {bin + "hac-agent", "--server=" + addr, "--join-token-file=" + dir.File("join.token"),
         "--node=" + node, "--pool=bench",
         absl::StrCat("--device=sim-npu:", absl::GetFlag(FLAGS_devices)),
         "--state-dir=" + dir.File(node)},
        {}, dir.File(node + ".log")));
    if (!agents.back()->WaitForLine("hac-agent ready", absl::Seconds(30))) return 1;
  }
  Client client(ch, tenant_token);

  // 1. Latency on an idle cluster.
  std::vector<double> lat;
  for (int i = 0; i < absl::GetFlag(FLAGS_latency_jobs); ++i) {
    const std::string id = client.Submit("lat");
    if (id.empty() || client.Wait(id) != hac::v1::JOB_STATE_SUCCEEDED) return 1;
    hac::v1::Job j = client.Get(id);
    if (j.attempts_size() == 0) return 1;
    const int64_t us = TimeUtil::TimestampToMicroseconds(j.attempts(0).start_time()) -
                       TimeUtil::TimestampToMicroseconds(j.create_time());
    lat.push_back(static_cast<double>(us) / 1000.0);
  }

  // 2. Throughput of trivial jobs, in rounds with the machine's own rate measured between them
  // (with the cluster idle): this machine's speed drifts by a quarter within a minute, so each
  // round is compared with the rate measured just before and just after it.
  const int m = absl::GetFlag(FLAGS_throughput_jobs);
  const int rounds = std::clamp(absl::GetFlag(FLAGS_rounds), 1, m);
  const double commits0 = Commits(metrics);
  const Cpu cpu0 = CpuOf(*hacd, agents);
  std::vector<std::string> ids;
  std::vector<double> forks = {ForkExecRate(cores, kForkWindow)};
  std::vector<double> ratios;
  double secs = 0;
  for (int r = 0; r < rounds; ++r) {
    const int n = m / rounds + (r < m % rounds ? 1 : 0);
    const absl::Duration took = RunRound(ch, tenant_token, metrics, n, ids);
    if (took < absl::ZeroDuration()) return 1;
    secs += absl::ToDoubleSeconds(took);
    forks.push_back(ForkExecRate(cores, kForkWindow));
    ratios.push_back(n / absl::ToDoubleSeconds(took) / ((forks[r] + forks[r + 1]) / 2));
  }
  const double rate = m / secs;
  const Cpu cpu1 = CpuOf(*hacd, agents);
  const double commits = Commits(metrics) - commits0;
  int failed = 0;
  for (const std::string& id : ids) {
    if (id.empty() || client.Get(id).state() != hac::v1::JOB_STATE_SUCCEEDED) ++failed;
  }
  for (auto& a : agents) a->Signal(SIGTERM);
  for (auto& a : agents) a->Wait(absl::Seconds(30));
  hacd->Signal(SIGTERM);
  hacd->Wait(absl::Seconds(30));

  double fork_rate = 0;
  for (double f : forks) fork_rate += f / static_cast<double>(forks.size());
  const double ratio_median = Percentile(ratios, 0.5);
  const double ratio_min = *std::min_element(ratios.begin(), ratios.end());
  const double ratio_max = *std::max_element(ratios.begin(), ratios.end());

  const double p50 = Percentile(lat, 0.5), p99 = Percentile(lat, 0.99);
  std::printf("hac-bench-e2e: hacd + %d hac-agents (%d sim-npu each), %d cores\n", nagents,
              absl::GetFlag(FLAGS_devices), cores);
  std::printf("  submit-to-running p50        %8.2f ms   (target < 20 ms)\n", p50);
  std::printf("  submit-to-running p99        %8.2f ms\n", p99);
  std::printf("  trivial jobs end to end      %8.0f jobs/s (%d jobs, %.2f s, %d failed)\n", rate,
              m, secs, failed);
  std::printf("  hacd CPU per job             %8.0f us\n", (cpu1.hacd - cpu0.hacd) / m * 1e6);
  std::printf("  agents' CPU per job          %8.0f us   (without the jobs' own processes)\n",
              (cpu1.agents - cpu0.agents) / m * 1e6);
  std::printf("  store commits per job        %8.2f\n", commits / m);
  std::printf("  raw fork/exec/wait of true   %8.0f /s    (%d workers; %zu windows of %.0f s, "
              "%.0f-%.0f)\n",
              fork_rate, cores, forks.size(), absl::ToDoubleSeconds(kForkWindow),
              *std::min_element(forks.begin(), forks.end()),
              *std::max_element(forks.begin(), forks.end()));
  std::printf("  end to end / raw             %8.1f %%     (target >= 30%%; all %d rounds)\n",
              100.0 * rate / fork_rate, rounds);
  std::printf("  rounds against their windows %8.1f %%     median (%.1f-%.1f %%)\n",
              100.0 * ratio_median, 100.0 * ratio_min, 100.0 * ratio_max);
  std::printf(
      "{\"bench\":\"e2e\",\"agents\":%d,\"latency_p50_ms\":%.3f,\"latency_p99_ms\":%.3f,"
      "\"jobs_per_s\":%.1f,\"fork_exec_per_s\":%.1f,\"ratio\":%.3f,\"ratio_median\":%.3f,"
      "\"ratio_min\":%.3f,\"ratio_max\":%.3f,\"hacd_cpu_us\":%.0f,"
      "\"agents_cpu_us\":%.0f,\"commits_per_job\":%.2f,\"failed\":%d}\n",
      nagents, p50, p99, rate, fork_rate, rate / fork_rate, ratio_median, ratio_min, ratio_max,
      (cpu1.hacd - cpu0.hacd) / m * 1e6, (cpu1.agents - cpu0.agents) / m * 1e6, commits / m,
      failed);
  return failed == 0 ? 0 : 1;
}
