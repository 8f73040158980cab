// hacd end to end: real hacd processes on ephemeral ports with temp databases, driven by
// hacctl and by gRPC clients.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "hac/v1/billing.grpc.pb.h"
#include "hac/v1/pools.grpc.pb.h"
#include "hac/v1/nodes.grpc.pb.h"
#include "tests/integration/cluster.h"

namespace hac::testing {
namespace {

hac::v1::SubmitJobRequest TrainRequest(const std::string& name, const std::string& key = "") {
  hac::v1::SubmitJobRequest r;
  r.mutable_spec()->set_name(name);
  auto* d = r.mutable_spec()->add_devices();
  d->set_device_class("npu");
  d->set_count(1);
  r.mutable_spec()->mutable_workload()->set_name("train-mlp");
  r.mutable_spec()->set_idempotency_key(key);
  return r;
}

// The value of a metric line `name{labels} value` in a Prometheus text exposition.
double MetricValue(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      return std::stod(std::string(line.substr(series.size() + 1)));
    }
  }
  return -1;
}

TEST_CASE("hacd prints its bound ports, writes the admin token 0600 and serves health") {
  Hacd hacd;
  REQUIRE(hacd.Start());
  CHECK_FALSE(absl::EndsWith(hacd.address(), ":0"));
  CHECK_FALSE(absl::EndsWith(hacd.metrics_address(), ":0"));
  struct stat st;
  REQUIRE(::stat(hacd.dir().File("admin.token").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(absl::StartsWith(hacd.admin_token(), "hac_"));
  CHECK(absl::StrContains(hacd.log(), "admin token written to"));

  auto health = grpc::health::v1::Health::NewStub(hacd.Channel());
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  grpc::ClientContext ctx;
  REQUIRE(health->Check(&ctx, req, &resp).ok());
  CHECK(resp.status() == grpc::health::v1::HealthCheckResponse::SERVING);

  // The token is created once: a restart keeps it and writes nothing new.
  hacd.Kill9();
  REQUIRE(hacd.Start());
  auto who = hacd.Hacctl(hacd.admin_token(), {"whoami"});
  CHECK(who.exit_code == 0);
  CHECK(absl::StrContains(who.out, "ADMIN"));
}

TEST_CASE("health: Check by service, and a Watch that sees hacd stop") {
  using grpc::health::v1::HealthCheckResponse;
  Hacd hacd;
  REQUIRE(hacd.Start());
  auto health = grpc::health::v1::Health::NewStub(hacd.Channel());
  auto check = [&](const std::string& service, HealthCheckResponse* resp) {
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    grpc::ClientContext ctx;
    return health->Check(&ctx, req, resp);
  };
  HealthCheckResponse resp;
  REQUIRE(check("hac.v1.JobService", &resp).ok());
  CHECK(resp.status() == HealthCheckResponse::SERVING);
  REQUIRE(check("hac.v1.NodeService", &resp).ok());
  CHECK(resp.status() == HealthCheckResponse::SERVING);
  grpc::Status unknown = check("hac.v1.NoSuchService", &resp);
  CHECK(unknown.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(absl::StrContains(unknown.error_message(), "hac.v1.NoSuchService"));

  grpc::health::v1::HealthCheckRequest all;
  grpc::ClientContext watch_ctx;
  auto watch = health->Watch(&watch_ctx, all);
  REQUIRE(watch->Read(&resp));
  CHECK(resp.status() == HealthCheckResponse::SERVING);
  // An unknown service is watched too: it is reported as such, not refused.
  grpc::health::v1::HealthCheckRequest other;
  other.set_service("hac.v1.NoSuchService");
  grpc::ClientContext other_ctx;
  auto other_watch = health->Watch(&other_ctx, other);
  REQUIRE(other_watch->Read(&resp));
  CHECK(resp.status() == HealthCheckResponse::SERVICE_UNKNOWN);
  other_ctx.TryCancel();
  CHECK(other_watch->Finish().error_code() == grpc::StatusCode::CANCELLED);

  // SIGTERM: the watcher hears NOT_SERVING, then its stream ends cleanly, and hacd exits 0.
  std::optional<int> exit_code;
  std::thread stopper([&] { exit_code = hacd.Stop(); });
  REQUIRE(watch->Read(&resp));
  CHECK(resp.status() == HealthCheckResponse::NOT_SERVING);
  CHECK_FALSE(watch->Read(&resp));
  CHECK(watch->Finish().ok());
  stopper.join();
  CHECK(exit_code == std::optional<int>(0));
}

TEST_CASE("hacctl submits, lists, shows, watches and cancels a tenant's jobs") {
  Hacd hacd;
  REQUIRE(hacd.Start());
  const std::string token = hacd.CreateTenant("acme");
  REQUIRE(!token.empty());

  auto sub = hacd.Hacctl(token, {"submit", "--name", "train", "--device", "npu:2", "--label",
                                 "team=ml", "--max-runtime", "1h", "--", "python3", "t.py"});
  INFO(sub.err);
  REQUIRE(sub.exit_code == 0);
  const std::string id = std::string(absl::StripAsciiWhitespace(sub.out.substr(0, sub.out.find('\n'))));
  CHECK(absl::StartsWith(id, "j-"));

  auto jobs = hacd.Hacctl(token, {"jobs"});
  REQUIRE(jobs.exit_code == 0);
  CHECK(absl::StrContains(jobs.out, id));
  CHECK(absl::StrContains(jobs.out, "PENDING"));

  auto json = hacd.Hacctl(token, {"-o", "json", "job", id});
  REQUIRE(json.exit_code == 0);
  hac::v1::Job job;
  REQUIRE(google::protobuf::util::JsonStringToMessage(json.out, &job).ok());
  CHECK(job.id() == id);
  CHECK(job.tenant() == "acme");
  CHECK(job.spec().devices(0).count() == 2);
  CHECK(job.spec().labels().at("team") == "ml");
  CHECK(job.spec().max_runtime().seconds() == 3600);
  CHECK(job.spec().command().argv(1) == "t.py");

  // watch prints the current state, then the cancellation, and exits 3 (not SUCCEEDED).
  std::unique_ptr<Process> watch = Process::Start(
      {BinPath("hacctl"), "--server", hacd.address(), "--token", token, "watch", id},
      {{"HAC_CONFIG", ""}, {"HOME", hacd.dir().path()}});
  auto first = watch->ReadLine(absl::Seconds(30));
  REQUIRE(first);
  CHECK(absl::StrContains(*first, "PENDING"));
  auto cancel = hacd.Hacctl(token, {"cancel", id, "--reason", "changed my mind"});
  CHECK(cancel.exit_code == 0);
  auto second = watch->ReadLine(absl::Seconds(30));
  REQUIRE(second);
  CHECK(absl::StrContains(*second, "CANCELLED"));
  auto status = watch->Wait(absl::Seconds(30));
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 3);

  auto again = hacd.Hacctl(token, {"cancel", id});
  CHECK(again.exit_code == 1);
  CHECK(absl::StrContains(again.err, "FAILED_PRECONDITION"));
}

TEST_CASE("Every acknowledged job survives kill -9 of hacd") {
  Hacd hacd;
  REQUIRE(hacd.Start());
  const std::string token = hacd.CreateTenant("acme");
  REQUIRE(!token.empty());

  std::mutex mu;
  std::set<std::string> acked;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  auto channel = hacd.Channel();
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      auto stub = hac::v1::JobService::NewStub(channel);
      for (int i = 0; !stop; ++i) {
        auto ctx = AuthContext(token);
        ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
        hac::v1::SubmitJobResponse resp;
        if (stub->SubmitJob(ctx.get(), TrainRequest(absl::StrCat("c", c, "-", i)), &resp).ok()) {
          std::lock_guard<std::mutex> lock(mu);
          acked.insert(resp.job().id());
        } else {
          break;  // hacd is gone
        }
      }
    });
  }
  // Kill it while the clients are submitting.
  const bool enough = PollUntil([&] {
    std::lock_guard<std::mutex> lock(mu);
    return acked.size() >= 200;
  }, absl::Seconds(60));
  hacd.Kill9();
  stop = true;
  for (auto& t : clients) t.join();
  REQUIRE(enough);

  REQUIRE(hacd.Start());
  auto stub = hac::v1::JobService::NewStub(hacd.Channel());
  std::set<std::string> found;
  std::string page;
  do {
    hac::v1::ListJobsRequest req;
    req.set_page_size(1000);
    req.set_page_token(page);
    hac::v1::ListJobsResponse resp;
    auto ctx = AuthContext(token);
    REQUIRE(stub->ListJobs(ctx.get(), req, &resp).ok());
    for (const auto& j : resp.jobs()) found.insert(j.id());
    page = resp.next_page_token();
  } while (!page.empty());
  INFO("acknowledged " << acked.size() << ", found " << found.size());
  for (const std::string& id : acked) CHECK(found.count(id) == 1);
}

