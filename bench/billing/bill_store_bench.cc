// hac-bench-bill-store: how long one tenant's bill for a month with 1,000,000 attempts takes when
// its usage comes from the real SQLite ledger, the way BillingManager computes an open month:
// server::RateStoredMonth, which reads the month's totals (Store::ForEachMonthUsage: one row per
// job) and rates them on a second thread as they come (and, reported apart, BillToProto, which
// GetBill does before answering).
// For comparison it also times, once, the bill from the interval rows (Store::ListUsageRows +
// billing::RateMonth), and checks that both bills are equal.
//
// Usage: hac-bench-bill-store [--attempts=N] [--runs=N] [--grid=MINUTES] [--db=PATH [--reuse]]
//
// Setup (timed and printed apart): a fresh Store in a temp directory (or --db, which must not
// exist) gets the catalog's prices, then the tenant's usage through Store::RecordUsage, as
// hacd's HandleUsage would write it, one call per report minute. Attempts are shaped like
// hac-bench-bill's: 20% of jobs retried once, 1 or 2 devices per attempt, 1-5 one-minute
// intervals per device, three device models on the catalog of bench_catalog.h, about 1% of
// attempts straddling the price change on the 15th.
// Each device's final cumulative counter is reported once, 59 s into the attempt's last minute;
// attempts end on a grid of --grid minutes (default 10) so that each RecordUsage call carries a
// few hundred counters. The ledger spreads each counter over the attempt's intervals (full
// minutes before the last one).
//
// Prints a table and one JSON line. Exits non-zero if the rows read back differ from what was
// written, the bill's lines do not add up to its total, or the two bills differ.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "bench/billing/bench_catalog.h"
#include "billing/month.h"
#include "billing/rating.h"
#include "billing/usage.h"
#include "common/clock.h"
#include "server/billing_manager.h"
#include "server/store/store.h"
#include "tests/testing/temp_dir.h"

namespace hac::bench {
namespace {

using server::store::Store;
using server::store::UsageCounterRecord;

constexpr double kTargetMs = 1000;

struct Options {
  int64_t attempts = 1'000'000;
  int runs = 3;
  int grid_minutes = 10;
  std::string db;
  bool reuse = false;
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.rfind("--attempts=", 0) == 0) {
      o.attempts = std::max<int64_t>(1, std::atoll(argv[i] + 11));
    } else if (a.rfind("--runs=", 0) == 0) {
      o.runs = std::max(1, std::atoi(argv[i] + 7));
    } else if (a.rfind("--grid=", 0) == 0) {
      o.grid_minutes = std::clamp(std::atoi(argv[i] + 7), 5, 60 * 24);
    } else if (a.rfind("--db=", 0) == 0) {
      o.db = std::string(a.substr(5));
    } else if (a == "--reuse") {
      o.reuse = true;
    } else {
      std::fprintf(stderr,
                   "usage: hac-bench-bill-store [--attempts=N] [--runs=N] [--grid=MINUTES] "
                   "[--db=PATH [--reuse]]\n");
      std::exit(2);
    }
  }
  return o;
}

// One attempt, compactly: everything needed to write its counters.
struct Attempt {
  int32_t job = 0;
  int32_t end_minute = 0;  // minute of the month of its last interval
  uint8_t number = 1;      // attempt number within the job
  uint8_t kind = 0;        // 0 emu-a100, 1 emu-h100, 2 sim-npu
  uint8_t devices = 1;
  uint8_t intervals = 1;
  int32_t allocated_ms[2] = {0, 0};
  int32_t active_ms[2] = {0, 0};
};

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

double CpuMs(std::clock_t c0, std::clock_t c1) {
  return 1000.0 * static_cast<double>(c1 - c0) / CLOCKS_PER_SEC;
}

