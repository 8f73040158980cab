#include "billing/usage.h"

#include "absl/strings/str_cat.h"

namespace hac::billing {

absl::Status ValidateUsageInterval(absl::Duration length) {
  if (length < kMinUsageInterval || length > absl::Seconds(60) ||
      absl::Trunc(length, absl::Seconds(1)) != length || 60 % absl::ToInt64Seconds(length) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("usage interval ", absl::FormatDuration(length),
                     " must be a whole number of seconds between 1s and 60s that divides 60s "
                     "(1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateUsageLength(absl::Duration length) {
  if (length < absl::Seconds(1) || length > kMaxUsageRowLength ||
      absl::Trunc(length, absl::Seconds(1)) != length) {
    return absl::InvalidArgumentError(absl::StrCat(
        "interval_length ", absl::FormatDuration(length),
        " must be a whole number of seconds between 1s and ",
        absl::ToInt64Hours(kMaxUsageRowLength), "h"));
  }
  return absl::OkStatus();
}

absl::Time UsageIntervalStart(absl::Time t, absl::Duration length) {
  return absl::UnixEpoch() + absl::Floor(t - absl::UnixEpoch(), length);
}

absl::Status ValidateUsageRow(const UsageRow& row) {
  auto invalid = [&](auto&&... why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "usage row (attempt \"", row.attempt_id, "\", device \"", row.device_id, "\", interval ",
        absl::FormatTime(row.interval_start, absl::UTCTimeZone()), "): ", why...));
  };
  if (row.job_id.empty()) return invalid("job_id must not be empty");
  if (row.attempt_id.empty()) return invalid("attempt_id must not be empty");
  if (row.device_class.empty()) return invalid("device_class must not be empty");
  if (absl::Status s = ValidateUsageLength(row.interval_length); !s.ok()) {
    return invalid(s.message());
  }
  if (row.interval_start == absl::InfinitePast() || row.interval_start == absl::InfiniteFuture() ||
      absl::FromUnixSeconds(absl::ToUnixSeconds(row.interval_start)) != row.interval_start) {
    return invalid("interval_start must be a whole second");
  }
  const int64_t limit_ms = absl::ToInt64Milliseconds(row.interval_length);
  if (row.allocated_ms < 0 || row.allocated_ms > limit_ms) {
    return invalid("allocated_ms ", row.allocated_ms, " must be between 0 and ", limit_ms,
                   " (the row's length)");
  }
  if (row.active_ms < 0 || row.active_ms > limit_ms) {
    return invalid("active_ms ", row.active_ms, " must be between 0 and ", limit_ms,
                   " (the row's length)");
  }
  return absl::OkStatus();
}

}  // namespace hac::billing