TEST_CASE("Two tenants cannot see each other's jobs; an admin sees all") {
  Hacd hacd;
  REQUIRE(hacd.Start());
  const std::string a = hacd.CreateTenant("team-a");
  const std::string b = hacd.CreateTenant("team-b");
  REQUIRE((!a.empty() && !b.empty()));
  auto ja = hacd.Hacctl(a, {"submit", "--name", "secret-a", "--device", "gpu:1", "--", "true"});
  auto jb = hacd.Hacctl(b, {"submit", "--name", "secret-b", "--device", "gpu:1", "--", "true"});
  REQUIRE((ja.exit_code == 0 && jb.exit_code == 0));
  const std::string id_a = ja.out.substr(0, ja.out.find('\n'));
  const std::string id_b = jb.out.substr(0, jb.out.find('\n'));

  auto list_b = hacd.Hacctl(b, {"jobs"});
  CHECK(absl::StrContains(list_b.out, id_b));
  CHECK_FALSE(absl::StrContains(list_b.out, id_a));
  CHECK_FALSE(absl::StrContains(list_b.out, "secret-a"));

  auto peek = hacd.Hacctl(b, {"job", id_a});
  CHECK(peek.exit_code == 1);
  CHECK(absl::StrContains(peek.err, "NOT_FOUND"));
  CHECK_FALSE(absl::StrContains(peek.err + peek.out, "secret-a"));
  auto cancel = hacd.Hacctl(b, {"cancel", id_a});
  CHECK(cancel.exit_code == 1);
  CHECK(absl::StrContains(cancel.err, "NOT_FOUND"));

  // A job id that does not exist reads exactly the same.
  auto missing = hacd.Hacctl(b, {"job", "j-999999"});
  CHECK(missing.exit_code == 1);
  CHECK(absl::StrContains(missing.err, "NOT_FOUND"));

  auto all = hacd.Hacctl(hacd.admin_token(), {"jobs"});
  CHECK(absl::StrContains(all.out, id_a));
  CHECK(absl::StrContains(all.out, id_b));
  // A tenant cannot administer.
  auto denied = hacd.Hacctl(a, {"tenant", "create", "intruder"});
  CHECK(denied.exit_code == 1);
  CHECK(absl::StrContains(denied.err, "PERMISSION_DENIED"));
}

