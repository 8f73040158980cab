// An in-process fake hacd for hacctl's command tests: JobService, AdminService and
// BillingService fakes that record what they were sent and answer from fixed data, and a
// Harness that runs an App command line against them (no network, no real server).
//
//   Harness h;
//   auto r = h.Run({"bill", "--month", "2026-10"});
//   CHECK(r.rc == 0);
#ifndef HAC_TESTS_CLI_FAKE_HACD_H_
#define HAC_TESTS_CLI_FAKE_HACD_H_

#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "cli/app.h"
#include "common/clock.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "hac/v1/admin.grpc.pb.h"
#include "hac/v1/billing.grpc.pb.h"
#include "hac/v1/jobs.grpc.pb.h"

namespace hac::cli {

inline std::string BearerOf(grpc::ServerContext* ctx) {
  auto it = ctx->client_metadata().find("authorization");
  if (it == ctx->client_metadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

inline hac::v1::Job MakeJob(const std::string& id, hac::v1::JobState state, int64_t t) {
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

// A BillingService that records the last request of each call and answers with the response
// a test put in place (default: an empty message), or with `error` when it is set.
class FakeBillingService final : public hac::v1::BillingService::Service {
 public:
  grpc::Status GetUsage(grpc::ServerContext* ctx, const hac::v1::GetUsageRequest* req,
                        hac::v1::GetUsageResponse* resp) override {
    return Answer(ctx, *req, usage_request, usage, resp);
  }
  grpc::Status GetBill(grpc::ServerContext* ctx, const hac::v1::GetBillRequest* req,
                       hac::v1::Bill* resp) override {
    return Answer(ctx, *req, bill_request, bill, resp);
  }
  grpc::Status ListPrices(grpc::ServerContext* ctx, const hac::v1::ListPricesRequest* req,
                          hac::v1::ListPricesResponse* resp) override {
    hac::v1::ListPricesRequest ignored;
    return Answer(ctx, *req, ignored, prices, resp);
  }
  grpc::Status SetPrice(grpc::ServerContext* ctx, const hac::v1::SetPriceRequest* req,
                        hac::v1::Price* resp) override {
    // Echo the entry with the catalog's currency, as hacd does.
    hac::v1::Price echo = req->price();
    echo.set_currency("KRW");
    return Answer(ctx, *req, set_price_request, echo, resp);
  }
  grpc::Status CloseInvoice(grpc::ServerContext* ctx, const hac::v1::CloseInvoiceRequest* req,
                            hac::v1::CloseInvoiceResponse* resp) override {
    return Answer(ctx, *req, close_request, closed, resp);
  }
  grpc::Status ListInvoices(grpc::ServerContext* ctx, const hac::v1::ListInvoicesRequest* req,
                            hac::v1::ListInvoicesResponse* resp) override {
    return Answer(ctx, *req, invoices_request, invoices, resp);
  }
  grpc::Status SetBudget(grpc::ServerContext* ctx, const hac::v1::SetBudgetRequest* req,
                         hac::v1::Budget* resp) override {
    return Answer(ctx, *req, set_budget_request, req->budget(), resp);
  }
  grpc::Status GetBudget(grpc::ServerContext* ctx, const hac::v1::GetBudgetRequest* req,
                         hac::v1::Budget* resp) override {
    return Answer(ctx, *req, get_budget_request, budget, resp);
  }

  // Set before a call, read after it; the calls in these tests are sequential.
  absl::Mutex mu;
  grpc::Status error ABSL_GUARDED_BY(mu) = grpc::Status::OK;
  std::string last_bearer ABSL_GUARDED_BY(mu);
  int calls ABSL_GUARDED_BY(mu) = 0;
  hac::v1::GetUsageRequest usage_request ABSL_GUARDED_BY(mu);
  hac::v1::GetUsageResponse usage ABSL_GUARDED_BY(mu);
  hac::v1::GetBillRequest bill_request ABSL_GUARDED_BY(mu);
  hac::v1::Bill bill ABSL_GUARDED_BY(mu);
  hac::v1::ListPricesResponse prices ABSL_GUARDED_BY(mu);
  hac::v1::SetPriceRequest set_price_request ABSL_GUARDED_BY(mu);
  hac::v1::CloseInvoiceRequest close_request ABSL_GUARDED_BY(mu);
  hac::v1::CloseInvoiceResponse closed ABSL_GUARDED_BY(mu);
  hac::v1::ListInvoicesRequest invoices_request ABSL_GUARDED_BY(mu);
  hac::v1::ListInvoicesResponse invoices ABSL_GUARDED_BY(mu);
  hac::v1::SetBudgetRequest set_budget_request ABSL_GUARDED_BY(mu);
  hac::v1::GetBudgetRequest get_budget_request ABSL_GUARDED_BY(mu);
  hac::v1::Budget budget ABSL_GUARDED_BY(mu);

 private:
  template <typename Request, typename Response>
  grpc::Status Answer(grpc::ServerContext* ctx, const Request& req, Request& record,
                      const Response& answer, Response* resp) {
    absl::MutexLock lock(&mu);
    ++calls;
    last_bearer = BearerOf(ctx);
    record = req;
    if (!error.ok()) return error;
    *resp = answer;
    return grpc::Status::OK;
  }
};

// A fake hacd in this process and an App wired to it.
struct Harness {
  FakeJobService jobs;
  FakeAdminService admin;
  FakeBillingService billing;
  std::unique_ptr<grpc::Server> server;
  common::FakeClock clock{absl::FromUnixSeconds(1'700'000'060)};
  // The configuration the last command resolved (the channel factory sees it).
  std::optional<ClientConfig> last_config;

  // Only the variables in `vars`, whatever the process environment holds: by default no HAC_*
  // variables and an empty config file.
  class MapEnvironment final : public Environment {
   public:
    std::optional<std::string> Get(std::string_view name) const override {
      auto it = vars.find(name);
      if (it == vars.end() || it->second.empty()) return std::nullopt;
      return it->second;
    }
    std::map<std::string, std::string, std::less<>> vars{{"HAC_CONFIG", "/dev/null"}};
  } env;

  Harness() {
    grpc::ServerBuilder builder;
    builder.RegisterService(&jobs);
    builder.RegisterService(&admin);
    builder.RegisterService(&billing);
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
        [this](const ClientConfig& config) -> absl::StatusOr<std::shared_ptr<grpc::Channel>> {
          last_config = config;
          return server->InProcessChannel(grpc::ChannelArguments());
        },
        out, err);
    int rc = app.Run(args);
    return {rc, out.str(), err.str()};
  }
};

}  // namespace hac::cli

#endif  // HAC_TESTS_CLI_FAKE_HACD_H_
