// The small interfaces the Scheduler composes. Each implementation lives in its own file
// (*_policy.h) and says its assumptions, algorithm and tie-breaks. Policies are stateless
// between calls: everything they read comes in through PassContext, so one instance serves
// every pass and Reconfigure() simply builds new ones.
//
// A pass asks, for each pending job in order:
//   OrderPolicy       which job next (a sort key; the policies' keys compare lexicographically
//                     in configured order, then submit time, then arrival order)
//   AdmissionPolicy   may this alternative run at all now (quota), or why not
//   PlacementPolicy   which nodes of which device key, all of the gang or nothing
//   AlternativePolicy which admitted alternative (heterogeneity: earliest finish or cheapest)
// and when the chosen alternative does not fit: BackfillPolicy (reserve for the first blocked
// job, let others use the gap) and PreemptionPolicy (minimal victim set).
#ifndef HAC_SCHEDULER_POLICY_H_
#define HAC_SCHEDULER_POLICY_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/types/span.h"
#include "absl/time/time.h"
#include "scheduler/attempt_table.h"
#include "scheduler/cluster_model.h"
#include "scheduler/config.h"
#include "scheduler/ledger.h"
#include "scheduler/types.h"

namespace hac::scheduler {

// Read-only view of the scheduler's state during one pass (or one dry run).
struct PassContext {
  absl::Time now;
  const ClusterModel& cluster;
  const TenantLedger& ledger;
  const AttemptTable& attempts;
  const SchedulerConfig& config;
  // Precomputed for the pass; policies compute their own when null.
  const ShareWeights* weights = nullptr;
  // Raw priorities of the pending jobs, ascending and distinct (PriorityPolicy's classes).
  const std::vector<int>* priority_classes = nullptr;
};

// A pending job as the policies see it.
struct PendingJob {
  const JobRequest* request = nullptr;
  TenantIndex tenant = 0;
  uint64_t seq = 0;  // arrival order, breaks the last ties
};

class OrderPolicy {
 public:
  virtual ~OrderPolicy() = default;
  virtual std::string_view name() const = 0;
  // Smaller is scheduled first. Within one pass a job's key may only grow as the pass places
  // work (the scheduler re-reads keys lazily). Across the pending jobs of one (tenant,
  // priority) queue, an earlier submit time must never give a larger key.
  virtual double Key(const PendingJob& job, const PassContext& ctx) const = 0;
};

struct Admission {
  bool admitted = true;
  bool borrowing = false;  // admitted only by borrowing idle capacity above the quota
  std::string reason;      // when !admitted
};

class AdmissionPolicy {
 public:
  virtual ~AdmissionPolicy() = default;
  virtual std::string_view name() const = 0;
  virtual Admission Admit(const PendingJob& job, const DeviceRequest& alternative,
                          const PassContext& ctx) const = 0;
};

// Nodes of one device key chosen for an alternative: nodes.size() == request.nodes, distinct.
struct NodeChoice {
  KeyIndex key = 0;
  std::vector<NodeIndex> nodes;
};

struct PlacementQuery {
  const DeviceRequest* request = nullptr;
  absl::Span<const KeyIndex> keys;  // device keys that can serve the request
  // Nodes the placement must not use (held for a reservation or a preemption); may be null.
  const absl::flat_hash_set<NodeIndex>* excluded = nullptr;
};

class PlacementPolicy {
 public:
  virtual ~PlacementPolicy() = default;
  virtual std::string_view name() const = 0;
  // All `request.nodes` nodes with `request.count` free devices each, or nullopt: never part.
  virtual std::optional<NodeChoice> Choose(const ClusterModel& cluster,
                                           const PlacementQuery& query) const = 0;
};

// One alternative of a job as the AlternativePolicy weighs it.
struct AlternativeOption {
  int alternative = 0;
  bool placeable_now = false;
  absl::Time start = absl::InfiniteFuture();  // now when placeable_now; an estimate otherwise
  absl::Duration runtime;                     // max_runtime / relative_speed
  double cost = 0;                            // price x devices x runtime hours
};

class AlternativePolicy {
 public:
  virtual ~AlternativePolicy() = default;
  virtual std::string_view name() const = 0;
  // Whether Choose() wants estimated starts for alternatives that do not fit now.
  virtual bool NeedsEstimates() const = 0;
  // Index into `options` (never empty).
  virtual size_t Choose(const JobRequest& job, const std::vector<AlternativeOption>& options) const = 0;
};

}  // namespace hac::scheduler

#endif  // HAC_SCHEDULER_POLICY_H_
