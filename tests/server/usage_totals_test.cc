// The ledger's monthly totals (server/store/usage_totals.h) on a real SQLite file: bills read
// from the totals equal bills rated from the interval rows, whatever the reports looked like
// (gaps, replays, final reports, increases after them, price changes, a month boundary), a price
// added later inside a summed row is detected, and the migration to schema 4 rebuilds the totals.
#include "server/store/usage_totals.h"

#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "billing/rating.h"
#include "common/clock.h"
#include "server/billing_manager.h"
#include "server/store/store.h"
#include "tests/testing/temp_dir.h"

namespace hac::server::store {
namespace {

absl::Time At(const std::string& rfc3339) {
  absl::Time t;
  std::string err;
  REQUIRE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err));
  return t;
}

billing::Money Micros(int64_t m) { return billing::Money::FromMicros(m); }

// The month's bill both ways: from the summed rows (streamed) and from the interval rows.
struct TwoBills {
  absl::StatusOr<billing::Bill> summed;
  billing::Bill intervals;
  size_t summed_rows = 0;
  size_t interval_rows = 0;
};

TwoBills BothWays(Store& store, const TenantRecord& tenant, const billing::PriceCatalog& catalog,
                  billing::Month month) {
  TwoBills out;
  billing::UsageRater rater(tenant.name, catalog, month.Start(), month.End());
  absl::Status s = store.ForEachMonthUsage(tenant.id, tenant.name, month.Start(),
                                           [&](const billing::UsageRow& r) {
                                             ++out.summed_rows;
                                             return rater.Add(r);
                                           });
  out.summed = s.ok() ? rater.Finish() : absl::StatusOr<billing::Bill>(s);
  absl::StatusOr<std::vector<billing::UsageRow>> rows =
      store.ListUsageRows(tenant.id, tenant.name, month.Start(), month.End());
  REQUIRE(rows.ok());
  out.interval_rows = rows->size();
  absl::StatusOr<billing::Bill> bill = billing::RateMonth(tenant.name, *rows, catalog, month);
  INFO(bill.status().message());
  REQUIRE(bill.ok());
  out.intervals = *bill;
  return out;
}

