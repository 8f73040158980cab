// SessionClient + AttemptManager against an in-process fake NodeService (a unit test of the
// client: the real hacd side is tested by the integration tests).
#include "agent/session_client.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <deque>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/attempt_manager.h"
#include "agent/node_devices.h"
#include "common/clock.h"
#include "hac/v1/nodes.grpc.pb.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

namespace hac::agent {
namespace {

constexpr char kJoinToken[] = "join-secret";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Records everything agents send; sends what the test queues. Node credentials it accepts are
// shared between restarts (a restarted hacd keeps its store).
class FakeNodeService final : public v1::NodeService::Service {
 public:
  grpc::Status RegisterNode(grpc::ServerContext* ctx, const v1::RegisterNodeRequest* request,
                            v1::RegisterNodeResponse* response) override {
    if (Bearer(ctx) != kJoinToken) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "bad join token");
    }
    absl::MutexLock lock(&mu);
    registrations.push_back(*request);
    std::string token = absl::StrCat("node-secret-", registrations.size());
    valid_tokens.insert(token);
    response->set_node_token(token);
    return grpc::Status::OK;
  }

  grpc::Status Session(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<v1::ServerMessage, v1::AgentMessage>* stream) override {
    {
      absl::MutexLock lock(&mu);
      if (valid_tokens.count(Bearer(ctx)) == 0) {
        ++refused;
        return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unknown node credential");
      }
      ++sessions;
    }
    bool done = false;
    std::thread writer([&] {
      while (true) {
        v1::ServerMessage m;
        {
          absl::MutexLock lock(&mu);
          auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
            return done || end_sessions || !outgoing.empty();
          };
          mu.AwaitWithTimeout(absl::Condition(&ready), absl::Milliseconds(50));
          if (done || end_sessions) return;
          if (outgoing.empty()) continue;
          m = outgoing.front();
          outgoing.pop_front();
        }
        if (!stream->Write(m)) return;
      }
    });
    v1::AgentMessage m;
    while (stream->Read(&m)) {
      absl::MutexLock lock(&mu);
      received.push_back(m);
      if (m.has_hello()) {
        hellos.push_back(m.hello());
        v1::ServerMessage reconcile;
        for (const v1::RunningAttempt& a : m.hello().attempts()) {
          if (kill_on_hello.count(a.attempt_id())) {
            reconcile.mutable_reconcile()->add_kill_attempt_ids(a.attempt_id());
          } else {
            reconcile.mutable_reconcile()->add_keep_attempt_ids(a.attempt_id());
          }
        }
        outgoing.push_front(reconcile);
      }
      if (end_sessions) break;
    }
    {
      absl::MutexLock lock(&mu);
      done = true;
    }
    writer.join();
    return grpc::Status::OK;
  }

  static std::string Bearer(grpc::ServerContext* ctx) {
    auto it = ctx->client_metadata().find("authorization");
    if (it == ctx->client_metadata().end()) return "";
    std::string v(it->second.data(), it->second.size());
    return absl::StartsWith(v, "Bearer ") ? v.substr(7) : "";
  }

  void Send(v1::ServerMessage m) {
    absl::MutexLock lock(&mu);
    outgoing.push_back(std::move(m));
  }

  // The attempt's statuses, in order of arrival.
  std::vector<v1::AttemptStatus> Statuses(const std::string& attempt) {
    absl::MutexLock lock(&mu);
    std::vector<v1::AttemptStatus> out;
    for (const auto& m : received) {
      if (m.has_status() && m.status().attempt_id() == attempt) out.push_back(m.status());
    }
    return out;
  }

  bool HasFinalStatus(const std::string& attempt) {
    for (const auto& s : Statuses(attempt)) {
      if (s.state() != v1::ATTEMPT_STATE_RUNNING) return true;
    }
    return false;
  }

  std::string Log(const std::string& attempt, v1::LogStream stream) {
    absl::MutexLock lock(&mu);
    std::string out;
    for (const auto& m : received) {
      if (m.has_log() && m.log().attempt_id() == attempt && m.log().stream() == stream) {
        if (m.log().offset() == static_cast<int64_t>(out.size())) out += m.log().data();
      }
    }
    return out;
  }

  size_t HelloCount() {
    absl::MutexLock lock(&mu);
    return hellos.size();
  }

  v1::AgentHello LastHello() {
    absl::MutexLock lock(&mu);
    return hellos.back();
  }

  absl::Mutex mu;
  std::set<std::string> valid_tokens ABSL_GUARDED_BY(mu);
  std::set<std::string> kill_on_hello ABSL_GUARDED_BY(mu);
  std::vector<v1::RegisterNodeRequest> registrations ABSL_GUARDED_BY(mu);
  std::vector<v1::AgentMessage> received ABSL_GUARDED_BY(mu);
  std::vector<v1::AgentHello> hellos ABSL_GUARDED_BY(mu);
  std::deque<v1::ServerMessage> outgoing ABSL_GUARDED_BY(mu);
  bool end_sessions ABSL_GUARDED_BY(mu) = false;
  int sessions ABSL_GUARDED_BY(mu) = 0;
  int refused ABSL_GUARDED_BY(mu) = 0;
};

