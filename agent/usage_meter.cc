#include "agent/usage_meter.h"

#include <algorithm>

namespace hac::agent {

UsageMeter::UsageMeter(const common::Clock& clock, uint64_t first_sequence)
    : clock_(clock), next_sequence_(first_sequence) {}

void UsageMeter::Start(const std::string& attempt_id, const std::vector<uint32_t>& devices,
                       const BusyFn& busy) {
  if (attempts_.count(attempt_id) > 0) return;
  Attempt attempt;
  attempt.claimed = clock_.MonotonicNow();
  for (uint32_t index : devices) {
    DeviceCounter counter;
    counter.index = index;
    counter.busy_at_claim = busy(index);
    attempt.devices.push_back(counter);
  }
  attempts_.emplace(attempt_id, std::move(attempt));
}

void UsageMeter::Read(const std::string& id, Attempt& attempt, const BusyFn& busy, bool final,
                      std::vector<UsageCounterValue>* out) {
  const absl::Time now = clock_.MonotonicNow();
  const int64_t allocated = std::max<int64_t>(0, absl::ToInt64Milliseconds(now - attempt.claimed));
  for (DeviceCounter& d : attempt.devices) {
    // A device reset under the attempt makes busy() drop below the claim value: never go back.
    int64_t active =
        std::max<int64_t>(0, absl::ToInt64Milliseconds(busy(d.index) - d.busy_at_claim));
    d.allocated_ms = std::max(d.allocated_ms, allocated);
    d.active_ms = std::max(d.active_ms, std::min(active, d.allocated_ms));
    out->push_back(UsageCounterValue{id, d.index, d.allocated_ms, d.active_ms, final});
  }
}

UsageBatch UsageMeter::Report(const BusyFn& busy) {
  UsageBatch batch;
  batch.sequence = next_sequence_++;
  batch.time = clock_.Now();
  for (auto& [id, attempt] : attempts_) Read(id, attempt, busy, /*final=*/false, &batch.counters);
  return batch;
}

UsageBatch UsageMeter::Finish(const std::string& attempt_id, const BusyFn& busy) {
  UsageBatch batch;
  batch.sequence = next_sequence_++;
  batch.time = clock_.Now();
  auto it = attempts_.find(attempt_id);
  if (it == attempts_.end()) return batch;
  Read(attempt_id, it->second, busy, /*final=*/true, &batch.counters);
  attempts_.erase(it);
  return batch;
}

}  // namespace hac::agent
