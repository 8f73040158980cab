// Metrics: hacd's Prometheus metrics (prometheus-cpp), served on --metrics-listen at /metrics.
//
//   hac_rpc_requests_total{method, code}             counter
//   hac_rpc_duration_seconds{method}                 histogram
//   hac_jobs{state}                                  gauge: jobs by state, from the store
//   hac_job_submissions_total{tenant}                counter: acknowledged new jobs
//   hac_store_commit_batches_total / _writes_total   group-commit batches and writes
//
// Thread-safe. Owned by hacd's composition root.
#ifndef HAC_SERVER_METRICS_H_
#define HAC_SERVER_METRICS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "hac/v1/jobs.pb.h"
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

  void ObserveRpc(absl::string_view method, absl::StatusCode code, absl::Duration latency);
  void JobSubmitted(absl::string_view tenant);
  // Sets the job-state gauges (at start-up, from the store).
  void SetJobCounts(const std::map<hac::v1::JobState, int64_t>& counts);
  void JobStateChanged(hac::v1::JobState from, hac::v1::JobState to);
  void SetCommitCounters(int64_t batches, int64_t writes);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Family<prometheus::Gauge>& jobs_;
  prometheus::Family<prometheus::Counter>& submissions_;
  prometheus::Gauge& commit_batches_;
  prometheus::Gauge& commit_writes_;
};

}  // namespace hac::server

#endif  // HAC_SERVER_METRICS_H_
