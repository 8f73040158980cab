// The flags of hacctl's billing commands: times, months, exact amounts and the requests they
// build. Times in comments are UTC; 1793491200 is 2026-11-01T00:00:00Z.
#include "cli/billing_args.h"

#include <limits>

#include <catch2/catch.hpp>

namespace hac::cli {
namespace {

// 2026-11-15T10:30:15Z, the "now" of these tests.
const absl::Time kNow = absl::FromUnixSeconds(1'794'738'615);

ParsedArgs Parse(const std::vector<FlagSpec>& specs, const std::vector<std::string>& args) {
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(specs, args);
  REQUIRE(parsed.ok());
  return *parsed;
}

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST_CASE("ParseTimeFlag reads RFC 3339 and a bare date as UTC midnight") {
  CHECK(ParseTimeFlag("2026-11-01T00:00:00Z", "--from").value() ==
        absl::FromUnixSeconds(1'793'491'200));
  CHECK(ParseTimeFlag("2026-11-01", "--from").value() == absl::FromUnixSeconds(1'793'491'200));
  // 18:30 at +09:00 is 09:30 UTC.
  CHECK(ParseTimeFlag("2026-11-01T18:30:00+09:00", "--from").value() ==
        absl::FromUnixSeconds(1'793'525'400));
  CHECK(ParseTimeFlag("2026-11-01T00:00:00.250Z", "--from").value() ==
        absl::FromUnixSeconds(1'793'491'200) + absl::Milliseconds(250));
}

TEST_CASE("ParseTimeFlag rejects other forms and impossible dates naming the flag") {
  const std::string expected =
      "': expected an RFC 3339 time like 2026-11-01T00:00:00Z or a date like 2026-11-01 (UTC "
      "midnight)";
  for (const char* bad : {"2026-02-30", "2026-13-01", "2026-11-1", "2026/11/01", "yesterday",
                          "2026-11-01T00:00Z", "2026-11-01 00:00:00", "", "1793491200"}) {
    INFO(bad);
    absl::StatusOr<absl::Time> t = ParseTimeFlag(bad, "--to");
    REQUIRE_FALSE(t.ok());
    CHECK(t.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(Message(t.status()) == std::string("--to '") + bad + expected);
  }
  CHECK(Message(ParseTimeFlag("1969-12-31", "--from").status()) ==
        "--from '1969-12-31': out of range (1970-01-01 to 9999-12-31)");
  CHECK(Message(ParseTimeFlag("10000-01-01T00:00:00Z", "--to").status()) ==
        "--to '10000-01-01T00:00:00Z': out of range (1970-01-01 to 9999-12-31)");
  CHECK(ParseTimeFlag("9999-12-31T23:59:59Z", "--to").ok());
}

TEST_CASE("ParseMonthFlag takes exactly YYYY-MM with a month from 01 to 12") {
  CHECK(ParseMonthFlag("2026-11", "--month").value() == absl::CivilMonth(2026, 11));
  CHECK(ParseMonthFlag("1970-01", "--month").value() == absl::CivilMonth(1970, 1));
  for (const char* bad : {"2026-13", "2026-00", "2026-1", "26-11", "2026-11-01", "2026/11",
                          "1969-12", "+026-11", "2026-1a", ""}) {
    INFO(bad);
    absl::StatusOr<absl::CivilMonth> m = ParseMonthFlag(bad, "--month");
    REQUIRE_FALSE(m.ok());
    CHECK(Message(m.status()) ==
          std::string("--month '") + bad + "': expected a month like 2026-11 (YYYY-MM, 01 to 12)");
  }
  CHECK(MonthText(absl::CivilMonth(2026, 3)) == "2026-03");
  CHECK(UtcMonthOf(kNow) == absl::CivilMonth(2026, 11));
  // One second before November is still October.
  CHECK(UtcMonthOf(absl::FromUnixSeconds(1'793'491'199)) == absl::CivilMonth(2026, 10));
}

TEST_CASE("ParseAmountMicros is exact to the micro-unit with integers only") {
  CHECK(ParseAmountMicros("1.5", "--allocated").value() == 1'500'000);
  CHECK(ParseAmountMicros("12", "--allocated").value() == 12'000'000);
  CHECK(ParseAmountMicros("0", "--allocated").value() == 0);
  CHECK(ParseAmountMicros("0.000001", "--allocated").value() == 1);
  CHECK(ParseAmountMicros("0.1", "--allocated").value() == 100'000);
  // 0.1 + 0.2 is not 0.30000000000000004 here.
  CHECK(ParseAmountMicros("0.3", "--allocated").value() == 300'000);
  CHECK(ParseAmountMicros("007.250000", "--allocated").value() == 7'250'000);
  CHECK(ParseAmountMicros("9223372036854.775807", "--limit").value() ==
        std::numeric_limits<int64_t>::max());
}

TEST_CASE("ParseAmountMicros names the flag for 7 decimals, junk, signs and overflow") {
  CHECK(Message(ParseAmountMicros("1.1234567", "--allocated").status()) ==
        "--allocated '1.1234567': at most 6 decimals (amounts are exact in micro-units, "
        "0.000001)");
  CHECK(Message(ParseAmountMicros("0.0000001", "--active").status()) ==
        "--active '0.0000001': at most 6 decimals (amounts are exact in micro-units, 0.000001)");
  for (const char* bad : {"", ".5", "5.", "-1", "+1", "1e3", "1,000", "1.2.3", " 1", "1 ", "abc",
                          "1.5 KRW"}) {
    INFO(bad);
    CHECK(Message(ParseAmountMicros(bad, "--limit").status()) ==
          std::string("--limit '") + bad +
              "': expected a non-negative amount like 12 or 1.5 (at most 6 decimals)");
  }
  CHECK(Message(ParseAmountMicros("9223372036854.775808", "--limit").status()) ==
        "--limit '9223372036854.775808': too large (at most 9,223,372,036,854.775807)");
  CHECK(Message(ParseAmountMicros("99999999999999999999", "--limit").status()) ==
        "--limit '99999999999999999999': too large (at most 9,223,372,036,854.775807)");
}

TEST_CASE("NextWholeMinute is the first whole minute strictly after now") {
  // 10:30:15 -> 10:31:00; 10:30:00 exactly -> 10:31:00 as well.
  CHECK(NextWholeMinute(kNow) == absl::FromUnixSeconds(1'794'738'660));
  CHECK(NextWholeMinute(absl::FromUnixSeconds(1'794'738'600)) ==
        absl::FromUnixSeconds(1'794'738'660));
  CHECK(NextWholeMinute(absl::FromUnixSeconds(1'794'738'600) - absl::Nanoseconds(1)) ==
        absl::FromUnixSeconds(1'794'738'600));
}

TEST_CASE("ToTimestamp keeps seconds and nanoseconds") {
  google::protobuf::Timestamp ts =
      ToTimestamp(absl::FromUnixSeconds(1'793'491'200) + absl::Nanoseconds(250'000'001));
  CHECK(ts.seconds() == 1'793'491'200);
  CHECK(ts.nanos() == 250'000'001);
}

TEST_CASE("usage defaults to this UTC month until now, grouped by job") {
  absl::StatusOr<hac::v1::GetUsageRequest> req = BuildUsageRequest(Parse(UsageFlags(), {}), kNow);
  REQUIRE(req.ok());
  CHECK(req->tenant().empty());
  CHECK(req->from().seconds() == 1'793'491'200);  // 2026-11-01T00:00:00Z
  CHECK(req->to().seconds() == 1'794'738'615);    // now
  CHECK(req->group_by() == hac::v1::USAGE_GROUPING_JOB);
}

TEST_CASE("usage takes --from, --to, --by and --tenant") {
  absl::StatusOr<hac::v1::GetUsageRequest> req = BuildUsageRequest(
      Parse(UsageFlags(), {"--from", "2026-10-01", "--to", "2026-11-01T00:00:00Z", "--by", "day",
                           "--tenant", "acme"}),
      kNow);
  REQUIRE(req.ok());
  CHECK(req->tenant() == "acme");
  CHECK(req->from().seconds() == 1'790'812'800);
  CHECK(req->to().seconds() == 1'793'491'200);
  CHECK(req->group_by() == hac::v1::USAGE_GROUPING_DAY);

  CHECK(ParseUsageGrouping("class").value() == hac::v1::USAGE_GROUPING_DEVICE_CLASS);
  CHECK(ParseUsageGrouping("model").value() == hac::v1::USAGE_GROUPING_DEVICE_MODEL);
  CHECK(Message(ParseUsageGrouping("tenant").status()) ==
        "--by 'tenant': expected job, class, model or day");
}

TEST_CASE("usage refuses an empty range and says which end was defaulted") {
  absl::StatusOr<hac::v1::GetUsageRequest> req =
      BuildUsageRequest(Parse(UsageFlags(), {"--to", "2026-10-15"}), kNow);
  REQUIRE_FALSE(req.ok());
  CHECK(Message(req.status()) ==
        "empty range: --from (default: the start of this month) 2026-11-01T00:00:00Z is not "
        "before --to 2026-10-15T00:00:00Z");
  CHECK(Message(BuildUsageRequest(Parse(UsageFlags(), {"--from", "2026-11-15T10:30:15Z"}), kNow)
                    .status()) ==
        "empty range: --from 2026-11-15T10:30:15Z is not before --to (default: now) "
        "2026-11-15T10:30:15Z");
  CHECK(Message(BuildUsageRequest(Parse(UsageFlags(), {"--by", "week"}), kNow).status()) ==
        "--by 'week': expected job, class, model or day");
}

TEST_CASE("bill without flags asks for the current UTC month") {
  absl::StatusOr<hac::v1::GetBillRequest> req = BuildBillRequest(Parse(BillFlags(), {}), kNow);
  REQUIRE(req.ok());
  CHECK(req->month() == "2026-11");
  CHECK_FALSE(req->has_from());
  CHECK_FALSE(req->has_to());
}

TEST_CASE("bill takes --month, or --from with --to, and --tenant") {
  absl::StatusOr<hac::v1::GetBillRequest> month =
      BuildBillRequest(Parse(BillFlags(), {"--month", "2026-10", "--tenant", "acme"}), kNow);
  REQUIRE(month.ok());
  CHECK(month->month() == "2026-10");
  CHECK(month->tenant() == "acme");

  absl::StatusOr<hac::v1::GetBillRequest> range = BuildBillRequest(
      Parse(BillFlags(), {"--from", "2026-11-01", "--to", "2026-11-15T10:30:00Z"}), kNow);
  REQUIRE(range.ok());
  CHECK(range->month().empty());
  CHECK(range->from().seconds() == 1'793'491'200);
  CHECK(range->to().seconds() == 1'794'738'600);
}

TEST_CASE("bill refuses --month with --from, half a range, a bad month and an empty range") {
  auto error = [](const std::vector<std::string>& args) {
    return Message(BuildBillRequest(Parse(BillFlags(), args), kNow).status());
  };
  CHECK(error({"--month", "2026-10", "--from", "2026-10-01"}) ==
        "--month and --from/--to exclude each other");
  CHECK(error({"--month", "2026-10", "--to", "2026-10-02"}) ==
        "--month and --from/--to exclude each other");
  CHECK(error({"--from", "2026-10-01"}) ==
        "--from and --to go together (or use --month YYYY-MM for a calendar month)");
  CHECK(error({"--month", "2026-13"}) ==
        "--month '2026-13': expected a month like 2026-11 (YYYY-MM, 01 to 12)");
  CHECK(error({"--from", "2026-11-02", "--to", "2026-11-01"}) ==
        "empty range: --from 2026-11-02T00:00:00Z is not before --to 2026-11-01T00:00:00Z");
  CHECK(error({"--from", "2026-11-01T09:30:15Z", "--to", "2026-11-02"}) ==
        "--from '2026-11-01T09:30:15Z': bills are rated per whole UTC minute, e.g. "
        "2026-11-01T09:31:00Z");
  CHECK(error({"--from", "2026-11-01", "--to", "2026-11-02T00:00:00.001Z"}) ==
        "--to '2026-11-02T00:00:00.001Z': bills are rated per whole UTC minute, e.g. "
        "2026-11-02T00:01:00Z");
}

TEST_CASE("price set builds the entry in micros from the next whole minute") {
  absl::StatusOr<hac::v1::SetPriceRequest> req = BuildSetPriceRequest(
      Parse(PriceSetFlags(),
            {"--class", "gpu", "--model", "emu-a100", "--allocated", "1.5", "--active", "0.25"}),
      kNow);
  REQUIRE(req.ok());
  const hac::v1::Price& p = req->price();
  CHECK(p.device_class() == "gpu");
  CHECK(p.model() == "emu-a100");
  CHECK(p.allocated_rate_micros() == 1'500'000);
  CHECK(p.active_rate_micros() == 250'000);
  CHECK(p.effective_from().seconds() == 1'794'738'660);  // 10:30:15 -> 10:31:00
  CHECK(p.effective_from().nanos() == 0);
  CHECK(p.minimum_seconds() == 0);
  CHECK(p.currency().empty());
}

TEST_CASE("price set takes --from on a whole minute, --minimum-seconds and '*' for the class") {
  absl::StatusOr<hac::v1::SetPriceRequest> req = BuildSetPriceRequest(
      Parse(PriceSetFlags(), {"--class", "npu", "--model", "*", "--allocated", "2",
                              "--active", "1", "--from", "2026-12-01", "--minimum-seconds", "60"}),
      kNow);
  REQUIRE(req.ok());
  CHECK(req->price().model().empty());
  CHECK(req->price().effective_from().seconds() == 1'796'083'200);
  CHECK(req->price().minimum_seconds() == 60);
}

TEST_CASE("price set names the flag that is missing or wrong") {
  auto error = [](const std::vector<std::string>& args) {
    return Message(BuildSetPriceRequest(Parse(PriceSetFlags(), args), kNow).status());
  };
  CHECK(error({"--allocated", "1", "--active", "1"}) == "--class is required (e.g. --class gpu)");
  CHECK(error({"--class", "gpu", "--active", "1"}) ==
        "--allocated is required (e.g. --allocated 1.5)");
  CHECK(error({"--class", "gpu", "--allocated", "1"}) ==
        "--active is required (e.g. --active 0.5)");
  CHECK(error({"--class", "gpu", "--allocated", "1.1234567", "--active", "1"}) ==
        "--allocated '1.1234567': at most 6 decimals (amounts are exact in micro-units, "
        "0.000001)");
  CHECK(error({"--class", "gpu", "--allocated", "1", "--active", "1", "--from",
               "2026-11-15T10:30:15Z"}) ==
        "--from '2026-11-15T10:30:15Z': prices take effect on whole UTC minutes, e.g. "
        "2026-11-15T10:31:00Z");
  CHECK(error({"--class", "gpu", "--allocated", "1", "--active", "1", "--from",
               "2026-11-15T10:30:00.5Z"}) ==
        "--from '2026-11-15T10:30:00.5Z': prices take effect on whole UTC minutes, e.g. "
        "2026-11-15T10:31:00Z");
  for (const char* bad : {"-1", "1.5", "+5", "sixty", ""}) {
    INFO(bad);
    CHECK(error({"--class", "gpu", "--allocated", "1", "--active", "1", "--minimum-seconds",
                 bad}) == std::string("--minimum-seconds '") + bad +
                              "': expected a whole number of seconds like 60");
  }
}

TEST_CASE("invoice close needs a valid --month; budget set needs an exact --limit") {
  absl::StatusOr<hac::v1::CloseInvoiceRequest> close =
      BuildCloseInvoiceRequest(Parse(InvoiceCloseFlags(), {"--month", "2026-10"}));
  REQUIRE(close.ok());
  CHECK(close->month() == "2026-10");
  CHECK(close->tenant().empty());
  CHECK(Message(BuildCloseInvoiceRequest(Parse(InvoiceCloseFlags(), {})).status()) ==
        "--month is required (e.g. --month 2026-10)");
  CHECK(Message(BuildCloseInvoiceRequest(Parse(InvoiceCloseFlags(), {"--month", "2026-13"}))
                    .status()) ==
        "--month '2026-13': expected a month like 2026-11 (YYYY-MM, 01 to 12)");

  absl::StatusOr<hac::v1::SetBudgetRequest> budget = BuildSetBudgetRequest(
      Parse(BudgetSetFlags(), {"--limit", "100000.5", "--hard-stop", "--tenant", "acme"}));
  REQUIRE(budget.ok());
  CHECK(budget->budget().monthly_limit_micros() == 100'000'500'000);
  CHECK(budget->budget().hard_stop());
  CHECK(budget->budget().tenant() == "acme");
  CHECK(Message(BuildSetBudgetRequest(Parse(BudgetSetFlags(), {})).status()) ==
        "--limit is required (e.g. --limit 100000)");
  CHECK(Message(BuildSetBudgetRequest(Parse(BudgetSetFlags(), {"--limit", "1.0000001"}))
                    .status()) ==
        "--limit '1.0000001': at most 6 decimals (amounts are exact in micro-units, 0.000001)");
}

}  // namespace
}  // namespace hac::cli