TEST_CASE("Resubmitting with the same idempotency key returns the same job") {
  Hacd hacd;
  REQUIRE(hacd.Start());
  const std::string token = hacd.CreateTenant("acme");
  std::vector<std::string> args = {"submit", "--name", "once", "--device", "npu:1",
                                   "--idempotency-key", "order-42", "--workload", "train-mlp"};
  auto first = hacd.Hacctl(token, args);
  auto second = hacd.Hacctl(token, args);
  REQUIRE((first.exit_code == 0 && second.exit_code == 0));
  CHECK(first.out.substr(0, first.out.find('\n')) == second.out.substr(0, second.out.find('\n')));

  // Concurrent retries of one submission still make one job.
  auto stub = hac::v1::JobService::NewStub(hacd.Channel());
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<std::string> ids;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto ctx = AuthContext(token);
      hac::v1::SubmitJobResponse resp;
      if (stub->SubmitJob(ctx.get(), TrainRequest("race", "race-key"), &resp).ok()) {
        std::lock_guard<std::mutex> lock(mu);
        ids.insert(resp.job().id());
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ids.size() == 1);
  auto jobs = hacd.Hacctl(token, {"-o", "json", "jobs"});
  hac::v1::ListJobsResponse list;
  REQUIRE(google::protobuf::util::JsonStringToMessage(jobs.out, &list).ok());
  CHECK(list.jobs_size() == 2);
}

