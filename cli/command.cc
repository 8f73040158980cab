#include "cli/command.h"

#include <chrono>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/exit_code.h"
#include "cli/format.h"

namespace hac::cli {

void Session::Prepare(grpc::ClientContext& ctx, bool with_deadline) const {
  if (!config_.token.empty()) ctx.AddMetadata("authorization", "Bearer " + config_.token);
  if (with_deadline) {
    ctx.set_deadline(std::chrono::system_clock::now() +
                     absl::ToChronoMilliseconds(config_.timeout));
  }
}

int Session::ServerError(const grpc::Status& status) {
  err_ << FormatServerError(
      absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message()),
      config_.server);
  return kExitServerError;
}

int Session::UsageError(const absl::Status& status) {
  err_ << "hacctl: " << status.message() << "\n";
  return kExitUsage;
}

int Session::PrintJson(const google::protobuf::Message& message) {
  absl::StatusOr<std::string> json = ToCanonicalJson(message);
  if (!json.ok()) {
    err_ << "hacctl: " << json.status().message() << "\n";
    return kExitServerError;
  }
  out_ << *json << "\n";
  out_.flush();
  return kExitOk;
}

}  // namespace hac::cli
