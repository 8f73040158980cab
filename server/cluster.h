// ClusterManager: the control loop that connects jobs to nodes. It owns the pure scheduler
// (scheduler/), the registry of nodes and their agent sessions, and every attempt's life:
//
//   submit ──► scheduler.Submit ──► Schedule() ──► attempt committed (ASSIGNED) ──► Assignment
//   agent: RUNNING ──► job RUNNING;  exit ──► SUCCEEDED | FAILED (retry?) | CANCELLED | PREEMPTED
//   heartbeats stop for `heartbeat_timeout` (server clock) ──► node LOST, its attempts LOST and
//   requeued while retries remain.
//
// Decisions are committed to the store before they are sent. Usage reports are stored as the
// maximum of each cumulative counter (idempotent). Agents act only for their own node: a
// report about an attempt the server does not have on that node is refused.
//
// Thread-safe: gRPC handler threads call in; one loop thread runs scheduling passes and
// liveness checks; each session has a writer thread for its outbound messages.
#ifndef HAC_SERVER_CLUSTER_H_
#define HAC_SERVER_CLUSTER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "hac/v1/jobs.pb.h"
#include "hac/v1/nodes.pb.h"
#include "hac/v1/pools.pb.h"
#include "scheduler/scheduler.h"
#include "server/auth.h"
#include "server/jobs.h"
#include "server/logs.h"
#include "server/store/store.h"

namespace hac::server {

// The agent's end of NodeService.Session, as the cluster manager sees it.
class SessionStream {
 public:
  virtual ~SessionStream() = default;
  virtual bool Read(hac::v1::AgentMessage* msg) = 0;  // false when the stream ended
  // `more`: another message follows at once, so the transport may hold this one and send both
  // in one write.
  virtual bool Write(const hac::v1::ServerMessage& msg, bool more) = 0;
};

class ClusterManager final : public JobListener {
 public:
  struct Options {
    absl::Duration heartbeat_timeout = absl::Seconds(10);
    absl::Duration tick = absl::Seconds(1);
    absl::Duration grace = absl::Seconds(10);          // SIGTERM -> SIGKILL on cancel
    absl::Duration heartbeat_interval = absl::Seconds(1);
    absl::Duration usage_interval = absl::Seconds(1);   // how often agents report usage
    absl::Duration ledger_interval = absl::Seconds(60); // length of the ledger's usage rows
    std::string scheduler_config;                       // scheduler config text ("" = defaults)
    // Passes run on events (a submission, an exit, a node joining), but at most one per this
    // interval: under a stream of events one pass serves many of them.
    absl::Duration min_pass_interval = absl::Milliseconds(1);
  };

  // `jobs` is told of every job transition (watchers, metrics); register this manager with
  // jobs.SetListener() to hear of submissions and cancellations.
  static absl::StatusOr<std::unique_ptr<ClusterManager>> Create(store::Store& store,
                                                                Authenticator& auth,
                                                                JobManager& jobs, LogStore& logs,
                                                                const common::Clock& clock,
                                                                Options options);
  ~ClusterManager() override;

  // Loads nodes, unfinished jobs and active attempts from the store and starts the loop.
  absl::Status Start();
  void Stop();

  // JobListener (called by JobManager after commits).
  void JobSubmitted(const store::JobRecord& job) override;
  void JobCancelled(const store::JobRecord& job) override;
  absl::StatusOr<hac::v1::DryRunResult> DryRun(const store::JobRecord& job) override;

  // NodeService.
  absl::StatusOr<hac::v1::RegisterNodeResponse> RegisterNode(
      const Principal& caller, const hac::v1::RegisterNodeRequest& req);
  // Runs one agent session until the stream ends. Blocks.
  absl::Status RunSession(const Principal& caller, SessionStream& stream);

  // PoolService (nodes).
  absl::StatusOr<hac::v1::ListNodesResponse> ListNodes(const Principal& caller,
                                                       const hac::v1::ListNodesRequest& req);
  absl::StatusOr<hac::v1::Node> GetNode(const Principal& caller, absl::string_view name);
  absl::StatusOr<hac::v1::Node> SetNodeState(const Principal& caller, absl::string_view name,
                                             hac::v1::NodeState state);

