// UsageRow: the rating input, one row per (attempt, device, usage interval).
//
// The store keeps, per (attempt, device), the latest cumulative counters an agent reported, and
// turns each increase into per-interval rows: how many milliseconds of each meter were used
// within each interval. Intervals are aligned to the Unix epoch and have a fixed length that
// divides 60 s (60 s by default, down to 1 s), so an interval never straddles a whole minute,
// and therefore never straddles a price change (price changes take effect on whole minutes).
//
// Contract for whoever produces rows (the store):
//   - one row per (job, attempt, device, interval_start); a second one is rejected, never summed;
//   - allocated_ms and active_ms are what was used inside [interval_start, interval_start +
//     interval_length), so each is between 0 and the interval length. An increase of a
//     cumulative counter that covers several intervals (e.g. after a reconnect) must be spread
//     over those intervals, or attributed to the interval of the report if that one has room;
//   - a device keeps its class and model for the whole attempt.
// RateUsage (rating.h) checks all of this and returns INVALID_ARGUMENT naming the row otherwise.
//
// A row may also sum consecutive intervals of one (attempt, device) that lie under one price (the
// store's monthly totals do): it then covers [interval_start, interval_start + interval_length)
// from its first interval's start to its last one's end, and its milliseconds are the sum.
// Rating such rows gives the same bill as rating the intervals (rounding is per (attempt,
// device, meter) over the period, never per row).
#ifndef HAC_BILLING_USAGE_H_
#define HAC_BILLING_USAGE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace hac::billing {

inline constexpr absl::Duration kDefaultUsageInterval = absl::Seconds(60);
inline constexpr absl::Duration kMinUsageInterval = absl::Seconds(1);
// The longest row: a calendar month.
inline constexpr absl::Duration kMaxUsageRowLength = absl::Hours(31 * 24);

// Usage of one device by one attempt during one interval. Plain value: owned by whoever holds it,
// not synchronized (share it read-only or copy it). Invariant: the contract above, which
// ValidateUsageRow and RateUsage check.
struct UsageRow {
  std::string tenant_id{};
  std::string job_id{};        // "j-42"
  std::string attempt_id{};    // "j-42.1"
  std::string device_id{};     // the device's UUID; distinguishes the devices of one attempt
  std::string device_class{};  // "gpu", "npu"
  std::string device_model{};  // "emu-a100"
  // Start of the interval, whole seconds (the ledger aligns it to a multiple of its length).
  absl::Time interval_start{};
  // Whole seconds: the ledger's interval (1..60, dividing 60), or up to kMaxUsageRowLength for
  // a row that sums intervals.
  absl::Duration interval_length = kDefaultUsageInterval;
  // Milliseconds the device was held by the attempt within the interval.
  int64_t allocated_ms = 0;
  // Milliseconds the device was busy with the attempt's work within the interval.
  int64_t active_ms = 0;

  friend bool operator==(const UsageRow&, const UsageRow&) = default;
};

// OK if `length` is a whole number of seconds between 1 and 60 that divides 60;
// INVALID_ARGUMENT otherwise.
absl::Status ValidateUsageInterval(absl::Duration length);

// OK if `length` is a whole number of seconds between 1 s and kMaxUsageRowLength (a row's
// length); INVALID_ARGUMENT otherwise.
absl::Status ValidateUsageLength(absl::Duration length);

// The start of the interval of `length` (valid per ValidateUsageInterval) containing `t`.
absl::Time UsageIntervalStart(absl::Time t, absl::Duration length);

// OK if `row` satisfies the contract above on its own (length, whole seconds, ranges, names).
absl::Status ValidateUsageRow(const UsageRow& row);

}  // namespace hac::billing

#endif  // HAC_BILLING_USAGE_H_
