#include "cli/channel.h"

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace hac::cli {

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ClientConfig& config) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (config.ca_cert.empty()) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    absl::StatusOr<std::string> pem = ReadFileToString(config.ca_cert);
    if (!pem.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--ca-cert: ", pem.status().message()));
    }
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = *pem;
    creds = grpc::SslCredentials(options);
  }
  return grpc::CreateChannel(config.server, creds);
}

}  // namespace hac::cli
