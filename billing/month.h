// Month: a calendar month in UTC, the period of an invoice and of a budget.
//
//   Month m = Month::Of(absl::FromUnixSeconds(1'794'000'000));  // 2026-11
//   m.Start() == 2026-11-01T00:00:00Z, m.End() == 2026-12-01T00:00:00Z, m.ToString() == "2026-11"
#ifndef HAC_BILLING_MONTH_H_
#define HAC_BILLING_MONTH_H_

#include <compare>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace hac::billing {

// A calendar month [Start(), End()) in UTC.
// Owner: a plain value. Thread-safety: immutable, safe to share.
// Invariant: 1 <= month <= 12 and 1970 <= year <= 9999 (enforced by Parse and Of; the
// aggregate constructor trusts its caller, who must keep the same range).
struct Month {
  int year = 1970;
  int month = 1;

  // The month that contains `t` (UTC). `t` must be finite and in the supported years.
  static Month Of(absl::Time t);
  // "2026-11" -> {2026, 11}; INVALID_ARGUMENT names the expected form otherwise.
  static absl::StatusOr<Month> Parse(std::string_view text);

  absl::Time Start() const;
  absl::Time End() const;
  Month Next() const;
  Month Previous() const;
  // "2026-11".
  std::string ToString() const;

  friend constexpr bool operator==(const Month&, const Month&) = default;
  friend constexpr auto operator<=>(const Month&, const Month&) = default;
};

}  // namespace hac::billing

#endif  // HAC_BILLING_MONTH_H_
