// Output of hacctl's billing commands: usage, bills (table and csv), prices, invoices and
// budgets. Pure functions of the response messages, so every layout is unit-tested from a
// hand-built message. Money is formatted from int64 micro-units and time from integer
// milliseconds with integer arithmetic only (FormatMicros, FormatMillis in format.h).
#ifndef HAC_CLI_BILLING_FORMAT_H_
#define HAC_CLI_BILLING_FORMAT_H_

#include <string>
#include <string_view>
#include <vector>

#include "hac/v1/billing.pb.h"

namespace hac::cli {

// One CSV field quoted as RFC 4180 says: as is, unless it holds a comma, a double quote, CR or
// LF; then in double quotes with each double quote doubled (`a"b` -> `"a""b"`).
std::string CsvField(std::string_view field);
// Fields joined by commas, ending in "\n".
std::string CsvRow(const std::vector<std::string>& fields);

// `hacctl usage`: KEY, ALLOCATED, ACTIVE; device-seconds with three decimals ("12.345 s").
std::string UsageTable(const hac::v1::GetUsageResponse& usage);

// The JOB cell of a bill line: the job id, or "j-4 (adj 2026-10)" for an adjustment line.
std::string BillLineLabel(const hac::v1::BillLine& line);

// `hacctl bill`: "tenant:" and "period:" lines, then a table with one row per line (JOB, CLASS,
// MODEL, RATE FROM, ALLOC s, ALLOC RATE, ALLOC AMOUNT, ACTIVE s, ACTIVE RATE, ACTIVE AMOUNT,
// AMOUNT; numbers right-aligned, amounts and rates in currency units with six decimals) and a
// final TOTAL row whose last cell is the currency.
std::string BillTable(const hac::v1::Bill& bill);

// The columns of `hacctl bill -o csv`, in order (docs/cli.md explains each).
const std::vector<std::string>& BillCsvColumns();

// `hacctl bill -o csv`: the header row, one row per line (kind "line" or "adjustment") with
// raw integer milliseconds, seconds and micro-units, then one row of kind "total".
std::string BillCsv(const hac::v1::Bill& bill);

// `hacctl prices` (and the entry `price set` added): CLASS, MODEL ("*" for a class-wide entry),
// ALLOC RATE/s, ACTIVE RATE/s, MIN s ("-" for none), EFFECTIVE FROM, CURRENCY.
std::string PricesTable(const std::vector<hac::v1::Price>& prices);

// `hacctl invoices` and `hacctl invoice close`: TENANT, MONTH, LINES, ADJUSTMENTS, TOTAL
// (with currency), CLOSED.
std::string InvoicesTable(const std::vector<hac::v1::Invoice>& invoices);

// `hacctl budget` and `hacctl budget set`: tenant, monthly limit ("none" for 0), spent this
// month and hard stop, one "key: value" line each.
std::string BudgetText(const hac::v1::Budget& budget);

}  // namespace hac::cli

#endif  // HAC_CLI_BILLING_FORMAT_H_