TEST_CASE("Invalid specs are rejected with the field and the limit named") {
  Hacd hacd;
  REQUIRE(hacd.Start());
  const std::string token = hacd.CreateTenant("acme");
  struct Case {
    std::vector<std::string> args;
    std::string field;
  };
  const Case cases[] = {
      {{"submit", "--name", "bad name!", "--device", "gpu:1", "--", "true"}, "spec.name"},
      {{"submit", "--name", "x", "--device", "gpu:65", "--", "true"}, "spec.devices[0].count"},
      {{"submit", "--name", "x", "--device", "gpu:1", "--priority", "5000", "--", "true"},
       "spec.priority"},
      {{"submit", "--name", "x", "--device", "gpu:1", "--env", "HAC_X=1", "--", "true"},
       "spec.command.env"},
      {{"submit", "--name", "x", "--device", "gpu:1", "--max-runtime", "2000h", "--", "true"},
       "spec.max_runtime"},
  };
  for (const Case& c : cases) {
    auto r = hacd.Hacctl(token, c.args);
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(absl::StrContains(r.err, "INVALID_ARGUMENT"));
    CHECK(absl::StrContains(r.err, c.field));
  }
  // A gRPC client that bypasses hacctl's checks gets the same answers, and nothing is stored.
  auto stub = hac::v1::JobService::NewStub(hacd.Channel());
  auto req = TrainRequest("x");
  req.mutable_spec()->set_name(std::string(500, 'n'));
  hac::v1::SubmitJobResponse resp;
  auto ctx = AuthContext(token);
  grpc::Status s = stub->SubmitJob(ctx.get(), req, &resp);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(absl::StrContains(s.error_message(), "spec.name"));
  CHECK(absl::StrContains(s.error_message(), "128"));
  auto list = hacd.Hacctl(token, {"-o", "json", "jobs"});
  CHECK(absl::StripAsciiWhitespace(list.out) == "{}");
}

TEST_CASE("Unicode and SQL-looking labels come back byte for byte") {
  Hacd hacd;
  REQUIRE(hacd.Start());
  const std::string token = hacd.CreateTenant("acme");
  auto stub = hac::v1::JobService::NewStub(hacd.Channel());
  auto req = TrainRequest("labels");
  const std::string tricky = "\xed\x95\x9c\xea\xb8\x80 \xf0\x9f\x9a\x80 '); DROP TABLE jobs; --";
  (*req.mutable_spec()->mutable_labels())["note"] = tricky;
  hac::v1::SubmitJobResponse resp;
  auto ctx = AuthContext(token);
  REQUIRE(stub->SubmitJob(ctx.get(), req, &resp).ok());
  hac::v1::GetJobRequest get;
  get.set_id(resp.job().id());
  hac::v1::Job job;
  auto ctx2 = AuthContext(token);
  REQUIRE(stub->GetJob(ctx2.get(), get, &job).ok());
  CHECK(job.spec().labels().at("note") == tricky);
}

