#include "billing/invoice.h"

#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace hac::billing {
namespace {

// Identifies "the same line" across ratings of one month.
using LineKey =
    std::tuple<std::string, std::string, std::string, std::string, absl::Time, Money, Money>;

LineKey KeyOf(const BillLine& l) {
  return LineKey{l.job_id,     l.attempt_id,     l.device_class, l.device_model,
                 l.price_from, l.allocated.rate, l.active.rate};
}

struct Figures {
  int64_t used_ms[2] = {0, 0};
  int64_t billed_seconds[2] = {0, 0};
  Money amount[2];
};

absl::Status Accumulate(const BillLine& l, int sign, Figures& f) {
  const MeterCharge* charges[2] = {&l.allocated, &l.active};
  for (int m = 0; m < 2; ++m) {
    const MeterCharge& c = *charges[m];
    int64_t amount = 0;
    if (__builtin_mul_overflow(c.amount.micros(), sign, &amount) ||
        __builtin_add_overflow(f.amount[m].micros(), amount, &amount) ||
        __builtin_add_overflow(f.used_ms[m], sign * c.used_ms, &f.used_ms[m]) ||
        __builtin_add_overflow(f.billed_seconds[m], sign * c.billed_seconds,
                               &f.billed_seconds[m])) {
      return absl::OutOfRangeError(absl::StrCat("adjustment overflow at job \"", l.job_id, "\""));
    }
    f.amount[m] = Money::FromMicros(amount);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Invoice> CloseInvoice(std::string_view tenant_id, Month month,
                                     absl::Span<const UsageRow> rows, const PriceCatalog& catalog,
                                     absl::Span<const BillLine> adjustments, absl::Time now,
                                     const RatingOptions& options) {
  absl::StatusOr<Bill> bill = RateMonth(tenant_id, rows, catalog, month, options);
  if (!bill.ok()) return bill.status();
  return CloseInvoice(month, *std::move(bill), adjustments, now);
}

absl::StatusOr<Invoice> CloseInvoice(Month month, Bill bill,
                                     absl::Span<const BillLine> adjustments, absl::Time now) {
  if (now < month.End()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot close ", month.ToString(), " before it ends at ",
                     absl::FormatTime(month.End(), absl::UTCTimeZone())));
  }
  if (bill.from != month.Start() || bill.to != month.End()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the bill to close is not the bill of ", month.ToString()));
  }
  for (const BillLine& a : adjustments) {
    if (a.kind != LineKind::kAdjustment || !a.adjusts.has_value() || !(*a.adjusts < month)) {
      return absl::InvalidArgumentError(absl::StrCat("adjustment line of job \"", a.job_id,
                                                     "\" must be a kAdjustment line of a "
                                                     "month before ",
                                                     month.ToString()));
    }
  }
  for (const BillLine& a : adjustments) {
    absl::StatusOr<Money> total = CheckedAdd(bill.total, a.amount);
    if (!total.ok()) return total.status();
    bill.total = *total;
    bill.lines.push_back(a);
  }
  std::string tenant_id = bill.tenant_id;
  return Invoice(std::move(tenant_id), month, now, std::move(bill));
}

absl::StatusOr<std::vector<BillLine>> AdjustmentLines(const Invoice& closed, const Bill& current,
                                                      absl::Span<const BillLine> already_adjusted) {
  const Month month = closed.month();
  if (current.tenant_id != closed.tenant_id() || current.from != month.Start() ||
      current.to != month.End()) {
    return absl::InvalidArgumentError(
        absl::StrCat("current bill (tenant \"", current.tenant_id, "\", ",
                     absl::FormatTime(current.from, absl::UTCTimeZone()), " to ",
                     absl::FormatTime(current.to, absl::UTCTimeZone()), ") must be a rating of ",
                     month.ToString(), " for tenant \"", closed.tenant_id(), "\""));
  }
  // Per line key: current figures minus everything already billed for the month.
  std::map<LineKey, std::pair<BillLine, Figures>> diff;
  auto add = [&](const BillLine& l, int sign) -> absl::Status {
    auto [it, inserted] = diff.try_emplace(KeyOf(l));
    if (inserted) it->second.first = l;
    return Accumulate(l, sign, it->second.second);
  };
  for (const BillLine& l : current.lines) {
    if (l.kind != LineKind::kUsage) continue;
    RETURN_IF_ERROR(add(l, +1));
  }
  for (const BillLine& l : closed.bill().lines) {
    if (l.kind != LineKind::kUsage) continue;
    RETURN_IF_ERROR(add(l, -1));
  }
  for (const BillLine& l : already_adjusted) {
    if (l.kind != LineKind::kAdjustment || l.adjusts != month) {
      return absl::InvalidArgumentError(absl::StrCat("already_adjusted line of job \"", l.job_id,
                                                     "\" must be a kAdjustment line of ",
                                                     month.ToString()));
    }
    RETURN_IF_ERROR(add(l, -1));
  }
  std::vector<BillLine> out;
  for (auto& [key, entry] : diff) {
    auto& [line, f] = entry;
    if (f.used_ms[0] == 0 && f.used_ms[1] == 0 && f.billed_seconds[0] == 0 &&
        f.billed_seconds[1] == 0 && f.amount[0] == Money::Zero() && f.amount[1] == Money::Zero()) {
      continue;
    }
    BillLine a = line;
    a.kind = LineKind::kAdjustment;
    a.adjusts = month;
    MeterCharge* charges[2] = {&a.allocated, &a.active};
    for (int m = 0; m < 2; ++m) {
      charges[m]->used_ms = f.used_ms[m];
      charges[m]->billed_seconds = f.billed_seconds[m];
      charges[m]->amount = f.amount[m];
    }
    absl::StatusOr<Money> amount = CheckedAdd(f.amount[0], f.amount[1]);
    if (!amount.ok()) return amount.status();
    a.amount = *amount;
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace hac::billing
