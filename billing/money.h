// Money: an exact amount of a currency as a signed 64-bit count of micro-units (1e-6).
//
// Billing never uses floating point: rates, amounts and totals are all Money, and every
// arithmetic step that could overflow goes through CheckedAdd / CheckedSub / CheckedMul, which
// return OUT_OF_RANGE instead of wrapping. The currency itself (an ISO-4217-style code, "KRW" by
// default) is a property of the price catalog and of each bill, not of every amount: one
// deployment bills in one currency.
//
//   ASSIGN_OR_RETURN(Money rate, ParseMoney("12.5"));         // 12,500,000 micros
//   ASSIGN_OR_RETURN(Money amount, CheckedMul(rate, 90));      // 90 device-seconds
//   FormatMoney(amount) == "1,125.000000 KRW"
#ifndef HAC_BILLING_MONEY_H_
#define HAC_BILLING_MONEY_H_

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace hac::billing {

// The currency every catalog and bill uses unless configured otherwise.
inline constexpr std::string_view kDefaultCurrency = "KRW";
// Micro-units per currency unit: Money has exactly 6 decimals.
inline constexpr int64_t kMicrosPerUnit = 1'000'000;

// An amount of money in micro-units of the deployment's currency.
// Owner: a plain value, copied freely. Thread-safety: immutable, safe to share.
// Invariant: none beyond int64 range; arithmetic that leaves the range is reported by the Checked*
// functions, never wrapped. There are deliberately no operator+ / operator* so that unchecked
// arithmetic on money does not compile.
class Money {
 public:
  constexpr Money() = default;
  static constexpr Money FromMicros(int64_t micros) { return Money(micros); }
  static constexpr Money Zero() { return Money(0); }
  constexpr int64_t micros() const { return micros_; }

  friend constexpr bool operator==(Money, Money) = default;
  friend constexpr auto operator<=>(Money, Money) = default;

 private:
  constexpr explicit Money(int64_t micros) : micros_(micros) {}
  int64_t micros_ = 0;
};

// a + b; OUT_OF_RANGE if the result does not fit in int64 micros.
absl::StatusOr<Money> CheckedAdd(Money a, Money b);
// a - b; OUT_OF_RANGE if the result does not fit.
absl::StatusOr<Money> CheckedSub(Money a, Money b);
// amount * quantity (e.g. a per-second rate times billed seconds); OUT_OF_RANGE on overflow.
absl::StatusOr<Money> CheckedMul(Money amount, int64_t quantity);

// "1,234.567890" (thousands separators, always 6 decimals, leading '-' when negative).
std::string FormatAmount(Money m);
// FormatAmount followed by a space and the currency: "1,234.567890 KRW".
std::string FormatMoney(Money m, std::string_view currency = kDefaultCurrency);

// Parses a decimal amount exactly: "12.5" -> 12,500,000 micros. Accepts an optional leading '-',
// an integer part with or without correct thousands separators ("1234" or "1,234"), at most 6
// decimals after a '.', and an optional " <currency>" suffix that must equal `currency` (so
// FormatMoney output parses back). INVALID_ARGUMENT for anything else: more than 6 decimals
// (never rounded), no digits, stray characters, another currency, or an amount beyond int64 micros
// (about 9.2e12 units).
absl::StatusOr<Money> ParseMoney(std::string_view text,
                                 std::string_view currency = kDefaultCurrency);

// OK if `code` is three upper-case ASCII letters ("KRW", "USD"); INVALID_ARGUMENT otherwise.
absl::Status ValidateCurrency(std::string_view code);

}  // namespace hac::billing

#endif  // HAC_BILLING_MONEY_H_
