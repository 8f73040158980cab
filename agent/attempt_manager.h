// AttemptManager: what the node agent does with the server's orders, without the network. It
// turns Assignment / CancelAttempt / Reconcile / StatusAck into processes (Supervisor), device
// claims (NodeDevices) and usage counters (UsageMeter), and everything that happens back into
// AgentMessages handed to `send` (the session's outbox).
//
//   AttemptManager::Options options{.node = "n1", .state_dir = "/var/lib/hac-agent", ...};
//   ASSIGN_OR_RETURN(auto manager, AttemptManager::Create(options, devices.get(), send));
//   manager->OnAssignment(assignment);   // claim, start, send RUNNING
//   manager->Tick();                      // every usage interval: UsageReport of running attempts
//   AgentHello hello = manager->Hello();  // on (re)connect
//
// Per attempt: Assignment -> claim devices, start the process, AttemptStatus RUNNING. At exit ->
// final counters (final=true) read, devices reset, AttemptStatus with the final state and those
// counters, kept and repeated in every Hello (with the counters) until OnStatusAck.
// Output -> AttemptLog chunks.
// Restart safety: each running attempt's process group id is recorded in
// <state_dir>/attempts/<attempt-id> ("<pgid> <boot-id>"); Create() SIGKILLs groups recorded by a
// previous agent process on the same boot, deletes the records and resets every device. Those
// attempts are not reported (the server marks them lost). A final status is written durably to
// <state_dir>/finished/<attempt-id> (FinalStatusStore) before it is sent and deleted on its
// StatusAck; Create() loads those records, so an agent killed before the ack still reports how
// its attempts ended.
//
// Owner: the agent's composition root. Thread-safety: all methods are thread-safe; `send` is
// called with the internal lock held, so it must not call back into the manager. Invariants: an
// attempt is either running (it holds its devices and has a process, or its process has just
// exited and its final status is being written) or finished-unacknowledged (it holds nothing,
// and has a record in finished/ unless writing it failed); statuses of one attempt are sent in
// order, RUNNING before the final one, and a final state is sent only once it is on disk.
#ifndef HAC_AGENT_ATTEMPT_MANAGER_H_
#define HAC_AGENT_ATTEMPT_MANAGER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/final_status_store.h"
#include "agent/journal.h"
#include "agent/node_devices.h"
#include "agent/supervisor.h"
#include "agent/usage_meter.h"
#include "agent/work_dirs.h"
#include "common/clock.h"
#include "hac/v1/nodes.pb.h"

namespace hac::agent {

// The devices as the protocol describes them (RegisterNode, AgentHello).
std::vector<v1::Device> DescribeDevices(const NodeDevices& devices);

class AttemptManager {
 public:
  struct Options {
    std::string node;
    // Holds attempts/ (process group records), finished/ (unacknowledged final statuses) and
    // logs/ (per-attempt output).
    std::string state_dir;
    // Attempts without a working directory run in a fresh <work_dir>/<attempt-id>/ (WorkDirs:
    // one left empty by an earlier attempt may be renamed for it).
    std::string work_dir;
    // Searched, in order, for hac-<workload> before PATH.
    std::vector<std::string> workload_dirs;
    int64_t log_cap_bytes = int64_t{64} << 20;
    // For a spec without max_runtime.
    absl::Duration default_max_runtime = absl::Hours(24);
    // SIGTERM -> SIGKILL grace for max runtime, Reconcile kills and CancelAttempt without grace.
    absl::Duration kill_grace = absl::Seconds(10);
    // First UsageReport sequence; 0 means the wall clock in milliseconds at Create().
    uint64_t first_sequence = 0;
    // Not owned; must outlive the manager.
    const common::Clock* clock = nullptr;
  };
  using SendFn = std::function<void(v1::AgentMessage)>;

  // Kills leftovers of a previous agent, resets the devices and loads the final statuses it
  // left unacknowledged (see above). `devices` must outlive the manager.
  static absl::StatusOr<std::unique_ptr<AttemptManager>> Create(Options options,
                                                                NodeDevices* devices, SendFn send);
  // Stops every running attempt (SIGKILL to each group) and waits for them.
  ~AttemptManager();
  AttemptManager(const AttemptManager&) = delete;
  AttemptManager& operator=(const AttemptManager&) = delete;

