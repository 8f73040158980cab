#include "server/grpc/health.h"

namespace hac::server::grpc_glue {

using grpc::health::v1::HealthCheckResponse;

HealthService::HealthService(const std::vector<std::string>& services)
    : services_(services.begin(), services.end()) {}

void HealthService::SetServing(bool serving) {
  absl::MutexLock lock(&mu_);
  if (shut_down_ || serving_ == serving) return;
  serving_ = serving;
  ++version_;
}

void HealthService::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  serving_ = false;
  shut_down_ = true;
  ++version_;
}

HealthService::Status HealthService::StatusOf(const std::string& service) const {
  if (!service.empty() && !services_.contains(service)) return HealthCheckResponse::SERVICE_UNKNOWN;
  return serving_ ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
}

grpc::Status HealthService::Check(grpc::ServerContext*,
                                  const grpc::health::v1::HealthCheckRequest* req,
                                  HealthCheckResponse* resp) {
  absl::MutexLock lock(&mu_);
  const Status status = StatusOf(req->service());
  if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "service \"" + req->service().substr(0, 256) + "\" is not served here");
  }
  resp->set_status(status);
  return grpc::Status::OK;
}

grpc::Status HealthService::Watch(grpc::ServerContext* ctx,
                                  const grpc::health::v1::HealthCheckRequest* req,
                                  grpc::ServerWriter<HealthCheckResponse>* writer) {
  int64_t seen = -1;
  bool first = true;
  Status sent = HealthCheckResponse::UNKNOWN;
  for (;;) {
    Status status;
    bool done;
    {
      absl::MutexLock lock(&mu_);
      auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return version_ != seen;
      };
      mu_.AwaitWithTimeout(absl::Condition(&changed), kWatchCheck);
      seen = version_;
      status = StatusOf(req->service());
      done = shut_down_;
    }
    if (ctx->IsCancelled()) return grpc::Status::CANCELLED;
    if (first || status != sent) {
      HealthCheckResponse resp;
      resp.set_status(status);
      if (!writer->Write(resp)) return grpc::Status::CANCELLED;  // the client went away
      first = false;
      sent = status;
    }
    if (done) return grpc::Status::OK;
  }
}

}  // namespace hac::server::grpc_glue
