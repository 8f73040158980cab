#include "scheduler/cluster_model.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace hac::scheduler {

const char* NodeStateName(NodeState s) {
  switch (s) {
    case NodeState::kReady: return "READY";
    case NodeState::kCordoned: return "CORDONED";
    case NodeState::kDraining: return "DRAINING";
    case NodeState::kLost: return "LOST";
  }
  return "UNKNOWN";
}

KeyIndex ClusterModel::InternKey(const DeviceSpec& d) {
  for (KeyIndex k = 0; k < keys_.size(); ++k) {
    if (keys_[k].device_class == d.device_class && keys_[k].model == d.model) {
      if (d.memory_bytes > 0 &&
          (keys_[k].memory_bytes == 0 || d.memory_bytes < keys_[k].memory_bytes)) {
        keys_[k].memory_bytes = d.memory_bytes;
      }
      return k;
    }
  }
  keys_.push_back(DeviceKey{d.device_class, d.model, d.memory_bytes, 0});
  buckets_.emplace_back(1);
  key_free_.push_back(0);
  key_capacity_.push_back(0);
  return static_cast<KeyIndex>(keys_.size() - 1);
}

absl::Status ClusterModel::AddNode(const NodeSpec& spec) {
  if (spec.id.value.empty()) return absl::InvalidArgumentError("node id: must not be empty");
  if (id_to_index_.contains(spec.id)) {
    return absl::AlreadyExistsError(absl::StrCat("node ", spec.id.value, " already exists"));
  }
  absl::flat_hash_set<int> seen;
  for (const DeviceSpec& d : spec.devices) {
    if (d.device_class.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("node ", spec.id.value, " device ", d.index, ": class must not be empty"));
    }
    if (!seen.insert(d.index).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("node ", spec.id.value, ": duplicate device index ", d.index));
    }
  }
  NodeIndex n;
  if (!free_slots_.empty()) {
    n = free_slots_.back();
    free_slots_.pop_back();
  } else {
    n = static_cast<NodeIndex>(nodes_.size());
    nodes_.emplace_back();
  }
  Node& node = nodes_[n];
  node = Node{};
  node.id = spec.id;
  node.pool = spec.pool;
  node.state = spec.state;
  node.live = true;
  std::vector<DeviceSpec> devices = spec.devices;
  std::sort(devices.begin(), devices.end(),
            [](const DeviceSpec& a, const DeviceSpec& b) { return a.index < b.index; });
  for (const DeviceSpec& d : devices) {
    KeyIndex k = InternKey(d);
    int pos = static_cast<int>(node.devices.size());
    node.devices.push_back(Device{d.index, k, kNoAttempt});
    KeyFree* kf = FindKeyFree(n, k);
    if (kf == nullptr) {
      node.keys.push_back(KeyFree{k, 0, {}});
      kf = &node.keys.back();
    }
    kf->total++;
    kf->free_positions.push_back(pos);
  }
  for (const KeyFree& kf : node.keys) {
    DeviceKey& key = keys_[kf.key];
    key.max_per_node = std::max(key.max_per_node, kf.total);
    if (buckets_[kf.key].size() < static_cast<size_t>(kf.total + 1)) {
      buckets_[kf.key].resize(kf.total + 1);
    }
  }
  id_to_index_[spec.id] = n;
  if (node.state == NodeState::kReady) Index(n);
  return absl::OkStatus();
}

absl::Status ClusterModel::RemoveNode(const NodeId& id) {
  auto it = id_to_index_.find(id);
  if (it == id_to_index_.end()) {
    return absl::NotFoundError(absl::StrCat("node ", id.value, " not found"));
  }
  NodeIndex n = it->second;
  for (const Device& d : nodes_[n].devices) {
    if (d.owner != kNoAttempt) {
      return absl::FailedPreconditionError(
          absl::StrCat("node ", id.value, " still has device ", d.index, " in use"));
    }
  }
  if (nodes_[n].state == NodeState::kReady) Unindex(n);
  nodes_[n] = Node{};
  id_to_index_.erase(it);
  free_slots_.push_back(n);
  return absl::OkStatus();
}

absl::Status ClusterModel::SetNodeState(const NodeId& id, NodeState state) {
  auto it = id_to_index_.find(id);
  if (it == id_to_index_.end()) {
    return absl::NotFoundError(absl::StrCat("node ", id.value, " not found"));
  }
  NodeIndex n = it->second;
  Node& node = nodes_[n];
  if (node.state == state) return absl::OkStatus();
  if (node.state == NodeState::kReady) Unindex(n);
  node.state = state;
  if (state == NodeState::kReady) Index(n);
  return absl::OkStatus();
}

std::optional<NodeIndex> ClusterModel::Find(const NodeId& id) const {
  auto it = id_to_index_.find(id);
  if (it == id_to_index_.end()) return std::nullopt;
  return it->second;
}

void ClusterModel::MatchingKeys(const DeviceRequest& request, std::vector<KeyIndex>* out) const {
  out->clear();
  for (KeyIndex k = 0; k < keys_.size(); ++k) {
    const DeviceKey& key = keys_[k];
    if (key.device_class != request.device_class) continue;
    if (request.model.has_value() && *request.model != key.model) continue;
    if (request.memory_bytes > 0 && key.memory_bytes > 0 &&
        key.memory_bytes < request.memory_bytes) {
      continue;
    }
    out->push_back(k);
  }
}

ClusterModel::KeyFree* ClusterModel::FindKeyFree(NodeIndex n, KeyIndex k) {
  for (KeyFree& kf : nodes_[n].keys)
    if (kf.key == k) return &kf;
  return nullptr;
}

