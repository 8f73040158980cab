// hac-bench-ingest: usage ingest through the real path. Starts hacd with a fresh database in a
// temp directory, joins N fake nodes of D sim-npu devices each (speaking NodeService the way
// hac-agent does), fills every device with a one-device job of one tenant, then has every node
// send UsageReports carrying one cumulative counter per (attempt, device) it holds, with at most
// --window reports in flight per node. A report's counters count as ingested when the usage_ack
// with its sequence arrives (hacd acknowledges after the counters are committed to SQLite).
//
// At the end it checks that the ledger holds exactly what was acknowledged: the tenant's
// GetUsage (grouped by job) must sum to the last acknowledged cumulative counters, and exits
// non-zero otherwise. Prints a table and one JSON line.
//
//   hac-bench-ingest [--nodes 16] [--devices 64] [--seconds 10] [--window 1] [--perf FILE]
//
// --perf FILE records hacd with `perf record -g` during the measurement only.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "hac/v1/admin.grpc.pb.h"
#include "hac/v1/billing.grpc.pb.h"
#include "hac/v1/jobs.grpc.pb.h"
#include "hac/v1/nodes.grpc.pb.h"
#include "bench/bench_util.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

ABSL_FLAG(int, nodes, 16, "fake nodes, one session each");
ABSL_FLAG(int, devices, 64, "sim-npu devices per node (each holds one one-device job)");
ABSL_FLAG(int, seconds, 10, "measurement time");
ABSL_FLAG(int, window, 1, "usage reports in flight per node (sent, not yet acknowledged)");
ABSL_FLAG(std::string, hacd, HAC_BIN_DIR "/bin/hacd", "hacd binary to start");
ABSL_FLAG(std::string, perf, "", "when set, `perf record -g` hacd into this file while measuring");

