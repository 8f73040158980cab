// AttemptManager without the network: server orders in, AgentMessages out (collected here).
#include "agent/attempt_manager.h"

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "agent/final_status_store.h"
#include "agent/journal.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "agent/node_devices.h"
#include "common/clock.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

namespace hac::agent {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Harness {
  Harness() {
    auto config = ParseDeviceFlags({"sim-npu:2"}, {});
    REQUIRE(config.ok());
    absl::BitGen gen;
    auto d = NodeDevices::Create(*config, dir.File("state/devices"), gen);
    REQUIRE(d.ok());
    devices = std::move(*d);
    AttemptManager::Options options;
    options.node = "n1";
    options.state_dir = dir.File("state");
    options.kill_grace = absl::Seconds(2);
    options.first_sequence = 100;
    options.clock = &clock;
    auto m = AttemptManager::Create(options, devices.get(), [this](v1::AgentMessage msg) {
      absl::MutexLock lock(&mu);
      sent.push_back(std::move(msg));
    });
    REQUIRE(m.ok());
    manager = std::move(*m);
  }

  std::vector<v1::AttemptStatus> Statuses(const std::string& id) {
    absl::MutexLock lock(&mu);
    std::vector<v1::AttemptStatus> out;
    for (const auto& m : sent) {
      if (m.has_status() && m.status().attempt_id() == id) out.push_back(m.status());
    }
    return out;
  }

  bool Final(const std::string& id) {
    for (const auto& s : Statuses(id)) {
      if (s.state() != v1::ATTEMPT_STATE_RUNNING) return true;
    }
    return false;
  }

