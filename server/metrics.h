// Metrics: hacd's Prometheus metrics (prometheus-cpp), served on --metrics-listen at /metrics.
//
//   hac_rpc_requests_total{method, code}             counter
//   hac_rpc_duration_seconds{method}                 histogram
//   hac_jobs{state}                                  gauge: jobs by state, from the store
//   hac_job_submissions_total{tenant}                counter: acknowledged new jobs
//   hac_store_commit_batches / _writes               gauges: group-commit transactions and writes
//                                                    since start, read from the store at scrape
//   hac_billable_device_seconds_total{tenant, device_class, meter}
//                                                    counter: device-seconds billed (rated, rounded
//                                                    as on the bill), meter "allocated" or "active"
//   hac_billed_micros_total{tenant, device_class}    counter: amounts billed, in micro-units
//   hac_budget_spent_micros{tenant}                  gauge: this month's spending of tenants with a
//                                                    budget; hac_budget_limit_micros{tenant} the limit
//
// Thread-safe. Owned by hacd's composition root.
#ifndef HAC_SERVER_METRICS_H_
#define HAC_SERVER_METRICS_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "hac/v1/jobs.pb.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace hac::server {

class Metrics {
 public:
  Metrics();
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  // What to expose (prometheus::Exposer::RegisterCollectable): the registry, with the values
  // that are read at scrape time (SetCommitSource) brought up to date first.
  std::shared_ptr<prometheus::Collectable> collectable() const { return scrape_; }

  void ObserveRpc(absl::string_view method, absl::StatusCode code, absl::Duration latency);
  void JobSubmitted(absl::string_view tenant);
  // Sets the job-state gauges (at start-up, from the store).
  void SetJobCounts(const std::map<hac::v1::JobState, int64_t>& counts);
  void JobStateChanged(hac::v1::JobState from, hac::v1::JobState to);
  // Where the commit gauges come from: called on every scrape, returns (batches, writes). Set
  // once at start-up.
  void SetCommitSource(std::function<std::pair<int64_t, int64_t>()> source);
  // Billing: increases since the last call (never negative; exact integers as doubles).
  void AddBilled(absl::string_view tenant, absl::string_view device_class,
                 int64_t allocated_seconds, int64_t active_seconds, int64_t amount_micros);
  void SetBudget(absl::string_view tenant, int64_t limit_micros, int64_t spent_micros);

 private:
  // The hac_jobs gauge of `state`.
  prometheus::Gauge& JobGauge(hac::v1::JobState state);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Family<prometheus::Gauge>& jobs_;
  prometheus::Family<prometheus::Counter>& submissions_;
  prometheus::Family<prometheus::Counter>& billable_seconds_;
  prometheus::Family<prometheus::Counter>& billed_micros_;
  prometheus::Family<prometheus::Gauge>& budget_spent_;
  prometheus::Family<prometheus::Gauge>& budget_limit_;
  prometheus::Gauge& commit_batches_;
  prometheus::Gauge& commit_writes_;
  // The series written on every RPC, submission and job transition, looked up once: a
  // Family::Add builds and hashes a label map and takes the family's lock on every call.
  struct RpcSeries {
    prometheus::Histogram* duration = nullptr;
    std::array<prometheus::Counter*, 17> by_code{};  // absl::StatusCode 0..16
  };
  std::vector<prometheus::Gauge*> jobs_by_state_;  // indexed by JobState
  absl::Mutex series_mu_;
  absl::flat_hash_map<std::string, RpcSeries> rpc_series_ ABSL_GUARDED_BY(series_mu_);
  absl::flat_hash_map<std::string, prometheus::Counter*> submissions_by_tenant_
      ABSL_GUARDED_BY(series_mu_);
  std::function<std::pair<int64_t, int64_t>()> commit_source_;
  std::shared_ptr<prometheus::Collectable> scrape_;
};

}  // namespace hac::server

#endif  // HAC_SERVER_METRICS_H_
