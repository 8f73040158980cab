// hac-agent: the OpenHAC node agent. Composition root: parses flags (and an optional config
// file), builds the devices, the attempt manager and the session with hacd, serves /metrics, and
// runs until SIGTERM or SIGINT. See docs/agent.md.
#include <prometheus/exposer.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/random/distributions.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "agent/attempt_manager.h"
#include "agent/metrics.h"
#include "agent/node_devices.h"
#include "agent/session_client.h"
#include "common/clock.h"
#include "common/flags.h"
#include "common/log.h"

ABSL_FLAG(std::string, config, "",
          "config file: 'key = value' lines with these flags' names (device and device-params "
          "may repeat); flags on the command line win");
ABSL_FLAG(std::string, server, "127.0.0.1:7070", "hacd's gRPC address (host:port)");
ABSL_FLAG(std::string, join_token_file, "", "file holding the join token for RegisterNode");
ABSL_FLAG(std::string, node, "", "this node's name (1..63 characters from [a-z0-9-])");
ABSL_FLAG(std::string, pool, "default", "the pool this node joins");
ABSL_FLAG(std::string, state_dir, "/var/lib/hac-agent",
          "node credential, device segments, attempt records and logs");
ABSL_FLAG(std::string, work_dir, "", "attempts' working directories (default <state-dir>/work)");
ABSL_FLAG(std::string, metrics_listen, "", "serve Prometheus /metrics on host:port (empty: off)");
ABSL_FLAG(int64_t, log_cap_bytes, int64_t{64} << 20, "most bytes kept per attempt and stream");
ABSL_FLAG(std::string, ca_cert, "", "PEM CA certificate(s): connect to hacd over TLS");
ABSL_FLAG(std::string, client_cert, "", "PEM client certificate chain for mutual TLS");
ABSL_FLAG(std::string, client_key, "", "PEM private key for --client-cert");
ABSL_FLAG(absl::Duration, heartbeat_interval, absl::Seconds(1), "time between heartbeats");
ABSL_FLAG(absl::Duration, usage_interval, absl::Seconds(1), "time between usage reports");
ABSL_FLAG(absl::Duration, reconnect_max_backoff, absl::Seconds(5),
          "longest wait between reconnection attempts");
ABSL_FLAG(absl::Duration, kill_grace, absl::Seconds(10),
          "SIGTERM to SIGKILL grace for max runtime, reconciliation and cancels without one");
ABSL_FLAG(std::string, workload_dir, "",
          "where hac-gemm/hac-train-mlp/hac-infer are (default: next to hac-agent, then PATH)");

#if defined(__SANITIZE_ADDRESS__)
// Debian's c-ares (gRPC's resolver for host names such as "localhost") leaks one small allocation
// per process; in sanitizer builds that would turn every clean exit into exit code 1. Only that
// library is suppressed; leaks in our code are still reported.
extern "C" const char* __lsan_default_suppressions() { return "leak:libcares.so\n"; }
extern "C" const char* __lsan_default_options() { return "print_suppressions=0"; }
#endif

namespace {

int Fail(const absl::Status& status) {
  HAC_LOG(ERROR) << status.message();
  std::fprintf(stderr, "hac-agent: %s\n", std::string(status.message()).c_str());
  return 1;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool IsListFlag(const std::string& name) { return name == "device" || name == "device_params"; }

// Splits "--name=value" / "--name value" occurrences of the repeatable flags out of `args`
// (absl keeps only the last occurrence of a flag). Flag names are already normalized.
void TakeListFlags(std::vector<std::string>* args, std::vector<std::string>* devices,
                   std::vector<std::string>* params) {
  std::vector<std::string> rest;
  for (size_t i = 0; i < args->size(); ++i) {
    const std::string& a = (*args)[i];
    if (a == "--") {
      rest.insert(rest.end(), args->begin() + i, args->end());
      break;
    }
    std::string body = absl::StartsWith(a, "--") ? a.substr(2) : "";
    std::string name = body.substr(0, body.find('='));
    if (!IsListFlag(name)) {
      rest.push_back(a);
      continue;
    }
    std::string value;
    if (body.find('=') != std::string::npos) {
      value = body.substr(body.find('=') + 1);
    } else if (i + 1 < args->size()) {
      value = (*args)[++i];
    }
    auto* out = name == "device" ? devices : params;
    if (name == "device") {
      for (absl::string_view v : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
        out->push_back(std::string(absl::StripAsciiWhitespace(v)));
      }
    } else {
      out->push_back(value);
    }
  }
  *args = std::move(rest);
}

// The config file as "--name=value" arguments.
absl::StatusOr<std::vector<std::string>> ConfigArgs(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  std::vector<std::string> args;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_no, ": expected 'key = value'"));
    }
    std::string key(absl::StripAsciiWhitespace(line.substr(0, eq)));
    std::string value(absl::StripAsciiWhitespace(line.substr(eq + 1)));
    for (char& c : key) c = c == '-' ? '_' : c;
    if (key == "config") {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", line_no, ": config cannot nest"));
    }
    args.push_back(absl::StrCat("--", key, "=", value));
  }
  return args;
}