  testing::TempDir dir;
  common::RealClock clock;
  absl::Mutex mu;
  std::vector<v1::AgentMessage> sent;
  std::unique_ptr<NodeDevices> devices;
  std::unique_ptr<AttemptManager> manager;
};

v1::Assignment Assign(const std::string& id, const std::string& script,
                      std::vector<uint32_t> devices = {0}) {
  v1::Assignment a;
  a.set_attempt_id(id);
  a.set_job_id("j-7");
  a.set_tenant("acme");
  a.set_attempt_number(2);
  for (uint32_t d : devices) a.add_device_indices(d);
  auto* argv = a.mutable_spec()->mutable_command()->mutable_argv();
  argv->Add("/bin/sh");
  argv->Add("-c");
  argv->Add(std::string(script));
  return a;
}

const absl::Duration kWait = absl::Seconds(10);

TEST_CASE("AttemptManager gives the job its runtime variables and a fresh work directory") {
  Harness h;
  h.manager->OnAssignment(
      Assign("j-7.2",
             "echo \"$HAC_ATTEMPT_ID $HAC_JOB_ID $HAC_TENANT $HAC_ATTEMPT_NUMBER $HAC_NODE "
             "$HAC_DEVICE_COUNT $HAC_VISIBLE_DEVICES $(pwd)\"",
             {1, 0}));
  REQUIRE(testing::PollUntil([&] { return h.Final("j-7.2"); }, kWait));
  std::string expected = "j-7.2 j-7 acme 2 n1 2 " + h.devices->path(1) + "," + h.devices->path(0) +
                         " " + h.dir.File("state/work/j-7.2") + "\n";
  CHECK(ReadAll(h.dir.File("state/logs/j-7.2.stdout")) == expected);
  CHECK(h.Statuses("j-7.2").back().state() == v1::ATTEMPT_STATE_SUCCEEDED);
}

TEST_CASE("AttemptManager keeps a work directory its job wrote to and reuses an empty one") {
  Harness h;
  h.manager->OnAssignment(Assign("j-7.1", "echo done > result"));
  REQUIRE(testing::PollUntil([&] { return h.Final("j-7.1"); }, kWait));
  h.manager->OnAssignment(Assign("j-8.1", "true"));
  REQUIRE(testing::PollUntil([&] { return h.Final("j-8.1"); }, kWait));
  // j-8.1 left its directory empty: the next attempt gets it, renamed.
  h.manager->OnAssignment(Assign("j-9.1", "pwd; ls -A"));
  REQUIRE(testing::PollUntil([&] { return h.Final("j-9.1"); }, kWait));
  CHECK(h.Statuses("j-9.1").back().state() == v1::ATTEMPT_STATE_SUCCEEDED);
  CHECK(ReadAll(h.dir.File("state/work/j-7.1/result")) == "done\n");
  CHECK_FALSE(std::filesystem::exists(h.dir.File("state/work/j-8.1")));
  CHECK(ReadAll(h.dir.File("state/logs/j-9.1.stdout")) == h.dir.File("state/work/j-9.1") + "\n");
}

TEST_CASE("AttemptManager records a running attempt's process group and removes it at exit") {
  Harness h;
  h.manager->OnAssignment(Assign("j-8.1", "exec sleep 30"));
  REQUIRE(h.Statuses("j-8.1").size() == 1);
  std::string record = Journal::Read(h.dir.File("state/running"))["j-8.1"];
  REQUIRE_FALSE(record.empty());
  CHECK(std::stoi(record) > 1);
  CHECK(h.manager->running() == 1);
  v1::CancelAttempt cancel;
  cancel.set_attempt_id("j-8.1");
  cancel.mutable_grace()->set_seconds(1);
  h.manager->OnCancel(cancel);
  REQUIRE(testing::PollUntil([&] { return h.Final("j-8.1"); }, kWait));
  CHECK(h.Statuses("j-8.1").back().state() == v1::ATTEMPT_STATE_CANCELLED);
  CHECK(Journal::Read(h.dir.File("state/running")).count("j-8.1") == 0);
  CHECK(h.manager->running() == 0);
}

TEST_CASE(
    "AttemptManager fails an assignment whose devices are taken or whose program is missing") {
  Harness h;
  h.manager->OnAssignment(Assign("j-1.1", "exec sleep 30", {0}));
  h.manager->OnAssignment(Assign("j-2.1", "true", {0, 1}));
  std::vector<v1::AttemptStatus> taken = h.Statuses("j-2.1");
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].state() == v1::ATTEMPT_STATE_FAILED);
  CHECK(taken[0].message() == "cannot claim devices: device 0 is held by attempt j-1.1");
  CHECK(h.devices->Owner(1).empty());

  v1::Assignment missing = Assign("j-3.1", "", {1});
  missing.mutable_spec()->mutable_command()->clear_argv();
  missing.mutable_spec()->mutable_command()->add_argv("/no/such/program");
  h.manager->OnAssignment(missing);
  std::vector<v1::AttemptStatus> failed = h.Statuses("j-3.1");
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].state() == v1::ATTEMPT_STATE_FAILED);
  CHECK(failed[0].message() ==
        "cannot start: cannot execute /no/such/program: No such file or directory");
  CHECK(h.devices->Owner(1).empty());  // released again
  std::vector<std::string> unacked = h.manager->Unacknowledged();
  CHECK(unacked == std::vector<std::string>{"j-2.1", "j-3.1"});
}

TEST_CASE("AttemptManager answers a repeated assignment with the attempt's current status") {
  Harness h;
  h.manager->OnAssignment(Assign("j-1.1", "exit 4"));
  REQUIRE(testing::PollUntil([&] { return h.Final("j-1.1"); }, kWait));
  h.manager->OnAssignment(Assign("j-1.1", "exit 0"));
  std::vector<v1::AttemptStatus> s = h.Statuses("j-1.1");
  REQUIRE(s.size() == 3);
  CHECK(s[1].state() == v1::ATTEMPT_STATE_FAILED);
  CHECK(s[2].state() == v1::ATTEMPT_STATE_FAILED);
  CHECK(s[2].exit().code() == 4);
}

