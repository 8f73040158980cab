// BestFitPolicy: packing that keeps whole nodes free for large jobs.
//
// Assumptions: nodes of a pool are alike; a job's devices on one node share a device key.
// Algorithm: for every device key that can serve the request, take the gang's nodes in order of
// fewest free devices that still fit (free-count buckets, no scan); among keys, pick the choice
// leaving the fewest free devices on its nodes. Small jobs thus fill partly used nodes first and
// an idle 8-device node stays idle for an 8-device job. Tie-breaks: lower node index inside a
// bucket, then lower key index (the key first seen when nodes registered).
// Thread-safety: stateless, const.
#ifndef HAC_SCHEDULER_BEST_FIT_POLICY_H_
#define HAC_SCHEDULER_BEST_FIT_POLICY_H_

#include "scheduler/gang.h"
#include "scheduler/policy.h"

namespace hac::scheduler {

class BestFitPolicy final : public PlacementPolicy {
 public:
  std::string_view name() const override { return "best_fit"; }
  std::optional<NodeChoice> Choose(const ClusterModel& cluster,
                                   const PlacementQuery& query) const override {
    std::optional<NodeChoice> best;
    int64_t best_free = 0;
    for (KeyIndex k : query.keys) {
      std::optional<NodeChoice> c =
          GangOnKey(cluster, k, *query.request, query.excluded, NodeOrder::kFewestFree);
      if (!c) continue;
      int64_t free = FreeOnChoice(cluster, *c);
      if (!best || free < best_free) {
        best = std::move(c);
        best_free = free;
      }
    }
    return best;
  }
};

}  // namespace hac::scheduler

#endif  // HAC_SCHEDULER_BEST_FIT_POLICY_H_
