#include "tests/integration/cluster.h"

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace hac::testing {

Hacd::Hacd(std::vector<std::string> extra_flags) : extra_flags_(std::move(extra_flags)) {}

Hacd::~Hacd() {
  if (proc_) {
    proc_->Signal(SIGKILL);
    proc_->Wait(absl::Seconds(10));
  }
}

bool Hacd::Start() {
  // A restart keeps the port, so agents find it again.
  std::vector<std::string> argv = {BinPath("hacd"),
                                   "--listen=" + (grpc_addr_.empty() ? "127.0.0.1:0" : grpc_addr_),
                                   "--metrics-listen=127.0.0.1:0",
                                   "--db=" + dir_.File("hacd.db"),
                                   "--admin-token-file=" + dir_.File("admin.token")};
  argv.insert(argv.end(), extra_flags_.begin(), extra_flags_.end());
  proc_ = Process::Start(argv, {}, dir_.File("hacd.log"));
  if (!proc_) return false;
  auto line = proc_->WaitForLine("hacd ready ", absl::Seconds(60));
  if (!line) return false;
  for (absl::string_view kv : absl::StrSplit(line->substr(11), ' ')) {
    if (absl::ConsumePrefix(&kv, "grpc=")) grpc_addr_ = std::string(kv);
    if (absl::ConsumePrefix(&kv, "metrics=")) metrics_addr_ = std::string(kv);
  }
  std::ifstream in(dir_.File("admin.token"));
  std::getline(in, admin_token_);
  return !grpc_addr_.empty() && !admin_token_.empty();
}

void Hacd::Kill9() {
  proc_->Signal(SIGKILL);
  proc_->Wait(absl::Seconds(10));
  proc_.reset();
}

std::optional<int> Hacd::Stop() {
  proc_->Signal(SIGTERM);
  auto st = proc_->Wait(absl::Seconds(30));
  proc_.reset();
  return st;
}

std::string Hacd::log() const {
  std::ifstream in(dir_.File("hacd.log"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult Hacd::Hacctl(const std::string& token, const std::vector<std::string>& args,
                           const std::string& input) const {
  std::vector<std::string> argv = {BinPath("hacctl"), "--server", grpc_addr_};
  if (!token.empty()) {
    argv.push_back("--token");
    argv.push_back(token);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  // A clean environment for hacctl's own settings: only the flags above apply.
  return RunCommand(argv,
                    {{"HAC_SERVER", ""}, {"HAC_TOKEN", ""}, {"HAC_CONFIG", ""},
                     {"HAC_TOKEN_FILE", ""}, {"HAC_CA_CERT", ""}, {"HAC_CLIENT_CERT", ""},
                     {"HAC_CLIENT_KEY", ""}, {"HOME", dir_.path()}},
                    absl::Seconds(60), input);
}

std::string Hacd::CreateTenant(const std::string& name) const {
  CommandResult r = Hacctl(admin_token_, {"tenant", "create", name});
  if (r.exit_code != 0) return "";
  return LineValue(r.out, "token: ");
}

std::shared_ptr<grpc::Channel> Hacd::Channel() const {
  return grpc::CreateChannel(grpc_addr_, channel_credentials_ != nullptr
                                             ? channel_credentials_
                                             : grpc::InsecureChannelCredentials());
}

std::string Hacd::JoinTokenFile() const {
  const std::string path = dir_.File("join.token");
  if (::access(path.c_str(), R_OK) != 0) {
    CommandResult r = Hacctl(admin_token_, {"join-token", "create"});
    std::ofstream(path) << LineValue(r.out, "token: ") << "\n";
  }
  return path;
}

Agent::Agent(const Hacd& hacd, std::string node, std::string pool, std::string device,
             std::vector<std::string> extra_flags)
    : hacd_(hacd),
      node_(std::move(node)),
      pool_(std::move(pool)),
      device_(std::move(device)),
      state_dir_(hacd.dir().File("agent-" + node_)),
      extra_flags_(std::move(extra_flags)) {}

Agent::~Agent() {
  if (proc_) {
    proc_->Signal(SIGTERM);
    if (!proc_->Wait(absl::Seconds(20))) proc_->Signal(SIGKILL);
  }
}

bool Agent::Start() {
  std::vector<std::string> argv = {BinPath("hac-agent"),
                                   "--server=" + hacd_.address(),
                                   "--join-token-file=" + hacd_.JoinTokenFile(),
                                   "--node=" + node_,
                                   "--pool=" + pool_,
                                   "--device=" + device_,
                                   "--state-dir=" + state_dir_,
                                   "--reconnect-max-backoff=500ms",
                                   "--kill-grace=2s"};
  argv.insert(argv.end(), extra_flags_.begin(), extra_flags_.end());
  proc_ = Process::Start(argv, {}, state_dir_ + ".log");
  return proc_ && proc_->WaitForLine("hac-agent ready", absl::Seconds(60)).has_value();
}

void Agent::Kill9() {
  proc_->Signal(SIGKILL);
  proc_->Wait(absl::Seconds(10));
  proc_.reset();
}

std::optional<int> Agent::Stop() {
  proc_->Signal(SIGTERM);
  auto st = proc_->Wait(absl::Seconds(30));
  proc_.reset();
  return st;
}

std::string Agent::log() const {
  std::ifstream in(state_dir_ + ".log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<grpc::ClientContext> AuthContext(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return ctx;
}

hac::v1::Job GetJob(const Hacd& hacd, const std::string& token, const std::string& id) {
  auto stub = hac::v1::JobService::NewStub(hacd.Channel());
  hac::v1::GetJobRequest req;
  req.set_id(id);
  hac::v1::Job job;
  auto ctx = AuthContext(token);
  stub->GetJob(ctx.get(), req, &job);
  return job;
}

std::string LineValue(const std::string& text, const std::string& prefix) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::ConsumePrefix(&line, prefix)) return std::string(absl::StripAsciiWhitespace(line));
  }
  return "";
}

}  // namespace hac::testing
