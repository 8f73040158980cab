// FirstFitPolicy: the baseline the issue replaces: the first nodes (lowest slot index, i.e.
// registration order) that fit.
//
// Assumptions: none. Algorithm: for every device key, the `nodes` lowest-index nodes with enough
// free devices (the lowest few of each free-count bucket, merged); among keys, the choice whose
// first node has the lowest index. Tie-breaks: lower key index. Thread-safety: stateless, const.
#ifndef HAC_SCHEDULER_FIRST_FIT_POLICY_H_
#define HAC_SCHEDULER_FIRST_FIT_POLICY_H_

#include "scheduler/gang.h"
#include "scheduler/policy.h"

namespace hac::scheduler {

class FirstFitPolicy final : public PlacementPolicy {
 public:
  std::string_view name() const override { return "first_fit"; }
  std::optional<NodeChoice> Choose(const ClusterModel& cluster,
                                   const PlacementQuery& query) const override {
    std::optional<NodeChoice> best;
    for (KeyIndex k : query.keys) {
      std::optional<NodeChoice> c =
          GangOnKey(cluster, k, *query.request, query.excluded, NodeOrder::kLowestIndex);
      if (c && (!best || c->nodes.front() < best->nodes.front())) best = std::move(c);
    }
    return best;
  }
};

}  // namespace hac::scheduler

#endif  // HAC_SCHEDULER_FIRST_FIT_POLICY_H_
