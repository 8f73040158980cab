// Rating: usage rows x price catalog -> a bill of exact integer lines.
//
// Rounding rule (the one place it is defined):
//   Usage is measured in milliseconds and billed in whole device-seconds. The rounding unit is
//   one (attempt, device, meter) within the bill's period: its milliseconds are summed over the
//   period and rounded UP to whole seconds once, then raised to the catalog's minimum_billable
//   when that meter has any usage (no minimum by default). Rounding never happens per interval,
//   per row or per job.
// Price changes: when the rows of one (attempt, device) fall under several price entries (a price
//   changed mid-attempt), the meter's seconds are split exactly: every rate period but the last
//   is billed floor(its ms / 1000) seconds, and the LAST rate period (latest effective_from) is
//   billed the rest, i.e. the rounded-up total minus the earlier periods' seconds. So the extra
//   rounded-up milliseconds (and any minimum top-up) land in exactly one period, the split is
//   deterministic, and the seconds over all periods equal the rounded total. The minimum, if any,
//   is the last period's entry's.
// Amounts: amount = billed seconds x rate (micro-units per device-second), an exact int64 product
//   (OUT_OF_RANGE on overflow). Lines are summed exactly into the bill's total.
// Lines: one line per (job, device class, device model, price entry), plus the attempt when
//   RatingOptions::per_attempt_lines is set; each line carries both meters' used ms, billed
//   seconds, rate and amount. Lines are ordered by job, attempt, class, model, price
//   effective_from.
// Periods: a row belongs to a bill iff its interval_start is in [from, to); from and to must be
//   whole minutes, so a ledger interval never straddles the period's edges; a row that does is
//   INVALID_ARGUMENT. A calendar month is one such period (Month in month.h). An attempt that
//   spans two periods is rounded in each.
// Summed rows: a row may sum consecutive intervals of one (attempt, device) (usage.h); the result
//   is the same as rating the intervals, because rounding sums each group's milliseconds first.
//   A row that spans a price change cannot be split exactly and is FAILED_PRECONDITION; whoever
//   summed it then rates the intervals instead.
//
// Speed: rows sorted by (job_id, attempt_id, device_id, interval_start), as the store returns
// them with ORDER BY, are rated in one linear sweep with a small cache of price lookups; any other
// order is accepted by RateUsage and sorted first (by index, rows are not copied). UsageRater
// rates sorted rows as they come, without holding them.
#ifndef HAC_BILLING_RATING_H_
#define HAC_BILLING_RATING_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "billing/money.h"
#include "billing/month.h"
#include "billing/price_catalog.h"
#include "billing/usage.h"

namespace hac::billing {

// One meter of one bill line. Plain value: owned by whoever holds it, not synchronized (share it
// read-only or copy it).
struct MeterCharge {
  // Milliseconds measured (for an adjustment: the change).
  int64_t used_ms = 0;
  // Whole device-seconds billed after rounding (for an adjustment: the change).
  int64_t billed_seconds = 0;
  // Micro-units per device-second.
  Money rate{};
  // billed_seconds x rate.
  Money amount{};

  friend bool operator==(const MeterCharge&, const MeterCharge&) = default;
};

// Whether a line bills its own period's usage or corrects an earlier, closed month.
enum class LineKind {
  kUsage,       // usage of the bill's own period
  kAdjustment,  // a correction of an already closed month (see invoice.h)
};

// One line of a bill. Plain value: owned by whoever holds it, not synchronized (share it read-only
// or copy it). Invariant (for lines made by this library): allocated.amount =
// allocated.billed_seconds x allocated.rate, the same for active, and amount = allocated.amount +
// active.amount.
struct BillLine {
  LineKind kind = LineKind::kUsage;
  std::string job_id{};
  // Set only with RatingOptions::per_attempt_lines; empty when the line sums a job's attempts.
  std::string attempt_id{};
  std::string device_class{};
  std::string device_model{};
  // effective_from of the price entry applied: identifies the rate period.
  absl::Time price_from{};
  MeterCharge allocated{};
  MeterCharge active{};
  Money amount{};
  // For kAdjustment: the closed month whose usage this line corrects.
  std::optional<Month> adjusts{};

  friend bool operator==(const BillLine&, const BillLine&) = default;
};

// A tenant's bill for [from, to). Plain value: owned by whoever holds it, not synchronized (share
// it read-only or copy it). Invariant (for bills made by this library): total is the exact sum of
// lines[i].amount.
struct Bill {
  std::string tenant_id{};
  absl::Time from{};
  absl::Time to{};
  std::string currency{};
  std::vector<BillLine> lines{};
  Money total{};

  friend bool operator==(const Bill&, const Bill&) = default;
};

// How RateUsage groups lines. Plain value: owned by the caller, not synchronized.
struct RatingOptions {
  // One line per attempt instead of per job (for "why does my bill say this" views).
  bool per_attempt_lines = false;
};

// Rates `tenant_id`'s rows whose interval_start is in [from, to) (other rows are ignored) against
// `catalog`. INVALID_ARGUMENT if from/to are not whole minutes or from >= to, if a row in the
// period belongs to another tenant, breaks the UsageRow contract (usage.h), duplicates
// (job, attempt, device, interval_start) or changes its device's class or model; NOT_FOUND if a
// row has no price; OUT_OF_RANGE if an amount overflows.
absl::StatusOr<Bill> RateUsage(std::string_view tenant_id, absl::Span<const UsageRow> rows,
                               const PriceCatalog& catalog, absl::Time from, absl::Time to,
                               const RatingOptions& options = {});

// RateUsage over a calendar month.
absl::StatusOr<Bill> RateMonth(std::string_view tenant_id, absl::Span<const UsageRow> rows,
                               const PriceCatalog& catalog, Month month,
                               const RatingOptions& options = {});

class RatingPass;

// Rates rows one at a time, without holding them (a bill read from the store row by row).
// Rows must come sorted by (job_id, attempt_id, device_id, interval_start); a row out of that
// order is INVALID_ARGUMENT. The errors are RateUsage's; the first one sticks: every later Add
// and Finish return it. Owned by the caller; not thread-safe.
//
//   UsageRater rater("t-1", catalog, month.Start(), month.End());
//   for (const UsageRow& row : rows) RETURN_IF_ERROR(rater.Add(row));
//   ASSIGN_OR_RETURN(Bill bill, rater.Finish());
class UsageRater {
 public:
  UsageRater(std::string_view tenant_id, const PriceCatalog& catalog, absl::Time from,
             absl::Time to, const RatingOptions& options = {});
  ~UsageRater();
  UsageRater(const UsageRater&) = delete;
  UsageRater& operator=(const UsageRater&) = delete;

  // Room for `lines` bill lines.
  void Reserve(size_t lines);
  absl::Status Add(const UsageRow& row);
  // The bill; call once, after the last Add.
  absl::StatusOr<Bill> Finish();

 private:
  absl::Status status_;
  std::unique_ptr<RatingPass> pass_;
};

// The exact sum of the lines' amounts; OUT_OF_RANGE on overflow.
absl::StatusOr<Money> SumLines(absl::Span<const BillLine> lines);

}  // namespace hac::billing

#endif  // HAC_BILLING_RATING_H_