  // Replaces the scheduler's configuration (text form, see docs/scheduler.md) without a restart.
  // Tenants' quotas from the store (AdminService.SetQuota) are added to it as quota.* keys.
  absl::Status ApplySchedulerConfig(const std::string& text);
  // Re-reads the quotas from the store and applies them (after SetQuota / DeleteQuota).
  absl::Status ReloadQuotas();

  // Scheduling passes run so far (tests).
  int64_t passes() const;

 private:
  struct Session;
  struct AttemptInfo {
    int64_t job_id = 0;
    hac::v1::Attempt attempt;  // as committed
    std::string node;
    scheduler::AttemptId sched_id;
    uint32_t max_retries = 0;
    store::JobRecord job;  // the job as it was placed (spec, tenant, attempt count)
  };
  // A placement decided in a pass, committed with the others of that pass.
  struct PendingPlacement {
    scheduler::PlaceDecision decision;
    store::AttemptChange change;
    AttemptInfo info;
  };
  struct NodeInfo {
    hac::v1::Node node;
    hac::v1::NodeState admin_state = hac::v1::NODE_STATE_READY;  // what operators asked for
    std::shared_ptr<Session> session;
    absl::Time last_heard;  // monotonic
  };

  ClusterManager(store::Store& store, Authenticator& auth, JobManager& jobs, LogStore& logs,
                 const common::Clock& clock, Options options,
                 std::unique_ptr<scheduler::Scheduler> sched);

  void Loop();
  void Wake();
  // One pass: liveness, decisions, reasons. Called on the loop thread.
  void Pass();
  // Hands the jobs JobSubmitted queued to the scheduler.
  void TakeSubmitted() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CheckLiveness() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Builds the attempt for a decision; nullopt when its job is no longer pending.
  std::optional<PendingPlacement> Prepare(const scheduler::PlaceDecision& d)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Commits a pass's placements in one transaction, then sends the assignments.
  void Place(std::vector<PendingPlacement> placements) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Preempt(const scheduler::PreemptDecision& d) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Refreshes the pending jobs' reasons (each costs the scheduler an evaluation): the jobs new
  // to the queue, then at most kReasonsPerTick others, continuing where the last call stopped.
  // A long queue costs a bounded amount per tick; each reason is at most
  // pending / kReasonsPerTick ticks old.
  void UpdateReasons() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static constexpr size_t kReasonsPerTick = 4096;
  // Ends an attempt: frees its devices, requeues its job or ends it, and commits both with the
  // attempt's final usage counters (without waiting: the commit is ordered before any later
  // write). When `ack` is set, the agent's StatusAck is sent once the commit is durable.
  void EndAttempt(const std::string& attempt_id, hac::v1::AttemptState state,
                  const hac::v1::ExitStatus& exit, const std::string& message,
                  std::shared_ptr<Session> ack = nullptr,
                  std::vector<store::UsageCounterRecord> final_usage = {})
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Commits `change` without waiting; tells JobManager; sends StatusAck on `ack` when durable.
  // A failed commit is kept and retried when the agent reports the attempt again. A
  // `deferrable` change may wait a little to share another write's commit (Store).
  void CommitAsync(store::AttemptChange change, std::shared_ptr<Session> ack,
                   bool deferrable = false);
  void Send(const std::string& node, hac::v1::ServerMessage msg)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleHello(const std::string& node, const std::shared_ptr<Session>& session,
                   const hac::v1::AgentHello& hello) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleStatus(const std::string& node, const hac::v1::AttemptStatus& st)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stores a usage report without blocking the session; the UsageAck follows the commit.
  void HandleUsage(const std::string& node, const std::shared_ptr<Session>& session,
                   const hac::v1::UsageReport& report);
  // Queues `node`'s counters for the store (those of attempts it does not own, or of devices
  // they do not hold, are refused); `durable` (may be null) runs on the store's writer thread
  // once they are committed. `sequence` is for the log. Must not be called with mu_ held.
  void StoreUsage(const std::string& node,
                  const google::protobuf::RepeatedPtrField<hac::v1::UsageCounter>& counters,
                  uint64_t sequence, std::function<void()> durable);
  // Whose attempt `attempt_id` is and what it holds, if it runs or ran on `node` (ended
  // attempts may still send their last counters and output after their final status); nullopt
  // otherwise. Takes mu_; reads the store when the attempt is no longer in memory.
  struct AttemptOwner {
    int64_t tenant_id = 0;
    std::string job_id;
    absl::Time assign_time;
    std::vector<hac::v1::DeviceRef> devices;  // those on the node asked about
  };
  std::optional<AttemptOwner> OwnerOf(const std::string& node, const std::string& attempt_id);
  // The owner of `attempt`, of job `job_id` of tenant `tenant_id`, as `node` sees it.
  static AttemptOwner OwnerOfAttempt(const std::string& node, int64_t tenant_id, int64_t job_id,
                                     const hac::v1::Attempt& attempt);
  // The store's record of counter `c` from `node` for an attempt of `owner`; nullopt (logged)
  // when the attempt does not hold that device or a counter is negative.
  static std::optional<store::UsageCounterRecord> UsageRecord(const std::string& node,
                                                              const AttemptOwner& owner,
                                                              const hac::v1::UsageCounter& c);
  // Logs what the store refused or did not bill of counters from `node` (report `sequence`).
  static void LogUsageResult(const std::string& node, uint64_t sequence,
                             const store::UsageRecordResult& result);
  void SetSchedulerNodeState(const std::string& node) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  scheduler::JobRequest ToRequest(const store::JobRecord& job) const;
  hac::v1::Node ViewFor(const Principal& caller, const NodeInfo& n) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  store::Store& store_;
  Authenticator& auth_;
  JobManager& jobs_;
  LogStore& logs_;
  const common::Clock& clock_;
  const Options options_;

