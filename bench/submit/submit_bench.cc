// hac-bench-submit: N concurrent clients submit jobs to a real hacd (started here with a fresh
// database in a temp directory, or an existing one with --server/--token) for a fixed time.
// Every counted submission was acknowledged, so it is committed to disk (group commit).
// Prints a table and one JSON line.
//
// A client is a closed loop: it sends one submission, waits for the acknowledgement, sends the
// next. With --client-api=async (the default) the loops are driven from completion queues by
// --threads threads, as gRPC's own benchmark clients do, so the client's threads take less of
// the CPU that hacd shares with them on one machine (one thread by default: on 2 cores it cost
// the client about a fifth less CPU per submission than two); --client-api=sync runs one
// thread per client with blocking calls.
//
//   hac-bench-submit [--clients 16] [--seconds 10] [--channels 4] [--client-api async|sync]
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "hac/v1/admin.grpc.pb.h"
#include "hac/v1/jobs.grpc.pb.h"
#include "bench/bench_util.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

ABSL_FLAG(int, clients, 16, "concurrent clients, each one call at a time");
ABSL_FLAG(int, channels, 4, "gRPC channels shared by the clients");
ABSL_FLAG(int, seconds, 10, "measurement time");
ABSL_FLAG(std::string, client_api, "async", "async (completion queues) or sync (thread per client)");
ABSL_FLAG(int, threads, 1, "with --client-api=async: threads driving the clients");
ABSL_FLAG(std::string, hacd, HAC_BIN_DIR "/bin/hacd", "hacd binary to start");

namespace {

using hac::bench::CpuSeconds;
using hac::bench::Percentile;

// A /metrics sample, 0 when absent.
double MetricValue(const std::string& text, const std::string& name) {
  return hac::bench::MetricSample(text, name).value_or(0);
}

hac::v1::SubmitJobRequest BenchRequest() {
  hac::v1::SubmitJobRequest req;
  req.mutable_spec()->set_name("bench");
  auto* d = req.mutable_spec()->add_devices();
  d->set_device_class("gpu");
  d->set_count(1);
  req.mutable_spec()->mutable_workload()->set_name("train-mlp");
  return req;
}

// One client of the async driver: its call in flight.
struct AsyncClient {
  hac::v1::JobService::Stub* stub = nullptr;
  std::unique_ptr<grpc::ClientContext> ctx;
  std::unique_ptr<grpc::ClientAsyncResponseReader<hac::v1::SubmitJobResponse>> call;
  hac::v1::SubmitJobResponse resp;
  grpc::Status status;
  absl::Time sent;
};

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
  const bool async = absl::GetFlag(FLAGS_client_api) == "async";
  if (!async && absl::GetFlag(FLAGS_client_api) != "sync") {
    std::fprintf(stderr, "--client-api: async or sync\n");
    return 2;
  }
  const int nthreads = async ? std::clamp(absl::GetFlag(FLAGS_threads), 1, clients) : clients;
  const hac::v1::SubmitJobRequest req = BenchRequest();
  std::vector<std::unique_ptr<hac::v1::JobService::Stub>> stubs;
  for (const auto& ch : channels) stubs.push_back(hac::v1::JobService::NewStub(ch));
  std::vector<std::vector<double>> lat(nthreads);
  std::vector<std::thread> threads;
  const double hacd_cpu0 = CpuSeconds(hacd->pid()), client_cpu0 = CpuSeconds(0);
  const absl::Time start = absl::Now();
  for (int t = 0; t < nthreads; ++t) {
    if (!async) {
      threads.emplace_back([&, t] {
        hac::v1::JobService::Stub* stub = stubs[t % nchannels].get();
        while (!stop.load(std::memory_order_relaxed)) {
          grpc::ClientContext ctx;
          ctx.AddMetadata("authorization", bearer);
          hac::v1::SubmitJobResponse resp;
          const absl::Time t0 = absl::Now();
          grpc::Status s = stub->SubmitJob(&ctx, req, &resp);
          if (s.ok()) {
            lat[t].push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
          } else {
            errors.fetch_add(1);
          }
        }
      });
      continue;
    }
    threads.emplace_back([&, t] {
      grpc::CompletionQueue cq;
      std::vector<AsyncClient> mine;
      for (int c = t; c < clients; c += nthreads) {
        mine.emplace_back();
        mine.back().stub = stubs[c % nchannels].get();
      }
      auto send = [&](AsyncClient& c) {
        c.ctx = std::make_unique<grpc::ClientContext>();
        c.ctx->AddMetadata("authorization", bearer);
        c.sent = absl::Now();
        c.call = c.stub->AsyncSubmitJob(c.ctx.get(), req, &cq);
        c.call->Finish(&c.resp, &c.status, &c);
      };
      for (AsyncClient& c : mine) send(c);
      size_t in_flight = mine.size();
      void* tag = nullptr;
      bool ok = false;
      while (in_flight > 0 && cq.Next(&tag, &ok)) {
        auto* c = static_cast<AsyncClient*>(tag);
        if (ok && c->status.ok()) {
          lat[t].push_back(absl::ToDoubleMilliseconds(absl::Now() - c->sent));
        } else {
          errors.fetch_add(1);
        }
        if (stop.load(std::memory_order_relaxed)) {
          --in_flight;
        } else {
          send(*c);
        }
      }
      cq.Shutdown();
      while (cq.Next(&tag, &ok)) {
      }
    });
  }
  std::this_thread::sleep_for(absl::ToChronoMilliseconds(duration));
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  const double hacd_cpu = CpuSeconds(hacd->pid()) - hacd_cpu0;
  const double client_cpu = CpuSeconds(0) - client_cpu0;

  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  const double n = static_cast<double>(all.size());
  const double rate = n / elapsed;
  const double p50 = Percentile(all, 0.50), p99 = Percentile(all, 0.99);
  const double batches = MetricValue(hac::testing::HttpGet(metrics, "/metrics").value_or(""),
                                "hac_store_commit_batches") - batches0;
  hacd->Signal(SIGTERM);
  hacd->Wait(absl::Seconds(30));

