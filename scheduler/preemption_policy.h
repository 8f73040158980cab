// PreemptionPolicy: frees devices for a blocked job by preempting a minimal set of attempts.
//
// Assumptions: victims receive SIGTERM, keep their devices for their grace period, and return
// to the queue (their job keeps its submit time). An attempt is a candidate victim when it is
// not already being preempted and either (a) its raw priority is lower than the job's AND its
// aged priority (priority + aging since its submit) is lower than the job's aged priority, so an
// old job that finally runs is not thrown out by newer work of a nominally higher class, or
// (b) it runs on borrowed quota, belongs to another tenant, and the job is within its own quota.
// Algorithm: for each READY node and device key that can serve the request, the victims needed
// there are the node's candidates taken largest first (fewest victims cover the missing
// devices), ties by lower priority, then most recently started (least work lost). A node's cost
// is (victims, highest victim priority, work lost); the gang takes its `nodes` cheapest nodes,
// nodes that already fit costing nothing; among keys the cheapest total wins.
// Tie-breaks: lower node index, then lower key index. Thread-safety: stateless, const.
#ifndef HAC_SCHEDULER_PREEMPTION_POLICY_H_
#define HAC_SCHEDULER_PREEMPTION_POLICY_H_

#include <optional>
#include <vector>

#include "scheduler/policy.h"

namespace hac::scheduler {

struct VictimChoice {
  NodeChoice nodes;
  std::vector<AttemptSlot> victims;  // distinct, non-empty
};

class PreemptionPolicy {
 public:
  // nullopt when no set of candidate victims makes the request fit.
  std::optional<VictimChoice> SelectVictims(const PassContext& ctx, const PendingJob& job,
                                            bool job_within_quota, const DeviceRequest& request,
                                            const std::vector<KeyIndex>& keys,
                                            const absl::flat_hash_set<NodeIndex>* excluded) const;
};

}  // namespace hac::scheduler

#endif  // HAC_SCHEDULER_PREEMPTION_POLICY_H_