  // The configuration text plus the store's quotas, parsed.
  static absl::StatusOr<scheduler::SchedulerConfig> BuildConfig(store::Store& store,
                                                               const std::string& text);

  mutable absl::Mutex mu_;
  std::string config_text_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<scheduler::Scheduler> sched_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, NodeInfo> nodes_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, AttemptInfo> attempts_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> by_sched_id_ ABSL_GUARDED_BY(mu_);
  // Ordered by job id, so that UpdateReasons can take the queue in turns.
  std::map<int64_t, store::JobRecord> pending_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, std::string> reasons_ ABSL_GUARDED_BY(mu_);
  // Jobs that entered the queue since the last UpdateReasons (submitted or requeued).
  std::vector<int64_t> fresh_reasons_ ABSL_GUARDED_BY(mu_);
  // The last job whose reason the round of UpdateReasons refreshed.
  int64_t reasons_cursor_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_set<int64_t> cancelled_ ABSL_GUARDED_BY(mu_);  // cancelled while running
  // Final statuses whose commit failed, by attempt id: retried when reported again.
  absl::Mutex failed_mu_;
  absl::flat_hash_map<std::string, store::AttemptChange> failed_ ABSL_GUARDED_BY(failed_mu_);
  absl::Time reasons_updated_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();  // monotonic
  // What wakes the loop. Its own lock, so that a submission never waits for a pass in progress.
  absl::Mutex wake_mu_ ABSL_ACQUIRED_AFTER(mu_);
  bool wake_ ABSL_GUARDED_BY(wake_mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(wake_mu_) = false;
  // Jobs committed since the last pass took them (JobSubmitted): handed to the scheduler under
  // mu_ by TakeSubmitted.
  std::vector<store::JobRecord> submitted_ ABSL_GUARDED_BY(wake_mu_);
  int64_t passes_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread loop_;
};

// "j-42.1" for attempt 1 of job 42.
std::string AttemptIdString(int64_t job_id, uint32_t number);

}  // namespace hac::server

#endif  // HAC_SERVER_CLUSTER_H_