TEST_CASE("Calls without a valid token are UNAUTHENTICATED") {
  Hacd hacd;
  REQUIRE(hacd.Start());
  auto none = hacd.Hacctl("", {"jobs"});
  CHECK(none.exit_code == 1);
  CHECK(absl::StrContains(none.err, "UNAUTHENTICATED"));
  auto wrong = hacd.Hacctl("hac_not-a-real-token", {"jobs"});
  CHECK(wrong.exit_code == 1);
  CHECK(absl::StrContains(wrong.err, "UNAUTHENTICATED"));
}

TEST_CASE("A further tenant token works, and a revoked one stops working") {
  Hacd hacd;
  REQUIRE(hacd.Start());
  REQUIRE(!hacd.CreateTenant("acme").empty());
  auto more = hacd.Hacctl(hacd.admin_token(), {"tenant", "token", "acme"});
  REQUIRE(more.exit_code == 0);
  const std::string token = LineValue(more.out, "token: ");
  REQUIRE(!token.empty());
  CHECK(hacd.Hacctl(token, {"jobs"}).exit_code == 0);
  auto who = hacd.Hacctl(token, {"-o", "json", "whoami"});
  hac::v1::WhoAmIResponse w;
  REQUIRE(google::protobuf::util::JsonStringToMessage(who.out, &w).ok());
  CHECK(w.token().tenant() == "acme");
  auto revoke = hacd.Hacctl(hacd.admin_token(), {"token", "revoke", w.token().id()});
  CHECK(revoke.exit_code == 0);
  auto after = hacd.Hacctl(token, {"jobs"});
  CHECK(after.exit_code == 1);
  CHECK(absl::StrContains(after.err, "UNAUTHENTICATED"));
}

TEST_CASE("Methods of later releases answer UNIMPLEMENTED and say so") {
  Hacd hacd;
  REQUIRE(hacd.Start());
  auto pools = hac::v1::PoolService::NewStub(hacd.Channel());
  hac::v1::ListPoolsResponse list;
  auto ctx = AuthContext(hacd.admin_token());
  grpc::Status s = pools->ListPools(ctx.get(), hac::v1::ListPoolsRequest(), &list);
  CHECK(s.error_code() == grpc::StatusCode::UNIMPLEMENTED);
  CHECK(absl::StrContains(s.error_message(), "not implemented in this release"));
}

TEST_CASE("SIGTERM shuts hacd down gracefully and the next start sees everything") {
  Hacd hacd;
  REQUIRE(hacd.Start());
  const std::string token = hacd.CreateTenant("acme");
  auto sub = hacd.Hacctl(token, {"submit", "--name", "x", "--device", "gpu:1", "--", "true"});
  REQUIRE(sub.exit_code == 0);
  auto st = hacd.Stop();
  REQUIRE(st);
  CHECK(WIFEXITED(*st));
  CHECK(WEXITSTATUS(*st) == 0);
  CHECK(absl::StrContains(hacd.log(), "shutting down"));
  REQUIRE(hacd.Start());
  auto jobs = hacd.Hacctl(token, {"jobs"});
  CHECK(absl::StrContains(jobs.out, sub.out.substr(0, sub.out.find('\n'))));
}