TEST_CASE("AttemptManager ends an attempt it never saw in the state a cancel asks for") {
  Harness h;
  v1::CancelAttempt cancel;
  cancel.set_attempt_id("j-5.1");
  cancel.set_reason("preempted by j-9");
  cancel.set_final_state(v1::ATTEMPT_STATE_PREEMPTED);
  h.manager->OnCancel(cancel);
  std::vector<v1::AttemptStatus> s = h.Statuses("j-5.1");
  REQUIRE(s.size() == 1);
  CHECK(s[0].state() == v1::ATTEMPT_STATE_PREEMPTED);
  v1::AgentHello hello = h.manager->Hello();
  REQUIRE(hello.attempts_size() == 1);
  CHECK(hello.attempts(0).state() == v1::ATTEMPT_STATE_PREEMPTED);
  v1::StatusAck ack;
  ack.set_attempt_id("j-5.1");
  h.manager->OnStatusAck(ack);
  CHECK(h.manager->Hello().attempts_size() == 0);
}

TEST_CASE("AttemptManager writes a final status to disk before sending it") {
  Harness h;
  // Whether the record existed when the final status went out.
  bool on_disk_when_sent = false;
  int finals = 0;
  h.manager.reset();
  AttemptManager::Options options;
  options.node = "n1";
  options.state_dir = h.dir.File("state");
  options.clock = &h.clock;
  const std::string finished = h.dir.File("state/finished");
  auto m = AttemptManager::Create(options, h.devices.get(), [&](v1::AgentMessage msg) {
    if (msg.has_status() && msg.status().state() != v1::ATTEMPT_STATE_RUNNING) {
      absl::MutexLock lock(&h.mu);
      ++finals;
      on_disk_when_sent =
          FinalStatusStore::ListSaved(finished) == std::vector<std::string>{"j-1.1"};
    }
  });
  REQUIRE(m.ok());
  (*m)->OnAssignment(Assign("j-1.1", "exit 0"));
  REQUIRE(testing::PollUntil(
      [&] {
        absl::MutexLock lock(&h.mu);
        return finals == 1;
      },
      kWait));
  absl::MutexLock lock(&h.mu);
  CHECK(on_disk_when_sent);
}

TEST_CASE("AttemptManager reports an unacknowledged final status again after a restart") {
  std::vector<v1::UsageCounter> first_final;
  Harness h;
  h.manager->OnAssignment(Assign("j-1.1", "exit 3", {1}));
  REQUIRE(testing::PollUntil([&] { return h.Final("j-1.1"); }, kWait));
  {
    absl::MutexLock lock(&h.mu);
    for (const auto& m : h.sent) {
      for (const auto& c : m.status().final_usage()) {
        if (c.final()) first_final.push_back(c);
      }
    }
  }
  REQUIRE(first_final.size() == 1);
  CHECK(FinalStatusStore::ListSaved(h.dir.File("state/finished")) ==
        std::vector<std::string>{"j-1.1"});

  // The agent dies before the StatusAck; a new manager on the same state directory plays the
  // restarted agent.
  h.manager.reset();
  AttemptManager::Options options;
  options.node = "n1";
  options.state_dir = h.dir.File("state");
  options.first_sequence = 500;
  options.clock = &h.clock;
  std::vector<v1::AgentMessage> sent;
  auto again = AttemptManager::Create(options, h.devices.get(),
                                      [&](v1::AgentMessage m) { sent.push_back(std::move(m)); });
  REQUIRE(again.ok());
  CHECK((*again)->Unacknowledged() == std::vector<std::string>{"j-1.1"});
  CHECK((*again)->running() == 0);
  v1::AgentHello hello = (*again)->Hello();
  REQUIRE(hello.attempts_size() == 1);
  CHECK(hello.attempts(0).attempt_id() == "j-1.1");
  CHECK(hello.attempts(0).state() == v1::ATTEMPT_STATE_FAILED);
  CHECK(hello.attempts(0).exit().code() == 3);
  CHECK(hello.attempts(0).exit().message() == "exited 3");
  // The hello carries the final counters, which hacd stores before it acknowledges the status.
  CHECK(sent.empty());
  REQUIRE(hello.attempts(0).final_usage_size() == 1);
  const v1::UsageCounter& c = hello.attempts(0).final_usage(0);
  CHECK(c.attempt_id() == "j-1.1");
  CHECK(c.device_index() == 1);
  CHECK(c.final());
  CHECK(c.allocated_ms() == first_final[0].allocated_ms());
  CHECK(c.active_ms() == first_final[0].active_ms());
  // A repeated assignment is answered with the status from disk.
  (*again)->OnAssignment(Assign("j-1.1", "exit 0", {1}));
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].status().state() == v1::ATTEMPT_STATE_FAILED);
  CHECK(sent[0].status().exit().code() == 3);
  REQUIRE(sent[0].status().final_usage_size() == 1);
  CHECK(sent[0].status().final_usage(0).allocated_ms() == first_final[0].allocated_ms());
  CHECK(h.devices->Owner(1).empty());

  v1::StatusAck ack;
  ack.set_attempt_id("j-1.1");
  (*again)->OnStatusAck(ack);
  CHECK(FinalStatusStore::ListSaved(h.dir.File("state/finished")).empty());
  CHECK((*again)->Unacknowledged().empty());
  again->reset();
  // Acknowledged means forgotten, also by the next agent.
  auto third = AttemptManager::Create(options, h.devices.get(), [](v1::AgentMessage) {});
  REQUIRE(third.ok());
  CHECK((*third)->Hello().attempts_size() == 0);
}