  // Server -> agent.
  void OnAssignment(const v1::Assignment& assignment);
  void OnCancel(const v1::CancelAttempt& cancel);
  void OnReconcile(const v1::Reconcile& reconcile);
  void OnStatusAck(const v1::StatusAck& ack);
  void OnDrain(const v1::Drain& drain);

  // Agent -> server. The first message of a session: every running and every finished but
  // unacknowledged attempt (with its final counters: hacd may have missed them), and the devices.
  v1::AgentHello Hello();
  // A heartbeat with the devices whose health changed since the previous one.
  v1::Heartbeat Heartbeat();
  // Sends a UsageReport of every running attempt (nothing when none runs).
  void Tick();

  int running() const;
  bool draining() const;
  // Ids of finished attempts whose final status is not acknowledged yet.
  std::vector<std::string> Unacknowledged() const;

 private:
  struct Attempt {
    std::string id;
    std::vector<uint32_t> devices;
    // The directory WorkDirs made for it (released at exit); empty when the spec names one.
    std::string work_dir;
    bool running = false;
    // Set by CancelAttempt or Reconcile: the state a cancelled process ends in.
    v1::AttemptState cancel_state = v1::ATTEMPT_STATE_UNSPECIFIED;
    std::string cancel_reason;
    v1::AttemptStatus final_status;  // when !running
    v1::UsageReport final_usage;     // when !running; no counters without devices
  };

  AttemptManager(Options options, NodeDevices* devices, SendFn send);
  void KillLeftovers();
  void OnOutput(const OutputChunk& chunk);
  void OnExit(const std::string& attempt_id, const ExitInfo& info);
  // Records a final status, writes it to finished/, sends it and keeps it until acknowledged.
  // For the rare ends decided under the lock (devices taken, no program, unknown attempt);
  // process exits write without holding it (OnExit).
  void FinishLocked(Attempt& attempt, v1::AttemptState state, int code, int signal,
                    const std::string& message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The final status of `attempt`, with its final usage counters (attempt.final_usage).
  v1::AttemptStatus MakeFinalStatus(const Attempt& attempt, v1::AttemptState state,
                                    int code, int signal, const std::string& message) const;
  // Writes finished/<attempt-id> (logs when it cannot).
  void SaveFinal(const FinalStatus& final_status);
  // Ends the attempt with `status` (saved before), sends it and keeps it until acknowledged.
  void PublishFinalLocked(Attempt& attempt, v1::AttemptStatus status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The process of a running attempt exited: final usage taken, devices released; returns the
  // final status to save and publish.
  FinalStatus ExitedLocked(Attempt& attempt, const ExitInfo& info)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends the attempt's metering and keeps its final counters in attempt.final_usage (they go
  // out with its final status).
  void TakeFinalUsageLocked(Attempt& attempt) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Loads finished/ into attempts_ (before any other method runs).
  void LoadFinished();
  // What to run; makes the attempt's work directory (attempt.work_dir) unless the spec names one.
  absl::StatusOr<LaunchSpec> BuildLaunch(const v1::Assignment& assignment, Attempt& attempt);
  UsageMeter::BusyFn BusyFn() const;

  const Options options_;
  NodeDevices* const devices_;
  const SendFn send_;
  // /proc/sys/kernel/random/boot_id, recorded with each process group.
  const std::string boot_id_;
  WorkDirs work_dirs_;
  std::unique_ptr<Supervisor> supervisor_;
  std::unique_ptr<FinalStatusStore> finished_;
  // Running attempts' process groups (value "pgid boot-id"), so that an agent that was killed
  // can kill what it left running when it starts again.
  std::unique_ptr<Journal> running_;

  mutable absl::Mutex mu_;
  std::map<std::string, Attempt> attempts_ ABSL_GUARDED_BY(mu_);
  UsageMeter meter_ ABSL_GUARDED_BY(mu_);
  std::vector<device::Health> reported_health_ ABSL_GUARDED_BY(mu_);
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace hac::agent

#endif  // HAC_AGENT_ATTEMPT_MANAGER_H_
