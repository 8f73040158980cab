// ClusterModel: the scheduler's incremental picture of the nodes and their devices.
//
// Devices are grouped by *device key*, a (class, model) pair interned to a small integer. For
// every key the model keeps free-count buckets: bucket f holds the READY nodes that have exactly
// f free devices of that key, ordered by node index. A placement policy finds "the node with the
// fewest (or most) free devices that still fits" by walking at most max-devices-per-node buckets,
// so a decision costs O(devices per node + log nodes), never a scan over the cluster. Every event
// (node added/removed/state change, devices allocated/released) updates the buckets in
// O(log nodes).
//
// Owner: the Scheduler (one per control loop). Thread-safety: none; callers serialize.
// Invariants: a device is owned by at most one attempt; a node is in the bucket of key k iff it is
// READY and has >= 1 free device of k, and then in exactly the bucket of its free count;
// free_devices(k) and capacity(k) sum over READY nodes only.
#ifndef HAC_SCHEDULER_CLUSTER_MODEL_H_
#define HAC_SCHEDULER_CLUSTER_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "scheduler/types.h"

namespace hac::scheduler {

using NodeIndex = uint32_t;
using KeyIndex = uint32_t;
using AttemptSlot = uint32_t;  // 0 = no attempt
inline constexpr AttemptSlot kNoAttempt = 0;

class ClusterModel {
 public:
  struct DeviceKey {
    std::string device_class;
    std::string model;
    int64_t memory_bytes = 0;  // smallest memory of the key's devices (0 = unknown)
    int max_per_node = 0;      // most devices of this key on one node seen so far
  };
  struct Device {
    int index = 0;
    KeyIndex key = 0;
    AttemptSlot owner = kNoAttempt;
  };
  struct KeyFree {
    KeyIndex key = 0;
    int total = 0;
    std::vector<int> free_positions;  // positions into Node::devices, ascending
  };
  struct Node {
    NodeId id;
    std::string pool;
    NodeState state = NodeState::kReady;
    bool live = false;  // false for a removed node's slot
    std::vector<Device> devices;
    std::vector<KeyFree> keys;  // one entry per key present on the node (few)
  };

  // INVALID_ARGUMENT for duplicate device indices or empty class; ALREADY_EXISTS for a known id.
  absl::Status AddNode(const NodeSpec& spec);
  // NOT_FOUND when unknown; FAILED_PRECONDITION while any device is still owned.
  absl::Status RemoveNode(const NodeId& id);
  absl::Status SetNodeState(const NodeId& id, NodeState state);

  std::optional<NodeIndex> Find(const NodeId& id) const;
  const Node& node(NodeIndex n) const { return nodes_[n]; }
  size_t node_slots() const { return nodes_.size(); }
  size_t live_nodes() const { return id_to_index_.size(); }

  const std::vector<DeviceKey>& keys() const { return keys_; }
  // Keys that can serve `request` (class, model if given, memory), ascending.
  void MatchingKeys(const DeviceRequest& request, std::vector<KeyIndex>* out) const;

  int FreeOn(NodeIndex n, KeyIndex k) const;
  int TotalOn(NodeIndex n, KeyIndex k) const;
  // READY nodes with at least `count` free devices of key k. O(devices per node).
  int64_t NodesWithFree(KeyIndex k, int count) const;
  // Largest free count of key k on one READY node (0 when none).
  int LargestFree(KeyIndex k) const;
  // Sums over READY nodes.
  int64_t FreeDevices(KeyIndex k) const { return key_free_[k]; }
  int64_t Capacity(KeyIndex k) const { return key_capacity_[k]; }
  int64_t ClassCapacity(const std::string& device_class) const;
  int64_t TotalFree() const { return total_free_; }

  // Visits READY nodes with >= count free devices of key k, by free count ascending
  // (ascending=true, best fit) or descending (spread), ties by node index; stops when visit
  // returns false.
  template <typename Visit>
  void ForEachFitting(KeyIndex k, int count, bool ascending, Visit visit) const {
    const auto& buckets = buckets_[k];
    int top = static_cast<int>(buckets.size()) - 1;
    if (count < 1) count = 1;
    if (ascending) {
      for (int f = count; f <= top; ++f)
        for (NodeIndex n : buckets[f])
          if (!visit(n)) return;
    } else {
      for (int f = top; f >= count; --f)
        for (NodeIndex n : buckets[f])
          if (!visit(n)) return;
    }
  }
  // Up to `limit` fitting nodes with the smallest indices (first fit), ascending.
  void LowestFitting(KeyIndex k, int count, size_t limit, std::vector<NodeIndex>* out) const;

  // Gives the first `count` free devices of key k on node n to `owner`; returns their positions.
  // The caller guarantees FreeOn(n, k) >= count.
  std::vector<int> Allocate(NodeIndex n, KeyIndex k, int count, AttemptSlot owner);
  // Gives specific device indices to `owner` (recovery). INVALID_ARGUMENT if one is unknown or
  // owned.
  absl::Status AllocateIndices(NodeIndex n, const std::vector<int>& device_indices,
                               AttemptSlot owner, KeyIndex* key);
  // Frees the devices at `positions` on node n.
  void Release(NodeIndex n, const std::vector<int>& positions);

 private:
  KeyIndex InternKey(const DeviceSpec& d);
  KeyFree* FindKeyFree(NodeIndex n, KeyIndex k);
  void Unindex(NodeIndex n);
  void Index(NodeIndex n);
  void Reindex(NodeIndex n, KeyIndex k, int old_free, int new_free);

  std::vector<Node> nodes_;
  std::vector<NodeIndex> free_slots_;
  absl::flat_hash_map<NodeId, NodeIndex> id_to_index_;
  std::vector<DeviceKey> keys_;
  std::vector<std::vector<absl::btree_set<NodeIndex>>> buckets_;  // [key][free count]
  std::vector<int64_t> key_free_;
  std::vector<int64_t> key_capacity_;
  int64_t total_free_ = 0;
};

const char* NodeStateName(NodeState s);

}  // namespace hac::scheduler

#endif  // HAC_SCHEDULER_CLUSTER_MODEL_H_
