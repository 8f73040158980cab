// The glue every RPC handler shares: authenticate the caller from its metadata, run the
// gRPC-free handler, record metrics, and translate absl::Status to grpc::Status in one place.
//
//   grpc::Status GetJob(grpc::ServerContext* ctx, const Req* req, Resp* resp) override {
//     return rpc_.Unary("GetJob", ctx, resp, [&](const Principal& p) {
//       return jobs_.Get(p, *req);
//     });
//   }
//
// Thread-safe.
#ifndef HAC_SERVER_GRPC_RPC_H_
#define HAC_SERVER_GRPC_RPC_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "server/auth.h"
#include "server/metrics.h"

namespace hac::server::grpc_glue {

// The one absl::Status -> grpc::Status translation (the codes are the same canonical codes).
grpc::Status ToGrpcStatus(const absl::Status& s);

class Rpc {
 public:
  Rpc(Authenticator& auth, Metrics& metrics, const common::Clock& clock)
      : auth_(auth), metrics_(metrics), clock_(clock) {}

  absl::StatusOr<Principal> Authenticate(const grpc::ServerContext* ctx);

  // Runs `fn(principal) -> absl::StatusOr<Resp>` and stores the value in *resp.
  template <typename Resp, typename Fn>
  grpc::Status Unary(const char* method, grpc::ServerContext* ctx, Resp* resp, Fn&& fn) {
    return Run(method, ctx, [&](const Principal& p) -> absl::Status {
      absl::StatusOr<Resp> r = fn(p);
      if (!r.ok()) return r.status();
      *resp = std::move(*r);
      return absl::OkStatus();
    });
  }

  // Runs `fn(principal) -> absl::Status` (streams, and calls with empty responses).
  template <typename Fn>
  grpc::Status Run(const char* method, grpc::ServerContext* ctx, Fn&& fn) {
    const absl::Time start = Start();
    absl::StatusOr<Principal> p = Authenticate(ctx);
    absl::Status s = p.ok() ? fn(*p) : p.status();
    Record(method, s.code(), start);
    return ToGrpcStatus(s);
  }

  // For handlers that finish later (AsyncSubmitServer): the call's start, and its record in the
  // RPC metrics once it ends.
  absl::Time Start() const { return clock_.MonotonicNow(); }
  void Record(const char* method, absl::StatusCode code, absl::Time start) {
    metrics_.ObserveRpc(method, code, clock_.MonotonicNow() - start);
  }

  // For methods a later release implements: UNIMPLEMENTED, saying so.
  grpc::Status NotYet(const char* method, grpc::ServerContext* ctx, const char* what);

 private:
  Authenticator& auth_;
  Metrics& metrics_;
  const common::Clock& clock_;
};

}  // namespace hac::server::grpc_glue

#endif  // HAC_SERVER_GRPC_RPC_H_
