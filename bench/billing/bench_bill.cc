// hac-bench-bill: how long RateUsage takes for one tenant's month with 1,000,000 attempts.
//
// Usage: hac-bench-bill [--attempts=N] [--runs=N] [--shuffled]
//
// The rows are built in memory the way the store returns them (ordered by job, attempt, device,
// interval): 1 or 2 devices per attempt, 1-5 one-minute intervals per device, 20% of jobs retried
// once, three device models (one with its own price, two on class prices), and a price change on
// the 15th at 00:00 UTC that about 1% of attempts straddle. --shuffled rates the same rows in a
// random order (the sort fallback). Prints a table and one JSON line.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "bench/billing/bench_catalog.h"
#include "billing/month.h"
#include "billing/price_catalog.h"
#include "billing/rating.h"
#include "billing/usage.h"

namespace hac::billing {
namespace {

struct Options {
  int64_t attempts = 1'000'000;
  int runs = 5;
  bool shuffled = false;
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.rfind("--attempts=", 0) == 0) {
      o.attempts = std::atoll(argv[i] + 11);
    } else if (a.rfind("--runs=", 0) == 0) {
      o.runs = std::max(1, std::atoi(argv[i] + 7));
    } else if (a == "--shuffled") {
      o.shuffled = true;
    } else {
      std::fprintf(stderr, "usage: hac-bench-bill [--attempts=N] [--runs=N] [--shuffled]\n");
      std::exit(2);
    }
  }
  return o;
}