// A seed kept in the state directory, so the devices get the same UUIDs on every start (hacd
// and operators recognise them) while different nodes get different ones.
absl::StatusOr<uint64_t> DeviceSeed(const std::string& state_dir, absl::BitGen& gen) {
  const std::string path = state_dir + "/device-uuid.seed";
  uint64_t seed = 0;
  if (absl::StatusOr<std::string> text = ReadFile(path);
      text.ok() && absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &seed)) {
    return seed;
  }
  seed = absl::Uniform<uint64_t>(gen);
  std::ofstream out(path, std::ios::trunc);
  out << seed << "\n";
  if (!out.flush()) return absl::FailedPreconditionError(absl::StrCat("cannot write ", path));
  return seed;
}

// The directory holding this executable (/proc/self/exe).
std::string ExecutableDir() {
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "" : exe.parent_path().string();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials() {
  const std::string ca = absl::GetFlag(FLAGS_ca_cert);
  const std::string cert = absl::GetFlag(FLAGS_client_cert);
  const std::string key = absl::GetFlag(FLAGS_client_key);
  if (ca.empty() && cert.empty() && key.empty()) return grpc::InsecureChannelCredentials();
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError("--client-cert and --client-key go together");
  }
  grpc::SslCredentialsOptions options;
  if (!ca.empty()) {
    absl::StatusOr<std::string> pem = ReadFile(ca);
    if (!pem.ok()) return pem.status();
    options.pem_root_certs = *pem;
  }
  if (!cert.empty()) {
    absl::StatusOr<std::string> c = ReadFile(cert);
    if (!c.ok()) return c.status();
    absl::StatusOr<std::string> k = ReadFile(key);
    if (!k.ok()) return k.status();
    options.pem_cert_chain = *c;
    options.pem_private_key = *k;
  }
  return grpc::SslCredentials(options);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "hac-agent: the OpenHAC node agent.\n"
      "  hac-agent --server=HOST:PORT --join-token-file=FILE --node=NAME --pool=POOL \\\n"
      "            --device=sim-npu:4 [--device=emu-gpu:2:egpu-m] --state-dir=DIR\n"
      "See docs/agent.md.");
  hac::common::NormalizeFlagNames(argc, argv);
  hac::common::SetLogTag("hac-agent");
  // Debian's Abseil is built with mutex deadlock detection on; it costs on every lock (see hacd).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // Command line after the config file, so the command line wins; --device and --device-params
  // from the command line replace the config file's.
  std::vector<std::string> cli(argv + 1, argv + argc);
  std::vector<std::string> devices, params, config_devices, config_params;
  TakeListFlags(&cli, &devices, &params);
  std::string config_path;
  for (size_t i = 0; i < cli.size(); ++i) {
    if (absl::StartsWith(cli[i], "--config=")) config_path = cli[i].substr(9);
    if (cli[i] == "--config" && i + 1 < cli.size()) config_path = cli[i + 1];
  }
  std::vector<std::string> args = {argv[0]};
  if (!config_path.empty()) {
    absl::StatusOr<std::vector<std::string>> from_file = ConfigArgs(config_path);
    if (!from_file.ok()) return Fail(from_file.status());
    TakeListFlags(&*from_file, &config_devices, &config_params);
    args.insert(args.end(), from_file->begin(), from_file->end());
  }
  if (devices.empty()) devices = config_devices;
  if (params.empty()) params = config_params;
  args.insert(args.end(), cli.begin(), cli.end());
  std::vector<char*> arg_ptrs;
  for (std::string& a : args) arg_ptrs.push_back(a.data());
  absl::ParseCommandLine(static_cast<int>(arg_ptrs.size()), arg_ptrs.data());

  // Signals are waited for on this thread; threads created later inherit the mask (job
  // processes get a clean one from the Supervisor).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  const std::string node = absl::GetFlag(FLAGS_node);
  if (node.empty()) return Fail(absl::InvalidArgumentError("--node is required"));
  const std::string state_dir = absl::GetFlag(FLAGS_state_dir);
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) {
    return Fail(absl::FailedPreconditionError(
        absl::StrCat("cannot create --state-dir ", state_dir, ": ", ec.message())));
  }
  if (absl::GetFlag(FLAGS_join_token_file).empty() &&
      access((state_dir + "/node.token").c_str(), R_OK) != 0) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--join-token-file is required until the node has a credential (", state_dir,
                     "/node.token)")));
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> creds = Credentials();
  if (!creds.ok()) return Fail(creds.status());

  hac::common::RealClock clock;
  absl::BitGen gen;
  absl::StatusOr<hac::device::NodeDeviceConfig> device_config =
      hac::agent::ParseDeviceFlags(devices, params);
  if (!device_config.ok()) return Fail(device_config.status());
  absl::StatusOr<uint64_t> seed = DeviceSeed(state_dir, gen);
  if (!seed.ok()) return Fail(seed.status());
  std::mt19937_64 uuid_gen(*seed);
  auto node_devices =
      hac::agent::NodeDevices::Create(*device_config, state_dir + "/devices", uuid_gen);
  if (!node_devices.ok()) return Fail(node_devices.status());

  hac::agent::Outbox outbox;
  hac::agent::AttemptManager::Options mo;
  mo.node = node;
  mo.state_dir = state_dir;
  mo.work_dir = absl::GetFlag(FLAGS_work_dir);
  if (const std::string w = absl::GetFlag(FLAGS_workload_dir); !w.empty()) {
    mo.workload_dirs.push_back(w);
  }
  if (const std::string exe_dir = ExecutableDir(); !exe_dir.empty()) {
    mo.workload_dirs.push_back(exe_dir);
    mo.workload_dirs.push_back(exe_dir + "/../workloads");  // the build tree's layout
  }
  mo.log_cap_bytes = absl::GetFlag(FLAGS_log_cap_bytes);
  mo.kill_grace = absl::GetFlag(FLAGS_kill_grace);
  mo.clock = &clock;
  auto manager = hac::agent::AttemptManager::Create(
      mo, node_devices->get(), [&outbox](hac::v1::AgentMessage m) { outbox.Push(std::move(m)); });
  if (!manager.ok()) return Fail(manager.status());

  hac::agent::SessionClient::Options so;
  so.server = absl::GetFlag(FLAGS_server);
  so.credentials = *creds;
  so.node = node;
  so.pool = absl::GetFlag(FLAGS_pool);
  so.agent_version = "0.1.0";
  so.join_token_file = absl::GetFlag(FLAGS_join_token_file);
  so.token_path = state_dir + "/node.token";
  so.devices = hac::agent::DescribeDevices(**node_devices);
  so.heartbeat_interval = absl::GetFlag(FLAGS_heartbeat_interval);
  so.usage_interval = absl::GetFlag(FLAGS_usage_interval);
  so.max_backoff = absl::GetFlag(FLAGS_reconnect_max_backoff);
  so.clock = &clock;
  auto session = hac::agent::SessionClient::Create(so, manager->get(), &outbox, gen);
  if (!session.ok()) return Fail(session.status());

  hac::agent::AgentMetrics metrics((*node_devices)->size());
  std::unique_ptr<prometheus::Exposer> exposer;
  std::string metrics_addr = "disabled";
  if (const std::string m = absl::GetFlag(FLAGS_metrics_listen); !m.empty()) {
    try {
      exposer = std::make_unique<prometheus::Exposer>(m);
    } catch (const std::exception& e) {
      return Fail(
          absl::UnavailableError(absl::StrCat("cannot serve metrics on ", m, ": ", e.what())));
    }
    exposer->RegisterCollectable(metrics.registry());
    std::string host = m.substr(0, m.rfind(':'));
    metrics_addr = absl::StrCat(host, ":", exposer->GetListeningPorts().at(0));
  }

  (*session)->Start();
  HAC_LOG(INFO) << "node " << node << " with " << (*node_devices)->size() << " devices, server "
                << so.server << ", metrics on " << metrics_addr;
  // One machine-readable line for scripts and tests.
  std::printf("hac-agent ready node=%s metrics=%s\n", node.c_str(), metrics_addr.c_str());
  std::fflush(stdout);

  int sig = 0;
  while (true) {
    metrics.Update(**manager, **node_devices, **session);
    timespec timeout{1, 0};
    sig = sigtimedwait(&stop_signals, nullptr, &timeout);
    if (sig > 0) break;
  }
  HAC_LOG(INFO) << "received " << strsignal(sig) << ": stopping";
  (*session)->Stop();
  manager->reset();  // kills what still runs and resets the devices
  HAC_LOG(INFO) << "stopped";
  return 0;
}
