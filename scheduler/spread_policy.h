// SpreadPolicy: spreads work over nodes (less interference, faster drain of any single node).
//
// Assumptions: as BestFitPolicy. Algorithm: for every device key that can serve the request,
// take the gang's nodes in order of most free devices; among keys pick the choice with the most
// free devices on its nodes. Tie-breaks: lower node index inside a bucket, then lower key index.
// Thread-safety: stateless, const.
#ifndef HAC_SCHEDULER_SPREAD_POLICY_H_
#define HAC_SCHEDULER_SPREAD_POLICY_H_

#include "scheduler/gang.h"
#include "scheduler/policy.h"

namespace hac::scheduler {

class SpreadPolicy final : public PlacementPolicy {
 public:
  std::string_view name() const override { return "spread"; }
  std::optional<NodeChoice> Choose(const ClusterModel& cluster,
                                   const PlacementQuery& query) const override {
    std::optional<NodeChoice> best;
    int64_t best_free = 0;
    for (KeyIndex k : query.keys) {
      std::optional<NodeChoice> c =
          GangOnKey(cluster, k, *query.request, query.excluded, NodeOrder::kMostFree);
      if (!c) continue;
      int64_t free = FreeOnChoice(cluster, *c);
      if (!best || free > best_free) {
        best = std::move(c);
        best_free = free;
      }
    }
    return best;
  }
};

}  // namespace hac::scheduler

#endif  // HAC_SCHEDULER_SPREAD_POLICY_H_
