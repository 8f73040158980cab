// Test fixtures that run the real binaries: a Hacd process on ephemeral ports with a temp
// database, hacctl invocations, and gRPC stubs carrying a bearer token.
#ifndef HAC_TESTS_INTEGRATION_CLUSTER_H_
#define HAC_TESTS_INTEGRATION_CLUSTER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "hac/v1/admin.grpc.pb.h"
#include "hac/v1/jobs.grpc.pb.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

namespace hac::testing {

inline std::string BinPath(const std::string& name) { return std::string(HAC_BIN_DIR) + "/bin/" + name; }

// One hacd process. Restart() keeps the database; Kill9() simulates a crash.
class Hacd {
 public:
  explicit Hacd(std::vector<std::string> extra_flags = {});
  ~Hacd();

  // Starts (again) with the same database; waits for the ready line. False if it did not
  // become ready.
  bool Start();
  void Kill9();
  // SIGTERM; returns the wait status.
  std::optional<int> Stop();

  const std::string& address() const { return grpc_addr_; }
  const std::string& metrics_address() const { return metrics_addr_; }
  const std::string& admin_token() const { return admin_token_; }
  const TempDir& dir() const { return dir_; }
  std::string log() const;

  // Runs hacctl against this hacd with `token`.
  CommandResult Hacctl(const std::string& token, const std::vector<std::string>& args,
                       const std::string& input = "") const;
  // Creates a tenant through hacctl and returns its token ("" on failure).
  std::string CreateTenant(const std::string& name) const;

  // A channel to this hacd with the credentials below (plaintext unless set).
  std::shared_ptr<grpc::Channel> Channel() const;
  // For a hacd started with --tls-cert: what Channel() (and so GetJob) connects with.
  void set_channel_credentials(std::shared_ptr<grpc::ChannelCredentials> credentials) {
    channel_credentials_ = std::move(credentials);
  }
  // A file holding a join token minted by the admin with hacctl (created on first use, unless a
  // test wrote <dir>/join.token itself, as it must when hacctl cannot connect).
  std::string JoinTokenFile() const;

 private:
  TempDir dir_;
  std::vector<std::string> extra_flags_;
  std::unique_ptr<Process> proc_;
  std::string grpc_addr_, metrics_addr_, admin_token_;
  std::shared_ptr<grpc::ChannelCredentials> channel_credentials_;
};

// One hac-agent process for a node of `hacd`, with its state under hacd's temp directory.
class Agent {
 public:
  // `device` as hac-agent's --device (e.g. "sim-npu:2"); `join_token_file` from
  // Hacd::JoinTokenFile().
  Agent(const Hacd& hacd, std::string node, std::string pool, std::string device,
        std::vector<std::string> extra_flags = {});
  ~Agent();
  // Starts (again, same state directory); waits for its ready line.
  bool Start();
  void Kill9();
  std::optional<int> Stop();
  const std::string& state_dir() const { return state_dir_; }
  std::string log() const;

 private:
  const Hacd& hacd_;
  std::string node_, pool_, device_, state_dir_;
  std::vector<std::string> extra_flags_;
  std::unique_ptr<Process> proc_;
};

// A client context carrying `authorization: Bearer <token>` and a 30 s deadline.
std::unique_ptr<grpc::ClientContext> AuthContext(const std::string& token);

// The job as `token` sees it (an empty Job when the call fails).
hac::v1::Job GetJob(const Hacd& hacd, const std::string& token, const std::string& id);

// The value of the first line in `text` that starts with `prefix`, without the prefix.
std::string LineValue(const std::string& text, const std::string& prefix);

}  // namespace hac::testing

#endif  // HAC_TESTS_INTEGRATION_CLUSTER_H_