namespace {

using ::google::protobuf::util::TimeUtil;
using Stream = grpc::ClientReaderWriter<hac::v1::AgentMessage, hac::v1::ServerMessage>;

constexpr double kTargetPerSecond = 100'000;

using hac::bench::Percentile;

std::string LoadAverage() {
  std::string s;
  std::getline(std::ifstream("/proc/loadavg"), s);
  std::vector<std::string> f = absl::StrSplit(s, ' ');
  return f.size() >= 3 ? absl::StrCat(f[0], " ", f[1], " ", f[2]) : "?";
}

// User + system CPU seconds of a process, from /proc/<pid>/stat.
double CpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = all.rfind(')');
  if (paren == std::string::npos) return 0;
  std::vector<std::string> f = absl::StrSplit(all.substr(paren + 2), ' ');
  if (f.size() < 13) return 0;
  // After the command: state(0) ... utime(11) stime(12).
  return (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::unique_ptr<grpc::ClientContext> Authed(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

enum class Phase { kSetup, kMeasure, kDrain, kStop };

// One fake node: a registered node with one session. A reader thread takes assignments and
// usage acks; a writer thread sends heartbeats and RUNNING statuses during setup and usage
// reports while measuring; Close() (also run by the destructor) stops both. Shared state is
// guarded by mu_.
class FakeNode {
 public:
  FakeNode(std::shared_ptr<grpc::Channel> channel, int index)
      : index_(index),
        name_(absl::StrFormat("bench-n%03d", index)),
        stub_(hac::v1::NodeService::NewStub(channel)) {}
  ~FakeNode() { Close(); }

  grpc::Status Register(const std::string& join, int devices) {
    hac::v1::RegisterNodeRequest req;
    req.set_name(name_);
    req.set_pool("npu-pool");
    req.set_agent_version("hac-bench-ingest");
    for (int i = 0; i < devices; ++i) {
      hac::v1::Device* d = req.add_devices();
      d->set_index(static_cast<uint32_t>(i));
      d->set_device_class("npu");
      d->set_backend("sim-npu");
      d->set_model("sim-atom");
      d->set_uuid(absl::StrFormat("%08x-0000-4000-8000-%012x", index_, i));
      d->set_memory_bytes(uint64_t{16} << 30);
      d->set_health(hac::v1::DEVICE_HEALTH_HEALTHY);
    }
    hac::v1::RegisterNodeResponse resp;
    auto ctx = Authed(join);
    grpc::Status s = stub_->RegisterNode(ctx.get(), req, &resp);
    token_ = resp.node_token();
    return s;
  }

  // Opens the session, sends the hello, reads the reconcile and starts both threads.
  bool Connect(const std::atomic<Phase>& phase, int window) {
    ctx_ = Authed(token_);
    stream_ = stub_->Session(ctx_.get());
    hac::v1::AgentMessage hello;
    hello.mutable_hello()->set_node(name_);
    hac::v1::ServerMessage m;
    if (!stream_->Write(hello) || !stream_->Read(&m) || !m.has_reconcile()) return false;
    reader_ = std::thread([this] { ReadLoop(); });
    writer_ = std::thread([this, &phase, window] { WriteLoop(phase, window); });
    return true;
  }

  size_t Held() {
    absl::MutexLock lock(&mu_);
    return held_.size();
  }
  bool Drained() {
    absl::MutexLock lock(&mu_);
    return in_flight_.empty() || stream_ended_;
  }
  // Measurement window; acks arriving inside it are counted.
  void SetWindow(absl::Time start, absl::Time end) {
    absl::MutexLock lock(&mu_);
    start_ = start;
    end_ = end;
  }
  void Wake() {
    absl::MutexLock lock(&mu_);
    wake_ = true;
  }

  struct Stats {
    int64_t reports = 0;   // acknowledged inside the window
    int64_t counters = 0;  // their counters
    std::vector<double> latency_ms;
    int64_t unacked = 0;     // still in flight
    int64_t last_acked = 0;  // the last acknowledged cumulative allocated_ms (all counters)
    int64_t counters_per_report = 0;
    int64_t sent = 0;
  };
  Stats TakeStats() {
    absl::MutexLock lock(&mu_);
    Stats s;
    s.reports = acked_reports_;
    s.counters = acked_counters_;
    s.latency_ms = std::move(latency_ms_);
    s.unacked = static_cast<int64_t>(in_flight_.size());
    s.last_acked = last_acked_;
    s.counters_per_report = static_cast<int64_t>(held_.size());
    s.sent = sent_;
    return s;
  }

  // Stops the writer and ends the session.
  void Close() {
    if (stream_ == nullptr) return;
    {
      absl::MutexLock lock(&mu_);
      closing_ = true;
    }
    if (writer_.joinable()) writer_.join();
    stream_->WritesDone();
    ctx_->TryCancel();
    if (reader_.joinable()) reader_.join();
    (void)stream_->Finish();
    stream_.reset();
  }

 private:
  struct Sent {
    absl::Time at;
    int64_t value;
    int64_t counters;
  };

  void ReadLoop() {
    hac::v1::ServerMessage m;
    while (stream_->Read(&m)) {
      const absl::Time now = absl::Now();
      absl::MutexLock lock(&mu_);
      if (m.has_assignment()) {
        for (uint32_t idx : m.assignment().device_indices()) {
          held_.push_back({m.assignment().attempt_id(), idx});
        }
        to_start_.push_back(m.assignment().attempt_id());
      } else if (m.has_usage_ack()) {
        const uint64_t seq = m.usage_ack().sequence();
        while (!in_flight_.empty() && in_flight_.begin()->first <= seq) {
          const Sent& s = in_flight_.begin()->second;
          if (s.at >= start_ && now <= end_) {
            ++acked_reports_;
            acked_counters_ += s.counters;
            latency_ms_.push_back(absl::ToDoubleMilliseconds(now - s.at));
          }
          last_acked_ = std::max(last_acked_, s.value);
          in_flight_.erase(in_flight_.begin());
        }
      }
    }
    absl::MutexLock lock(&mu_);
    stream_ended_ = true;
  }

  void WriteLoop(const std::atomic<Phase>& phase, int window) {
    absl::Time last_heartbeat = absl::InfinitePast();
    hac::v1::AgentMessage report;  // built once, then only values change
    uint64_t sequence = 0;
    int64_t value = 0;
    absl::Time measure_start = absl::InfinitePast();
    for (;;) {
      const Phase p = phase.load();
      if (p == Phase::kStop) return;
      std::vector<std::string> starts;
      {
        absl::MutexLock lock(&mu_);
        if (stream_ended_ || closing_) return;
        starts.swap(to_start_);
      }
      for (const std::string& attempt : starts) {
        hac::v1::AgentMessage m;
        m.mutable_status()->set_attempt_id(attempt);
        m.mutable_status()->set_state(hac::v1::ATTEMPT_STATE_RUNNING);
        *m.mutable_status()->mutable_time() = TimeUtil::GetCurrentTime();
        if (!stream_->Write(m)) return;
      }
      if (p == Phase::kSetup || p == Phase::kDrain) {
        if (absl::Now() - last_heartbeat > absl::Seconds(1)) {
          hac::v1::AgentMessage hb;
          *hb.mutable_heartbeat()->mutable_agent_time() = TimeUtil::GetCurrentTime();
          if (!stream_->Write(hb)) return;
          last_heartbeat = absl::Now();
        }
        absl::MutexLock lock(&mu_);
        auto woken = [this] { return wake_ || closing_ || !to_start_.empty() || stream_ended_; };
        mu_.AwaitWithTimeout(absl::Condition(&woken), absl::Milliseconds(100));
        wake_ = false;
        continue;
      }
      // Measuring: one counter per held (attempt, device), all with the same cumulative value,
      // the milliseconds since this node started reporting (never ahead of wall time since the
      // assignment, so hacd bills all of it), and at least one more than the previous report.
      if (report.usage().counters_size() == 0) {
        absl::MutexLock lock(&mu_);
        for (const auto& [attempt, idx] : held_) {
          hac::v1::UsageCounter* c = report.mutable_usage()->add_counters();
          c->set_attempt_id(attempt);
          c->set_device_index(idx);
        }
        measure_start = absl::Now();
      }
      {
        absl::MutexLock lock(&mu_);
        auto room = [this, window, &phase] {
          return static_cast<int>(in_flight_.size()) < window || stream_ended_ || closing_ ||
                 phase.load() != Phase::kMeasure;
        };
        mu_.AwaitWithTimeout(absl::Condition(&room), absl::Milliseconds(100));
        if (static_cast<int>(in_flight_.size()) >= window || stream_ended_ ||
            phase.load() != Phase::kMeasure) {
          continue;
        }
      }
      value = std::max(value + 1, absl::ToInt64Milliseconds(absl::Now() - measure_start));
      hac::v1::UsageReport* u = report.mutable_usage();
      u->set_sequence(++sequence);
      *u->mutable_time() = TimeUtil::GetCurrentTime();
      for (hac::v1::UsageCounter& c : *u->mutable_counters()) {
        c.set_allocated_ms(value);
        c.set_active_ms(value / 2);
      }
      {
        absl::MutexLock lock(&mu_);
        in_flight_[sequence] = {absl::Now(), value, u->counters_size()};
        ++sent_;
      }
      if (!stream_->Write(report)) return;
    }
  }

  const int index_;
  const std::string name_;
  std::unique_ptr<hac::v1::NodeService::Stub> stub_;
  std::string token_;
  std::unique_ptr<grpc::ClientContext> ctx_;
  std::unique_ptr<Stream> stream_;
  std::thread reader_;
  std::thread writer_;

  absl::Mutex mu_;
  std::vector<std::pair<std::string, uint32_t>> held_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> to_start_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, Sent> in_flight_ ABSL_GUARDED_BY(mu_);
  bool stream_ended_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time start_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  absl::Time end_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t acked_reports_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t acked_counters_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t last_acked_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t sent_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<double> latency_ms_ ABSL_GUARDED_BY(mu_);
};

// Submits one job that cannot be placed (no gpu nodes) to refresh hacd's commit gauges, which
// hacd updates on submissions only, and returns {batches, writes} from /metrics.
std::pair<double, double> CommitGauges(hac::v1::JobService::Stub& jobs, const std::string& token,
                                       const std::string& metrics) {
  hac::v1::SubmitJobRequest req;
  req.mutable_spec()->set_name("gauge-probe");
  auto* d = req.mutable_spec()->add_devices();
  d->set_device_class("gpu");
  d->set_count(1);
  req.mutable_spec()->mutable_command()->add_argv("true");
  hac::v1::SubmitJobResponse resp;
  auto ctx = Authed(token);
  (void)jobs.SubmitJob(ctx.get(), req, &resp);
  const std::string text = hac::testing::HttpGet(metrics, "/metrics").value_or("");
  return {hac::bench::MetricSample(text, "hac_store_commit_batches").value_or(-1),
          hac::bench::MetricSample(text, "hac_store_commit_writes").value_or(-1)};
}

int Fail(const std::string& why) {
  std::fprintf(stderr, "hac-bench-ingest: %s\n", why.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int nnodes = std::max(1, absl::GetFlag(FLAGS_nodes));
  const int ndevices = std::clamp(absl::GetFlag(FLAGS_devices), 1, 64);
  const int window = std::max(1, absl::GetFlag(FLAGS_window));
  const absl::Duration duration = absl::Seconds(std::max(1, absl::GetFlag(FLAGS_seconds)));
  const std::string load_before = LoadAverage();

  hac::testing::TempDir dir;
  auto hacd = hac::testing::Process::Start(
      {absl::GetFlag(FLAGS_hacd), "--listen=127.0.0.1:0", "--metrics-listen=127.0.0.1:0",
       "--db=" + dir.File("bench.db"), "--admin-token-file=" + dir.File("admin.token")},
      {}, dir.File("hacd.log"));
  auto ready = hacd ? hacd->WaitForLine("hacd ready ", absl::Seconds(30)) : std::nullopt;
  if (!ready) return Fail("hacd did not start");
  std::string addr, metrics;
  for (absl::string_view kv : absl::StrSplit(ready->substr(11), ' ')) {
    if (absl::ConsumePrefix(&kv, "grpc=")) addr = std::string(kv);
    if (absl::ConsumePrefix(&kv, "metrics=")) metrics = std::string(kv);
  }
  std::fprintf(stderr, "hac-bench-ingest: hacd pid %d at %s\n", static_cast<int>(hacd->pid()),
               addr.c_str());
  std::string admin;
  std::getline(std::ifstream(dir.File("admin.token")), admin);
  auto channel = grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());

  // A tenant and a join token.
  std::string tenant, join;
  {
    auto stub = hac::v1::AdminService::NewStub(channel);
    hac::v1::CreateTenantRequest treq;
    treq.set_name("bench");
    hac::v1::CreateTenantResponse tresp;
    auto c1 = Authed(admin);
    grpc::Status s = stub->CreateTenant(c1.get(), treq, &tresp);
    if (!s.ok()) return Fail("CreateTenant: " + s.error_message());
    tenant = tresp.token();
    hac::v1::CreateJoinTokenResponse jresp;
    auto c2 = Authed(admin);
    s = stub->CreateJoinToken(c2.get(), hac::v1::CreateJoinTokenRequest(), &jresp);
    if (!s.ok()) return Fail("CreateJoinToken: " + s.error_message());
    join = jresp.token();
  }

  // Nodes join and open their sessions. Each node's streams get their own channel (connection),
  // as separate agents would.
  std::atomic<Phase> phase{Phase::kSetup};
  std::vector<std::unique_ptr<FakeNode>> nodes;
  for (int i = 0; i < nnodes; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("bench.node", i);  // distinct arguments: distinct connections
    auto ch = grpc::CreateCustomChannel(addr, grpc::InsecureChannelCredentials(), args);
    auto n = std::make_unique<FakeNode>(ch, i);
    grpc::Status s = n->Register(join, ndevices);
    if (!s.ok()) return Fail("RegisterNode: " + s.error_message());
    if (!n->Connect(phase, window)) return Fail("session did not open");
    nodes.push_back(std::move(n));
  }

  // Fill every device with a one-device job.
  const absl::Time setup_start = absl::Now();
  auto jobs = hac::v1::JobService::NewStub(channel);
  {
    std::atomic<int> next{0};
    std::atomic<int> errors{0};
    std::vector<std::thread> submitters;
    for (int t = 0; t < 8; ++t) {
      submitters.emplace_back([&] {
        hac::v1::SubmitJobRequest req;
        req.mutable_spec()->set_name("ingest");
        auto* d = req.mutable_spec()->add_devices();
        d->set_device_class("npu");
        d->set_count(1);
        req.mutable_spec()->mutable_command()->add_argv("true");
        while (next.fetch_add(1) < nnodes * ndevices) {
          hac::v1::SubmitJobResponse resp;
          auto ctx = Authed(tenant);
          if (!jobs->SubmitJob(ctx.get(), req, &resp).ok()) errors.fetch_add(1);
        }
      });
    }
    for (auto& t : submitters) t.join();
    if (errors.load() > 0) return Fail(absl::StrCat(errors.load(), " submissions failed"));
  }
  const bool placed = hac::testing::PollUntil(
      [&] {
        for (auto& n : nodes) {
          if (n->Held() < static_cast<size_t>(ndevices)) return false;
        }
        return true;
      },
      absl::Seconds(120));
  if (!placed) return Fail("not every device received an assignment within 120 s");
  const double setup_s = absl::ToDoubleSeconds(absl::Now() - setup_start);
  // Let the RUNNING statuses go out and commit before measuring.
  for (auto& n : nodes) n->Wake();
  absl::SleepFor(absl::Milliseconds(500));

  const auto [batches0, writes0] = CommitGauges(*jobs, tenant, metrics);
  std::unique_ptr<hac::testing::Process> perf;
  if (!absl::GetFlag(FLAGS_perf).empty()) {
    perf = hac::testing::Process::Start({"/usr/bin/perf", "record", "-g", "-o",
                                         absl::GetFlag(FLAGS_perf), "-p",
                                         std::to_string(hacd->pid())},
                                        {}, dir.File("perf.log"));
    absl::SleepFor(absl::Milliseconds(500));
  }
  const double hacd_cpu0 = CpuSeconds(hacd->pid());
  const double self_cpu0 = CpuSeconds(getpid());
  const absl::Time start = absl::Now();
  const absl::Time end = start + duration;
  for (auto& n : nodes) n->SetWindow(start, end);
  phase = Phase::kMeasure;
  absl::SleepFor(end - absl::Now());
  phase = Phase::kDrain;
  const double hacd_cpu = CpuSeconds(hacd->pid()) - hacd_cpu0;
  const double self_cpu = CpuSeconds(getpid()) - self_cpu0;
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  if (perf != nullptr) {
    perf->Signal(SIGINT);
    perf->Wait(absl::Seconds(60));
  }
  const auto [batches1, writes1] = CommitGauges(*jobs, tenant, metrics);
  for (auto& n : nodes) n->Wake();
  const bool drained = hac::testing::PollUntil(
      [&] {
        for (auto& n : nodes) {
          if (!n->Drained()) return false;
        }
        return true;
      },
      absl::Seconds(60));
  const std::string load_after = LoadAverage();

  // What was acknowledged.
  int64_t reports = 0, counters = 0, unacked = 0, sent = 0;
  int64_t expect_alloc = 0, expect_active = 0, per_report = 0;
  std::vector<double> lat;
  for (auto& n : nodes) {
    FakeNode::Stats s = n->TakeStats();
    reports += s.reports;
    counters += s.counters;
    unacked += s.unacked;
    sent += s.sent;
    per_report = std::max(per_report, s.counters_per_report);
    expect_alloc += s.last_acked * s.counters_per_report;
    expect_active += (s.last_acked / 2) * s.counters_per_report;
    lat.insert(lat.end(), s.latency_ms.begin(), s.latency_ms.end());
  }

  // What the ledger holds.
  int64_t ledger_alloc = 0, ledger_active = 0, ledger_jobs = 0;
  {
    auto billing = hac::v1::BillingService::NewStub(channel);
    hac::v1::GetUsageRequest req;
    req.set_group_by(hac::v1::USAGE_GROUPING_JOB);
    *req.mutable_from() = TimeUtil::MillisecondsToTimestamp(
        absl::ToUnixMillis(setup_start - absl::Hours(1)));
    *req.mutable_to() =
        TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(absl::Now() + absl::Hours(1)));
    hac::v1::GetUsageResponse resp;
    auto ctx = Authed(tenant);
    grpc::Status s = billing->GetUsage(ctx.get(), req, &resp);
    if (!s.ok()) return Fail("GetUsage: " + s.error_message());
    for (const hac::v1::UsageRow& r : resp.rows()) {
      ledger_alloc += r.allocated_ms();
      ledger_active += r.active_ms();
      ++ledger_jobs;
    }
  }
  phase = Phase::kStop;
  for (auto& n : nodes) n->Close();
  hacd->Signal(SIGTERM);
  hacd->Wait(absl::Seconds(30));

  const bool ledger_ok = drained && unacked == 0 && ledger_alloc == expect_alloc &&
                         ledger_active == expect_active;
  const double report_rate = static_cast<double>(reports) / elapsed;
  const double counter_rate = static_cast<double>(counters) / elapsed;
  const double p50 = Percentile(lat, 0.50), p99 = Percentile(lat, 0.99);
  const bool gauges = batches0 >= 0 && batches1 >= 0;
  const double batches = gauges ? batches1 - batches0 : -1;
  const double writes = gauges ? writes1 - writes0 : -1;

  std::printf(
      "hac-bench-ingest: %d nodes x %d devices, window %d, %.1f s, hacd with a fresh SQLite db, "
      "ledger interval 60 s\n",
      nnodes, ndevices, window, elapsed);
  std::printf("  %-34s %12.1f s (%d jobs placed)\n", "setup: submit and place", setup_s,
              nnodes * ndevices);
  std::printf("  %-34s %12lld\n", "counters per report", static_cast<long long>(per_report));
  std::printf("  %-34s %12lld\n", "reports acknowledged", static_cast<long long>(reports));
  std::printf("  %-34s %12.0f\n", "reports/s", report_rate);
  std::printf("  %-34s %12.0f   (target >= %.0f)\n", "device-reports acknowledged/s", counter_rate,
              kTargetPerSecond);
  std::printf("  %-34s %12.2f ms\n", "ack latency p50", p50);
  std::printf("  %-34s %12.2f ms\n", "ack latency p99", p99);
  if (gauges) {
    std::printf("  %-34s %12.0f   (%.1f reports per commit)\n", "store commits (transactions)",
                batches, batches > 0 ? static_cast<double>(reports) / batches : 0.0);
    std::printf("  %-34s %12.0f\n", "store writes", writes);
  } else {
    std::printf("  %-34s %12s\n", "store commits", "not in /metrics");
  }
  std::printf("  %-34s %12.2f of %u cores\n", "hacd CPU while measuring (cores)", hacd_cpu / elapsed,
              std::thread::hardware_concurrency());
  std::printf("  %-34s %12.2f\n", "bench CPU while measuring (cores)", self_cpu / elapsed);
  std::printf("  %-34s %12s -> %s\n", "load average (1/5/15 min)", load_before.c_str(),
              load_after.c_str());
  std::printf("  %-34s %12lld ms (%lld jobs)\n", "ledger allocated_ms (GetUsage)",
              static_cast<long long>(ledger_alloc), static_cast<long long>(ledger_jobs));
  std::printf("  %-34s %12lld ms\n", "acknowledged allocated_ms", static_cast<long long>(expect_alloc));
  std::printf("  %-34s %12lld ms / %lld ms\n", "ledger / acknowledged active_ms",
              static_cast<long long>(ledger_active), static_cast<long long>(expect_active));
  std::printf("  %-34s %12s\n", "ledger = acknowledged", ledger_ok ? "yes" : "NO");
  if (unacked > 0) {
    std::printf("  %-34s %12lld of %lld sent\n", "reports never acknowledged",
                static_cast<long long>(unacked), static_cast<long long>(sent));
  }
  std::printf(
      "{\"bench\":\"ingest\",\"nodes\":%d,\"devices_per_node\":%d,\"window\":%d,\"seconds\":%.2f,"
      "\"counters_per_report\":%lld,\"reports\":%lld,\"reports_per_s\":%.0f,"
      "\"counters_per_s\":%.0f,\"target_counters_per_s\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
      "\"commits\":%.0f,\"writes\":%.0f,\"hacd_cores\":%.2f,\"bench_cores\":%.2f,"
      "\"ledger_allocated_ms\":%lld,\"acked_allocated_ms\":%lld,\"ledger_ok\":%s,"
      "\"load_before\":\"%s\",\"load_after\":\"%s\"}\n",
      nnodes, ndevices, window, elapsed, static_cast<long long>(per_report),
      static_cast<long long>(reports), report_rate, counter_rate, kTargetPerSecond, p50, p99,
      batches, writes, hacd_cpu / elapsed, self_cpu / elapsed, static_cast<long long>(ledger_alloc),
      static_cast<long long>(expect_alloc), ledger_ok ? "true" : "false", load_before.c_str(),
      load_after.c_str());
  return ledger_ok ? 0 : 1;
}
