// AttemptTable: the running attempts the scheduler knows, indexed by expected end (for the
// release profile behind backfill and estimated starts) and by priority (for preemption).
//
// Owner: the Scheduler. Thread-safety: none. Invariants: every attempt in the table owns its
// devices in the ClusterModel; by_end() and by_priority() hold exactly the table's attempts.
#ifndef HAC_SCHEDULER_ATTEMPT_TABLE_H_
#define HAC_SCHEDULER_ATTEMPT_TABLE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "scheduler/cluster_model.h"
#include "scheduler/ledger.h"
#include "scheduler/types.h"

namespace hac::scheduler {

struct Attempt {
  AttemptId id;
  JobId job;
  TenantIndex tenant = 0;
  int priority = 0;
  absl::Time submit_time;  // of the job: aging uses it
  int alternative = 0;
  KeyIndex key = 0;
  std::string device_class;
  int64_t device_count = 0;  // over all nodes
  std::vector<std::pair<NodeIndex, std::vector<int>>> devices;  // node -> device positions
  absl::Time start;
  absl::Time expected_end;
  bool borrowed = false;    // admitted above a borrowable quota
  bool preempting = false;  // a PreemptDecision was issued for it
};

class AttemptTable {
 public:
  // Returns the new attempt's slot (>= 1).
  AttemptSlot Add(Attempt attempt);
  void Remove(AttemptSlot slot);
  void SetExpectedEnd(AttemptSlot slot, absl::Time start, absl::Time end);

  AttemptSlot Find(const AttemptId& id) const;  // kNoAttempt when unknown
  const Attempt& Get(AttemptSlot slot) const { return slots_[slot]; }
  Attempt& Mutable(AttemptSlot slot) { return slots_[slot]; }
  size_t size() const { return index_.size(); }
  // Attempts admitted by borrowing above a quota (preemptible by other tenants' jobs).
  size_t borrowed() const { return borrowed_; }

  const absl::btree_set<std::pair<absl::Time, AttemptSlot>>& by_end() const { return by_end_; }
  const absl::btree_set<std::pair<int, AttemptSlot>>& by_priority() const { return by_priority_; }

 private:
  std::vector<Attempt> slots_ = std::vector<Attempt>(1);  // slot 0 unused
  std::vector<AttemptSlot> free_;
  size_t borrowed_ = 0;
  absl::flat_hash_map<AttemptId, AttemptSlot> index_;
  absl::btree_set<std::pair<absl::Time, AttemptSlot>> by_end_;
  absl::btree_set<std::pair<int, AttemptSlot>> by_priority_;
};

}  // namespace hac::scheduler

#endif  // HAC_SCHEDULER_ATTEMPT_TABLE_H_
