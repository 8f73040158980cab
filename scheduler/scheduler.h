// Scheduler: the pure scheduling library's entry point. hacd, the tests and hac-sim drive the
// same object with their own clock.
//
// Events come in as method calls and update an incremental model (O(log n) each, never a
// rebuild): AddNode / RemoveNode / SetNodeState, Submit / Cancel, AttemptStarted /
// RestoreAttempt / AttemptFinished. Schedule(now) runs one pass over the queue and returns
// decisions: PlaceDecision (devices are counted as used from that moment) or PreemptDecision.
// A decision hacd cannot commit or dispatch is undone with AttemptFinished(attempt, kRequeue).
// Every pending job carries a reason a person can act on (PendingReason); DryRun answers where a
// job would go now, or why not, and its estimated start, without submitting it.
//
//   ASSIGN_OR_RETURN(auto sched, Scheduler::Create(config));
//   sched->AddNode({NodeId{"n1"}, "pool-a", NodeState::kReady, {{0, "gpu", "v100"}, ...}});
//   sched->Submit(JobRequest{JobId{"j-000001"}, "alice", 0, now, {{"gpu", {}, 4}}});
//   for (const Decision& d : sched->Schedule(now)) ... commit, then dispatch ...
//
// Policies (see policy.h and the *_policy.h files) are composed from SchedulerConfig; Reconfigure
// swaps them between passes without losing any state.
//
// Owner: one control loop (hacd's scheduling loop, a test, the simulator). Thread-safety: none;
// the owner serializes calls. No I/O, threads or clock: time only comes in as arguments.
// Invariants: a device is used by at most one attempt; a gang is placed whole or not at all; a
// hard quota is never exceeded by a placement; every job is either pending (in exactly one
// queue) or has exactly one running attempt.
#ifndef HAC_SCHEDULER_SCHEDULER_H_
#define HAC_SCHEDULER_SCHEDULER_H_

#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "scheduler/attempt_table.h"
#include "scheduler/backfill_policy.h"
#include "scheduler/cluster_model.h"
#include "scheduler/config.h"
#include "scheduler/ledger.h"
#include "scheduler/policy.h"
#include "scheduler/preemption_policy.h"
#include "scheduler/types.h"

namespace hac::scheduler {

class Scheduler {
 public:
  // INVALID_ARGUMENT when the config does not validate.
  static absl::StatusOr<std::unique_ptr<Scheduler>> Create(const SchedulerConfig& config);
  // Replaces the policies; queue, attempts and nodes are kept. Takes effect at the next pass.
  absl::Status Reconfigure(const SchedulerConfig& config);
  const SchedulerConfig& config() const { return config_; }

  // --- Nodes ---
  absl::Status AddNode(const NodeSpec& node);
  // Attempts still on the node are ended as kRequeue (their jobs return to the queue) and
  // returned so hacd can mark them LOST.
  absl::StatusOr<std::vector<AttemptId>> RemoveNode(const NodeId& node);
  // Only READY nodes receive work; running attempts stay where they are.
  absl::Status SetNodeState(const NodeId& node, NodeState state);

  // --- Jobs ---
  // INVALID_ARGUMENT names the field and the limit; ALREADY_EXISTS for a known job id.
  absl::Status Submit(const JobRequest& job);
  // A pending job leaves the queue now; a running one is forgotten when its attempt finishes.
  absl::Status Cancel(const JobId& job);

  // --- Attempts ---
  // The attempt hacd dispatched has really started at `started` (its expected end moves to
  // started + runtime). NOT_FOUND when unknown.
  absl::Status AttemptStarted(const AttemptId& attempt, absl::Time started);
  // Recovery (hacd restart): `job` was submitted and is pending; it is running `attempt` on
  // these devices since `started`. INVALID_ARGUMENT when a device is unknown or already used.
  absl::Status RestoreAttempt(const JobId& job, const AttemptId& attempt, int alternative,
                              const Placement& placement, absl::Time started);
  // Frees the attempt's devices. kRequeue puts its job back in the queue with its original
  // submit time (preempted, lost, failed with retries left, or a decision hacd could not
  // commit); kDone forgets the job.
  absl::Status AttemptFinished(const AttemptId& attempt, AttemptEnd end);

  // --- Decisions ---
  // One pass over the queue at `now`. At most `max_placements` PlaceDecisions (the rest of the
  // queue keeps its previous reasons).
  std::vector<Decision> Schedule(absl::Time now,
                                 size_t max_placements = std::numeric_limits<size_t>::max());
  // Why the pending job is not running, as of the last pass. NOT_FOUND for an unknown job,
  // FAILED_PRECONDITION for a running one.
  absl::StatusOr<std::string> PendingReason(const JobId& job) const;
  // Where `job` would go now (respecting the last pass's reservations), or why not, and its
  // estimated start. Changes nothing. INVALID_ARGUMENT as Submit.
  absl::StatusOr<DryRunResult> DryRun(const JobRequest& job, absl::Time now) const;

  // --- Read-only views (tests, metrics, the simulator) ---
  const ClusterModel& cluster() const { return cluster_; }
  const TenantLedger& ledger() const { return ledger_; }
  const AttemptTable& attempts() const { return attempts_; }
  size_t pending_count() const { return pending_; }
  size_t running_count() const { return attempts_.size(); }
  // The reservation made by the last pass, if any: (job, start).
  std::optional<std::pair<JobId, absl::Time>> last_reservation() const;

