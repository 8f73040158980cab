// The gRPC channel to hacd that hacctl's configuration describes.
#ifndef HAC_CLI_CHANNEL_H_
#define HAC_CLI_CHANNEL_H_

#include <memory>

#include "absl/status/statusor.h"
#include "cli/config.h"
#include "grpcpp/channel.h"

namespace hac::cli {

// A channel to config.server: TLS with config.ca_cert as the root certificate when it is set,
// plaintext otherwise. An unreadable certificate is INVALID_ARGUMENT naming the file.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ClientConfig& config);

}  // namespace hac::cli

#endif  // HAC_CLI_CHANNEL_H_