// A gRPC server for the fake that can be stopped and started again on the same port.
class FakeServer {
 public:
  void Start(int port = 0) {
    {
      // A restart begins with fresh sessions.
      absl::MutexLock lock(&service.mu);
      service.end_sessions = false;
    }
    grpc::ServerBuilder builder;
    int selected = 0;
    builder.AddListeningPort(absl::StrCat("127.0.0.1:", port),
                             credentials ? credentials : grpc::InsecureServerCredentials(),
                             &selected);
    builder.RegisterService(&service);
    server = builder.BuildAndStart();
    REQUIRE(server != nullptr);
    port_ = selected;
  }
  void Stop() {
    {
      absl::MutexLock lock(&service.mu);
      service.end_sessions = true;
    }
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
    server->Wait();
    server.reset();
  }
  void Restart() {
    Stop();
    Start(port_);
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

  FakeNodeService service;
  std::shared_ptr<grpc::ServerCredentials> credentials;  // insecure when null
  std::unique_ptr<grpc::Server> server;
  int port_ = 0;
};

// The agent's objects wired like hac-agent's main.cc.
struct Agent {
  explicit Agent(const std::string& server, const testing::TempDir& dir,
                 std::vector<std::string> device_flags = {"sim-npu:2"}) {
    std::ofstream(dir.File("join.token")) << kJoinToken << "\n";
    auto config = ParseDeviceFlags(device_flags, {});
    REQUIRE(config.ok());
    auto d = NodeDevices::Create(*config, dir.File("state/devices"), gen);
    REQUIRE(d.ok());
    devices = std::move(*d);
    AttemptManager::Options mo;
    mo.node = "n1";
    mo.state_dir = dir.File("state");
    mo.kill_grace = absl::Seconds(2);
    mo.workload_dirs = {std::string(HAC_BIN_DIR) + "/workloads"};
    mo.clock = &clock;
    auto m = AttemptManager::Create(mo, devices.get(),
                                    [this](v1::AgentMessage msg) { outbox.Push(std::move(msg)); });
    REQUIRE(m.ok());
    manager = std::move(*m);
    SessionClient::Options so;
    so.server = server;
    so.node = "n1";
    so.pool = "p1";
    so.join_token_file = dir.File("join.token");
    so.token_path = dir.File("state/node.token");
    so.devices = DescribeDevices(*devices);
    so.heartbeat_interval = absl::Milliseconds(100);
    so.usage_interval = absl::Milliseconds(100);
    so.initial_backoff = absl::Milliseconds(20);
    so.max_backoff = absl::Milliseconds(200);
    so.clock = &clock;
    auto s = SessionClient::Create(so, manager.get(), &outbox, gen);
    REQUIRE(s.ok());
    session = std::move(*s);
  }
  ~Agent() {
    session->Stop();
    manager.reset();
  }

