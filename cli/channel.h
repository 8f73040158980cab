// The gRPC channel to hacd that hacctl's configuration describes.
#ifndef HAC_CLI_CHANNEL_H_
#define HAC_CLI_CHANNEL_H_

#include <memory>

#include "absl/status/statusor.h"
#include "cli/config.h"
#include "grpcpp/channel.h"

namespace hac::cli {

// A channel to config.server: TLS with config.ca_cert as the root certificate when it is set,
// presenting config.client_cert and config.client_key when they are set (mutual TLS; without
// a CA certificate the server is verified against the system's roots); plaintext when none is
// set. An unreadable or non-PEM file is INVALID_ARGUMENT naming its flag and the file.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ClientConfig& config);

}  // namespace hac::cli

#endif  // HAC_CLI_CHANNEL_H_
