// hacctl's commands end to end against an in-process fake hacd (no network, no real server).
#include "cli/app.h"

#include <map>
#include <sstream>

#include <catch2/catch.hpp>

#include "absl/synchronization/mutex.h"
#include "cli/channel.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "hac/v1/admin.grpc.pb.h"
#include "hac/v1/jobs.grpc.pb.h"

namespace hac::cli {
namespace {

std::string BearerOf(grpc::ServerContext* ctx) {
  auto it = ctx->client_metadata().find("authorization");
  if (it == ctx->client_metadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

hac::v1::Job MakeJob(const std::string& id, hac::v1::JobState state, int64_t t) {
  hac::v1::Job job;
  job.set_id(id);
  job.set_state(state);
  job.mutable_update_time()->set_seconds(t);
  job.mutable_create_time()->set_seconds(t);
  return job;
}

// A JobService that records what it was sent and answers from fixed data.
class FakeJobService final : public hac::v1::JobService::Service {
 public:
  grpc::Status SubmitJob(grpc::ServerContext* ctx, const hac::v1::SubmitJobRequest* req,
                         hac::v1::SubmitJobResponse* resp) override {
    absl::MutexLock lock(&mu_);
    last_submit_ = *req;
    last_bearer_ = BearerOf(ctx);
    if (req->dry_run()) {
      resp->mutable_dry_run()->set_placeable_now(true);
      resp->mutable_dry_run()->set_estimated_cost_micros(-2'500'000);
      resp->mutable_dry_run()->set_currency("KRW");
      return grpc::Status::OK;
    }
    *resp->mutable_job() = MakeJob("j-42", hac::v1::JOB_STATE_PENDING, 1'700'000'000);
    return grpc::Status::OK;
  }
  grpc::Status GetJob(grpc::ServerContext*, const hac::v1::GetJobRequest* req,
                      hac::v1::Job*) override {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "job " + req->id() + " not found");
  }
  grpc::Status ListJobs(grpc::ServerContext*, const hac::v1::ListJobsRequest* req,
                        hac::v1::ListJobsResponse* resp) override {
    // Two pages: "" -> j-2 (+token "p2"), "p2" -> j-1.
    if (req->page_token().empty()) {
      *resp->add_jobs() = MakeJob("j-2", hac::v1::JOB_STATE_RUNNING, 1'700'000'000);
      resp->set_next_page_token("p2");
    } else if (req->page_token() == "p2") {
      *resp->add_jobs() = MakeJob("j-1", hac::v1::JOB_STATE_SUCCEEDED, 1'700'000'000);
    } else {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad page token");
    }
    return grpc::Status::OK;
  }
  grpc::Status WatchJob(grpc::ServerContext*, const hac::v1::WatchJobRequest* req,
                        grpc::ServerWriter<hac::v1::JobEvent>* writer) override {
    hac::v1::JobState final_state;
    bool drop;
    {
      absl::MutexLock lock(&mu_);
      final_state = final_state_;
      drop = drop_next_watch_;
      drop_next_watch_ = false;
    }
    if (drop) {
      // As a restarting hacd would: one event, then the stream breaks.
      hac::v1::JobEvent event;
      *event.mutable_job() = MakeJob(req->id(), hac::v1::JOB_STATE_RUNNING, 1'699'999'999);
      writer->Write(event);
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down");
    }
    int64_t t = 1'700'000'000;
    for (hac::v1::JobState s : {hac::v1::JOB_STATE_PENDING, hac::v1::JOB_STATE_RUNNING, final_state}) {
      hac::v1::JobEvent event;
      *event.mutable_job() = MakeJob(req->id(), s, t++);
      writer->Write(event);
    }
    return grpc::Status::OK;
  }

  void drop_next_watch() {
    absl::MutexLock lock(&mu_);
    drop_next_watch_ = true;
  }
  void set_final_state(hac::v1::JobState s) {
    absl::MutexLock lock(&mu_);
    final_state_ = s;
  }
  hac::v1::SubmitJobRequest last_submit() {
    absl::MutexLock lock(&mu_);
    return last_submit_;
  }
  std::string last_bearer() {
    absl::MutexLock lock(&mu_);
    return last_bearer_;
  }

 private:
  absl::Mutex mu_;
  hac::v1::JobState final_state_ ABSL_GUARDED_BY(mu_) = hac::v1::JOB_STATE_SUCCEEDED;
  bool drop_next_watch_ ABSL_GUARDED_BY(mu_) = false;
  hac::v1::SubmitJobRequest last_submit_ ABSL_GUARDED_BY(mu_);
  std::string last_bearer_ ABSL_GUARDED_BY(mu_);
};

// An AdminService that creates tenants with a fixed token.
class FakeAdminService final : public hac::v1::AdminService::Service {
 public:
  grpc::Status CreateTenant(grpc::ServerContext*, const hac::v1::CreateTenantRequest* req,
                            hac::v1::CreateTenantResponse* resp) override {
    resp->mutable_tenant()->set_name(req->name());
    resp->set_token("hac_secret_123");
    resp->mutable_token_info()->set_id("t-7");
    return grpc::Status::OK;
  }
  grpc::Status WhoAmI(grpc::ServerContext* ctx, const hac::v1::WhoAmIRequest*,
                      hac::v1::WhoAmIResponse*) override {
    if (BearerOf(ctx) != "Bearer good") {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "invalid token");
    }
    return grpc::Status::OK;
  }
};

// A fake hacd in this process and an App wired to it.
struct Harness {
  FakeJobService jobs;
  FakeAdminService admin;
  std::unique_ptr<grpc::Server> server;
  common::FakeClock clock{absl::FromUnixSeconds(1'700'000'060)};

  // No HAC_* variables and no config file, whatever the process environment holds.
  class EmptyEnvironment final : public Environment {
   public:
    std::optional<std::string> Get(std::string_view name) const override {
      if (name == "HAC_CONFIG") return "/dev/null";
      return std::nullopt;
    }
  } env;

  Harness() {
    grpc::ServerBuilder builder;
    builder.RegisterService(&jobs);
    builder.RegisterService(&admin);
    server = builder.BuildAndStart();
  }
  ~Harness() { server->Shutdown(); }

  struct Result {
    int rc;
    std::string out;
    std::string err;
  };
  Result Run(const std::vector<std::string>& args) {
    std::ostringstream out, err;
    App app(
        env, clock,
        [this](const ClientConfig&) -> absl::StatusOr<std::shared_ptr<grpc::Channel>> {
          return server->InProcessChannel(grpc::ChannelArguments());
        },
        out, err);
    int rc = app.Run(args);
    return {rc, out.str(), err.str()};
  }
};

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

TEST_CASE("submit prints the job id alone on the first line and sends the bearer token") {
  Harness h;
  auto r = h.Run({"--token", "tok", "submit", "--name", "t", "--device", "gpu:1", "--", "true"});
  CHECK(r.rc == 0);
  CHECK(r.out == "j-42\n");
  CHECK(h.jobs.last_bearer() == "Bearer tok");
  CHECK(h.jobs.last_submit().spec().name() == "t");
  CHECK(h.jobs.last_submit().spec().command().argv(0) == "true");
  CHECK_FALSE(h.jobs.last_submit().dry_run());
}

TEST_CASE("global flags may follow the command") {
  Harness h;
  auto r = h.Run({"submit", "--device", "gpu:1", "--token=late", "-o", "json", "--", "true"});
  CHECK(r.rc == 0);
  CHECK(h.jobs.last_bearer() == "Bearer late");
  CHECK(FirstLine(r.out).rfind("{\"job\":{\"id\":\"j-42\"", 0) == 0);
}

TEST_CASE("submit --wait exits 0 when the job succeeds and 3 when it fails") {
  Harness h;
  auto ok = h.Run({"submit", "--wait", "--device", "gpu:1", "--", "true"});
  CHECK(ok.rc == 0);
  CHECK(FirstLine(ok.out) == "j-42");
  CHECK(ok.out.find("j-42 SUCCEEDED") != std::string::npos);

  h.jobs.set_final_state(hac::v1::JOB_STATE_FAILED);
  auto failed = h.Run({"submit", "--wait", "--device", "gpu:1", "--", "false"});
  CHECK(failed.rc == 3);
  CHECK(FirstLine(failed.out) == "j-42");
}

TEST_CASE("watch prints TIME ID STATE REASON per event and exits 3 for a cancelled job") {
  Harness h;
  h.jobs.set_final_state(hac::v1::JOB_STATE_CANCELLED);
  auto r = h.Run({"watch", "j-5"});
  CHECK(r.rc == 3);
  CHECK(r.out ==
        "2023-11-14T22:13:20Z j-5 PENDING -\n"
        "2023-11-14T22:13:21Z j-5 RUNNING -\n"
        "2023-11-14T22:13:22Z j-5 CANCELLED -\n");
}

TEST_CASE("watch reconnects when the stream breaks with UNAVAILABLE after events") {
  Harness h;
  h.jobs.drop_next_watch();
  auto r = h.Run({"watch", "j-5"});
  CHECK(r.rc == 0);
  CHECK(r.out ==
        "2023-11-14T22:13:19Z j-5 RUNNING -\n"
        "2023-11-14T22:13:20Z j-5 PENDING -\n"
        "2023-11-14T22:13:21Z j-5 RUNNING -\n"
        "2023-11-14T22:13:22Z j-5 SUCCEEDED -\n");
  CHECK(r.err.rfind("hacctl: lost the watch of j-5 (server shutting down); reconnecting in 200ms",
                    0) == 0);
}

TEST_CASE("watch -o json prints one canonical JSON object per event") {
  Harness h;
  auto r = h.Run({"-o", "json", "watch", "j-5"});
  CHECK(r.rc == 0);
  CHECK(r.out.rfind(
            R"({"job":{"id":"j-5","state":"JOB_STATE_PENDING","createTime":"2023-11-14T22:13:20Z",)",
            0) == 0);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 3);
}

TEST_CASE("submit --dry-run sends dry_run and prints the estimated cost") {
  Harness h;
  auto r = h.Run({"submit", "--dry-run", "--device", "npu:1", "--workload", "gemm"});
  CHECK(r.rc == 0);
  CHECK(h.jobs.last_submit().dry_run());
  CHECK(r.out.find("placeable now:   yes\n") != std::string::npos);
  CHECK(r.out.find("estimated cost:  -2.500000 KRW") != std::string::npos);
}

TEST_CASE("jobs --all follows page tokens to the end") {
  Harness h;
  auto one = h.Run({"jobs"});
  CHECK(one.rc == 0);
  CHECK(one.out.find("j-2") != std::string::npos);
  CHECK(one.out.find("j-1 ") == std::string::npos);
  CHECK(one.err.find("use --all") != std::string::npos);

  auto all = h.Run({"jobs", "--all", "-o", "json"});
  CHECK(all.rc == 0);
  CHECK(all.out ==
        R"({"jobs":[{"id":"j-2","state":"JOB_STATE_RUNNING","createTime":"2023-11-14T22:13:20Z",)"
        R"("updateTime":"2023-11-14T22:13:20Z"},{"id":"j-1","state":"JOB_STATE_SUCCEEDED",)"
        R"("createTime":"2023-11-14T22:13:20Z","updateTime":"2023-11-14T22:13:20Z"}]})"
        "\n");
}

TEST_CASE("tenant create prints the token on its own line starting with 'token: '") {
  Harness h;
  auto r = h.Run({"tenant", "create", "acme"});
  CHECK(r.rc == 0);
  CHECK(r.out.find("tenant: acme\n") != std::string::npos);
  CHECK(r.out.find("\ntoken: hac_secret_123\n") != std::string::npos);
  CHECK(r.out.find("shown only once") != std::string::npos);
}

TEST_CASE("a server error exits 1 with the code, the message and a hint") {
  Harness h;
  auto nf = h.Run({"job", "j-404"});
  CHECK(nf.rc == 1);
  CHECK(nf.out.empty());
  CHECK(nf.err.rfind("hacctl: NOT_FOUND: job j-404 not found\nhint: ", 0) == 0);

  auto unauth = h.Run({"whoami", "--token", "bad"});
  CHECK(unauth.rc == 1);
  CHECK(unauth.err.find("hint: token missing or invalid: set --token or HAC_TOKEN") !=
        std::string::npos);
}

TEST_CASE("an unreachable server exits 1 and names the address to fix") {
  Harness h;
  std::ostringstream out, err;
  App app(h.env, h.clock, MakeChannel, out, err);
  CHECK(app.Run({"--server", "127.0.0.1:1", "--timeout", "5s", "jobs"}) == 1);
  CHECK(err.str().find("hint: cannot reach hacd at 127.0.0.1:1: is it running? set --server or "
                       "HAC_SERVER") != std::string::npos);
}

TEST_CASE("an unreadable --ca-cert is a usage error naming the flag") {
  Harness h;
  std::ostringstream out, err;
  App app(h.env, h.clock, MakeChannel, out, err);
  CHECK(app.Run({"--ca-cert", "/nonexistent/ca.pem", "jobs"}) == 2);
  CHECK(err.str().rfind("hacctl: --ca-cert: cannot open /nonexistent/ca.pem", 0) == 0);
}

TEST_CASE("usage errors exit 2 and say what is wrong") {
  Harness h;
  auto unknown_cmd = h.Run({"frobnicate"});
  CHECK(unknown_cmd.rc == 2);
  CHECK(unknown_cmd.err.rfind("hacctl: unknown command 'frobnicate'", 0) == 0);

  auto unknown_flag = h.Run({"jobs", "--colour"});
  CHECK(unknown_flag.rc == 2);
  CHECK(unknown_flag.err.rfind("hacctl: unknown flag --colour for 'jobs'", 0) == 0);

  auto bad_value = h.Run({"submit", "--device", "gpu:1", "--memory", "2GB", "--", "x"});
  CHECK(bad_value.rc == 2);
  CHECK(bad_value.err.rfind("hacctl: --memory '2GB': expected", 0) == 0);

  auto missing_arg = h.Run({"cancel"});
  CHECK(missing_arg.rc == 2);
  CHECK(missing_arg.err == "hacctl: cancel: missing argument\nusage: hacctl cancel [flags] ID\n");

  auto no_sub = h.Run({"quota"});
  CHECK(no_sub.rc == 2);
  CHECK(no_sub.err.find("needs a subcommand: set, list") != std::string::npos);

  auto bad_output = h.Run({"-o", "yaml", "jobs"});
  CHECK(bad_output.rc == 2);
  CHECK(bad_output.err == "hacctl: --output: output format 'yaml' is not table or json\n");

  auto nothing = h.Run({});
  CHECK(nothing.rc == 2);
}

TEST_CASE("help lists the commands and exit codes, and COMMAND --help shows its flags") {
  Harness h;
  auto general = h.Run({"--help"});
  CHECK(general.rc == 0);
  CHECK(general.out.find("  tenant create NAME") != std::string::npos);
  CHECK(general.out.find("  3  a watched or waited-for job ended") != std::string::npos);
  CHECK(h.Run({"help"}).out == general.out);

  auto submit = h.Run({"submit", "--help"});
  CHECK(submit.rc == 0);
  CHECK(submit.out.rfind("usage: hacctl submit [flags] [-- ARGV...]\n", 0) == 0);
  CHECK(submit.out.find("--idempotency-key KEY") != std::string::npos);
  CHECK(h.Run({"help", "submit"}).out == submit.out);

  auto group = h.Run({"tenant", "--help"});
  CHECK(group.rc == 0);
  CHECK(group.out.rfind("usage: hacctl tenant SUBCOMMAND", 0) == 0);
  CHECK(group.out.find("  tenant token NAME") != std::string::npos);
  CHECK(h.Run({"help", "tenant"}).out == group.out);

  auto version = h.Run({"version"});
  CHECK(version.rc == 0);
  CHECK(version.out == std::string("hacctl ") + kVersion + "\n");
}

}  // namespace
}  // namespace hac::cli