TEST_CASE("The totals blob round-trips, keeps its order and refuses garbage") {
  std::vector<UsageTotal> totals;
  UsageTotal t;
  t.attempt_id = "j-3.1";
  t.device_class = "gpu";
  t.device_model = "emu-a100";
  t.start_s = 1'790'000'000;
  t.end_s = t.start_s + 180;
  t.allocated_ms = 179'001;
  t.active_ms = 5;
  for (uint32_t device : {9u, 10u, 2u}) {
    t.device_index = device;
    MergeUsageTotal(totals, t);
  }
  t.device_index = 9;
  t.epoch_s = 1'790'000'060;  // a later price epoch of device 9
  MergeUsageTotal(totals, t);
  t.epoch_s = 0;
  t.start_s -= 60;  // more of device 9's first epoch, an earlier interval
  t.allocated_ms = 1;
  MergeUsageTotal(totals, t);
  REQUIRE(totals.size() == 4);
  // Devices in the order of their ids as strings: "10" < "2" < "9".
  CHECK(totals[0].device_index == 10);
  CHECK(totals[1].device_index == 2);
  CHECK(totals[2].device_index == 9);
  CHECK(totals[2].epoch_s == 0);
  CHECK(totals[2].allocated_ms == 179'002);
  CHECK(totals[2].start_s == 1'790'000'000 - 60);
  CHECK(totals[2].end_s == 1'790'000'180);
  CHECK(totals[3].epoch_s == 1'790'000'060);

  const std::string blob = EncodeUsageTotals(totals);
  std::vector<UsageTotal> back(7);  // decoding reuses and trims what is there
  REQUIRE(DecodeUsageTotals(blob, back).ok());
  REQUIRE(back.size() == totals.size());
  for (size_t i = 0; i < back.size(); ++i) {
    CHECK(back[i].attempt_id == totals[i].attempt_id);
    CHECK(back[i].device_index == totals[i].device_index);
    CHECK(back[i].epoch_s == totals[i].epoch_s);
    CHECK(back[i].device_model == totals[i].device_model);
    CHECK(back[i].start_s == totals[i].start_s);
    CHECK(back[i].end_s == totals[i].end_s);
    CHECK(back[i].allocated_ms == totals[i].allocated_ms);
    CHECK(back[i].active_ms == totals[i].active_ms);
  }
  CHECK(DecodeUsageTotals(blob.substr(0, blob.size() - 1), back).code() ==
        absl::StatusCode::kInternal);
  CHECK(DecodeUsageTotals("", back).code() == absl::StatusCode::kInternal);
  CHECK(DecodeUsageTotals(std::string(1, '\x07') + blob.substr(1), back).code() ==
        absl::StatusCode::kInternal);
}

// Random attempts reporting over the end of November: gaps (usage spread back), replays, final
// reports, increases after them, lost attempts that never end, a price change of one model.
struct Simulation {
  testing::TempDir dir;
  common::FakeClock clock{At("2026-11-30T23:20:00Z")};
  std::unique_ptr<Store> store;
  billing::PriceCatalog catalog;
  TenantRecord tenant;
  TenantRecord other;
  absl::Duration interval;

  explicit Simulation(absl::Duration interval_length, uint64_t seed) : interval(interval_length) {
    store = *Store::Open(dir.File("hac.db"), clock);
    tenant = *store->CreateTenant("acme");
    other = *store->CreateTenant("globex");
    auto price = [&](std::string cls, std::string model, int64_t alloc, int64_t active,
                     absl::Time from) {
      billing::PriceEntry e{.device_class = std::move(cls),
                            .device_model = std::move(model),
                            .allocated_rate = Micros(alloc),
                            .active_rate = Micros(active),
                            .effective_from = from};
      REQUIRE(catalog.Add(e).ok());
      REQUIRE(store->AddPrice(e).ok());
    };
    price("gpu", "", 1'000'003, 500'001, At("2026-10-01T00:00:00Z"));
    price("npu", "", 700'001, 300'007, At("2026-10-01T00:00:00Z"));
    price("gpu", "emu-h100", 2'000'017, 900'001, At("2026-11-30T23:41:00Z"));

    struct Device {
      uint32_t index;
      std::string id, cls, model;
      int64_t alloc = 0, active = 0;
    };
    struct Attempt {
      const TenantRecord* tenant;
      std::string job, id;
      absl::Time start, end;
      bool lost = false, late = false;
      std::vector<Device> devices;
    };
    std::mt19937_64 rng(seed);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
    const char* kModels[3][2] = {{"gpu", "emu-a100"}, {"gpu", "emu-h100"}, {"npu", "sim-npu"}};
    std::vector<Attempt> attempts;
    const absl::Time t0 = clock.Now();
    for (int a = 0; a < 40; ++a) {
      Attempt at;
      at.tenant = a % 7 == 6 ? &other : &tenant;
      at.job = JobIdString(1 + a / 2);  // two attempts per job
      at.id = absl::StrCat(at.job, ".", 1 + a % 2);
      at.start = t0 + absl::Seconds(pick(50 * 60));
      at.end = at.start + absl::Seconds(1 + pick(40 * 60));
      at.lost = pick(8) == 0;
      at.late = pick(6) == 0;
      const int kind = pick(3);
      const int n = 1 + pick(3);
      for (int d = 0; d < n; ++d) {
        at.devices.push_back({static_cast<uint32_t>(d), absl::StrCat(at.id, "-dev-", d),
                              kModels[kind][0], kModels[kind][1]});
      }
      attempts.push_back(std::move(at));
    }
    // Every 1-25 s each attempt that runs reports with probability 3/4 (so some gaps), a tenth of
    // the reports are sent twice; an attempt that ends sends a final report unless lost, and
    // some final counters grow once more afterwards.
    std::vector<UsageCounterRecord> batch;
    auto counter = [&](const Attempt& at, const Device& d, bool final) {
      UsageCounterRecord& c = batch.emplace_back();
      c.attempt_id = at.id;
      c.device_index = d.index;
      c.allocated_ms = d.alloc;
      c.active_ms = d.active;
      c.final = final;
      c.tenant_id = at.tenant->id;
      c.job_id = at.job;
      c.device_id = d.id;
      c.device_class = d.cls;
      c.device_model = d.model;
      c.assign_time = at.start;
    };
    std::map<std::string, bool> ended;
    const absl::Time stop = t0 + absl::Minutes(100);
    while (clock.Now() < stop) {
      clock.Advance(absl::Milliseconds(1'000 + pick(24'000)));
      const absl::Time now = clock.Now();
      batch.clear();
      for (Attempt& at : attempts) {
        if (now < at.start || ended[at.id]) {
          if (ended[at.id] && at.late && !at.lost) {  // grows once after its final report
            at.late = false;
            for (Device& d : at.devices) {
              d.alloc += 1 + pick(5'000);
              counter(at, d, true);
            }
          }
          continue;
        }
        const bool ending = now >= at.end;
        if (!ending && pick(4) == 0) continue;
        if (ending && at.lost) {
          ended[at.id] = true;
          continue;
        }
        const absl::Time until = ending ? at.end : now;
        for (Device& d : at.devices) {
          const int64_t held = absl::ToInt64Milliseconds(until - at.start);
          d.active = std::min(held, d.active + pick(static_cast<int>(held - d.alloc) + 1));
          d.alloc = held;
          counter(at, d, ending);
          if (pick(10) == 0) counter(at, d, ending);  // a replay
        }
        if (ending) ended[at.id] = true;
      }
      if (batch.empty()) continue;
      absl::StatusOr<UsageRecordResult> r = store->RecordUsage(batch, now, interval);
      INFO(r.status().message());
      REQUIRE(r.ok());
      REQUIRE(r->backwards.empty());
    }
  }
};

TEST_CASE("A month's bill from the totals equals the bill from the interval rows") {
  for (int64_t seconds : {60, 10}) {
    for (uint64_t seed : {1u, 2u, 3u}) {
      INFO("interval " << seconds << " s, seed " << seed);
      Simulation sim(absl::Seconds(seconds), seed);
      for (const TenantRecord& t : {sim.tenant, sim.other}) {
        for (billing::Month month : {billing::Month{2026, 11}, billing::Month{2026, 12}}) {
          INFO(t.name << " " << month.ToString());
          const TwoBills b = BothWays(*sim.store, t, sim.catalog, month);
          INFO(b.summed.status().message());
          REQUIRE(b.summed.ok());
          CHECK(*b.summed == b.intervals);
          if (t.name == "acme") CHECK(b.intervals.total > billing::Money::Zero());
          // Ended attempts are read as one row per device and price, not one per interval.
          CHECK(b.summed_rows < b.interval_rows);
        }
      }
    }
  }
}

TEST_CASE("A price added inside a summed row is detected; the interval rows still rate it") {
  Simulation sim(absl::Seconds(60), 4);
  const billing::Month november{2026, 11};
  // A price for every gpu from 23:50, added after the usage it applies to was summed.
  billing::PriceEntry late{.device_class = "gpu",
                           .device_model = "",
                           .allocated_rate = Micros(3'000'001),
                           .active_rate = Micros(1),
                           .effective_from = At("2026-11-30T23:50:00Z")};
  REQUIRE(sim.catalog.Add(late).ok());
  REQUIRE(sim.store->AddPrice(late).ok());
  const TwoBills b = BothWays(*sim.store, sim.tenant, sim.catalog, november);
  CHECK(b.summed.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(b.summed.status().message()), Catch::Contains("spans the price change"));
  CHECK(b.intervals.total > billing::Money::Zero());
}

TEST_CASE("Migrating to schema 4 sums the intervals of every ended attempt") {
  Simulation sim(absl::Seconds(60), 5);
  const billing::Month november{2026, 11};
  const TwoBills before = BothWays(*sim.store, sim.tenant, sim.catalog, november);
  REQUIRE(before.summed.ok());
  // Back to a schema 3 database: no totals, no index.
  const std::string path = sim.dir.File("hac.db");
  sim.store.reset();
  {
    absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path);
    REQUIRE(db.ok());
    REQUIRE((*db)->Exec("DROP TABLE usage_totals; DROP INDEX usage_counters_open; "
                        "PRAGMA user_version = 3")
                .ok());
  }
  sim.store = *Store::Open(path, sim.clock);
  CHECK(*sim.store->SchemaVersion() == Store::kSchemaVersion);
  const TwoBills after = BothWays(*sim.store, sim.tenant, sim.catalog, november);
  REQUIRE(after.summed.ok());
  CHECK(*after.summed == before.intervals);
  CHECK(after.summed_rows == before.summed_rows);
}

TEST_CASE("RateStoredMonth rates a large month on two threads and falls back on a late price") {
  testing::TempDir dir;
  common::FakeClock clock{At("2026-11-20T00:00:00Z")};
  std::unique_ptr<Store> store = *Store::Open(dir.File("hac.db"), clock);
  const TenantRecord tenant = *store->CreateTenant("acme");
  billing::PriceCatalog catalog;
  auto price = [&](const std::string& model, int64_t alloc, absl::Time from) {
    billing::PriceEntry e{.device_class = "gpu",
                          .device_model = model,
                          .allocated_rate = Micros(alloc),
                          .active_rate = Micros(alloc / 3),
                          .effective_from = from};
    REQUIRE(catalog.Add(e).ok());
    REQUIRE(store->AddPrice(e).ok());
  };
  price("", 1'000'003, At("2026-10-01T00:00:00Z"));
  // 5,000 attempts of 1-3 minutes, most ended: many batches of summed rows, and open intervals.
  std::mt19937_64 rng(11);
  std::vector<UsageCounterRecord> batch;
  for (int a = 0; a < 5'000; ++a) {
    UsageCounterRecord& c = batch.emplace_back();
    c.job_id = JobIdString(1 + a);
    c.attempt_id = c.job_id + ".1";
    c.tenant_id = tenant.id;
    c.device_id = absl::StrCat("dev-", a % 7);
    c.device_class = "gpu";
    c.device_model = a % 3 == 0 ? "emu-h100" : "emu-a100";
    c.assign_time = clock.Now() - absl::Minutes(1 + static_cast<int64_t>(rng() % 3));
    c.allocated_ms = absl::ToInt64Milliseconds(clock.Now() - c.assign_time) -
                     static_cast<int64_t>(rng() % 1000);
    c.active_ms = c.allocated_ms / 2;
    c.final = a % 10 != 0;
  }
  REQUIRE(store->RecordUsage(batch, clock.Now(), absl::Seconds(60)).ok());
  const billing::Month november{2026, 11};
  auto by_interval = [&] {
    absl::StatusOr<std::vector<billing::UsageRow>> rows =
        store->ListUsageRows(tenant.id, tenant.name, november.Start(), november.End());
    REQUIRE(rows.ok());
    absl::StatusOr<billing::Bill> bill = billing::RateMonth(tenant.name, *rows, catalog, november);
    REQUIRE(bill.ok());
    return *bill;
  };
  absl::StatusOr<billing::Bill> stored =
      RateStoredMonth(*store, tenant.id, tenant.name, catalog, november);
  REQUIRE(stored.ok());
  CHECK(stored->lines.size() == 5'000);
  CHECK(*stored == by_interval());
  // A price added inside the summed rows: the month is rated from its intervals, same result.
  price("emu-a100", 2'000'003, clock.Now() - absl::Minutes(1));
  stored = RateStoredMonth(*store, tenant.id, tenant.name, catalog, november);
  REQUIRE(stored.ok());
  CHECK(*stored == by_interval());
  CHECK(stored->lines.size() > 5'000);  // attempts split at the new price
}

}  // namespace
}  // namespace hac::server::store
