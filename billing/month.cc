#include "billing/month.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"

namespace hac::billing {

Month Month::Of(absl::Time t) {
  const absl::CivilMonth cm = absl::ToCivilMonth(t, absl::UTCTimeZone());
  return Month{static_cast<int>(cm.year()), cm.month()};
}

absl::StatusOr<Month> Month::Parse(std::string_view text) {
  auto invalid = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("month \"", absl::string_view(text.data(), text.size()),
                     "\" must be YYYY-MM with 1970 <= YYYY <= 9999 and 01 <= MM <= 12"));
  };
  if (text.size() != 7 || text[4] != '-') return invalid();
  int year = 0;
  int month = 0;
  for (size_t i = 0; i < 7; ++i) {
    if (i == 4) continue;
    if (text[i] < '0' || text[i] > '9') return invalid();
    if (i < 4) {
      year = year * 10 + (text[i] - '0');
    } else {
      month = month * 10 + (text[i] - '0');
    }
  }
  if (year < 1970 || month < 1 || month > 12) return invalid();
  return Month{year, month};
}

absl::Time Month::Start() const {
  return absl::FromCivil(absl::CivilMonth(year, month), absl::UTCTimeZone());
}

absl::Time Month::End() const { return Next().Start(); }

Month Month::Next() const { return month == 12 ? Month{year + 1, 1} : Month{year, month + 1}; }

Month Month::Previous() const { return month == 1 ? Month{year - 1, 12} : Month{year, month - 1}; }

std::string Month::ToString() const { return absl::StrFormat("%04d-%02d", year, month); }

}  // namespace hac::billing
