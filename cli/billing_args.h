// Parsing the flags of hacctl's billing commands (usage, bill, price set, invoice close, budget
// set) into BillingService requests. Pure functions: the current time is passed in, nothing is
// read from the environment. Every error is INVALID_ARGUMENT naming the flag and what it
// expects, so hacctl can exit 2 without sending anything.
//
// Money is exact: "1.5" is 1,500,000 micro-units, parsed with integer arithmetic only.
//
//   absl::StatusOr<int64_t> rate = ParseAmountMicros("1.5", "--allocated");  // 1500000
//   absl::StatusOr<absl::Time> t = ParseTimeFlag("2026-11-01", "--from");      // UTC midnight
#ifndef HAC_CLI_BILLING_ARGS_H_
#define HAC_CLI_BILLING_ARGS_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "cli/args.h"
#include "google/protobuf/timestamp.pb.h"
#include "hac/v1/billing.pb.h"

namespace hac::cli {

// A point in time given on the command line: RFC 3339 ("2026-11-01T09:30:00Z",
// "2026-11-01T18:30:00+09:00", fractions of a second allowed) or a date "2026-11-01" meaning
// 00:00:00 UTC of that day. Anything else (including "2026-02-30") is INVALID_ARGUMENT naming
// `flag`.
absl::StatusOr<absl::Time> ParseTimeFlag(std::string_view text, std::string_view flag);

// A calendar month "YYYY-MM" (year 1970-9999, month 01-12), exactly seven characters.
absl::StatusOr<absl::CivilMonth> ParseMonthFlag(std::string_view text, std::string_view flag);

// "YYYY-MM" of a month.
std::string MonthText(absl::CivilMonth month);

// The UTC month that contains `t`.
absl::CivilMonth UtcMonthOf(absl::Time t);

// A decimal amount of currency units, exactly, in micro-units (1e-6): "12" -> 12000000,
// "1.5" -> 1500000, "0.000001" -> 1. Digits with an optional '.' and 1 to 6 decimals; no sign,
// no exponent, no separators. More than 6 decimals or more than int64 micro-units is
// INVALID_ARGUMENT naming `flag`.
absl::StatusOr<int64_t> ParseAmountMicros(std::string_view text, std::string_view flag);

// The first whole UTC minute strictly after `now` (12:00:00 -> 12:01:00, 12:00:01 -> 12:01:00).
absl::Time NextWholeMinute(absl::Time now);

// A protobuf Timestamp of `t` (whole nanoseconds).
google::protobuf::Timestamp ToTimestamp(absl::Time t);

// `--by job|class|model|day` (no flag: job).
absl::StatusOr<hac::v1::UsageGrouping> ParseUsageGrouping(std::string_view text);

// The flags of each billing command (without the global ones).
std::vector<FlagSpec> UsageFlags();
std::vector<FlagSpec> BillFlags();
std::vector<FlagSpec> PriceSetFlags();
std::vector<FlagSpec> InvoiceCloseFlags();
std::vector<FlagSpec> TenantFlag();
std::vector<FlagSpec> BudgetSetFlags();

// `hacctl usage`: --from defaults to the start of the current UTC month, --to to `now`; the
// range must not be empty. --by defaults to job.
absl::StatusOr<hac::v1::GetUsageRequest> BuildUsageRequest(const ParsedArgs& args, absl::Time now);

// `hacctl bill`: --month, or --from and --to together (exclusive with --month), both whole UTC
// minutes; neither means the current UTC month (sent as `month`).
absl::StatusOr<hac::v1::GetBillRequest> BuildBillRequest(const ParsedArgs& args, absl::Time now);

// `hacctl price set`: --class, --allocated and --active are required; --from defaults to
// NextWholeMinute(now) and must be a whole UTC minute; --minimum-seconds a non-negative integer.
absl::StatusOr<hac::v1::SetPriceRequest> BuildSetPriceRequest(const ParsedArgs& args,
                                                              absl::Time now);

// `hacctl invoice close`: --month is required.
absl::StatusOr<hac::v1::CloseInvoiceRequest> BuildCloseInvoiceRequest(const ParsedArgs& args);

// `hacctl budget set`: --limit is required (0 removes the budget).
absl::StatusOr<hac::v1::SetBudgetRequest> BuildSetBudgetRequest(const ParsedArgs& args);

}  // namespace hac::cli

#endif  // HAC_CLI_BILLING_ARGS_H_