int Main(int argc, char** argv) {
  const Options opt = ParseArgs(argc, argv);
  const billing::Month month{2026, 11};
  absl::StatusOr<billing::PriceCatalog> catalog = BenchCatalog(month);
  if (!catalog.ok()) {
    std::fprintf(stderr, "catalog: %s\n", catalog.status().ToString().c_str());
    return 1;
  }
  const int64_t month_minutes = (month.End() - month.Start()) / absl::Minutes(1);
  const int64_t change_minute = (PriceChange(month) - month.Start()) / absl::Minutes(1);
  const int64_t grid = opt.grid_minutes;

  // The attempts, in job order.
  const auto gen_start = std::chrono::steady_clock::now();
  std::mt19937_64 rng(7);
  std::vector<Attempt> attempts;
  attempts.reserve(static_cast<size_t>(opt.attempts));
  int64_t jobs = 0, straddling = 0, counters = 0, expect_rows = 0, expect_alloc = 0;
  while (static_cast<int64_t>(attempts.size()) < opt.attempts) {
    const int32_t job = static_cast<int32_t>(++jobs);
    const int tries = (rng() % 5 == 0) ? 2 : 1;
    for (int t = 1; t <= tries && static_cast<int64_t>(attempts.size()) < opt.attempts; ++t) {
      Attempt a;
      a.job = job;
      a.number = static_cast<uint8_t>(t);
      a.kind = static_cast<uint8_t>(rng() % 3);
      a.devices = static_cast<uint8_t>(1 + rng() % 2);
      a.intervals = static_cast<uint8_t>(1 + rng() % 5);
      // Any grid minute that leaves room for the intervals before it.
      a.end_minute = static_cast<int32_t>(grid * (1 + rng() % static_cast<uint64_t>(
                                                          month_minutes / grid - 1)));
      if (rng() % 100 == 0) {  // ends in the price change's first minute, started before it
        a.end_minute = static_cast<int32_t>(change_minute);
        a.intervals = static_cast<uint8_t>(std::max<int>(a.intervals, 2));
        ++straddling;
      }
      // The last interval holds 1..59,000 ms (the report comes 59 s into it); the ones before it
      // are full.
      for (int d = 0; d < a.devices; ++d) {
        const int64_t last = 1 + static_cast<int64_t>(rng() % 59'000);
        const int64_t alloc = (a.intervals - 1) * int64_t{60'000} + last;
        a.allocated_ms[d] = static_cast<int32_t>(alloc);
        a.active_ms[d] = static_cast<int32_t>(rng() % static_cast<uint64_t>(alloc + 1));
        expect_alloc += alloc;
      }
      counters += a.devices;
      expect_rows += a.devices * a.intervals;
      attempts.push_back(a);
    }
  }
  // Reports in time order: one RecordUsage per report minute.
  std::vector<uint32_t> order(attempts.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
    return attempts[x].end_minute < attempts[y].end_minute;
  });
  const double gen_s = Seconds(gen_start);

  testing::TempDir dir;
  const std::string path = opt.db.empty() ? dir.File("bill.db") : opt.db;
  // --reuse with an existing --db skips the setup: the attempts are the same for the same
  // --attempts and --grid (a fixed seed), so the expected figures still hold.
  const bool fill = !std::filesystem::exists(path);
  if (!fill && !opt.reuse) {
    std::fprintf(stderr, "%s exists; give a path for a new database, or --reuse it\n",
                 path.c_str());
    return 2;
  }
  common::RealClock clock;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path, clock);
  if (!store.ok()) {
    std::fprintf(stderr, "store: %s\n", store.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<server::store::TenantRecord> tenant =
      fill ? (*store)->CreateTenant("bench") : (*store)->FindTenant("bench");
  if (!tenant.ok()) {
    std::fprintf(stderr, "tenant: %s\n", tenant.status().ToString().c_str());
    return 1;
  }
  for (const billing::PriceEntry& e : catalog->entries()) {
    if (!fill) break;
    if (absl::Status s = (*store)->AddPrice(e); !s.ok()) {
      std::fprintf(stderr, "AddPrice: %s\n", s.ToString().c_str());
      return 1;
    }
  }

  const auto fill_start = std::chrono::steady_clock::now();
  const std::clock_t fill_c0 = std::clock();
  static constexpr const char* kClass[3] = {"gpu", "gpu", "npu"};
  static constexpr const char* kModel[3] = {"emu-a100", "emu-h100", "sim-npu"};
  int64_t calls = 0, backwards = 0, excess = 0;
  std::vector<UsageCounterRecord> batch;
  for (size_t i = 0; fill && i < order.size();) {
    const int32_t minute = attempts[order[i]].end_minute;
    batch.clear();
    for (; i < order.size() && attempts[order[i]].end_minute == minute; ++i) {
      const Attempt& a = attempts[order[i]];
      const std::string job = server::store::JobIdString(a.job);
      for (int d = 0; d < a.devices; ++d) {
        UsageCounterRecord& c = batch.emplace_back();
        c.attempt_id = absl::StrFormat("%s.%d", job, a.number);
        c.device_index = static_cast<uint32_t>(d);
        c.allocated_ms = a.allocated_ms[d];
        c.active_ms = a.active_ms[d];
        c.final = true;
        c.tenant_id = tenant->id;
        c.job_id = job;
        // The node follows the job, as a real scheduler would place it somewhere.
        c.device_id = absl::StrFormat("%08x-0000-4000-8000-%012x", a.job % 4099, d);
        c.device_class = kClass[a.kind];
        c.device_model = kModel[a.kind];
        c.assign_time = month.Start() + absl::Minutes(minute - (a.intervals - 1));
      }
    }
    const absl::Time now = month.Start() + absl::Minutes(minute) + absl::Seconds(59);
    absl::StatusOr<server::store::UsageRecordResult> r =
        (*store)->RecordUsage(batch, now, absl::Seconds(60));
    if (!r.ok()) {
      std::fprintf(stderr, "RecordUsage: %s\n", r.status().ToString().c_str());
      return 1;
    }
    ++calls;
    backwards += static_cast<int64_t>(r->backwards.size());
    excess += static_cast<int64_t>(r->excess.size());
  }
  const double fill_s = Seconds(fill_start);
  const double fill_cpu_s = CpuMs(fill_c0, std::clock()) / 1000.0;
  std::error_code ec;
  const auto db_bytes = std::filesystem::file_size(path, ec);
  const auto wal_bytes = std::filesystem::file_size(path + "-wal", ec);

  // The measured path: RateStoredMonth, then (apart) the proto GetBill would return.
  auto stream_bill = [&] {
    return server::RateStoredMonth(**store, tenant->id, tenant->name, *catalog, month);
  };
  std::vector<double> proto_ms, total_ms, total_cpu_ms;
  size_t nrows = 0, nlines = 0, proto_bytes = 0;
  int64_t read_alloc = 0;
  billing::Money total = billing::Money::Zero();
  bool adds_up = true, same_bill = true;
  double list_ms = 0, rate_ms = 0;
  for (int run = 0; run <= opt.runs; ++run) {  // run 0 warms the page cache and allocator
    const std::clock_t c0 = std::clock();
    const auto t0 = std::chrono::steady_clock::now();
    absl::StatusOr<billing::Bill> bill = stream_bill();
    const auto t1 = std::chrono::steady_clock::now();
    const std::clock_t c1 = std::clock();
    if (!bill.ok()) {
      std::fprintf(stderr, "bill: %s\n", bill.status().ToString().c_str());
      return 1;
    }
    const hac::v1::Bill proto = server::BillToProto(*bill, tenant->name);
    const auto t2 = std::chrono::steady_clock::now();
    using Ms = std::chrono::duration<double, std::milli>;
    if (run == 0) {
      nlines = bill->lines.size();
      total = bill->total;
      proto_bytes = proto.ByteSizeLong();
      absl::StatusOr<billing::Money> sum = billing::SumLines(bill->lines);
      adds_up = sum.ok() && *sum == bill->total;
      // The same bill from the interval rows, timed once.
      const auto r0 = std::chrono::steady_clock::now();
      absl::StatusOr<std::vector<billing::UsageRow>> rows =
          (*store)->ListUsageRows(tenant->id, tenant->name, month.Start(), month.End());
      const auto r1 = std::chrono::steady_clock::now();
      if (!rows.ok()) {
        std::fprintf(stderr, "ListUsageRows: %s\n", rows.status().ToString().c_str());
        return 1;
      }
      absl::StatusOr<billing::Bill> by_interval =
          billing::RateMonth(tenant->name, *rows, *catalog, month);
      const auto r2 = std::chrono::steady_clock::now();
      if (!by_interval.ok()) {
        std::fprintf(stderr, "RateMonth: %s\n", by_interval.status().ToString().c_str());
        return 1;
      }
      list_ms = Ms(r1 - r0).count();
      rate_ms = Ms(r2 - r1).count();
      same_bill = *by_interval == *bill;
      nrows = rows->size();
      for (const billing::UsageRow& r : *rows) read_alloc += r.allocated_ms;
      continue;
    }
    total_ms.push_back(Ms(t1 - t0).count());
    total_cpu_ms.push_back(CpuMs(c0, c1));
    proto_ms.push_back(Ms(t2 - t1).count());
  }
  auto min = [](std::vector<double> v) { return *std::min_element(v.begin(), v.end()); };
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const bool rows_ok = static_cast<int64_t>(nrows) == expect_rows && read_alloc == expect_alloc &&
                       backwards == 0 && excess == 0;
  const double best = min(total_ms);

  std::printf("hac-bench-bill-store: one tenant, %s, SQLite ledger (Release, %u cores)\n",
              month.ToString().c_str(), std::thread::hardware_concurrency());
  std::printf("  %-36s %14lld\n", "attempts", static_cast<long long>(attempts.size()));
  std::printf("  %-36s %14lld\n", "jobs", static_cast<long long>(jobs));
  std::printf("  %-36s %14lld\n", "attempts over price change", static_cast<long long>(straddling));
  std::printf("  %-36s %14lld\n", "counters written (attempt, device)",
              static_cast<long long>(counters));
  std::printf("  %-36s %14zu (expected %lld)\n", "usage rows read back", nrows,
              static_cast<long long>(expect_rows));
  std::printf("  %-36s %14s\n", "allocated ms read = written", rows_ok ? "yes" : "NO");
  std::printf("  %-36s %14zu\n", "bill lines", nlines);
  std::printf("  %-36s %14s\n", "total", billing::FormatMoney(total).c_str());
  std::printf("  %-36s %14s\n", "lines add up to total", adds_up ? "yes" : "NO");
  std::printf("  %-36s %14s\n", "same bill from interval rows", same_bill ? "yes" : "NO");
  std::printf("  setup\n");
  std::printf("  %-36s %14.1f s\n", "generate attempts", gen_s);
  std::printf("  %-36s %14.1f s (%.1f s CPU)\n", "RecordUsage, all counters", fill_s, fill_cpu_s);
  std::printf("  %-36s %14lld (%.0f counters each)\n", "RecordUsage calls (transactions)",
              static_cast<long long>(calls), static_cast<double>(counters) / calls);
  std::printf("  %-36s %14.0f\n", "counters/s through RecordUsage", counters / fill_s);
  std::printf("  %-36s %14.0f\n", "usage rows/s written", expect_rows / fill_s);
  std::printf("  %-36s %14.1f MB (+ %.1f MB WAL)\n", "database size", db_bytes / 1e6,
              wal_bytes / 1e6);
  std::printf("  measured (%d runs after a warm-up)\n", opt.runs);
  std::printf("  %-36s %14.1f ms (median %.1f)   target < %.0f ms\n",
              "bill (RateStoredMonth), min", best, median(total_ms), kTargetMs);
  std::printf("  %-36s %14.1f ms (two threads)\n", "bill CPU time, min", min(total_cpu_ms));
  std::printf("  %-36s %14.1f ms (median %.1f; %.1f MB)\n", "then BillToProto, min", min(proto_ms),
              median(proto_ms), proto_bytes / 1e6);
  std::printf("  for comparison, once: from the interval rows\n");
  std::printf("  %-36s %14.1f ms\n", "ListUsageRows", list_ms);
  std::printf("  %-36s %14.1f ms\n", "RateMonth", rate_ms);
  std::printf(
      "{\"bench\":\"billing_store\",\"attempts\":%lld,\"jobs\":%lld,\"counters\":%lld,"
      "\"interval_rows\":%zu,\"lines\":%zu,\"runs\":%d,\"setup_s\":%.1f,\"record_calls\":%lld,"
      "\"record_counters_per_s\":%.0f,\"interval_list_ms\":%.1f,\"interval_rate_ms\":%.1f,"
      "\"bill_ms_min\":%.1f,\"bill_ms_median\":%.1f,\"bill_cpu_ms_min\":%.1f,"
      "\"proto_ms_min\":%.1f,\"target_ms\":%.0f,\"total_micros\":%lld,\"rows_ok\":%s,"
      "\"adds_up\":%s,\"same_bill\":%s}\n",
      static_cast<long long>(attempts.size()), static_cast<long long>(jobs),
      static_cast<long long>(counters), nrows, nlines, opt.runs, fill_s,
      static_cast<long long>(calls), counters / fill_s, list_ms, rate_ms, best,
      median(total_ms), min(total_cpu_ms), min(proto_ms), kTargetMs,
      static_cast<long long>(total.micros()), rows_ok ? "true" : "false",
      adds_up ? "true" : "false", same_bill ? "true" : "false");
  return rows_ok && adds_up && same_bill ? 0 : 1;
}

}  // namespace
}  // namespace hac::bench

int main(int argc, char** argv) { return hac::bench::Main(argc, argv); }
