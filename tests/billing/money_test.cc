#include "billing/money.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>

#include "billing/month.h"
#include "tests/billing/billing_test_util.h"

namespace hac::billing {
namespace {

using testing::Micros;
using testing::Value;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

TEST_CASE("Money formats with thousands separators, six decimals and the currency") {
  CHECK(FormatMoney(Micros(1'234'567'890)) == "1,234.567890 KRW");
  CHECK(FormatMoney(Micros(0)) == "0.000000 KRW");
  CHECK(FormatMoney(Micros(5)) == "0.000005 KRW");
  CHECK(FormatMoney(Micros(-1'500'000), "USD") == "-1.500000 USD");
  CHECK(FormatAmount(Micros(1'000'000'000'000)) == "1,000,000.000000");
  CHECK(FormatAmount(Micros(kMax)) == "9,223,372,036,854.775807");
  CHECK(FormatAmount(Micros(kMin)) == "-9,223,372,036,854.775808");
}

TEST_CASE("ParseMoney reads decimal strings exactly into micro-units") {
  CHECK(Value(ParseMoney("12.5")).micros() == 12'500'000);
  CHECK(Value(ParseMoney("0.000001")).micros() == 1);
  CHECK(Value(ParseMoney("7")).micros() == 7'000'000);
  CHECK(Value(ParseMoney("-3.25")).micros() == -3'250'000);
  CHECK(Value(ParseMoney("1,234.567890 KRW")).micros() == 1'234'567'890);
  CHECK(Value(ParseMoney("1234567.1")).micros() == 1'234'567'100'000);
  CHECK(Value(ParseMoney("9,223,372,036,854.775807")).micros() == kMax);
  CHECK(Value(ParseMoney("-9223372036854.775808")).micros() == kMin);
  CHECK(Value(ParseMoney("2.5 USD", "USD")).micros() == 2'500'000);
}

TEST_CASE("Formatting then parsing gives back the same amount") {
  for (int64_t m : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{999'999}, int64_t{1'000'000},
                    int64_t{123'456'789'012}, kMax, kMin}) {
    INFO(m);
    CHECK(Value(ParseMoney(FormatMoney(Micros(m)))).micros() == m);
  }
}

TEST_CASE("ParseMoney rejects more than six decimals instead of rounding") {
  absl::StatusOr<Money> m = ParseMoney("1.0000001");
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(m.status().message()), Catch::Contains("at most 6 decimals"));
}

TEST_CASE("ParseMoney rejects malformed text with INVALID_ARGUMENT") {
  for (const char* bad :
       {"", "-", ".5", "5.", "1.2.3", "12a", " 1", "1 ", "+1", "1,23", "12,345,67", "1234,567",
        ",123", "1.5 USD", "1.5KRW", "0x10", "9223372036855", "-9223372036854.775809"}) {
    INFO(bad);
    absl::StatusOr<Money> m = ParseMoney(bad);
    CHECK(m.status().code() == absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("Money arithmetic reports overflow as OUT_OF_RANGE instead of wrapping") {
  CHECK(Value(CheckedAdd(Micros(2), Micros(3))).micros() == 5);
  CHECK(Value(CheckedSub(Micros(2), Micros(3))).micros() == -1);
  CHECK(Value(CheckedMul(Micros(1'000'000), 3600)).micros() == 3'600'000'000);
  CHECK(Value(CheckedAdd(Micros(kMax - 1), Micros(1))).micros() == kMax);

  CHECK(CheckedAdd(Micros(kMax), Micros(1)).status().code() == absl::StatusCode::kOutOfRange);
  CHECK(CheckedSub(Micros(kMin), Micros(1)).status().code() == absl::StatusCode::kOutOfRange);
  CHECK(CheckedMul(Micros(kMax / 2 + 1), 2).status().code() == absl::StatusCode::kOutOfRange);
  CHECK(CheckedMul(Micros(kMin), -1).status().code() == absl::StatusCode::kOutOfRange);
  CHECK_THAT(std::string(CheckedAdd(Micros(kMax), Micros(1)).status().message()),
             Catch::Contains("overflow"));
}

TEST_CASE("Currencies are three upper-case letters") {
  CHECK(ValidateCurrency("KRW").ok());
  CHECK(ValidateCurrency("USD").ok());
  CHECK(ValidateCurrency("krw").code() == absl::StatusCode::kInvalidArgument);
  CHECK(ValidateCurrency("KRWX").code() == absl::StatusCode::kInvalidArgument);
  CHECK(ValidateCurrency("").code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Month knows its UTC bounds, neighbours and name") {
  const Month nov{2026, 11};
  CHECK(nov.ToString() == "2026-11");
  CHECK(nov.Start() == absl::FromUnixSeconds(1'793'491'200));  // 2026-11-01T00:00:00Z
  CHECK(nov.End() == Month{2026, 12}.Start());
  CHECK(Month{2026, 12}.Next() == Month{2027, 1});
  CHECK(Month{2027, 1}.Previous() == Month{2026, 12});
  CHECK(Month::Of(nov.End() - absl::Nanoseconds(1)) == nov);
  CHECK(Month::Of(nov.End()) == Month{2026, 12});
  CHECK(Value(Month::Parse("2026-11")) == nov);
  CHECK(Month::Parse("2026-13").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(Month::Parse("2026-1").status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hac::billing