int ClusterModel::FreeOn(NodeIndex n, KeyIndex k) const {
  for (const KeyFree& kf : nodes_[n].keys)
    if (kf.key == k) return static_cast<int>(kf.free_positions.size());
  return 0;
}

int ClusterModel::TotalOn(NodeIndex n, KeyIndex k) const {
  for (const KeyFree& kf : nodes_[n].keys)
    if (kf.key == k) return kf.total;
  return 0;
}

int ClusterModel::LargestFree(KeyIndex k) const {
  const auto& buckets = buckets_[k];
  for (int f = static_cast<int>(buckets.size()) - 1; f >= 1; --f)
    if (!buckets[f].empty()) return f;
  return 0;
}

int64_t ClusterModel::NodesWithFree(KeyIndex k, int count) const {
  int64_t total = 0;
  const auto& buckets = buckets_[k];
  for (int f = std::max(count, 1); f < static_cast<int>(buckets.size()); ++f) {
    total += static_cast<int64_t>(buckets[f].size());
  }
  return total;
}

int64_t ClusterModel::ClassCapacity(const std::string& device_class) const {
  int64_t total = 0;
  for (KeyIndex k = 0; k < keys_.size(); ++k)
    if (keys_[k].device_class == device_class) total += key_capacity_[k];
  return total;
}

void ClusterModel::LowestFitting(KeyIndex k, int count, size_t limit,
                                 std::vector<NodeIndex>* out) const {
  out->clear();
  const auto& buckets = buckets_[k];
  for (int f = std::max(count, 1); f < static_cast<int>(buckets.size()); ++f) {
    size_t taken = 0;
    for (NodeIndex n : buckets[f]) {
      if (taken++ == limit) break;
      out->push_back(n);
    }
  }
  std::sort(out->begin(), out->end());
  if (out->size() > limit) out->resize(limit);
}

void ClusterModel::Unindex(NodeIndex n) {
  for (const KeyFree& kf : nodes_[n].keys) {
    int f = static_cast<int>(kf.free_positions.size());
    if (f > 0) buckets_[kf.key][f].erase(n);
    key_free_[kf.key] -= f;
    key_capacity_[kf.key] -= kf.total;
    total_free_ -= f;
  }
}

void ClusterModel::Index(NodeIndex n) {
  for (const KeyFree& kf : nodes_[n].keys) {
    int f = static_cast<int>(kf.free_positions.size());
    if (f > 0) buckets_[kf.key][f].insert(n);
    key_free_[kf.key] += f;
    key_capacity_[kf.key] += kf.total;
    total_free_ += f;
  }
}

void ClusterModel::Reindex(NodeIndex n, KeyIndex k, int old_free, int new_free) {
  if (nodes_[n].state != NodeState::kReady) return;
  if (old_free > 0) buckets_[k][old_free].erase(n);
  if (new_free > 0) buckets_[k][new_free].insert(n);
  key_free_[k] += new_free - old_free;
  total_free_ += new_free - old_free;
}

std::vector<int> ClusterModel::Allocate(NodeIndex n, KeyIndex k, int count, AttemptSlot owner) {
  KeyFree* kf = FindKeyFree(n, k);
  int old_free = static_cast<int>(kf->free_positions.size());
  std::vector<int> taken(kf->free_positions.begin(), kf->free_positions.begin() + count);
  kf->free_positions.erase(kf->free_positions.begin(), kf->free_positions.begin() + count);
  for (int pos : taken) nodes_[n].devices[pos].owner = owner;
  Reindex(n, k, old_free, old_free - count);
  return taken;
}

absl::Status ClusterModel::AllocateIndices(NodeIndex n, const std::vector<int>& device_indices,
                                           AttemptSlot owner, KeyIndex* key) {
  Node& node = nodes_[n];
  std::vector<int> positions;
  for (int index : device_indices) {
    auto it = std::find_if(node.devices.begin(), node.devices.end(),
                           [&](const Device& d) { return d.index == index; });
    if (it == node.devices.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("node ", node.id.value, " has no device ", index));
    }
    if (it->owner != kNoAttempt) {
      return absl::InvalidArgumentError(
          absl::StrCat("node ", node.id.value, " device ", index, " is already in use"));
    }
    if (!positions.empty() && node.devices[positions[0]].key != it->key) {
      return absl::InvalidArgumentError(
          absl::StrCat("node ", node.id.value, ": devices of one attempt must share a model"));
    }
    positions.push_back(static_cast<int>(it - node.devices.begin()));
  }
  if (positions.empty()) return absl::InvalidArgumentError("placement: no devices");
  KeyIndex k = node.devices[positions[0]].key;
  KeyFree* kf = FindKeyFree(n, k);
  int old_free = static_cast<int>(kf->free_positions.size());
  for (int pos : positions) {
    node.devices[pos].owner = owner;
    kf->free_positions.erase(
        std::find(kf->free_positions.begin(), kf->free_positions.end(), pos));
  }
  Reindex(n, k, old_free, static_cast<int>(kf->free_positions.size()));
  *key = k;
  return absl::OkStatus();
}

void ClusterModel::Release(NodeIndex n, const std::vector<int>& positions) {
  Node& node = nodes_[n];
  for (int pos : positions) {
    Device& d = node.devices[pos];
    d.owner = kNoAttempt;
    KeyFree* kf = FindKeyFree(n, d.key);
    int old_free = static_cast<int>(kf->free_positions.size());
    kf->free_positions.insert(
        std::lower_bound(kf->free_positions.begin(), kf->free_positions.end(), pos), pos);
    Reindex(n, d.key, old_free, old_free + 1);
  }
}

}  // namespace hac::scheduler
