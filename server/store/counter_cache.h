// CounterCache: the usage ledger's memory of the counters it wrote lately (ledger.cc), so that a
// report of a known counter needs no read before its writes.
#ifndef HAC_SERVER_STORE_COUNTER_CACHE_H_
#define HAC_SERVER_STORE_COUNTER_CACHE_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/container/node_hash_map.h"

namespace hac::server::store {

// What usage_counters holds for one (attempt, device).
struct CounterState {
  int64_t allocated_ms = 0;
  int64_t active_ms = 0;
  int64_t tenant_id = 0;
  std::string job_id;
  std::string device_id;
  std::string device_class;
  std::string device_model;
  int64_t assign_s = 0;
  // The latest interval written, its length and how much of it is used.
  int64_t last_start = 0;
  int64_t last_length = 0;
  int64_t last_allocated_ms = 0;
  int64_t last_active_ms = 0;
  // The attempt ended: its usage is also in usage_totals (usage_totals.h).
  bool final = false;
};

// The state of counters by (attempt, device index). Thread-compatible: only the store's writer
// thread uses it, inside usage writes. Whenever the writer rolls back a write (alone or with its
// batch) it clears the cache (GroupCommitter's rollback hook), so later writes read the rows
// again instead of trusting values that were rolled back. Pointers returned by Find/Put stay
// valid until the next Put or Clear.
class CounterCache {
 public:
  static constexpr size_t kMaxEntries = 1 << 18;

  CounterState* Find(const std::string& attempt, uint32_t index) {
    auto it = map_.find(std::make_pair(attempt, index));
    return it == map_.end() ? nullptr : &it->second;
  }
  CounterState& Put(const std::string& attempt, uint32_t index, CounterState st) {
    if (map_.size() >= kMaxEntries) map_.clear();  // bounded; a miss just reads the row
    return map_.insert_or_assign(std::make_pair(attempt, index), std::move(st)).first->second;
  }
  void Clear() { map_.clear(); }

 private:
  absl::node_hash_map<std::pair<std::string, uint32_t>, CounterState> map_;
};

}  // namespace hac::server::store

#endif  // HAC_SERVER_STORE_COUNTER_CACHE_H_
