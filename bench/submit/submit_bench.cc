// hac-bench-submit: N concurrent clients submit jobs to a real hacd (started here with a fresh
// database in a temp directory, or an existing one with --server/--token) for a fixed time.
// Every counted submission was acknowledged, so it is committed to disk (group commit).
// Prints a table and one JSON line.
//
//   hac-bench-submit [--clients 16] [--seconds 10] [--channels 4]
#include <grpcpp/grpcpp.h>
#include <signal.h>

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
#include "hac/v1/admin.grpc.pb.h"
#include "hac/v1/jobs.grpc.pb.h"
#include "bench/bench_util.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

ABSL_FLAG(int, clients, 16, "concurrent clients (threads, each one call at a time)");
ABSL_FLAG(int, channels, 4, "gRPC channels shared by the clients");
ABSL_FLAG(int, seconds, 10, "measurement time");
ABSL_FLAG(std::string, hacd, HAC_BIN_DIR "/bin/hacd", "hacd binary to start");

namespace {

using hac::bench::Percentile;

// A /metrics sample, 0 when absent.
double MetricValue(const std::string& text, const std::string& name) {
  return hac::bench::MetricSample(text, name).value_or(0);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int clients = absl::GetFlag(FLAGS_clients);
  const int nchannels = std::max(1, absl::GetFlag(FLAGS_channels));
  const absl::Duration duration = absl::Seconds(absl::GetFlag(FLAGS_seconds));

  hac::testing::TempDir dir;
  auto hacd = hac::testing::Process::Start(
      {absl::GetFlag(FLAGS_hacd), "--listen=127.0.0.1:0", "--metrics-listen=127.0.0.1:0",
       "--db=" + dir.File("bench.db"), "--admin-token-file=" + dir.File("admin.token")},
      {}, dir.File("hacd.log"));
  auto ready = hacd ? hacd->WaitForLine("hacd ready ", absl::Seconds(30)) : std::nullopt;
  if (!ready) {
    std::fprintf(stderr, "hacd did not start\n");
    return 1;
  }
  std::string addr, metrics;
  for (absl::string_view kv : absl::StrSplit(ready->substr(11), ' ')) {
    if (absl::ConsumePrefix(&kv, "grpc=")) addr = std::string(kv);
    if (absl::ConsumePrefix(&kv, "metrics=")) metrics = std::string(kv);
  }
  std::string admin;
  std::getline(std::ifstream(dir.File("admin.token")), admin);

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < nchannels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("bench.channel", i);  // distinct arguments: distinct connections
    channels.push_back(grpc::CreateCustomChannel(addr, grpc::InsecureChannelCredentials(), args));
  }
  std::string token;
  {
    auto stub = hac::v1::AdminService::NewStub(channels[0]);
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + admin);
    hac::v1::CreateTenantRequest req;
    req.set_name("bench");
    hac::v1::CreateTenantResponse resp;
    if (!stub->CreateTenant(&ctx, req, &resp).ok()) return 1;
    token = resp.token();
  }
  const std::string bearer = "Bearer " + token;
  const double batches0 = MetricValue(hac::testing::HttpGet(metrics, "/metrics").value_or(""),
                                 "hac_store_commit_batches");

  std::atomic<bool> stop{false};
  std::atomic<int64_t> errors{0};
  std::vector<std::vector<double>> lat(clients);
  std::vector<std::thread> threads;
  const absl::Time start = absl::Now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto stub = hac::v1::JobService::NewStub(channels[c % nchannels]);
      hac::v1::SubmitJobRequest req;
      req.mutable_spec()->set_name("bench");
      auto* d = req.mutable_spec()->add_devices();
      d->set_device_class("gpu");
      d->set_count(1);
      req.mutable_spec()->mutable_workload()->set_name("train-mlp");
      while (!stop.load(std::memory_order_relaxed)) {
        grpc::ClientContext ctx;
        ctx.AddMetadata("authorization", bearer);
        hac::v1::SubmitJobResponse resp;
        const absl::Time t0 = absl::Now();
        grpc::Status s = stub->SubmitJob(&ctx, req, &resp);
        const double ms = absl::ToDoubleMilliseconds(absl::Now() - t0);
        if (s.ok()) {
          lat[c].push_back(ms);
        } else {
          errors.fetch_add(1);
        }
      }
    });
  }
  std::this_thread::sleep_for(absl::ToChronoMilliseconds(duration));
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);

  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  const double n = static_cast<double>(all.size());
  const double rate = n / elapsed;
  const double p50 = Percentile(all, 0.50), p99 = Percentile(all, 0.99);
  const double batches = MetricValue(hac::testing::HttpGet(metrics, "/metrics").value_or(""),
                                "hac_store_commit_batches") - batches0;
  hacd->Signal(SIGTERM);
  hacd->Wait(absl::Seconds(30));

  std::printf("hac-bench-submit: %d clients, %d channels, %.1f s, hacd with a fresh SQLite db\n",
              clients, nchannels, elapsed);
  std::printf("  acknowledged submissions   %10.0f\n", n);
  std::printf("  submissions/s              %10.0f   (target >= 10000 with 16 clients)\n", rate);
  std::printf("  latency p50                %10.2f ms\n", p50);
  std::printf("  latency p99                %10.2f ms (target < 20 ms)\n", p99);
  std::printf("  commits (transactions)     %10.0f   (%.1f submissions per commit)\n", batches,
              batches > 0 ? n / batches : 0.0);
  std::printf("  errors                     %10lld\n", static_cast<long long>(errors.load()));
  std::printf(
      "{\"bench\":\"submit\",\"clients\":%d,\"seconds\":%.2f,\"submissions\":%.0f,"
      "\"per_second\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"commits\":%.0f,\"errors\":%lld}\n",
      clients, elapsed, n, rate, p50, p99, batches, static_cast<long long>(errors.load()));
  return errors.load() == 0 ? 0 : 1;
}
