#include "server/grpc/rpc.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace hac::server::grpc_glue {

grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

absl::StatusOr<Principal> Rpc::Authenticate(const grpc::ServerContext* ctx) {
  const auto& md = ctx->client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) return auth_.Authenticate("");
  return auth_.Authenticate(absl::string_view(it->second.data(), it->second.size()));
}

grpc::Status Rpc::NotYet(const char* method, grpc::ServerContext* ctx, const char* what) {
  return Run(method, ctx, [&](const Principal&) {
    return absl::UnimplementedError(
        absl::StrCat(method, " is not implemented in this release of hacd: ", what));
  });
}

}  // namespace hac::server::grpc_glue
