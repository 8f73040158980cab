#include "server/metrics.h"

#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <string>

namespace hac::server {
namespace {

// The value of the unlabelled gauge `name` in what a scrape collects.
std::optional<double> Scraped(const Metrics& m, const std::string& name) {
  for (const prometheus::MetricFamily& f : m.collectable()->Collect()) {
    if (f.name == name && f.metric.size() == 1) return f.metric[0].gauge.value;
  }
  return std::nullopt;
}

TEST_CASE("The store's commit gauges are read from their source at every scrape") {
  Metrics m;
  CHECK(Scraped(m, "hac_store_commit_batches") == 0);
  int64_t batches = 3, writes = 7;
  m.SetCommitSource([&] { return std::make_pair(batches, writes); });
  CHECK(Scraped(m, "hac_store_commit_batches") == 3);
  CHECK(Scraped(m, "hac_store_commit_writes") == 7);
  // Writes that are not submissions (usage, attempt changes) move them too: nothing but the
  // source has to be told.
  batches = 10;
  writes = 250;
  CHECK(Scraped(m, "hac_store_commit_batches") == 10);
  CHECK(Scraped(m, "hac_store_commit_writes") == 250);
  // The rest of the registry is still there.
  CHECK(Scraped(m, "hac_jobs") == std::nullopt);  // labelled: one sample per state
  bool jobs = false;
  for (const auto& f : m.collectable()->Collect()) jobs = jobs || f.name == "hac_jobs";
  CHECK(jobs);
}


// The value of the sample of `name` whose labels include all of `labels`.
std::optional<double> Sample(const Metrics& m, const std::string& name,
                             const std::map<std::string, std::string>& labels) {
  for (const prometheus::MetricFamily& f : m.collectable()->Collect()) {
    if (f.name != name) continue;
    for (const prometheus::ClientMetric& c : f.metric) {
      size_t matched = 0;
      for (const prometheus::ClientMetric::Label& l : c.label) {
        auto it = labels.find(l.name);
        if (it != labels.end() && it->second == l.value) ++matched;
      }
      if (matched != labels.size()) continue;
      if (f.type == prometheus::MetricType::Counter) return c.counter.value;
      if (f.type == prometheus::MetricType::Gauge) return c.gauge.value;
      if (f.type == prometheus::MetricType::Histogram) {
        return static_cast<double>(c.histogram.sample_count);
      }
    }
  }
  return std::nullopt;
}

TEST_CASE("RPC, submission and job-state series count every call, by their labels") {
  Metrics m;
  for (int i = 0; i < 3; ++i) {
    m.ObserveRpc("SubmitJob", absl::StatusCode::kOk, absl::Milliseconds(1));
  }
  m.ObserveRpc("SubmitJob", absl::StatusCode::kInvalidArgument, absl::Milliseconds(2));
  m.ObserveRpc("GetJob", absl::StatusCode::kNotFound, absl::Microseconds(300));
  CHECK(Sample(m, "hac_rpc_requests_total", {{"method", "SubmitJob"}, {"code", "OK"}}) == 3);
  CHECK(Sample(m, "hac_rpc_requests_total",
               {{"method", "SubmitJob"}, {"code", "INVALID_ARGUMENT"}}) == 1);
  CHECK(Sample(m, "hac_rpc_requests_total", {{"method", "GetJob"}, {"code", "NOT_FOUND"}}) == 1);
  CHECK(Sample(m, "hac_rpc_duration_seconds", {{"method", "SubmitJob"}}) == 4);
  CHECK(Sample(m, "hac_rpc_duration_seconds", {{"method", "GetJob"}}) == 1);

  m.JobSubmitted("acme");
  m.JobSubmitted("acme");
  m.JobSubmitted("globex");
  CHECK(Sample(m, "hac_job_submissions_total", {{"tenant", "acme"}}) == 2);
  CHECK(Sample(m, "hac_job_submissions_total", {{"tenant", "globex"}}) == 1);
  CHECK(Sample(m, "hac_jobs", {{"state", "pending"}}) == 3);
  m.JobStateChanged(hac::v1::JOB_STATE_PENDING, hac::v1::JOB_STATE_RUNNING);
  m.JobStateChanged(hac::v1::JOB_STATE_RUNNING, hac::v1::JOB_STATE_SUCCEEDED);
  m.JobStateChanged(hac::v1::JOB_STATE_PENDING, hac::v1::JOB_STATE_PENDING);
  CHECK(Sample(m, "hac_jobs", {{"state", "pending"}}) == 2);
  CHECK(Sample(m, "hac_jobs", {{"state", "running"}}) == 0);
  CHECK(Sample(m, "hac_jobs", {{"state", "succeeded"}}) == 1);
  m.SetJobCounts({{hac::v1::JOB_STATE_FAILED, 5}});
  CHECK(Sample(m, "hac_jobs", {{"state", "failed"}}) == 5);
  CHECK(Sample(m, "hac_jobs", {{"state", "pending"}}) == 0);
}

}  // namespace
}  // namespace hac::server
