#include "scheduler/attempt_table.h"

namespace hac::scheduler {

AttemptSlot AttemptTable::Add(Attempt attempt) {
  AttemptSlot slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<AttemptSlot>(slots_.size());
    slots_.emplace_back();
  }
  index_[attempt.id] = slot;
  by_end_.insert({attempt.expected_end, slot});
  by_priority_.insert({attempt.priority, slot});
  if (attempt.borrowed) ++borrowed_;
  slots_[slot] = std::move(attempt);
  return slot;
}

void AttemptTable::Remove(AttemptSlot slot) {
  Attempt& a = slots_[slot];
  by_end_.erase({a.expected_end, slot});
  by_priority_.erase({a.priority, slot});
  index_.erase(a.id);
  if (a.borrowed) --borrowed_;
  a = Attempt{};
  free_.push_back(slot);
}

void AttemptTable::SetExpectedEnd(AttemptSlot slot, absl::Time start, absl::Time end) {
  Attempt& a = slots_[slot];
  by_end_.erase({a.expected_end, slot});
  a.start = start;
  a.expected_end = end;
  by_end_.insert({end, slot});
}

AttemptSlot AttemptTable::Find(const AttemptId& id) const {
  auto it = index_.find(id);
  return it == index_.end() ? kNoAttempt : it->second;
}

}  // namespace hac::scheduler