int Main(int argc, char** argv) {
  const Options opt = ParseArgs(argc, argv);
  const Month month{2026, 11};
  const absl::Time change = bench::PriceChange(month);
  absl::StatusOr<PriceCatalog> made = bench::BenchCatalog(month);
  if (!made.ok()) {
    std::fprintf(stderr, "catalog: %s\n", made.status().ToString().c_str());
    return 1;
  }
  const PriceCatalog& catalog = *made;

  const auto build_start = std::chrono::steady_clock::now();
  std::mt19937_64 rng(7);
  std::vector<UsageRow> rows;
  rows.reserve(static_cast<size_t>(opt.attempts) * 45 / 10);
  const int64_t month_minutes = (month.End() - month.Start()) / absl::Minutes(1);
  int64_t attempts = 0;
  int64_t jobs = 0;
  int64_t straddling = 0;
  while (attempts < opt.attempts) {
    const std::string job = absl::StrFormat("j-%07d", jobs++);
    const int tries = (rng() % 5 == 0) ? 2 : 1;
    for (int t = 1; t <= tries && attempts < opt.attempts; ++t, ++attempts) {
      const std::string attempt = absl::StrFormat("%s.%d", job, t);
      const uint64_t kind = rng() % 3;
      const char* cls = kind == 2 ? "npu" : "gpu";
      const char* model = kind == 0 ? "emu-a100" : kind == 1 ? "emu-h100" : "sim-npu";
      const int devices = 1 + static_cast<int>(rng() % 2);
      const int intervals = 1 + static_cast<int>(rng() % 5);
      int64_t start_min = static_cast<int64_t>(rng() % static_cast<uint64_t>(month_minutes - 5));
      if (rng() % 100 == 0) {  // straddles the price change
        start_min = (change - month.Start()) / absl::Minutes(1) - 2;
        ++straddling;
      }
      for (int d = 0; d < devices; ++d) {
        for (int i = 0; i < intervals; ++i) {
          UsageRow r;
          r.tenant_id = "t-bench";
          r.job_id = job;
          r.attempt_id = attempt;
          r.device_id = d == 0 ? "dev-0" : "dev-1";
          r.device_class = cls;
          r.device_model = model;
          r.interval_start = month.Start() + absl::Minutes(start_min + i);
          r.allocated_ms = i + 1 < intervals ? 60'000 : static_cast<int64_t>(rng() % 60'001);
          r.active_ms = static_cast<int64_t>(rng() % static_cast<uint64_t>(r.allocated_ms + 1));
          rows.push_back(std::move(r));
        }
      }
    }
  }
  if (opt.shuffled) std::shuffle(rows.begin(), rows.end(), rng);
  const double build_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - build_start).count();

  // Wall time, and this process's CPU time (what the rating itself cost, robust to other
  // processes sharing the cores).
  std::vector<double> times_ms;
  std::vector<double> cpu_ms;
  Bill bill;
  for (int run = 0; run <= opt.runs; ++run) {  // run 0 warms up
    bill = Bill();
    const std::clock_t c0 = std::clock();
    const auto t0 = std::chrono::steady_clock::now();
    absl::StatusOr<Bill> b = RateMonth("t-bench", rows, catalog, month);
    const auto t1 = std::chrono::steady_clock::now();
    const std::clock_t c1 = std::clock();
    if (!b.ok()) {
      std::fprintf(stderr, "rating failed: %s\n", b.status().ToString().c_str());
      return 1;
    }
    if (run > 0) {
      times_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      cpu_ms.push_back(1000.0 * static_cast<double>(c1 - c0) / CLOCKS_PER_SEC);
    }
    bill = *std::move(b);
  }
  std::sort(times_ms.begin(), times_ms.end());
  std::sort(cpu_ms.begin(), cpu_ms.end());
  const double min_ms = times_ms.front();
  const double median_ms = times_ms[times_ms.size() / 2];
  const double cpu_min_ms = cpu_ms.front();
  absl::StatusOr<Money> sum = SumLines(bill.lines);
  const bool adds_up = sum.ok() && *sum == bill.total;

  std::printf("hac-bench-bill: one tenant, %s, %s order\n", month.ToString().c_str(),
              opt.shuffled ? "shuffled" : "store");
  std::printf("  %-28s %14lld\n", "attempts", static_cast<long long>(attempts));
  std::printf("  %-28s %14lld\n", "jobs", static_cast<long long>(jobs));
  std::printf("  %-28s %14zu\n", "usage rows", rows.size());
  std::printf("  %-28s %14lld\n", "attempts over price change", static_cast<long long>(straddling));
  std::printf("  %-28s %14zu\n", "bill lines", bill.lines.size());
  std::printf("  %-28s %14s\n", "total", FormatMoney(bill.total).c_str());
  std::printf("  %-28s %14s\n", "lines add up to total", adds_up ? "yes" : "NO");
  std::printf("  %-28s %14.1f\n", "build rows (ms)", build_s * 1000);
  std::printf("  %-28s %14.1f\n", "rate, min of runs (ms)", min_ms);
  std::printf("  %-28s %14.1f\n", "rate, median (ms)", median_ms);
  std::printf("  %-28s %14.1f\n", "rate, CPU min (ms)", cpu_min_ms);
  std::printf("  %-28s %14.1f\n", "rows per second (M)", rows.size() / min_ms / 1000.0);
  std::printf(
      "{\"bench\":\"billing\",\"order\":\"%s\",\"attempts\":%lld,\"jobs\":%lld,\"rows\":%zu,"
      "\"lines\":%zu,\"runs\":%d,\"rate_ms_min\":%.1f,\"rate_ms_median\":%.1f,\"rate_cpu_ms_min\":%"
      ".1f,"
      "\"rows_per_s\":%.0f,\"total_micros\":%lld,\"adds_up\":%s}\n",
      opt.shuffled ? "shuffled" : "store", static_cast<long long>(attempts),
      static_cast<long long>(jobs), rows.size(), bill.lines.size(), opt.runs, min_ms, median_ms,
      cpu_min_ms, rows.size() / min_ms * 1000.0, static_cast<long long>(bill.total.micros()),
      adds_up ? "true" : "false");
  return adds_up ? 0 : 1;
}

}  // namespace
}  // namespace hac::billing

int main(int argc, char** argv) { return hac::billing::Main(argc, argv); }