 private:
  struct Job;
  using QueueKey = std::pair<int, TenantIndex>;  // (-priority, tenant)
  struct QueueEntry {
    absl::Time submit;
    uint64_t seq;
    Job* job;
    friend bool operator<(const QueueEntry& a, const QueueEntry& b) {
      return std::tie(a.submit, a.seq) < std::tie(b.submit, b.seq);
    }
  };
  using Queue = absl::btree_set<QueueEntry>;
  struct Job {
    JobRequest request;
    TenantIndex tenant = 0;
    uint64_t seq = 0;
    int attempts = 0;
    AttemptSlot running = kNoAttempt;
    bool cancelled = false;
    uint64_t reason_pass = 0;
    std::string reason;
    // Preemption claim: victims still exiting and the nodes they free.
    std::vector<AttemptId> victims;
    std::vector<NodeIndex> claim_nodes;
    // MatchingKeys per alternative, valid while keys_version == the scheduler's key_version_.
    mutable std::vector<std::vector<KeyIndex>> keys;
    mutable uint64_t keys_version = 0;
    // Runtime per alternative, valid while runtimes_version == config_version_.
    mutable std::vector<absl::Duration> runtimes;
    mutable uint64_t runtimes_version = 0;
  };
  // Nodes held during a pass: for a reservation (until = its start) or a preemption claim
  // (until = now: nobody else may use them).
  struct Hold {
    const Job* job;  // identity only: never dereferenced after the pass
    JobId job_id;
    absl::Time until;
    absl::flat_hash_set<NodeIndex> nodes;
  };
  struct Option {
    int alternative;
    const std::vector<KeyIndex>* keys;  // the job's cached MatchingKeys
    Admission admission;
    std::optional<NodeChoice> choice;
    std::string reason;
    bool held_out = false;  // fits, but only on held nodes
  };
  enum class Outcome { kPlaced, kBlocked, kNotAdmitted };
  // Within one pass free devices only shrink and holds only grow, so a request shape that did
  // not fit (with the same holds) does not fit later in the pass either: the pass remembers it.
  struct Shape {
    uint64_t key_mask;
    int count;
    int nodes;
    const void* excluded;
    friend bool operator==(const Shape&, const Shape&) = default;
    template <typename H>
    friend H AbslHashValue(H h, const Shape& s) {
      return H::combine(std::move(h), s.key_mask, s.count, s.nodes, s.excluded);
    }
  };
  struct Miss {
    std::string reason;
    bool held_out;
  };
  struct PassMemo {
    absl::flat_hash_map<Shape, Miss> misses;
    absl::flat_hash_map<Shape, absl::Time> estimates;
    absl::flat_hash_set<std::tuple<Shape, int, TenantIndex>> no_victims;
  };
  static std::optional<Shape> ShapeOf(const std::vector<KeyIndex>& keys, const DeviceRequest& alt,
                                      const void* excluded);
  const std::vector<KeyIndex>& KeysFor(const Job& job, size_t alternative) const;
  absl::Duration RuntimeFor(const Job& job, size_t alternative) const;

  explicit Scheduler(const SchedulerConfig& config);
  void BuildPolicies();
  absl::Duration Runtime(const JobRequest& job, const DeviceRequest& alt) const;
  PendingJob View(const Job& job) const { return PendingJob{&job.request, job.tenant, job.seq}; }
  void Enqueue(Job& job);
  void Dequeue(Job& job, bool erase_empty_queue = true);
  // nullptr when no hold applies to a job of `runtime`; else the union of applicable holds.
  const absl::flat_hash_set<NodeIndex>* Excluded(const std::deque<Hold>& holds, const Job* job,
                                                 absl::Time now, absl::Duration runtime,
                                                 absl::flat_hash_set<NodeIndex>* scratch) const;
  std::vector<Option> Evaluate(const Job& job, const PassContext& ctx,
                               const std::deque<Hold>& holds, PassMemo* memo) const;
  size_t ChooseOption(const Job& job, const PassContext& ctx, const std::vector<Option>& options,
                      bool* placeable, PassMemo* memo) const;
  std::string CapacityReason(const DeviceRequest& alt, const std::vector<KeyIndex>& keys) const;
  std::string CombinedReason(const Job& job, const std::vector<Option>& options) const;
  PlaceDecision Commit(Job& job, const Option& option, absl::Time now, bool borrowed);
  void ReleaseAttempt(AttemptSlot slot);
  Placement ToPlacement(const NodeChoice& choice, int count) const;

  SchedulerConfig config_;
  std::vector<std::unique_ptr<OrderPolicy>> order_;
  bool order_changes_in_pass_ = false;  // fair share keys move as the pass places work
  std::unique_ptr<AdmissionPolicy> admission_;  // null when quota is off
  std::unique_ptr<PlacementPolicy> placement_;
  std::unique_ptr<AlternativePolicy> alternatives_;
  PreemptionPolicy preemption_;

  ClusterModel cluster_;
  TenantLedger ledger_;
  AttemptTable attempts_;
  absl::node_hash_map<JobId, Job> jobs_;
  std::map<QueueKey, Queue> queues_;
  absl::flat_hash_set<Job*> claimants_;  // pending jobs holding nodes freed by their victims
  size_t pending_ = 0;
  uint64_t next_seq_ = 1;

  uint64_t pass_ = 0;
  std::string pass_default_reason_;  // for pending jobs the last pass did not reach
  std::deque<Hold> last_holds_;
  absl::Time last_pass_time_ = absl::InfinitePast();
  bool last_pass_stopped_full_ = false;  // reasons of unvisited jobs are computed on demand
  uint64_t key_version_ = 1;
  uint64_t config_version_ = 1;           // bumped by Reconfigure             // bumped by AddNode (keys and their memory change)
  std::optional<std::pair<JobId, absl::Time>> last_reservation_;
};

// "2026-11-28 19:00:00 UTC"
std::string FormatReasonTime(absl::Time t);

}  // namespace hac::scheduler

#endif  // HAC_SCHEDULER_SCHEDULER_H_
