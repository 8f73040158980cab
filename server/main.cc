// hacd: the OpenHAC control plane. Composition root: parse flags, open the store, build the
// managers and gRPC services, serve until SIGTERM/SIGINT, then shut down gracefully.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/flags.h"
#include "common/log.h"
#include "prometheus/exposer.h"
#include "billing/usage.h"
#include "server/admin.h"
#include "server/billing_manager.h"
#include "server/cluster.h"
#include "server/logs.h"
#include "server/auth.h"
#include "server/grpc/async_submit.h"
#include "server/grpc/health.h"
#include "server/grpc/rpc.h"
#include "server/grpc/services.h"
#include "server/jobs.h"
#include "server/limits.h"
#include "server/metrics.h"
#include "server/store/store.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7070", "gRPC address (host:port; port 0 picks one)");
ABSL_FLAG(std::string, db, "hacd.db", "SQLite database file (created if missing)");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:7071",
          "Prometheus /metrics address (host:port; port 0 picks one; empty disables)");
ABSL_FLAG(std::string, admin_token_file, "",
          "where the first admin token is written on first start, mode 0600 "
          "(default: <db>.admin-token)");
ABSL_FLAG(std::string, log_dir, "", "where attempts' output is kept (default: <db>.logs)");
ABSL_FLAG(int64_t, log_cap_bytes, 64 << 20, "most bytes kept per attempt and stream");
ABSL_FLAG(absl::Duration, heartbeat_timeout, absl::Seconds(10),
          "a node whose agent is silent this long (server clock) is LOST");
ABSL_FLAG(absl::Duration, schedule_tick, absl::Seconds(1),
          "scheduling passes run on events and at least this often");
ABSL_FLAG(absl::Duration, cancel_grace, absl::Seconds(10),
          "SIGTERM-to-SIGKILL grace for cancelled and preempted attempts");
ABSL_FLAG(absl::Duration, ledger_interval, absl::Seconds(60),
          "length of the usage ledger's interval rows: whole seconds dividing 60 (1s to 60s)");
ABSL_FLAG(absl::Duration, billing_check_interval, absl::Seconds(5),
          "how often spending is re-rated for budgets and billing metrics");
ABSL_FLAG(std::string, currency, "KRW", "the currency of prices and bills (3 upper-case letters)");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain: serve gRPC over TLS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key for --tls-cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle: require mutual TLS, every client (agents, hacctl, tools) presenting a "
          "certificate signed by it; needs --tls-cert and --tls-key");

