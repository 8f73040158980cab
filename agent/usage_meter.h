// UsageMeter: the cumulative usage counters of every running attempt on every device it holds,
// numbered by a sequence that grows with every report. Pure logic: it reads time from a Clock
// and busy time through a callback, and returns values; the agent turns them into UsageReports.
//
//   UsageMeter meter(clock, /*first_sequence=*/absl::ToUnixMillis(clock.Now()));
//   meter.Start("j-1.1", {0, 1}, busy_of);      // at claim: remembers time and busy time
//   UsageBatch b = meter.Report(busy_of);       // every second: counters of all attempts
//   UsageBatch f = meter.Finish("j-1.1", busy_of);  // at exit, before the devices are reset
//
// allocated_ms is monotonic time since the claim; active_ms is the device's busy time minus its
// value at the claim, capped at allocated_ms (overlapping streams cannot bill more than the
// device was held). Both never decrease between reports of one attempt.
//
// Owner: the agent. Thread-safety: thread-compatible (the agent calls it under its own lock).
// Invariants: sequences returned are strictly increasing; counters never decrease; Finish marks
// every counter final and forgets the attempt.
#ifndef HAC_AGENT_USAGE_METER_H_
#define HAC_AGENT_USAGE_METER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/clock.h"

namespace hac::agent {

// One counter of one attempt on one device. Value type.
struct UsageCounterValue {
  std::string attempt_id;
  uint32_t device_index = 0;
  int64_t allocated_ms = 0;
  int64_t active_ms = 0;
  bool final = false;
};

// A numbered set of counters, read at `time` (wall clock). Value type.
struct UsageBatch {
  uint64_t sequence = 0;
  absl::Time time;
  std::vector<UsageCounterValue> counters;
};

class UsageMeter {
 public:
  // Busy time of a device now, as its state segment says.
  using BusyFn = std::function<absl::Duration(uint32_t device_index)>;

  // `clock` must outlive the meter. The first batch gets `first_sequence`.
  UsageMeter(const common::Clock& clock, uint64_t first_sequence);

  // Starts counting `attempt_id` on `devices` from now. Starting a known attempt is a no-op.
  void Start(const std::string& attempt_id, const std::vector<uint32_t>& devices,
             const BusyFn& busy);
  // Counters of every running attempt (empty when none). Consumes a sequence number.
  UsageBatch Report(const BusyFn& busy);
  // Final counters of one attempt, then forgets it. Consumes a sequence number; an unknown
  // attempt gives an empty batch.
  UsageBatch Finish(const std::string& attempt_id, const BusyFn& busy);

  bool Has(const std::string& attempt_id) const { return attempts_.count(attempt_id) > 0; }
  size_t size() const { return attempts_.size(); }
  uint64_t next_sequence() const { return next_sequence_; }

 private:
  struct DeviceCounter {
    uint32_t index = 0;
    absl::Duration busy_at_claim;
    int64_t allocated_ms = 0;  // last reported
    int64_t active_ms = 0;     // last reported
  };
  struct Attempt {
    absl::Time claimed;  // monotonic
    std::vector<DeviceCounter> devices;
  };

  void Read(const std::string& id, Attempt& attempt, const BusyFn& busy, bool final,
            std::vector<UsageCounterValue>* out);

  const common::Clock& clock_;
  uint64_t next_sequence_;
  std::map<std::string, Attempt> attempts_;
};

}  // namespace hac::agent

#endif  // HAC_AGENT_USAGE_METER_H_
