#include "billing/budget.h"

#include "absl/strings/str_cat.h"

namespace hac::billing {

absl::StatusOr<BudgetDecision> CheckBudget(const Budget& budget, Money spent, Month month,
                                           std::string_view currency) {
  if (budget.monthly_limit < Money::Zero()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "monthly_limit ", FormatAmount(budget.monthly_limit), " must not be negative"));
  }
  BudgetDecision d;
  const std::string figures =
      absl::StrCat("spent ", FormatAmount(spent), " of ",
                   FormatMoney(budget.monthly_limit, currency), " in ", month.ToString());
  if (spent >= budget.monthly_limit) {
    d.allow_submissions = false;
    d.cancel_running = budget.hard_stop;
    d.message =
        absl::StrCat("budget exhausted: ", figures,
                     budget.hard_stop ? "; running attempts are cancelled (hard stop)" : "");
  } else {
    d.message = figures;
  }
  return d;
}

}  // namespace hac::billing
