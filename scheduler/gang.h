// Gang placement: choosing all of a request's nodes at once or none (the atomic part every
// placement policy shares; the policies differ only in the node order and the key tie-break).
#ifndef HAC_SCHEDULER_GANG_H_
#define HAC_SCHEDULER_GANG_H_

#include <optional>

#include "scheduler/policy.h"

namespace hac::scheduler {

enum class NodeOrder {
  kFewestFree,   // best fit: the fullest node that still fits first
  kMostFree,     // spread: the emptiest node first
  kLowestIndex,  // first fit: the oldest node slot first
};

// `request.nodes` distinct READY nodes with `request.count` free devices of key k each, none in
// `excluded`, taken in `order` (ties by node index); nullopt when fewer exist. Never partial.
// Cost: O(devices per node + log nodes + request.nodes + |excluded|).
std::optional<NodeChoice> GangOnKey(const ClusterModel& cluster, KeyIndex k,
                                    const DeviceRequest& request,
                                    const absl::flat_hash_set<NodeIndex>* excluded,
                                    NodeOrder order);

// Sum of the free devices of the choice's key on its nodes (best fit minimises it).
int64_t FreeOnChoice(const ClusterModel& cluster, const NodeChoice& choice);

}  // namespace hac::scheduler

#endif  // HAC_SCHEDULER_GANG_H_