namespace {

using hac::common::LogLine;

absl::Status WriteSecretFile(const std::string& path, const std::string& secret) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  std::string line = secret + "\n";
  bool ok = ::fchmod(fd, 0600) == 0 &&
            ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok) {
    return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "host:port" with the port replaced by the one actually bound.
std::string WithPort(const std::string& addr, int port) {
  size_t colon = addr.rfind(':');
  return absl::StrCat(colon == std::string::npos ? addr : addr.substr(0, colon), ":", port);
}

int Fail(const absl::Status& s) {
  HAC_LOG(ERROR) << s.message();
  return 1;
}

// The gRPC server credentials the TLS flags ask for: plaintext without --tls-cert; TLS with it;
// mutual TLS with --tls-client-ca (a client without a certificate signed by that CA fails the
// handshake, before any RPC or token is seen).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials() {
  const std::string cert_path = absl::GetFlag(FLAGS_tls_cert);
  const std::string key_path = absl::GetFlag(FLAGS_tls_key);
  const std::string client_ca_path = absl::GetFlag(FLAGS_tls_client_ca);
  if (cert_path.empty() != key_path.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (cert_path.empty()) {
    if (!client_ca_path.empty()) {
      return absl::InvalidArgumentError("--tls-client-ca needs --tls-cert and --tls-key");
    }
    return grpc::InsecureServerCredentials();
  }
  absl::StatusOr<std::string> cert = ReadFile(cert_path);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFile(key_path);
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions opts;
  opts.pem_key_cert_pairs.push_back({*key, *cert});
  if (!client_ca_path.empty()) {
    absl::StatusOr<std::string> ca = ReadFile(client_ca_path);
    if (!ca.ok()) return ca.status();
    if (ca->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tls-client-ca: no PEM certificate in ", client_ca_path));
    }
    opts.pem_root_certs = *ca;
    opts.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(opts);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("hacd: the OpenHAC control plane. See README.md.");
  hac::common::NormalizeFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);
  hac::common::SetLogTag("hacd");
  // Debian's Abseil is built with mutex deadlock detection on; it costs on every lock and hacd's
  // lock order is checked by the thread-safety annotations and the sanitizer builds instead.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // Signals are waited for on this thread; every thread created later inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // TLS flags are checked before anything is created on disk.
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds = ServerCredentials();
  if (!creds.ok()) return Fail(creds.status());

  hac::common::RealClock clock;
  const std::string db_path = absl::GetFlag(FLAGS_db);
  auto store = hac::server::store::Store::Open(db_path, clock);
  if (!store.ok()) return Fail(store.status());

  hac::server::Metrics metrics;
  metrics.SetCommitSource([&store] {
    return std::make_pair((*store)->commit_batches(), (*store)->commit_writes());
  });
  hac::server::Authenticator auth(**store, clock);
  std::string token_file = absl::GetFlag(FLAGS_admin_token_file);
  if (token_file.empty()) token_file = db_path + ".admin-token";
  auto created = auth.EnsureAdminToken(
      [&](const std::string& secret) { return WriteSecretFile(token_file, secret); });
  if (!created.ok()) return Fail(created.status());
  if (*created) {
    HAC_LOG(INFO) << "first start: admin token written to " << token_file << " (mode 0600)";
  }

  hac::server::JobManager jobs(**store, metrics, clock);
  if (absl::Status s = jobs.Init(); !s.ok()) return Fail(s);
  hac::server::AdminManager admin(**store, auth, clock);
  hac::server::BillingManager::Options billing_options;
  billing_options.check_interval = absl::GetFlag(FLAGS_billing_check_interval);
  billing_options.currency = absl::GetFlag(FLAGS_currency);
  hac::server::BillingManager billing(**store, jobs, metrics, clock, billing_options);
  jobs.SetSubmitPolicy(&billing);

  std::string log_dir = absl::GetFlag(FLAGS_log_dir);
  if (log_dir.empty()) log_dir = db_path + ".logs";
  auto logs = hac::server::LogStore::Create(log_dir, absl::GetFlag(FLAGS_log_cap_bytes));
  if (!logs.ok()) return Fail(logs.status());
  jobs.SetLogStore(logs->get());
  hac::server::ClusterManager::Options cluster_options;
  cluster_options.heartbeat_timeout = absl::GetFlag(FLAGS_heartbeat_timeout);
  cluster_options.tick = absl::GetFlag(FLAGS_schedule_tick);
  cluster_options.grace = absl::GetFlag(FLAGS_cancel_grace);
  cluster_options.ledger_interval = absl::GetFlag(FLAGS_ledger_interval);
  if (absl::Status s = hac::billing::ValidateUsageInterval(cluster_options.ledger_interval);
      !s.ok()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat("--ledger-interval: ", s.message())));
  }
  if (absl::GetFlag(FLAGS_billing_check_interval) <= absl::ZeroDuration()) {
    return Fail(absl::InvalidArgumentError("--billing-check-interval: must be positive"));
  }
  if (auto text = (*store)->GetSetting("scheduler_config"); text.ok() && text->has_value()) {
    cluster_options.scheduler_config = **text;
  }
  auto cluster = hac::server::ClusterManager::Create(**store, auth, jobs, **logs, clock,
                                                     cluster_options);
  if (!cluster.ok()) return Fail(cluster.status());
  jobs.SetListener(cluster->get());
  admin.SetSchedulerConfigApplier(
      [&](const std::string& text) { return (*cluster)->ApplySchedulerConfig(text); });
  admin.SetQuotaListener([&] { return (*cluster)->ReloadQuotas(); });
  if (absl::Status s = (*cluster)->Start(); !s.ok()) return Fail(s);
  if (absl::Status s = billing.Start(); !s.ok()) return Fail(s);

  hac::server::grpc_glue::Rpc rpc(auth, metrics, clock);
  hac::server::grpc_glue::JobServiceImpl job_service(rpc, jobs);
  hac::server::grpc_glue::AdminServiceImpl admin_service(rpc, admin);
  hac::server::grpc_glue::NodeServiceImpl node_service(rpc, **cluster);
  hac::server::grpc_glue::PoolServiceImpl pool_service(rpc, **cluster);
  hac::server::grpc_glue::BillingServiceImpl billing_service(rpc, billing);

  hac::server::grpc_glue::HealthService health(
      {hac::v1::JobService::service_full_name(), hac::v1::NodeService::service_full_name(),
       hac::v1::PoolService::service_full_name(), hac::v1::BillingService::service_full_name(),
       hac::v1::AdminService::service_full_name()});
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  const std::string listen = absl::GetFlag(FLAGS_listen);
  builder.AddListeningPort(listen, *creds, &grpc_port);
  builder.SetMaxReceiveMessageSize(hac::server::limits::kMaxMessageBytes);
  // The sync server's threads: a thread that finishes an RPC keeps polling instead of exiting
  // while fewer than MAX_POLLERS poll, so bursts of concurrent RPCs do not create and destroy a
  // thread each.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 2);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 64);
  builder.RegisterService(&job_service);
  // SubmitJob's completion queues: one thread each, half as many as cores (1 to 8). The store's
  // writer, the finisher and gRPC's pollers keep the other half busy under load; on 2 cores one
  // queue's thread did 6-22% more submissions per second than two (less switching between them).
  hac::server::grpc_glue::AsyncSubmitServer submit_server(
      builder, job_service, rpc, jobs,
      std::clamp(static_cast<int>(std::thread::hardware_concurrency()) / 2, 1, 8));
  builder.RegisterService(&admin_service);
  builder.RegisterService(&node_service);
  builder.RegisterService(&pool_service);
  builder.RegisterService(&billing_service);
  builder.RegisterService(&health);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || grpc_port == 0) {
    return Fail(absl::UnavailableError(absl::StrCat("cannot listen on ", listen)));
  }
  submit_server.Start();
  health.SetServing(true);

  std::unique_ptr<prometheus::Exposer> exposer;
  std::string metrics_addr = "disabled";
  if (const std::string m = absl::GetFlag(FLAGS_metrics_listen); !m.empty()) {
    try {
      exposer = std::make_unique<prometheus::Exposer>(m);
    } catch (const std::exception& e) {
      return Fail(absl::UnavailableError(absl::StrCat("cannot serve metrics on ", m, ": ",
                                                      e.what())));
    }
    exposer->RegisterCollectable(metrics.collectable());
    metrics_addr = WithPort(m, exposer->GetListeningPorts().at(0));
  }

  const std::string grpc_addr = WithPort(listen, grpc_port);
  HAC_LOG(INFO) << "serving gRPC on " << grpc_addr << ", metrics on " << metrics_addr
                << ", database " << db_path;
  // One machine-readable line for scripts and tests.
  std::printf("hacd ready grpc=%s metrics=%s\n", grpc_addr.c_str(), metrics_addr.c_str());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  HAC_LOG(INFO) << "received " << strsignal(sig) << ": shutting down";
  health.Shutdown();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  submit_server.Stop();
  billing.Stop();
  (*cluster)->Stop();
  HAC_LOG(INFO) << "stopped";
  return 0;
}
