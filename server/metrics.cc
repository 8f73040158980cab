#include "server/metrics.h"

#include <string>

#include "absl/status/status.h"

namespace hac::server {
namespace {

// The registry, after a refresh of the values read at scrape time.
class Scrape final : public prometheus::Collectable {
 public:
  Scrape(std::shared_ptr<prometheus::Registry> registry, std::function<void()> refresh)
      : registry_(std::move(registry)), refresh_(std::move(refresh)) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    refresh_();
    return registry_->Collect();
  }

 private:
  const std::shared_ptr<prometheus::Registry> registry_;
  const std::function<void()> refresh_;
};

std::string StateLabel(hac::v1::JobState s) {
  // "JOB_STATE_PENDING" -> "pending"
  std::string name = hac::v1::JobState_Name(s);
  constexpr absl::string_view kPrefix = "JOB_STATE_";
  if (name.rfind(kPrefix.data(), 0) == 0) name = name.substr(kPrefix.size());
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
          2.5, 5, 10};
}

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("hac_rpc_requests_total")
                    .Help("RPCs handled, by method and status code")
                    .Register(*registry_)),
      durations_(prometheus::BuildHistogram()
                     .Name("hac_rpc_duration_seconds")
                     .Help("RPC handling time, by method")
                     .Register(*registry_)),
      jobs_(prometheus::BuildGauge()
                .Name("hac_jobs")
                .Help("Jobs by state")
                .Register(*registry_)),
      submissions_(prometheus::BuildCounter()
                       .Name("hac_job_submissions_total")
                       .Help("New jobs acknowledged, by tenant")
                       .Register(*registry_)),
      billable_seconds_(prometheus::BuildCounter()
                            .Name("hac_billable_device_seconds_total")
                            .Help("Device-seconds billed, by tenant, device class and meter")
                            .Register(*registry_)),
      billed_micros_(prometheus::BuildCounter()
                         .Name("hac_billed_micros_total")
                         .Help("Amounts billed in micro-units of the currency, by tenant and "
                               "device class")
                         .Register(*registry_)),
      budget_spent_(prometheus::BuildGauge()
                        .Name("hac_budget_spent_micros")
                        .Help("Spending this month of tenants with a budget, in micro-units")
                        .Register(*registry_)),
      budget_limit_(prometheus::BuildGauge()
                        .Name("hac_budget_limit_micros")
                        .Help("Monthly budget of tenants with one, in micro-units")
                        .Register(*registry_)),
      commit_batches_(prometheus::BuildGauge()
                          .Name("hac_store_commit_batches")
                          .Help("Store transactions committed since start (group commit)")
                          .Register(*registry_)
                          .Add({})),
      commit_writes_(prometheus::BuildGauge()
                         .Name("hac_store_commit_writes")
                         .Help("Store writes committed since start")
                         .Register(*registry_)
                         .Add({})) {
  jobs_by_state_.assign(hac::v1::JobState_MAX + 1, nullptr);
  for (int s = hac::v1::JobState_MIN + 1; s <= hac::v1::JobState_MAX; ++s) {
    if (!hac::v1::JobState_IsValid(s)) continue;
    jobs_by_state_[s] = &jobs_.Add({{"state", StateLabel(static_cast<hac::v1::JobState>(s))}});
  }
  scrape_ = std::make_shared<Scrape>(registry_, [this] {
    if (!commit_source_) return;
    const auto [batches, writes] = commit_source_();
    commit_batches_.Set(static_cast<double>(batches));
    commit_writes_.Set(static_cast<double>(writes));
  });
}

void Metrics::ObserveRpc(absl::string_view method, absl::StatusCode code,
                         absl::Duration latency) {
  const int c = static_cast<int>(code);
  prometheus::Counter* requests = nullptr;
  prometheus::Histogram* duration = nullptr;
  {
    absl::MutexLock lock(&series_mu_);
    auto it = rpc_series_.find(method);
    if (it == rpc_series_.end()) {
      it = rpc_series_.emplace(std::string(method), RpcSeries{}).first;
      it->second.duration = &durations_.Add({{"method", std::string(method)}}, LatencyBuckets());
    }
    RpcSeries& series = it->second;
    duration = series.duration;
    if (c >= 0 && c < static_cast<int>(series.by_code.size())) {
      if (series.by_code[c] == nullptr) {
        series.by_code[c] = &requests_.Add(
            {{"method", std::string(method)}, {"code", absl::StatusCodeToString(code)}});
      }
      requests = series.by_code[c];
    }
  }
  if (requests == nullptr) {
    requests = &requests_.Add(
        {{"method", std::string(method)}, {"code", absl::StatusCodeToString(code)}});
  }
  requests->Increment();
  duration->Observe(absl::ToDoubleSeconds(latency));
}

void Metrics::JobSubmitted(absl::string_view tenant) {
  prometheus::Counter* counter = nullptr;
  {
    absl::MutexLock lock(&series_mu_);
    auto it = submissions_by_tenant_.find(tenant);
    if (it == submissions_by_tenant_.end()) {
      it = submissions_by_tenant_
               .emplace(std::string(tenant),
                        &submissions_.Add({{"tenant", std::string(tenant)}}))
               .first;
    }
    counter = it->second;
  }
  counter->Increment();
  JobGauge(hac::v1::JOB_STATE_PENDING).Increment();
}

prometheus::Gauge& Metrics::JobGauge(hac::v1::JobState state) {
  if (state > 0 && static_cast<size_t>(state) < jobs_by_state_.size() &&
      jobs_by_state_[state] != nullptr) {
    return *jobs_by_state_[state];
  }
  return jobs_.Add({{"state", StateLabel(state)}});
}

void Metrics::SetJobCounts(const std::map<hac::v1::JobState, int64_t>& counts) {
  for (int s = hac::v1::JobState_MIN + 1; s <= hac::v1::JobState_MAX; ++s) {
    if (!hac::v1::JobState_IsValid(s)) continue;
    auto st = static_cast<hac::v1::JobState>(s);
    auto it = counts.find(st);
    JobGauge(st).Set(it == counts.end() ? 0 : static_cast<double>(it->second));
  }
}

void Metrics::JobStateChanged(hac::v1::JobState from, hac::v1::JobState to) {
  if (from == to) return;
  JobGauge(from).Decrement();
  JobGauge(to).Increment();
}

void Metrics::SetCommitSource(std::function<std::pair<int64_t, int64_t>()> source) {
  commit_source_ = std::move(source);
}

void Metrics::AddBilled(absl::string_view tenant, absl::string_view device_class,
                        int64_t allocated_seconds, int64_t active_seconds, int64_t amount_micros) {
  const std::string t(tenant);
  const std::string c(device_class);
  if (allocated_seconds > 0) {
    billable_seconds_.Add({{"tenant", t}, {"device_class", c}, {"meter", "allocated"}})
        .Increment(static_cast<double>(allocated_seconds));
  }
  if (active_seconds > 0) {
    billable_seconds_.Add({{"tenant", t}, {"device_class", c}, {"meter", "active"}})
        .Increment(static_cast<double>(active_seconds));
  }
  if (amount_micros > 0) {
    billed_micros_.Add({{"tenant", t}, {"device_class", c}})
        .Increment(static_cast<double>(amount_micros));
  }
}

void Metrics::SetBudget(absl::string_view tenant, int64_t limit_micros, int64_t spent_micros) {
  const std::string t(tenant);
  budget_limit_.Add({{"tenant", t}}).Set(static_cast<double>(limit_micros));
  budget_spent_.Add({{"tenant", t}}).Set(static_cast<double>(spent_micros));
}

}  // namespace hac::server