TEST_CASE("AttemptManager does not record attempts it kills because the agent stops") {
  Harness h;
  h.manager->OnAssignment(Assign("j-1.1", "exec sleep 30"));
  REQUIRE(h.manager->running() == 1);
  h.manager.reset();  // what SIGTERM to hac-agent does
  CHECK(h.Final("j-1.1"));
  CHECK(FinalStatusStore::ListSaved(h.dir.File("state/finished")).empty());
  AttemptManager::Options options;
  options.node = "n1";
  options.state_dir = h.dir.File("state");
  options.clock = &h.clock;
  auto again = AttemptManager::Create(options, h.devices.get(), [](v1::AgentMessage) {});
  REQUIRE(again.ok());
  // Like after a crash: hacd finds it gone and marks it lost, instead of a cancel by the agent.
  CHECK((*again)->Hello().attempts_size() == 0);
}

TEST_CASE("AttemptManager forgets a finished attempt on disk when reconciliation kills it") {
  Harness h;
  h.manager->OnAssignment(Assign("j-1.1", "exit 0"));
  REQUIRE(testing::PollUntil([&] { return h.Final("j-1.1"); }, kWait));
  REQUIRE(FinalStatusStore::ListSaved(h.dir.File("state/finished")) ==
          std::vector<std::string>{"j-1.1"});
  v1::Reconcile reconcile;
  reconcile.add_kill_attempt_ids("j-1.1");
  h.manager->OnReconcile(reconcile);
  CHECK(FinalStatusStore::ListSaved(h.dir.File("state/finished")).empty());
  CHECK(h.manager->Unacknowledged().empty());
}

TEST_CASE("AttemptManager stops a job at its max runtime and reports it failed") {
  Harness h;
  v1::Assignment a = Assign("j-6.1", "exec sleep 30");
  a.mutable_spec()->mutable_max_runtime()->set_nanos(200'000'000);
  h.manager->OnAssignment(a);
  REQUIRE(testing::PollUntil([&] { return h.Final("j-6.1"); }, kWait));
  v1::AttemptStatus s = h.Statuses("j-6.1").back();
  CHECK(s.state() == v1::ATTEMPT_STATE_FAILED);
  CHECK(s.exit().signal() == SIGTERM);
  CHECK(s.message() == "killed by SIGTERM after max runtime 200ms");
}

