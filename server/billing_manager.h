// BillingManager: the gRPC-free logic behind BillingService, budgets and cost estimates.
//
// It puts the pure billing library (billing/) on top of the store's ledger: the price catalog
// lives in the store and in memory (appended, never edited); usage, bills, invoices and budgets
// are computed from the ledger (a month from its monthly totals, RateStoredMonth; a range from
// its interval rows) with the billing library's rating; closed invoices are stored frozen and
// returned as stored.
//
// A background pass (every Options::check_interval, and at once after SetBudget) rates the
// current month of every tenant with usage or a budget, which
//   - moves the Prometheus counters of billed device-seconds and amounts by what was added
//     since the previous pass (the first pass, at Start, only takes the baseline), and
//   - decides budgets: an exhausted budget refuses new submissions (AdmitSubmission) and, with
//     a hard stop, cancels the tenant's unfinished jobs (running attempts get their grace
//     period).
//
// Isolation: a tenant sees only its own usage, bills, invoices and budget; naming another
// tenant is PERMISSION_DENIED. Admins name the tenant (bills and budgets need one).
//
// Thread-safe. Owned by hacd's composition root.
#ifndef HAC_SERVER_BILLING_MANAGER_H_
#define HAC_SERVER_BILLING_MANAGER_H_

#include <array>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "billing/budget.h"
#include "billing/month.h"
#include "billing/price_catalog.h"
#include "billing/rating.h"
#include "common/clock.h"
#include "hac/v1/billing.pb.h"
#include "server/auth.h"
#include "server/jobs.h"
#include "server/metrics.h"
#include "server/store/store.h"

namespace hac::server {

// Longest range GetUsage and GetBill accept.
inline constexpr absl::Duration kMaxBillingRange = absl::Hours(24 * 366);

class BillingManager final : public SubmitPolicy {
 public:
  struct Options {
    // How often spending is re-rated for budgets and metrics.
    absl::Duration check_interval = absl::Seconds(5);
    // The deployment's currency.
    std::string currency = "KRW";
  };

  BillingManager(store::Store& store, JobManager& jobs, Metrics& metrics,
                 const common::Clock& clock, Options options);
  ~BillingManager() override;

  // Loads the catalog, runs the first pass (metrics baseline, budgets) and starts the loop.
  absl::Status Start();
  void Stop();

  // BillingService.
  absl::StatusOr<hac::v1::GetUsageResponse> GetUsage(const Principal& caller,
                                                     const hac::v1::GetUsageRequest& req);
  absl::StatusOr<hac::v1::Bill> GetBill(const Principal& caller,
                                        const hac::v1::GetBillRequest& req);
  absl::StatusOr<hac::v1::ListPricesResponse> ListPrices(const Principal& caller);
  absl::StatusOr<hac::v1::Price> SetPrice(const Principal& caller,
                                          const hac::v1::SetPriceRequest& req);
  absl::StatusOr<hac::v1::CloseInvoiceResponse> CloseInvoice(
      const Principal& caller, const hac::v1::CloseInvoiceRequest& req);
  absl::StatusOr<hac::v1::ListInvoicesResponse> ListInvoices(
      const Principal& caller, const hac::v1::ListInvoicesRequest& req);
  absl::StatusOr<hac::v1::Budget> SetBudget(const Principal& caller,
                                            const hac::v1::SetBudgetRequest& req);
  absl::StatusOr<hac::v1::Budget> GetBudget(const Principal& caller,
                                            const hac::v1::GetBudgetRequest& req);

  // SubmitPolicy.
  absl::Status AdmitSubmission(int64_t tenant_id) override;
  void EstimateDryRun(const hac::v1::JobSpec& spec, hac::v1::DryRunResult& result) override;

  // Runs one pass now (tests; SetBudget does it for its tenant).
  absl::Status CheckNow();

 private:
  // Whose data a request is about.
  struct Subject {
    int64_t id = 0;  // 0: every tenant (GetUsage by an admin)
    std::string name;
  };
  // What the last pass saw of one tenant this month.
  struct Spending {
    billing::Month month;
    // Per device class: billed allocated seconds, active seconds, amount.
    std::map<std::string, std::array<int64_t, 3>> by_class;
    int64_t total_micros = 0;
  };
  struct BudgetState {
    store::BudgetRecord budget;
    billing::BudgetDecision decision;
    int64_t spent_micros = 0;
    billing::Month month;  // the decision holds for this month only
  };

  absl::StatusOr<Subject> ResolveTenant(const Principal& caller, const std::string& requested,
                                        bool admin_may_omit);
  std::shared_ptr<const billing::PriceCatalog> Catalog() const;
  // The month's bill as rated now, without adjustments.
  absl::StatusOr<billing::Bill> RateMonth(const Subject& tenant, billing::Month month,
                                          const billing::PriceCatalog& catalog);
  // Adjustment lines that closing `month` now would carry for the tenant's earlier closed months.
  absl::StatusOr<std::vector<billing::BillLine>> PendingAdjustments(
      const Subject& tenant, billing::Month month, const billing::PriceCatalog& catalog);
  // One pass over `only` (or every tenant with usage or a budget when empty).
  absl::Status Pass(std::optional<int64_t> only);
  // Cancels the tenant's unfinished jobs (hard stop).
  void CancelUnfinished(const store::BudgetRecord& budget, const std::string& why);
  void Loop();

  store::Store& store_;
  JobManager& jobs_;
  Metrics& metrics_;
  const common::Clock& clock_;
  const Options options_;

  mutable absl::Mutex mu_;
  std::shared_ptr<const billing::PriceCatalog> catalog_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, BudgetState> budgets_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  // SetPrice and CloseInvoice each run one at a time.
  absl::Mutex price_mu_;
  absl::Mutex close_mu_;
  // Passes run one at a time (the loop, CheckNow, SetBudget).
  absl::Mutex pass_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  absl::flat_hash_map<int64_t, Spending> seen_ ABSL_GUARDED_BY(pass_mu_);
  bool baseline_taken_ ABSL_GUARDED_BY(pass_mu_) = false;
  std::thread loop_;
};

// A tenant's bill for `month` from the store: the month's summed rows (Store::ForEachMonthUsage)
// read on the calling thread and rated on a second one as they come, so that reading and rating a
// large month overlap; the interval rows (Store::ListUsageRows) when a summed row spans a price
// added after it was written. What GetBill, CloseInvoice and the budget pass use; public for the
// benchmark.
absl::StatusOr<billing::Bill> RateStoredMonth(store::Store& store, int64_t tenant_id,
                                              const std::string& tenant,
                                              const billing::PriceCatalog& catalog,
                                              billing::Month month);

// Conversions between the billing library's values and the API's.
hac::v1::Bill BillToProto(const billing::Bill& bill, const std::string& tenant);
billing::Bill BillFromProto(const hac::v1::Bill& bill, const std::string& tenant_label);

}  // namespace hac::server

#endif  // HAC_SERVER_BILLING_MANAGER_H_
