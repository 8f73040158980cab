// Property test: for thousands of random usage sets and catalogs (fixed seed), every bill's
// lines add up to its total, every line's amounts are seconds x rate, and the total equals an
// independent, deliberately naive rating of the raw rows (maps, no sweep, no cache).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "billing/invoice.h"
#include "billing/rating.h"
#include "tests/billing/billing_test_util.h"

namespace hac::billing {
namespace {

using testing::kNov;
using testing::kOct;
using testing::Micros;
using testing::RequireOk;
using testing::Row;
using testing::Value;

// The entry in force, found by scanning every entry (independent of PriceCatalog::Lookup).
const PriceEntry* NaiveLookup(const PriceCatalog& c, const UsageRow& r) {
  const PriceEntry* model = nullptr;
  const PriceEntry* cls = nullptr;
  for (const PriceEntry& e : c.entries()) {
    if (e.device_class != r.device_class || e.effective_from > r.interval_start) continue;
    if (e.device_model == r.device_model && !r.device_model.empty()) {
      if (model == nullptr || e.effective_from > model->effective_from) model = &e;
    } else if (e.device_model.empty()) {
      if (cls == nullptr || e.effective_from > cls->effective_from) cls = &e;
    }
  }
  return model != nullptr ? model : cls;
}

struct NaiveResult {
  __int128 total = 0;
  int64_t seconds[2] = {0, 0};
};

// Straight from the documented rule: per (attempt, device, meter), ceil(total ms / 1000) raised
// to the last period's minimum when there is usage; earlier rate periods floor(ms / 1000); the
// last period the rest.
NaiveResult NaiveRate(const std::vector<UsageRow>& rows, const PriceCatalog& c, absl::Time from,
                      absl::Time to) {
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<UsageRow>> groups;
  for (const UsageRow& r : rows) {
    if (r.interval_start < from || r.interval_start >= to) continue;
    groups[{r.job_id, r.attempt_id, r.device_id}].push_back(r);
  }
  NaiveResult out;
  for (auto& [key, g] : groups) {
    std::sort(g.begin(), g.end(), [](const UsageRow& a, const UsageRow& b) {
      return a.interval_start < b.interval_start;
    });
    std::vector<std::pair<const PriceEntry*, std::array<int64_t, 2>>> periods;
    for (const UsageRow& r : g) {
      const PriceEntry* e = NaiveLookup(c, r);
      REQUIRE(e != nullptr);
      if (periods.empty() || periods.back().first != e) periods.push_back({e, {0, 0}});
      periods.back().second[0] += r.allocated_ms;
      periods.back().second[1] += r.active_ms;
    }
    for (int m = 0; m < 2; ++m) {
      int64_t total_ms = 0;
      for (auto& p : periods) total_ms += p.second[m];
      int64_t billed = 0;
      if (total_ms > 0) {
        billed = (total_ms + 999) / 1000;
        billed = std::max(billed, absl::ToInt64Seconds(periods.back().first->minimum_billable));
      }
      int64_t earlier = 0;
      for (size_t i = 0; i < periods.size(); ++i) {
        const PriceEntry* e = periods[i].first;
        const int64_t s = i + 1 < periods.size() ? periods[i].second[m] / 1000 : billed - earlier;
        earlier += s;
        const Money rate = m == 0 ? e->allocated_rate : e->active_rate;
        out.total += static_cast<__int128>(s) * rate.micros();
        out.seconds[m] += s;
      }
    }
  }
  return out;
}

uint64_t Pick(std::mt19937_64& rng, uint64_t n) { return rng() % n; }

struct Case {
  PriceCatalog catalog;
  std::vector<UsageRow> rows;
  absl::Time from;
  absl::Time to;
};

Case RandomCase(std::mt19937_64& rng) {
  Case c;
  c.from = kNov + absl::Minutes(static_cast<int64_t>(Pick(rng, 1000)));
  c.to = c.from + absl::Minutes(static_cast<int64_t>(30 + Pick(rng, 120)));
  auto minute_near_period = [&] {
    return c.from + absl::Minutes(static_cast<int64_t>(Pick(rng, 180))) - absl::Minutes(20);
  };
  auto entry = [&](std::string cls, std::string model, absl::Time at) {
    PriceEntry e{.device_class = std::move(cls),
                 .device_model = std::move(model),
                 .allocated_rate = Micros(static_cast<int64_t>(Pick(rng, 2'000'001))),
                 .active_rate = Micros(static_cast<int64_t>(Pick(rng, 2'000'001))),
                 .effective_from = at};
    if (Pick(rng, 4) == 0) e.minimum_billable = absl::Seconds(Pick(rng, 2) ? 5 : 60);
    (void)c.catalog.Add(e);  // a random duplicate time is simply not added
  };
  entry("gpu", "", kOct);
  entry("npu", "", kOct);
  for (uint64_t i = Pick(rng, 3); i > 0; --i) entry("gpu", "", minute_near_period());
  for (const char* model : {"m0", "m1", "m2"}) {
    for (uint64_t i = Pick(rng, 3); i > 0; --i) entry("gpu", model, minute_near_period());
  }
  const int64_t interval_s = std::vector<int64_t>{1, 5, 10, 30, 60}[Pick(rng, 5)];
  const absl::Duration len = absl::Seconds(interval_s);
  const int64_t len_ms = interval_s * 1000;
  const int jobs = 1 + static_cast<int>(Pick(rng, 3));
  for (int j = 0; j < jobs; ++j) {
    const int attempts = 1 + static_cast<int>(Pick(rng, 2));
    for (int a = 0; a < attempts; ++a) {
      const int devices = 1 + static_cast<int>(Pick(rng, 2));
      for (int d = 0; d < devices; ++d) {
        const bool npu = Pick(rng, 4) == 0;
        const std::string model =
            npu ? "n0" : std::vector<std::string>{"m0", "m1", "m2", "m9"}[Pick(rng, 4)];
        absl::Time t = UsageIntervalStart(minute_near_period(), len);
        const int intervals = 1 + static_cast<int>(Pick(rng, 8));
        for (int i = 0; i < intervals; ++i) {
          // Mostly full or partial intervals, sometimes idle, sometimes a gap.
          t += (Pick(rng, 4) == 0 ? 2 : 1) * len *
               static_cast<int64_t>(1 + Pick(rng, 60 / interval_s));
          const int64_t alloc =
              Pick(rng, 3) == 0 ? len_ms : static_cast<int64_t>(Pick(rng, len_ms + 1));
          const int64_t active = Pick(rng, 5) == 0 ? 0 : static_cast<int64_t>(Pick(rng, alloc + 1));
          c.rows.push_back(
              Row("j-" + std::to_string(j), "j-" + std::to_string(j) + "." + std::to_string(a),
                  "dev-" + std::to_string(d), npu ? "npu" : "gpu", model, t, alloc, active, len));
        }
      }
    }
  }
  return c;
}

TEST_CASE(
    "Random bills add up exactly, equal an independent rating of the raw usage, and invoices "
    "plus adjustments equal the re-rating") {
  std::mt19937_64 rng(20261128);
  int64_t nonzero_bills = 0;
  int64_t split_lines = 0;
  int64_t invoice_cases = 0;
  for (int n = 0; n < 2000; ++n) {
    Case c = RandomCase(rng);
    INFO("case " << n);
    const Bill bill = Value(RateUsage("t-1", c.rows, c.catalog, c.from, c.to));
    // Lines add up to the total; each line is seconds x rate per meter.
    __int128 sum = 0;
    int64_t seconds[2] = {0, 0};
    bool lines_consistent = true;
    for (const BillLine& l : bill.lines) {
      lines_consistent =
          lines_consistent &&
          l.allocated.amount.micros() == l.allocated.billed_seconds * l.allocated.rate.micros() &&
          l.active.amount.micros() == l.active.billed_seconds * l.active.rate.micros() &&
          l.amount.micros() == l.allocated.amount.micros() + l.active.amount.micros() &&
          l.kind == LineKind::kUsage;
      sum += l.amount.micros();
      seconds[0] += l.allocated.billed_seconds;
      seconds[1] += l.active.billed_seconds;
    }
    REQUIRE(lines_consistent);
    REQUIRE(sum == bill.total.micros());
    REQUIRE(Value(SumLines(bill.lines)) == bill.total);
    // The total equals the naive rating of the raw rows, meter seconds included.
    const NaiveResult naive = NaiveRate(c.rows, c.catalog, c.from, c.to);
    REQUIRE(naive.total == bill.total.micros());
    REQUIRE(naive.seconds[0] == seconds[0]);
    REQUIRE(naive.seconds[1] == seconds[1]);
    // Per-attempt lines give the same total; any row order gives the same bill.
    REQUIRE(Value(RateUsage("t-1", c.rows, c.catalog, c.from, c.to, {.per_attempt_lines = true}))
                .total == bill.total);
    std::shuffle(c.rows.begin(), c.rows.end(), rng);
    REQUIRE(Value(RateUsage("t-1", c.rows, c.catalog, c.from, c.to)) == bill);
    // Every fourth case: close November on part of the rows; the rest arrives late. What the
    // invoice billed plus the adjustment lines equals November's rating with all rows.
    if (n % 4 == 0) {
      const size_t known = Pick(rng, c.rows.size() + 1);
      const std::vector<UsageRow> at_close(c.rows.begin(), c.rows.begin() + known);
      const Month nov{2026, 11};
      const Invoice invoice =
          Value(CloseInvoice("t-1", nov, at_close, c.catalog, {}, testing::kDec));
      const Bill now = Value(RateMonth("t-1", c.rows, c.catalog, nov));
      const std::vector<BillLine> adj = Value(AdjustmentLines(invoice, now, {}));
      REQUIRE(invoice.total().micros() + Value(SumLines(adj)).micros() == now.total.micros());
      REQUIRE(Value(AdjustmentLines(invoice, now, adj)).empty());
      ++invoice_cases;
    }
    if (bill.total > Money::Zero()) ++nonzero_bills;
    for (size_t i = 1; i < bill.lines.size(); ++i) {
      if (bill.lines[i].job_id == bill.lines[i - 1].job_id &&
          bill.lines[i].device_model == bill.lines[i - 1].device_model) {
        ++split_lines;
      }
    }
  }
  // The generator exercised what it is meant to: real amounts and price changes within a bill.
  CHECK(nonzero_bills > 1600);
  CHECK(split_lines > 100);
  CHECK(invoice_cases == 500);
}

}  // namespace
}  // namespace hac::billing
