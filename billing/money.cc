#include "billing/money.h"

#include <cstdint>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"

namespace hac::billing {
namespace {

std::string Quote(std::string_view s) {
  return absl::StrCat("\"", absl::string_view(s.data(), s.size()), "\"");
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

absl::StatusOr<Money> CheckedAdd(Money a, Money b) {
  int64_t out = 0;
  if (__builtin_add_overflow(a.micros(), b.micros(), &out)) {
    return absl::OutOfRangeError(absl::StrCat("money overflow: ", FormatAmount(a), " + ",
                                              FormatAmount(b),
                                              " exceeds the int64 micro-unit range"));
  }
  return Money::FromMicros(out);
}

absl::StatusOr<Money> CheckedSub(Money a, Money b) {
  int64_t out = 0;
  if (__builtin_sub_overflow(a.micros(), b.micros(), &out)) {
    return absl::OutOfRangeError(absl::StrCat("money overflow: ", FormatAmount(a), " - ",
                                              FormatAmount(b),
                                              " exceeds the int64 micro-unit range"));
  }
  return Money::FromMicros(out);
}

absl::StatusOr<Money> CheckedMul(Money amount, int64_t quantity) {
  int64_t out = 0;
  if (__builtin_mul_overflow(amount.micros(), quantity, &out)) {
    return absl::OutOfRangeError(absl::StrCat("money overflow: ", FormatAmount(amount), " x ",
                                              quantity, " exceeds the int64 micro-unit range"));
  }
  return Money::FromMicros(out);
}

std::string FormatAmount(Money m) {
  const int64_t micros = m.micros();
  // Magnitude as unsigned so that INT64_MIN has a representable absolute value.
  const uint64_t mag =
      micros < 0 ? uint64_t{0} - static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
  const uint64_t units = mag / static_cast<uint64_t>(kMicrosPerUnit);
  const uint64_t frac = mag % static_cast<uint64_t>(kMicrosPerUnit);
  std::string digits = std::to_string(units);
  std::string grouped;
  grouped.reserve(digits.size() + digits.size() / 3 + 1);
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped.push_back(',');
    grouped.push_back(digits[i]);
  }
  std::string frac_digits = std::to_string(frac);
  return absl::StrCat(micros < 0 ? "-" : "", grouped, ".", std::string(6 - frac_digits.size(), '0'),
                      frac_digits);
}

std::string FormatMoney(Money m, std::string_view currency) {
  return absl::StrCat(FormatAmount(m), " ", absl::string_view(currency.data(), currency.size()));
}

absl::StatusOr<Money> ParseMoney(std::string_view text, std::string_view currency) {
  auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("amount ", Quote(text), ": ", absl::string_view(why.data(), why.size())));
  };
  std::string_view s = text;
  // Optional " <currency>" suffix.
  if (size_t space = s.find(' '); space != std::string_view::npos) {
    std::string_view suffix = s.substr(space + 1);
    if (suffix != currency) {
      return invalid(
          absl::StrCat("currency must be ", absl::string_view(currency.data(), currency.size())));
    }
    s = s.substr(0, space);
  }
  bool negative = false;
  if (!s.empty() && s.front() == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  std::string_view int_part = s;
  std::string_view frac_part;
  bool has_point = false;
  if (size_t dot = s.find('.'); dot != std::string_view::npos) {
    has_point = true;
    int_part = s.substr(0, dot);
    frac_part = s.substr(dot + 1);
  }
  if (int_part.empty()) return invalid("needs at least one digit before the decimal point");
  if (has_point && frac_part.empty()) return invalid("needs digits after the decimal point");
  if (frac_part.size() > 6) {
    return invalid("at most 6 decimals (micro-units); amounts are never rounded");
  }
  // Integer part: plain digits, or groups of 3 separated by ',' after a first group of 1-3.
  const bool grouped = int_part.find(',') != std::string_view::npos;
  // Accumulate as a negative number so that the most negative int64 parses.
  int64_t acc = 0;
  size_t group_len = 0;
  bool first_group = true;
  for (char c : int_part) {
    if (c == ',') {
      if ((first_group && (group_len == 0 || group_len > 3)) || (!first_group && group_len != 3)) {
        return invalid("misplaced thousands separator");
      }
      first_group = false;
      group_len = 0;
      continue;
    }
    if (!IsDigit(c)) return invalid("unexpected character; expected [-]digits[.digits] [currency]");
    ++group_len;
    if (__builtin_mul_overflow(acc, int64_t{10}, &acc) ||
        __builtin_sub_overflow(acc, int64_t{c - '0'}, &acc)) {
      return invalid("exceeds the largest amount (9,223,372,036,854.775807)");
    }
  }
  if (grouped && group_len != 3) return invalid("misplaced thousands separator");
  for (char c : frac_part) {
    if (!IsDigit(c)) return invalid("unexpected character after the decimal point");
  }
  int64_t frac = 0;
  for (size_t i = 0; i < 6; ++i) {
    frac = frac * 10 + (i < frac_part.size() ? frac_part[i] - '0' : 0);
  }
  int64_t micros = 0;
  if (__builtin_mul_overflow(acc, kMicrosPerUnit, &micros) ||
      __builtin_sub_overflow(micros, frac, &micros)) {
    return invalid("exceeds the largest amount (9,223,372,036,854.775807)");
  }
  if (!negative) {
    if (micros == std::numeric_limits<int64_t>::min()) {
      return invalid("exceeds the largest amount (9,223,372,036,854.775807)");
    }
    micros = -micros;
  }
  return Money::FromMicros(micros);
}

absl::Status ValidateCurrency(std::string_view code) {
  bool ok = code.size() == 3;
  for (char c : code) ok = ok && c >= 'A' && c <= 'Z';
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("currency ", Quote(code), " must be 3 upper-case letters, e.g. \"KRW\""));
  }
  return absl::OkStatus();
}

}  // namespace hac::billing
