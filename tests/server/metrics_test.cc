#include "server/metrics.h"

#include <catch2/catch.hpp>

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

}  // namespace
}  // namespace hac::server
