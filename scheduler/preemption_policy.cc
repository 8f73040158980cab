#include "scheduler/preemption_policy.h"

#include <algorithm>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "scheduler/priority_policy.h"

namespace hac::scheduler {
namespace {

struct NodeCost {
  size_t victims = 0;
  int max_priority = INT32_MIN;
  double lost_seconds = 0;
  NodeIndex node = 0;
  std::vector<AttemptSlot> slots;

  auto Rank() const { return std::tie(victims, max_priority, lost_seconds, node); }
};

}  // namespace

std::optional<VictimChoice> PreemptionPolicy::SelectVictims(
    const PassContext& ctx, const PendingJob& job, bool job_within_quota,
    const DeviceRequest& request, const std::vector<KeyIndex>& keys,
    const absl::flat_hash_set<NodeIndex>* excluded) const {
  const JobRequest& req = *job.request;
  const double job_level = EffectivePriority(req, ctx.now, ctx.config.aging_per_hour);
  const bool borrowed_candidates = job_within_quota && ctx.attempts.borrowed() > 0;
  const size_t width = static_cast<size_t>(std::max(1, request.nodes));

  // (node, key) -> candidate victims there.
  absl::flat_hash_map<std::pair<NodeIndex, KeyIndex>, std::vector<AttemptSlot>> by_node;
  for (const auto& [priority, slot] : ctx.attempts.by_priority()) {
    if (priority >= req.priority && !borrowed_candidates) break;
    const Attempt& a = ctx.attempts.Get(slot);
    if (a.preempting) continue;
    if (std::find(keys.begin(), keys.end(), a.key) == keys.end()) continue;
    bool lower = priority < req.priority &&
                 a.priority + std::floor(ctx.config.aging_per_hour *
                                         std::max(0.0, absl::ToDoubleHours(ctx.now - a.submit_time))) <
                     job_level;
    bool borrowed = borrowed_candidates && a.borrowed && a.tenant != job.tenant;
    if (!lower && !borrowed) continue;
    for (const auto& [n, positions] : a.devices) {
      if (ctx.cluster.node(n).state != NodeState::kReady) continue;
      if (excluded != nullptr && excluded->contains(n)) continue;
      by_node[{n, a.key}].push_back(slot);
    }
  }
  if (by_node.empty()) return std::nullopt;

  std::optional<VictimChoice> best;
  std::tuple<size_t, int, double> best_rank;
  for (KeyIndex k : keys) {
    if (request.count > ctx.cluster.keys()[k].max_per_node) continue;
    std::vector<NodeCost> costs;
    // Nodes that already fit cost nothing.
    ctx.cluster.ForEachFitting(k, request.count, true, [&](NodeIndex n) {
      if (excluded == nullptr || !excluded->contains(n)) costs.push_back(NodeCost{0, INT32_MIN, 0, n, {}});
      return costs.size() < width;
    });
    for (auto& [nk, slots] : by_node) {
      if (nk.second != k) continue;
      NodeIndex n = nk.first;
      int need = request.count - ctx.cluster.FreeOn(n, k);
      if (need <= 0) continue;  // already counted above when among the first `width`
      auto on_node = [&](AttemptSlot s) {
        for (const auto& [node, positions] : ctx.attempts.Get(s).devices)
          if (node == n) return static_cast<int>(positions.size());
        return 0;
      };
      std::sort(slots.begin(), slots.end(), [&](AttemptSlot x, AttemptSlot y) {
        const Attempt& ax = ctx.attempts.Get(x);
        const Attempt& ay = ctx.attempts.Get(y);
        int dx = on_node(x), dy = on_node(y);
        if (dx != dy) return dx > dy;
        if (ax.priority != ay.priority) return ax.priority < ay.priority;
        if (ax.start != ay.start) return ax.start > ay.start;
        return x < y;
      });
      NodeCost cost{0, INT32_MIN, 0, n, {}};
      int freed = 0;
      for (AttemptSlot s : slots) {
        if (freed >= need) break;
        const Attempt& a = ctx.attempts.Get(s);
        freed += on_node(s);
        cost.slots.push_back(s);
        cost.victims++;
        cost.max_priority = std::max(cost.max_priority, a.priority);
        cost.lost_seconds += std::max(0.0, absl::ToDoubleSeconds(ctx.now - a.start));
      }
      if (freed >= need) costs.push_back(std::move(cost));
    }
    if (costs.size() < width) continue;
    std::sort(costs.begin(), costs.end(),
              [](const NodeCost& a, const NodeCost& b) { return a.Rank() < b.Rank(); });
    VictimChoice choice{NodeChoice{k, {}}, {}};
    int max_priority = INT32_MIN;
    double lost = 0;
    for (size_t i = 0; i < width; ++i) {
      choice.nodes.nodes.push_back(costs[i].node);
      for (AttemptSlot s : costs[i].slots) {
        if (std::find(choice.victims.begin(), choice.victims.end(), s) == choice.victims.end()) {
          choice.victims.push_back(s);
        }
      }
      max_priority = std::max(max_priority, costs[i].max_priority);
      lost += costs[i].lost_seconds;
    }
    if (choice.victims.empty()) continue;  // it fits without preemption: not our business
    auto rank = std::make_tuple(choice.victims.size(), max_priority, lost);
    if (!best || rank < best_rank) {
      best = std::move(choice);
      best_rank = rank;
    }
  }
  return best;
}

}  // namespace hac::scheduler