TEST_CASE("/metrics counts requests by method and code, jobs by state and submissions by tenant") {
  Hacd hacd;
  REQUIRE(hacd.Start());
  const std::string a = hacd.CreateTenant("alpha");
  const std::string b = hacd.CreateTenant("beta");
  for (int i = 0; i < 3; ++i) {
    REQUIRE(hacd.Hacctl(a, {"submit", "--name", "x", "--device", "gpu:1", "--", "true"})
                .exit_code == 0);
  }
  auto jb = hacd.Hacctl(b, {"submit", "--name", "y", "--device", "npu:1", "--", "true"});
  REQUIRE(jb.exit_code == 0);
  REQUIRE(hacd.Hacctl(b, {"cancel", jb.out.substr(0, jb.out.find('\n'))}).exit_code == 0);
  hacd.Hacctl(b, {"submit", "--name", "bad!", "--device", "npu:1", "--", "true"});

  auto text = HttpGet(hacd.metrics_address(), "/metrics");
  REQUIRE(text);
  CHECK(MetricValue(*text, "hac_job_submissions_total{tenant=\"alpha\"}") == 3);
  CHECK(MetricValue(*text, "hac_job_submissions_total{tenant=\"beta\"}") == 1);
  CHECK(MetricValue(*text, "hac_jobs{state=\"pending\"}") == 3);
  CHECK(MetricValue(*text, "hac_jobs{state=\"cancelled\"}") == 1);
  CHECK(MetricValue(*text, "hac_rpc_requests_total{code=\"OK\",method=\"SubmitJob\"}") == 4);
  CHECK(MetricValue(*text,
                    "hac_rpc_requests_total{code=\"INVALID_ARGUMENT\",method=\"SubmitJob\"}") == 1);
  CHECK(MetricValue(*text, "hac_rpc_duration_seconds_count{method=\"SubmitJob\"}") == 5);

  // After a restart the job gauges are rebuilt from the store.
  hacd.Kill9();
  REQUIRE(hacd.Start());
  auto after = HttpGet(hacd.metrics_address(), "/metrics");
  REQUIRE(after);
  CHECK(MetricValue(*after, "hac_jobs{state=\"pending\"}") == 3);
  CHECK(MetricValue(*after, "hac_jobs{state=\"cancelled\"}") == 1);
}

TEST_CASE("A real Prometheus server scrapes hacd's metrics") {
  if (::access("/usr/bin/prometheus", X_OK) != 0) {
    FAIL("prometheus is not installed: run deploy/install-deps.sh");
  }
  Hacd hacd;
  REQUIRE(hacd.Start());
  const std::string token = hacd.CreateTenant("acme");
  REQUIRE(hacd.Hacctl(token, {"submit", "--name", "x", "--device", "gpu:1", "--", "true"})
              .exit_code == 0);
  const std::string config = hacd.dir().File("prometheus.yml");
  {
    std::ofstream out(config);
    out << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        << "scrape_configs:\n  - job_name: hacd\n    static_configs:\n      - targets: ['"
        << hacd.metrics_address() << "']\n";
  }
  const std::string web = absl::StrCat("127.0.0.1:", FreePort());
  auto prom = Process::Start({"/usr/bin/prometheus", "--config.file=" + config,
                              "--storage.tsdb.path=" + hacd.dir().File("tsdb"),
                              "--web.listen-address=" + web},
                             {}, hacd.dir().File("prometheus.log"));
  REQUIRE(prom);
  std::string answer;
  bool scraped = PollUntil(
      [&] {
        auto r = HttpGet(web, "/api/v1/query?query=hac_job_submissions_total");
        if (!r) return false;
        answer = *r;
        return absl::StrContains(answer, "\"tenant\":\"acme\"") &&
               absl::StrContains(answer, "\"1\"]");
      },
      absl::Seconds(90));
  INFO(answer);
  CHECK(scraped);
  prom->Signal(SIGTERM);
  prom->Wait(absl::Seconds(30));
}

TEST_CASE("hacd serves TLS with --tls-cert and --tls-key; hacctl verifies it with --ca-cert") {
  TempDir certs;
  const std::string key = certs.File("key.pem"), cert = certs.File("cert.pem");
  auto gen = RunCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                         "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"});
  REQUIRE(gen.exit_code == 0);
  Hacd hacd({"--tls-cert=" + cert, "--tls-key=" + key});
  REQUIRE(hacd.Start());
  auto ok = hacd.Hacctl(hacd.admin_token(), {"--ca-cert", cert, "whoami"});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(absl::StrContains(ok.out, "ADMIN"));
  // Plaintext against a TLS port fails.
  auto plain = hacd.Hacctl(hacd.admin_token(), {"--timeout", "3s", "whoami"});
  CHECK(plain.exit_code == 1);
}

}  // namespace
}  // namespace hac::testing