  std::printf(
      "hac-bench-submit: %d clients (%s, %d threads), %d channels, %.1f s, hacd with a fresh "
      "SQLite db\n",
      clients, async ? "async" : "sync", nthreads, nchannels, elapsed);
  std::printf("  acknowledged submissions   %10.0f\n", n);
  std::printf("  submissions/s              %10.0f   (target >= 10000 with 16 clients)\n", rate);
  std::printf("  latency p50                %10.2f ms\n", p50);
  std::printf("  latency p99                %10.2f ms (target < 20 ms)\n", p99);
  std::printf("  commits (transactions)     %10.0f   (%.1f submissions per commit)\n", batches,
              batches > 0 ? n / batches : 0.0);
  std::printf("  hacd CPU per submission    %10.1f us\n", n > 0 ? hacd_cpu / n * 1e6 : 0.0);
  std::printf("  client CPU per submission  %10.1f us\n", n > 0 ? client_cpu / n * 1e6 : 0.0);
  std::printf("  errors                     %10lld\n", static_cast<long long>(errors.load()));
  std::printf(
      "{\"bench\":\"submit\",\"clients\":%d,\"seconds\":%.2f,\"submissions\":%.0f,"
      "\"per_second\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"commits\":%.0f,\"hacd_cpu_us\":%.1f,\"client_cpu_us\":%.1f,\"errors\":%lld}\n",
      clients, elapsed, n, rate, p50, p99, batches, n > 0 ? hacd_cpu / n * 1e6 : 0.0,
      n > 0 ? client_cpu / n * 1e6 : 0.0, static_cast<long long>(errors.load()));
  return errors.load() == 0 ? 0 : 1;
}
