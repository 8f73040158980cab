// BackfillPolicy: EASY backfill. The first job of a pass that cannot be placed for lack of free
// devices gets a reservation: the nodes and the time at which running attempts, ending at their
// max runtime, will have freed enough devices for it. Later jobs may still start now, but on a
// reserved node only if their own max runtime ends by the reservation's start; elsewhere
// freely. So backfill never delays the reservation (as long as attempts respect max runtime).
//
// Assumptions: an attempt's expected end is start + max_runtime / relative_speed (an attempt
// past it is treated as ending now). Algorithm (release profile): nodes that fit now count
// first; then walk running attempts by expected end, adding their devices back to their nodes,
// until `request.nodes` nodes of one device key fit; the reservation starts at that attempt's
// end. Cost O(running attempts) in the worst case, paid once per pass. Tie-breaks: the earliest
// time; at equal times the device key first reaching the gang width, nodes in the order they
// became free. Thread-safety: stateless.
#ifndef HAC_SCHEDULER_BACKFILL_POLICY_H_
#define HAC_SCHEDULER_BACKFILL_POLICY_H_

#include <optional>
#include <vector>

#include "scheduler/policy.h"

namespace hac::scheduler {

struct Reservation {
  absl::Time start;
  KeyIndex key = 0;
  std::vector<NodeIndex> nodes;
};

class BackfillPolicy {
 public:
  // Earliest start of `request` on the keys given, ignoring nodes in `excluded` (may be null);
  // nullopt when the running attempts can never free enough (e.g. the cluster is too small).
  static std::optional<Reservation> EstimateStart(const PassContext& ctx,
                                                  const std::vector<KeyIndex>& keys,
                                                  const DeviceRequest& request,
                                                  const absl::flat_hash_set<NodeIndex>* excluded);
};

}  // namespace hac::scheduler

#endif  // HAC_SCHEDULER_BACKFILL_POLICY_H_
