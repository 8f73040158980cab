// CheckBudget: whether a tenant may still submit this month, and whether its running attempts
// must be cancelled.
//
// A budget is a monthly limit in micro-units with an optional hard stop. Spending is what the
// month's usage rates to so far, running attempts included (RateMonth over the month's rows).
// The budget is exhausted when spending reaches the limit (spent >= limit): new submissions are
// refused; with hard_stop, running attempts are also cancelled. Below the limit everything is
// allowed (a single job may still overshoot; its estimate is not reserved).
#ifndef HAC_BILLING_BUDGET_H_
#define HAC_BILLING_BUDGET_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "billing/money.h"
#include "billing/month.h"

namespace hac::billing {

// A tenant's monthly budget. Plain value: owned by whoever holds it, not synchronized (share it
// read-only or copy it).
struct Budget {
  Money monthly_limit{};   // >= 0
  bool hard_stop = false;  // cancel running attempts once exhausted
};

// The verdict. Plain value: owned by whoever holds it, not synchronized (share it read-only or copy
// it).
struct BudgetDecision {
  bool allow_submissions = true;
  bool cancel_running = false;
  // For people: "budget exhausted: spent 120.000000 of 100.000000 KRW in 2026-11" when refused,
  // "spent 20.000000 of 100.000000 KRW in 2026-11" otherwise.
  std::string message{};
};

// INVALID_ARGUMENT if the limit is negative.
absl::StatusOr<BudgetDecision> CheckBudget(const Budget& budget, Money spent, Month month,
                                           std::string_view currency = kDefaultCurrency);

}  // namespace hac::billing

#endif  // HAC_BILLING_BUDGET_H_
