#include "cli/channel.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace hac::cli {
namespace {

// The PEM text of `path`, given by `flag`. Unreadable files and files with no PEM block are
// INVALID_ARGUMENT naming the flag, so hacctl says which setting to fix instead of failing the
// TLS handshake later with a vague error.
absl::StatusOr<std::string> ReadPem(const std::string& path, const char* flag) {
  absl::StatusOr<std::string> pem = ReadFileToString(path);
  if (!pem.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": ", pem.status().message()));
  }
  if (!absl::StrContains(*pem, "-----BEGIN ")) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": ", path, " is not PEM (no -----BEGIN line)"));
  }
  return pem;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ClientConfig& config) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (config.ca_cert.empty() && config.client_cert.empty()) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions options;
    if (!config.ca_cert.empty()) {
      absl::StatusOr<std::string> pem = ReadPem(config.ca_cert, "--ca-cert");
      if (!pem.ok()) return pem.status();
      options.pem_root_certs = *std::move(pem);
    }
    if (!config.client_cert.empty()) {
      absl::StatusOr<std::string> cert = ReadPem(config.client_cert, "--client-cert");
      if (!cert.ok()) return cert.status();
      absl::StatusOr<std::string> key = ReadPem(config.client_key, "--client-key");
      if (!key.ok()) return key.status();
      options.pem_cert_chain = *std::move(cert);
      options.pem_private_key = *std::move(key);
    }
    creds = grpc::SslCredentials(options);
  }
  // A month's bill of a large tenant is one message of many lines: accept up to 256 MiB
  // (gRPC's default is 4 MiB).
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 << 20);
  return grpc::CreateCustomChannel(config.server, creds, args);
}

}  // namespace hac::cli
