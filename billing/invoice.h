// Invoices: a month's bill frozen at close, and adjustments for usage that arrives later.
//
// Closing month M freezes the bill computed from the usage known at that moment into an Invoice
// value that is stored and never changes. Usage of M that arrives after the close (an agent that
// reconnects late, a replayed report) does not reopen M: the next open month's invoice carries
// adjustment lines, the difference between M's rating now and what M's invoice (plus any earlier
// adjustments of M) already billed.
//
//   ASSIGN_OR_RETURN(Invoice nov, CloseInvoice("t-1", {2026, 11}, rows, catalog, {}, now));
//   ... later usage of November arrives ...
//   ASSIGN_OR_RETURN(Bill nov_now, RateMonth("t-1", rows, catalog, {2026, 11}));
//   ASSIGN_OR_RETURN(std::vector<BillLine> adj, AdjustmentLines(nov, nov_now, {}));
//   ASSIGN_OR_RETURN(Invoice dec, CloseInvoice("t-1", {2026, 12}, rows, catalog, adj, later));
#ifndef HAC_BILLING_INVOICE_H_
#define HAC_BILLING_INVOICE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "billing/money.h"
#include "billing/month.h"
#include "billing/price_catalog.h"
#include "billing/rating.h"
#include "billing/usage.h"

namespace hac::billing {

// A closed month's bill: its usage lines, then the adjustment lines of earlier months it carries.
// Owner: a plain value, owned by whoever holds it (the store persists it and rebuilds it with the
// constructor). Thread-safety: immutable, safe to share. Invariants: nothing can modify it after
// construction (only const accessors); bill().from/to are month().Start()/End(); for invoices
// made by CloseInvoice, bill().total is the exact sum of the lines.
class Invoice {
 public:
  Invoice(std::string tenant_id, Month month, absl::Time closed_at, Bill bill)
      : tenant_id_(std::move(tenant_id)),
        month_(month),
        closed_at_(closed_at),
        bill_(std::move(bill)) {}

  const std::string& tenant_id() const { return tenant_id_; }
  Month month() const { return month_; }
  absl::Time closed_at() const { return closed_at_; }
  const Bill& bill() const { return bill_; }
  Money total() const { return bill_.total; }

  friend bool operator==(const Invoice&, const Invoice&) = default;

 private:
  std::string tenant_id_;
  Month month_;
  absl::Time closed_at_;
  Bill bill_;
};

// Freezes `month`'s bill for `tenant_id` from the usage known now: RateMonth(rows) followed by
// `adjustments` (lines from AdjustmentLines for earlier months, in the given order); the total
// includes both. FAILED_PRECONDITION if `now` is before the month's end; INVALID_ARGUMENT if an
// adjustment line is not a kAdjustment line of a month before `month`; otherwise RateUsage's
// errors.
absl::StatusOr<Invoice> CloseInvoice(std::string_view tenant_id, Month month,
                                     absl::Span<const UsageRow> rows, const PriceCatalog& catalog,
                                     absl::Span<const BillLine> adjustments, absl::Time now,
                                     const RatingOptions& options = {});
// The same from the month's bill already rated (RateMonth or a UsageRater over the month);
// INVALID_ARGUMENT if `bill` is not exactly that month's.
absl::StatusOr<Invoice> CloseInvoice(Month month, Bill bill,
                                     absl::Span<const BillLine> adjustments, absl::Time now);

// The adjustment lines that bring what was billed for `closed`'s month up to `current` (a fresh
// RateMonth of that month with the same tenant and options). `already_adjusted` are adjustment
// lines for that month carried by later invoices (empty the first time). One line per
// (job, attempt, class, model, price_from, rates) whose figures differ, with the differences of
// used_ms, billed_seconds and amounts (negative if usage went down), kind kAdjustment and adjusts
// set to the closed month; lines that no longer exist are reversed. The lines' amounts add up
// exactly to current.total minus everything billed so far for the month. INVALID_ARGUMENT if
// `current` is not a bill of the same tenant and month.
absl::StatusOr<std::vector<BillLine>> AdjustmentLines(const Invoice& closed, const Bill& current,
                                                      absl::Span<const BillLine> already_adjusted);

}  // namespace hac::billing

#endif  // HAC_BILLING_INVOICE_H_