TEST_CASE("AttemptManager sends usage only while attempts run, with increasing sequences") {
  Harness h;
  h.manager->Tick();
  {
    absl::MutexLock lock(&h.mu);
    CHECK(h.sent.empty());
  }
  h.manager->OnAssignment(Assign("j-1.1", "exec sleep 30", {0, 1}));
  h.manager->Tick();
  h.manager->Tick();
  absl::MutexLock lock(&h.mu);
  std::vector<v1::UsageReport> reports;
  for (const auto& m : h.sent) {
    if (m.has_usage()) reports.push_back(m.usage());
  }
  REQUIRE(reports.size() == 2);
  CHECK(reports[0].sequence() == 100);
  CHECK(reports[1].sequence() == 101);
  REQUIRE(reports[1].counters_size() == 2);
  CHECK(reports[1].counters(0).attempt_id() == "j-1.1");
  CHECK(reports[1].counters(1).device_index() == 1);
  CHECK(reports[1].counters(1).allocated_ms() >= reports[0].counters(1).allocated_ms());
}

TEST_CASE("AttemptManager reports a device's health change once in the next heartbeat") {
  Harness h;
  v1::AgentHello hello = h.manager->Hello();
  REQUIRE(hello.devices_size() == 2);
  CHECK(hello.devices(1).health() == v1::DEVICE_HEALTH_HEALTHY);
  CHECK(h.manager->Heartbeat().devices_size() == 0);
  auto seg = device::DeviceStateSegment::Attach(h.devices->path(1));
  REQUIRE(seg.ok());
  (*seg)->SetHealth(device::Health::kFailed);
  v1::Heartbeat hb = h.manager->Heartbeat();
  REQUIRE(hb.devices_size() == 1);
  CHECK(hb.devices(0).index() == 1);
  CHECK(hb.devices(0).health() == v1::DEVICE_HEALTH_UNHEALTHY);
  CHECK(h.manager->Heartbeat().devices_size() == 0);
}

TEST_CASE("AttemptManager kills process groups recorded by a previous agent on the same boot") {
  testing::TempDir dir;
  // In their own process groups (setsid without forking: the child is not a group leader), like
  // attempts; the test waits until they are. One recorded in the journal, one in a file of the
  // former layout.
  auto victim = testing::Process::Start({"/usr/bin/setsid", "/bin/sleep", "30"});
  auto old_victim = testing::Process::Start({"/usr/bin/setsid", "/bin/sleep", "30"});
  REQUIRE(testing::PollUntil(
      [&] {
        return getpgid(victim->pid()) == victim->pid() &&
               getpgid(old_victim->pid()) == old_victim->pid();
      },
      kWait));
  std::string boot = ReadAll("/proc/sys/kernel/random/boot_id");
  boot.pop_back();
  {
    Harness h;
    h.manager.reset();
    {
      std::unique_ptr<Journal> running = Journal::Open(h.dir.File("state/running"));
      REQUIRE(running->Put("j-old.1", absl::StrCat(victim->pid(), " ", boot), false).ok());
      REQUIRE(running->Put("j-other-boot.1", "424242 not-this-boot", false).ok());
    }
    std::filesystem::create_directories(h.dir.File("state/attempts"));
    std::ofstream(h.dir.File("state/attempts/j-older.1")) << old_victim->pid() << " " << boot
                                                         << "\n";
    // A new manager on the same state directory plays the restarted agent.
    AttemptManager::Options options;
    options.node = "n1";
    options.state_dir = h.dir.File("state");
    options.clock = &h.clock;
    auto again = AttemptManager::Create(options, h.devices.get(), [](v1::AgentMessage) {});
    REQUIRE(again.ok());
    CHECK(Journal::Read(h.dir.File("state/running")).empty());
    CHECK(access(h.dir.File("state/attempts").c_str(), F_OK) != 0);
    CHECK((*again)->Hello().attempts_size() == 0);
  }
  for (auto* p : {&victim, &old_victim}) {
    std::optional<int> status = (*p)->Wait(kWait);
    REQUIRE(status.has_value());
    CHECK(WIFSIGNALED(*status));
    CHECK(WTERMSIG(*status) == SIGKILL);
  }
}

}  // namespace
}  // namespace hac::agent
