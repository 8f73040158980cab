#include "scheduler/gang.h"

namespace hac::scheduler {

std::optional<NodeChoice> GangOnKey(const ClusterModel& cluster, KeyIndex k,
                                    const DeviceRequest& request,
                                    const absl::flat_hash_set<NodeIndex>* excluded,
                                    NodeOrder order) {
  const size_t width = static_cast<size_t>(request.nodes < 1 ? 1 : request.nodes);
  if (request.count > cluster.keys()[k].max_per_node) return std::nullopt;
  NodeChoice choice{k, {}};
  choice.nodes.reserve(width);
  auto usable = [&](NodeIndex n) { return excluded == nullptr || !excluded->contains(n); };
  if (order == NodeOrder::kLowestIndex) {
    std::vector<NodeIndex> lowest;
    cluster.LowestFitting(k, request.count, width + (excluded ? excluded->size() : 0), &lowest);
    for (NodeIndex n : lowest) {
      if (!usable(n)) continue;
      choice.nodes.push_back(n);
      if (choice.nodes.size() == width) break;
    }
  } else {
    cluster.ForEachFitting(k, request.count, order == NodeOrder::kFewestFree, [&](NodeIndex n) {
      if (usable(n)) choice.nodes.push_back(n);
      return choice.nodes.size() < width;
    });
  }
  if (choice.nodes.size() < width) return std::nullopt;
  return choice;
}

int64_t FreeOnChoice(const ClusterModel& cluster, const NodeChoice& choice) {
  int64_t total = 0;
  for (NodeIndex n : choice.nodes) total += cluster.FreeOn(n, choice.key);
  return total;
}

}  // namespace hac::scheduler
