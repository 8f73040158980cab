// HealthService: the standard gRPC health protocol (grpc.health.v1.Health) for hacd's services,
// with no token needed.
//
// gRPC's own default health service is written against the callback API, and a server with a
// callback service runs two more threads polling every connection; on 2 cores they cost 10-16%
// of hacd's CPU per submission. This one is a sync service: Check answers from memory, and a
// Watch holds one of the sync server's threads while it waits for a change.
//
//   HealthService health({"hac.v1.JobService", ...});  // "" (the whole server) is always known
//   builder.RegisterService(&health);
//   ... BuildAndStart ...
//   health.SetServing(true);
//   ...
//   health.Shutdown();  // NOT_SERVING, and every Watch ends
//   server->Shutdown(deadline);
//
// Thread-safe.
#ifndef HAC_SERVER_GRPC_HEALTH_H_
#define HAC_SERVER_GRPC_HEALTH_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace hac::server::grpc_glue {

class HealthService final : public grpc::health::v1::Health::Service {
 public:
  // How often a Watch looks whether its client went away while nothing changes.
  static constexpr absl::Duration kWatchCheck = absl::Seconds(1);

  // `services`: the fully qualified names a client may ask about, besides "".
  explicit HealthService(const std::vector<std::string>& services);

  // Every known service is SERVING (true) or NOT_SERVING (false). Nothing after Shutdown.
  void SetServing(bool serving);
  // NOT_SERVING for good; every Watch sends it and ends.
  void Shutdown();

  grpc::Status Check(grpc::ServerContext* ctx, const grpc::health::v1::HealthCheckRequest* req,
                     grpc::health::v1::HealthCheckResponse* resp) override;
  grpc::Status Watch(grpc::ServerContext* ctx, const grpc::health::v1::HealthCheckRequest* req,
                     grpc::ServerWriter<grpc::health::v1::HealthCheckResponse>* writer) override;

 private:
  using Status = grpc::health::v1::HealthCheckResponse::ServingStatus;
  Status StatusOf(const std::string& service) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::flat_hash_set<std::string> services_;
  mutable absl::Mutex mu_;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  int64_t version_ ABSL_GUARDED_BY(mu_) = 0;  // bumped on every change, for Watch
};

}  // namespace hac::server::grpc_glue

#endif  // HAC_SERVER_GRPC_HEALTH_H_