  common::RealClock clock;
  absl::BitGen gen;
  Outbox outbox;
  std::unique_ptr<NodeDevices> devices;
  std::unique_ptr<AttemptManager> manager;
  std::unique_ptr<SessionClient> session;
};

v1::ServerMessage Assign(const std::string& id, const std::string& script,
                         std::vector<uint32_t> devices = {0}) {
  v1::ServerMessage m;
  v1::Assignment* a = m.mutable_assignment();
  a->set_attempt_id(id);
  a->set_job_id("j-1");
  a->set_tenant("acme");
  a->set_attempt_number(1);
  for (uint32_t d : devices) a->add_device_indices(d);
  auto* argv = a->mutable_spec()->mutable_command()->mutable_argv();
  argv->Add("/bin/sh");
  argv->Add("-c");
  argv->Add(std::string(script));
  return m;
}

const absl::Duration kWait = absl::Seconds(10);

TEST_CASE("SessionClient registers, runs an assignment and resends its final status until acked") {
  testing::TempDir dir;
  FakeServer fake;
  fake.Start();
  Agent agent(fake.address(), dir);
  agent.session->Start();

  // Registration with the join token; the credential is kept with mode 0600.
  REQUIRE(testing::PollUntil([&] { return fake.service.HelloCount() >= 1; }, kWait));
  {
    absl::MutexLock lock(&fake.service.mu);
    REQUIRE(fake.service.registrations.size() == 1);
    CHECK(fake.service.registrations[0].name() == "n1");
    CHECK(fake.service.registrations[0].pool() == "p1");
    CHECK(fake.service.registrations[0].devices_size() == 2);
    CHECK(fake.service.registrations[0].devices(0).backend() == "sim-npu");
  }
  CHECK(ReadAll(dir.File("state/node.token")) == "node-secret-1\n");
  struct stat st;
  REQUIRE(stat(dir.File("state/node.token").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  v1::AgentHello hello = fake.service.LastHello();
  CHECK(hello.node() == "n1");
  CHECK(hello.attempts_size() == 0);
  CHECK(hello.devices_size() == 2);

  // An assignment: RUNNING, then SUCCEEDED with exit 0, the output and final usage. (When
  // both statuses were queued at once, only the final one is sent, with a start time.)
  fake.service.Send(Assign("j-1.1", "echo hi; echo \"$HAC_ATTEMPT_ID $HAC_TENANT\" >&2"));
  REQUIRE(testing::PollUntil([&] { return fake.service.HasFinalStatus("j-1.1"); }, kWait));
  std::vector<v1::AttemptStatus> statuses = fake.service.Statuses("j-1.1");
  REQUIRE(!statuses.empty());
  if (statuses.size() == 2) {
    CHECK(statuses[0].state() == v1::ATTEMPT_STATE_RUNNING);
    CHECK_FALSE(statuses[1].has_start_time());
  } else {
    REQUIRE(statuses.size() == 1);
    CHECK(statuses[0].start_time().seconds() > 0);
  }
  CHECK(statuses.back().state() == v1::ATTEMPT_STATE_SUCCEEDED);
  CHECK(statuses.back().exit().code() == 0);
  CHECK(statuses.back().exit().message() == "exited 0");
  CHECK(fake.service.Log("j-1.1", v1::LOG_STREAM_STDOUT) == "hi\n");
  CHECK(fake.service.Log("j-1.1", v1::LOG_STREAM_STDERR) == "j-1.1 acme\n");
  {
    absl::MutexLock lock(&fake.service.mu);
    // The final counters travel in the final status, not in a UsageReport of their own.
    bool final_usage = false, final_report = false;
    for (const auto& m : fake.service.received) {
      for (const auto& c : m.status().final_usage()) {
        final_usage |= m.status().state() == v1::ATTEMPT_STATE_SUCCEEDED &&
                       c.attempt_id() == "j-1.1" && c.device_index() == 0 && c.final();
      }
      for (const auto& c : m.usage().counters()) final_report |= c.final();
    }
    CHECK(final_usage);
    CHECK_FALSE(final_report);
  }
  CHECK(agent.devices->Owner(0).empty());  // released after the exit
  CHECK(ReadAll(dir.File("state/logs/j-1.1.stdout")) == "hi\n");

  // hacd restarts before acknowledging: the next hello carries the final status.
  size_t hellos = fake.service.HelloCount();
  fake.Restart();
  REQUIRE(testing::PollUntil([&] { return fake.service.HelloCount() > hellos; }, kWait));
  hello = fake.service.LastHello();
  REQUIRE(hello.attempts_size() == 1);
  CHECK(hello.attempts(0).attempt_id() == "j-1.1");
  CHECK(hello.attempts(0).state() == v1::ATTEMPT_STATE_SUCCEEDED);
  CHECK(hello.attempts(0).exit().code() == 0);

  // Acknowledged: forgotten, so the hello after the next reconnect no longer has it.
  v1::ServerMessage ack;
  ack.mutable_status_ack()->set_attempt_id("j-1.1");
  fake.service.Send(ack);
  REQUIRE(testing::PollUntil([&] { return agent.manager->Unacknowledged().empty(); }, kWait));
  hellos = fake.service.HelloCount();
  fake.Restart();
  REQUIRE(testing::PollUntil([&] { return fake.service.HelloCount() > hellos; }, kWait));
  CHECK(fake.service.LastHello().attempts_size() == 0);
  CHECK(agent.session->disconnects() >= 2);
  {
    absl::MutexLock lock(&fake.service.mu);
    CHECK(fake.service.registrations.size() == 1);  // the stored credential was reused
  }
  fake.Stop();
}

TEST_CASE("SessionClient registers again with the join token when its credential is refused") {
  testing::TempDir dir;
  FakeServer fake;
  fake.Start();
  REQUIRE(mkdir(dir.File("state").c_str(), 0700) == 0);
  std::ofstream(dir.File("state/node.token")) << "revoked-token\n";
  Agent agent(fake.address(), dir);
  agent.session->Start();
  REQUIRE(testing::PollUntil([&] { return fake.service.HelloCount() >= 1; }, kWait));
  {
    absl::MutexLock lock(&fake.service.mu);
    CHECK(fake.service.refused >= 1);
    CHECK(fake.service.registrations.size() == 1);
  }
  CHECK(ReadAll(dir.File("state/node.token")) == "node-secret-1\n");
  CHECK(agent.session->registrations() == 1);
  fake.Stop();
}

TEST_CASE("SessionClient kills attempts the server's reconcile lists and reports them cancelled") {
  testing::TempDir dir;
  FakeServer fake;
  fake.Start();
  Agent agent(fake.address(), dir);
  agent.session->Start();
  REQUIRE(testing::PollUntil([&] { return fake.service.HelloCount() >= 1; }, kWait));
  fake.service.Send(Assign("j-2.1", "exec sleep 30", {1}));
  REQUIRE(testing::PollUntil([&] { return fake.service.Statuses("j-2.1").size() == 1; }, kWait));
  CHECK(agent.devices->Owner(1) == "j-2.1");
  {
    absl::MutexLock lock(&fake.service.mu);
    fake.service.kill_on_hello.insert("j-2.1");
  }
  size_t hellos = fake.service.HelloCount();
  fake.Restart();
  REQUIRE(testing::PollUntil([&] { return fake.service.HelloCount() > hellos; }, kWait));
  v1::AgentHello hello = fake.service.LastHello();
  REQUIRE(hello.attempts_size() == 1);
  CHECK(hello.attempts(0).state() == v1::ATTEMPT_STATE_RUNNING);
  REQUIRE(testing::PollUntil([&] { return fake.service.HasFinalStatus("j-2.1"); }, kWait));
  v1::AttemptStatus last = fake.service.Statuses("j-2.1").back();
  CHECK(last.state() == v1::ATTEMPT_STATE_CANCELLED);
  CHECK(last.exit().signal() == SIGTERM);
  CHECK(agent.devices->Owner(1).empty());
  fake.Stop();
}

TEST_CASE("SessionClient ends a preempted attempt in PREEMPTED and a failing one in FAILED") {
  testing::TempDir dir;
  FakeServer fake;
  fake.Start();
  Agent agent(fake.address(), dir);
  agent.session->Start();
  REQUIRE(testing::PollUntil([&] { return fake.service.HelloCount() >= 1; }, kWait));
  fake.service.Send(Assign("j-3.1", "exec sleep 30", {0}));
  fake.service.Send(Assign("j-4.1", "exit 7", {1}));
  REQUIRE(testing::PollUntil([&] { return !fake.service.Statuses("j-3.1").empty(); }, kWait));
  // Two periodic usage reports of the running attempt (every 100 ms here) before the cancel.
  REQUIRE(testing::PollUntil(
      [&] {
        absl::MutexLock lock(&fake.service.mu);
        int reports = 0;
        for (const auto& m : fake.service.received) reports += m.has_usage() ? 1 : 0;
        return reports >= 2;
      },
      kWait));
  v1::ServerMessage cancel;
  cancel.mutable_cancel()->set_attempt_id("j-3.1");
  cancel.mutable_cancel()->set_reason("preempted by j-9");
  cancel.mutable_cancel()->set_final_state(v1::ATTEMPT_STATE_PREEMPTED);
  cancel.mutable_cancel()->mutable_grace()->set_seconds(1);
  fake.service.Send(cancel);
  REQUIRE(testing::PollUntil(
      [&] { return fake.service.HasFinalStatus("j-3.1") && fake.service.HasFinalStatus("j-4.1"); },
      kWait));
  v1::AttemptStatus preempted = fake.service.Statuses("j-3.1").back();
  CHECK(preempted.state() == v1::ATTEMPT_STATE_PREEMPTED);
  CHECK(preempted.message() == "killed by SIGTERM after cancel: preempted by j-9");
  v1::AttemptStatus failed = fake.service.Statuses("j-4.1").back();
  CHECK(failed.state() == v1::ATTEMPT_STATE_FAILED);
  CHECK(failed.exit().code() == 7);

  // Usage reports carry increasing sequence numbers.
  {
    absl::MutexLock lock(&fake.service.mu);
    uint64_t last = 0;
    int reports = 0;
    for (const auto& m : fake.service.received) {
      if (!m.has_usage()) continue;
      CHECK(m.usage().sequence() > last);
      last = m.usage().sequence();
      ++reports;
    }
    CHECK(reports >= 2);
  }
  fake.Stop();
}

TEST_CASE("SessionClient runs a built-in workload and bills its device busy time as active") {
  testing::TempDir dir;
  FakeServer fake;
  fake.Start();
  Agent agent(fake.address(), dir, {"emu-gpu:1"});
  agent.session->Start();
  REQUIRE(testing::PollUntil([&] { return fake.service.HelloCount() >= 1; }, kWait));
  v1::ServerMessage m;
  v1::Assignment* a = m.mutable_assignment();
  a->set_attempt_id("j-5.1");
  a->add_device_indices(0);
  a->mutable_spec()->mutable_workload()->set_name("gemm");
  for (const char* arg : {"--m=512", "--n=512", "--k=512", "--iters=4", "--dtype=f32"}) {
    a->mutable_spec()->mutable_workload()->add_args(arg);
  }
  fake.service.Send(m);
  REQUIRE(
      testing::PollUntil([&] { return fake.service.HasFinalStatus("j-5.1"); }, absl::Seconds(30)));
  v1::AttemptStatus last = fake.service.Statuses("j-5.1").back();
  INFO(fake.service.Log("j-5.1", v1::LOG_STREAM_STDERR));
  CHECK(last.state() == v1::ATTEMPT_STATE_SUCCEEDED);
  CHECK(absl::StrContains(fake.service.Log("j-5.1", v1::LOG_STREAM_STDOUT), "{"));
  absl::MutexLock lock(&fake.service.mu);
  int64_t active = -1, allocated = -1;
  for (const auto& msg : fake.service.received) {
    for (const auto& c : msg.status().final_usage()) {
      if (c.attempt_id() == "j-5.1" && c.final()) {
        active = c.active_ms();
        allocated = c.allocated_ms();
      }
    }
  }
  CHECK(active > 0);
  CHECK(active <= allocated);
}

// True when the process is gone or a zombie (killed, not yet reaped by its new parent).
bool ProcessGone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  size_t close = line.rfind(')');
  return close == std::string::npos || line.size() < close + 3 || line[close + 2] == 'Z';
}

TEST_CASE("hac-agent kills process groups a crashed agent left behind and serves its metrics") {
  testing::TempDir dir;
  FakeServer fake;
  fake.Start();
  std::ofstream(dir.File("join.token")) << kJoinToken << "\n";
  std::ofstream(dir.File("agent.conf"))
      << "# node config\npool = from-config\ndevice = sim-npu:1\n";
  std::vector<std::string> argv = {std::string(HAC_BIN_DIR) + "/bin/hac-agent",
                                   "--config",
                                   dir.File("agent.conf"),
                                   "--server",
                                   fake.address(),
                                   "--node",
                                   "n1",
                                   "--join-token-file",
                                   dir.File("join.token"),
                                   "--state-dir",
                                   dir.File("state"),
                                   "--metrics-listen",
                                   "127.0.0.1:0",
                                   "--heartbeat-interval=100ms",
                                   "--usage-interval=100ms",
                                   "--reconnect-max-backoff=200ms"};
  auto agent = testing::Process::Start(argv, {}, dir.File("agent1.err"));
  std::optional<std::string> ready = agent->WaitForLine("hac-agent ready", absl::Seconds(30));
  REQUIRE(ready.has_value());
  std::string metrics = ready->substr(ready->find("metrics=") + 8);
  REQUIRE(testing::PollUntil([&] { return fake.service.HelloCount() >= 1; }, kWait));
  {
    absl::MutexLock lock(&fake.service.mu);
    REQUIRE(fake.service.registrations.size() == 1);
    CHECK(fake.service.registrations[0].pool() == "from-config");
    CHECK(fake.service.registrations[0].devices_size() == 1);
  }

  std::string pid_file = dir.File("job.pid");
  fake.service.Send(Assign("j-9.1", "echo $$ > " + pid_file + "; exec sleep 30"));
  REQUIRE(testing::PollUntil([&] { return !ReadAll(pid_file).empty(); }, kWait));
  pid_t job = std::stoi(ReadAll(pid_file));
  CHECK(testing::PollUntil(
      [&] {
        std::optional<std::string> body = testing::HttpGet(metrics, "/metrics");
        return body && absl::StrContains(*body, "hac_agent_attempts_running 1\n") &&
               absl::StrContains(*body, "hac_agent_device_busy_seconds_total{device=\"0\"}") &&
               absl::StrContains(*body, "hac_agent_session_reconnects_total 0");
      },
      kWait));

  // The agent crashes; its job keeps running until the next agent starts.
  agent->Signal(SIGKILL);
  REQUIRE(agent->Wait(absl::Seconds(10)).has_value());
  CHECK_FALSE(ProcessGone(job));
  size_t hellos = fake.service.HelloCount();
  auto again = testing::Process::Start(argv, {}, dir.File("agent2.err"));
  REQUIRE(again->WaitForLine("hac-agent ready", absl::Seconds(30)).has_value());
  CHECK(testing::PollUntil([&] { return ProcessGone(job); }, kWait));
  REQUIRE(testing::PollUntil([&] { return fake.service.HelloCount() > hellos; }, kWait));
  CHECK(fake.service.LastHello().attempts_size() == 0);  // not reported: the server marks it lost
  {
    absl::MutexLock lock(&fake.service.mu);
    CHECK(fake.service.registrations.size() == 1);  // the stored credential was reused
    // The same devices: their UUIDs survive the restart.
    REQUIRE(fake.service.hellos.back().devices_size() == 1);
    CHECK(fake.service.hellos.back().devices(0).uuid() ==
          fake.service.registrations[0].devices(0).uuid());
    CHECK_FALSE(fake.service.registrations[0].devices(0).uuid().empty());
  }
  again->Signal(SIGTERM);
  std::optional<int> status = again->Wait(absl::Seconds(10));
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  fake.Stop();
}

// A self-signed certificate for 127.0.0.1 (its own CA), made with the openssl command line.
void MakeCertificate(const testing::TempDir& dir, const std::string& name) {
  testing::CommandResult r = testing::RunCommand(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", dir.File(name + ".key"), "-out",
       dir.File(name + ".pem"), "-days", "1", "-subj", "/CN=" + name, "-addext",
       "subjectAltName=IP:127.0.0.1,DNS:localhost"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

TEST_CASE("hac-agent connects over mutual TLS with --ca-cert, --client-cert and --client-key") {
  testing::TempDir dir;
  MakeCertificate(dir, "server");
  MakeCertificate(dir, "client");
  FakeServer fake;
  grpc::SslServerCredentialsOptions tls(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  tls.pem_root_certs = ReadAll(dir.File("client.pem"));
  tls.pem_key_cert_pairs.push_back(
      {ReadAll(dir.File("server.key")), ReadAll(dir.File("server.pem"))});
  fake.credentials = grpc::SslServerCredentials(tls);
  fake.Start();
  std::ofstream(dir.File("join.token")) << kJoinToken << "\n";
  auto agent = testing::Process::Start(
      {std::string(HAC_BIN_DIR) + "/bin/hac-agent", "--server", fake.address(), "--node", "n1",
       "--device", "sim-npu:1", "--join-token-file", dir.File("join.token"), "--state-dir",
       dir.File("state"), "--ca-cert", dir.File("server.pem"), "--client-cert",
       dir.File("client.pem"), "--client-key", dir.File("client.key")},
      {}, dir.File("agent.err"));
  REQUIRE(agent->WaitForLine("hac-agent ready", absl::Seconds(30)).has_value());
  CHECK(testing::PollUntil([&] { return fake.service.HelloCount() >= 1; }, kWait));
  {
    absl::MutexLock lock(&fake.service.mu);
    CHECK(fake.service.registrations.size() == 1);
  }
  agent->Signal(SIGTERM);
  REQUIRE(agent->Wait(absl::Seconds(10)).has_value());
  fake.Stop();
}

TEST_CASE("hac-agent refuses a client certificate without its key") {
  testing::TempDir dir;
  testing::CommandResult r =
      testing::RunCommand({std::string(HAC_BIN_DIR) + "/bin/hac-agent", "--node", "n1", "--device",
                           "sim-npu:1", "--state-dir", dir.File("state"), "--join-token-file",
                           dir.File("join.token"), "--client-cert", dir.File("client.pem")},
                          {}, absl::Seconds(30));
  CHECK(r.exit_code == 1);
  CHECK(absl::StrContains(r.err, "--client-cert and --client-key go together"));
}

TEST_CASE("hac-agent without a credential or a join token file exits naming the flag") {
  testing::TempDir dir;
  testing::CommandResult r =
      testing::RunCommand({std::string(HAC_BIN_DIR) + "/bin/hac-agent", "--node", "n1", "--device",
                           "sim-npu:1", "--state-dir", dir.File("state")},
                          {}, absl::Seconds(30));
  CHECK(r.exit_code == 1);
  CHECK(absl::StrContains(r.err, "--join-token-file is required"));
}


v1::AgentMessage StatusMessage(const std::string& id, v1::AttemptState state, int64_t seconds) {
  v1::AgentMessage m;
  m.mutable_status()->set_attempt_id(id);
  m.mutable_status()->set_state(state);
  m.mutable_status()->mutable_time()->set_seconds(seconds);
  return m;
}

TEST_CASE("Outbox sends an attempt's RUNNING status taken with its final one as its start time") {
  Outbox outbox;
  outbox.Push(StatusMessage("j-1.1", v1::ATTEMPT_STATE_RUNNING, 100));
  v1::AgentMessage usage;
  usage.mutable_usage()->set_sequence(7);
  outbox.Push(usage);
  outbox.Push(StatusMessage("j-2.1", v1::ATTEMPT_STATE_RUNNING, 101));
  outbox.Push(StatusMessage("j-1.1", v1::ATTEMPT_STATE_SUCCEEDED, 105));
  std::vector<v1::AgentMessage> taken = outbox.Take(absl::ZeroDuration());
  REQUIRE(taken.size() == 3);
  CHECK(taken[0].usage().sequence() == 7);
  CHECK(taken[1].status().attempt_id() == "j-2.1");
  CHECK(taken[1].status().state() == v1::ATTEMPT_STATE_RUNNING);
  CHECK(taken[2].status().attempt_id() == "j-1.1");
  CHECK(taken[2].status().state() == v1::ATTEMPT_STATE_SUCCEEDED);
  CHECK(taken[2].status().start_time().seconds() == 100);
  CHECK(taken[2].status().time().seconds() == 105);

  // Taken apart, both go out as they are.
  outbox.Push(StatusMessage("j-2.1", v1::ATTEMPT_STATE_FAILED, 109));
  taken = outbox.Take(absl::ZeroDuration());
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].status().state() == v1::ATTEMPT_STATE_FAILED);
  CHECK_FALSE(taken[0].status().has_start_time());
  CHECK(outbox.size() == 0);
}

}  // namespace
}  // namespace hac::agent
