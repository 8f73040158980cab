#include "scheduler/backfill_policy.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "scheduler/gang.h"

namespace hac::scheduler {

std::optional<Reservation> BackfillPolicy::EstimateStart(
    const PassContext& ctx, const std::vector<KeyIndex>& keys, const DeviceRequest& request,
    const absl::flat_hash_set<NodeIndex>* excluded) {
  const ClusterModel& cluster = ctx.cluster;
  const size_t width = static_cast<size_t>(std::max(1, request.nodes));
  // Per key: the nodes that fit so far, in the order they came to fit.
  std::vector<std::vector<NodeIndex>> fitting(keys.size());
  std::vector<absl::flat_hash_set<NodeIndex>> fitting_set(keys.size());
  bool any_key_possible = false;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (request.count > cluster.keys()[keys[i]].max_per_node) continue;
    any_key_possible = true;
    cluster.ForEachFitting(keys[i], request.count, true, [&](NodeIndex n) {
      if (excluded == nullptr || !excluded->contains(n)) {
        fitting[i].push_back(n);
        fitting_set[i].insert(n);
      }
      return fitting[i].size() < width;
    });
    if (fitting[i].size() >= width) {
      return Reservation{ctx.now, keys[i], fitting[i]};
    }
  }
  if (!any_key_possible) return std::nullopt;
  absl::flat_hash_map<std::pair<NodeIndex, KeyIndex>, int> released;
  for (const auto& [end, slot] : ctx.attempts.by_end()) {
    const Attempt& a = ctx.attempts.Get(slot);
    auto ki = std::find(keys.begin(), keys.end(), a.key);
    if (ki == keys.end()) continue;
    size_t i = static_cast<size_t>(ki - keys.begin());
    for (const auto& [n, positions] : a.devices) {
      if (cluster.node(n).state != NodeState::kReady) continue;
      if (excluded != nullptr && excluded->contains(n)) continue;
      int& extra = released[{n, a.key}];
      extra += static_cast<int>(positions.size());
      if (fitting_set[i].contains(n)) continue;
      if (cluster.FreeOn(n, a.key) + extra >= request.count) {
        fitting[i].push_back(n);
        fitting_set[i].insert(n);
        if (fitting[i].size() >= width) {
          return Reservation{std::max(end, ctx.now), a.key, fitting[i]};
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace hac::scheduler
