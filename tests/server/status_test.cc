#include <catch2/catch.hpp>

#include "server/grpc/rpc.h"

namespace hac::server::grpc_glue {
namespace {

TEST_CASE("absl::Status maps to grpc::Status with the same canonical code and message") {
  const std::pair<absl::Status, grpc::StatusCode> cases[] = {
      {absl::InvalidArgumentError("spec.name: too long"), grpc::StatusCode::INVALID_ARGUMENT},
      {absl::NotFoundError("job j-1 not found"), grpc::StatusCode::NOT_FOUND},
      {absl::AlreadyExistsError("tenant exists"), grpc::StatusCode::ALREADY_EXISTS},
      {absl::PermissionDeniedError("admin only"), grpc::StatusCode::PERMISSION_DENIED},
      {absl::UnauthenticatedError("no token"), grpc::StatusCode::UNAUTHENTICATED},
      {absl::FailedPreconditionError("ended"), grpc::StatusCode::FAILED_PRECONDITION},
      {absl::UnavailableError("retry"), grpc::StatusCode::UNAVAILABLE},
      {absl::ResourceExhaustedError("full"), grpc::StatusCode::RESOURCE_EXHAUSTED},
      {absl::UnimplementedError("later"), grpc::StatusCode::UNIMPLEMENTED},
      {absl::InternalError("bug"), grpc::StatusCode::INTERNAL},
      {absl::DataLossError("corrupt"), grpc::StatusCode::DATA_LOSS},
  };
  for (const auto& [in, code] : cases) {
    grpc::Status out = ToGrpcStatus(in);
    CHECK(out.error_code() == code);
    CHECK(out.error_message() == std::string(in.message()));
  }
  CHECK(ToGrpcStatus(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace hac::server::grpc_glue
