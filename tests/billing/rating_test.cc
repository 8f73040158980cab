// Hand-computed bills. Rates (micro-units per device-second) are StandardCatalog's:
//   gpu/emu-a100 allocated 1,000,000 active 500,000; gpu class 800,000 / 400,000;
//   npu class 300,000 / 200,000.
#include "billing/rating.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "tests/billing/billing_test_util.h"

namespace hac::billing {
namespace {

using testing::kDec;
using testing::kNov;
using testing::Micros;
using testing::RequireOk;
using testing::Row;
using testing::StandardCatalog;
using testing::Value;

const Month kNovember{2026, 11};

Bill Rate(const std::vector<UsageRow>& rows, const PriceCatalog& catalog,
          RatingOptions options = {}) {
  return Value(RateMonth("t-1", rows, catalog, kNovember, options));
}

TEST_CASE("Fractions of a second are rounded up once per attempt, device and meter") {
  const absl::Time t0 = kNov + absl::Hours(1);
  const std::vector<UsageRow> rows = {
      Row("j-1", "j-1.1", "d0", "gpu", "emu-a100", t0, 60'000, 30'000),
      Row("j-1", "j-1.1", "d0", "gpu", "emu-a100", t0 + absl::Minutes(1), 1'500, 250),
  };
  const Bill bill = Rate(rows, StandardCatalog());
  REQUIRE(bill.lines.size() == 1);
  const BillLine& l = bill.lines[0];
  CHECK(l.job_id == "j-1");
  CHECK(l.attempt_id.empty());
  CHECK(l.device_model == "emu-a100");
  // allocated: 60,000 + 1,500 = 61,500 ms -> 62 s x 1,000,000 = 62,000,000
  CHECK(l.allocated.used_ms == 61'500);
  CHECK(l.allocated.billed_seconds == 62);
  CHECK(l.allocated.rate == Micros(1'000'000));
  CHECK(l.allocated.amount == Micros(62'000'000));
  // active: 30,000 + 250 = 30,250 ms -> 31 s x 500,000 = 15,500,000
  CHECK(l.active.used_ms == 30'250);
  CHECK(l.active.billed_seconds == 31);
  CHECK(l.active.amount == Micros(15'500'000));
  // 62,000,000 + 15,500,000
  CHECK(l.amount == Micros(77'500'000));
  CHECK(bill.total == Micros(77'500'000));
  CHECK(bill.currency == "KRW");
  CHECK(bill.tenant_id == "t-1");
}

TEST_CASE("Each device of an attempt is rounded on its own and both meters are billed") {
  const absl::Time t0 = kNov + absl::Hours(2);
  const std::vector<UsageRow> rows = {
      Row("j-2", "j-2.1", "d0", "gpu", "emu-a100", t0, 10'001, 1),
      Row("j-2", "j-2.1", "d1", "gpu", "emu-a100", t0, 10'001, 9'999),
  };
  const Bill bill = Rate(rows, StandardCatalog());
  REQUIRE(bill.lines.size() == 1);
  const BillLine& l = bill.lines[0];
  // allocated: d0 10,001 ms -> 11 s, d1 10,001 ms -> 11 s: 22 s (not ceil(20.002) = 21)
  CHECK(l.allocated.used_ms == 20'002);
  CHECK(l.allocated.billed_seconds == 22);
  CHECK(l.allocated.amount == Micros(22'000'000));  // 22 x 1,000,000
  // active: d0 1 ms -> 1 s, d1 9,999 ms -> 10 s: 11 s x 500,000 = 5,500,000
  CHECK(l.active.used_ms == 10'000);
  CHECK(l.active.billed_seconds == 11);
  CHECK(l.active.amount == Micros(5'500'000));
  CHECK(bill.total == Micros(27'500'000));
}

// The standard catalog with emu-a100 going to 2.000000 / 1.000000 at `change`.
PriceCatalog CatalogWithA100ChangeAt(absl::Time change) {
  PriceCatalog catalog = StandardCatalog();
  RequireOk(catalog.Add({.device_class = "gpu",
                         .device_model = "emu-a100",
                         .allocated_rate = Micros(2'000'000),
                         .active_rate = Micros(1'000'000),
                         .effective_from = change}));
  return catalog;
}

TEST_CASE("A price change mid-attempt splits the charge exactly at the boundary") {
  const absl::Time change = kNov + absl::Minutes(10);
  const PriceCatalog catalog = CatalogWithA100ChangeAt(change);
  const std::vector<UsageRow> rows = {
      Row("j-3", "j-3.1", "d0", "gpu", "emu-a100", change - absl::Minutes(1), 60'000, 40'500),
      Row("j-3", "j-3.1", "d0", "gpu", "emu-a100", change, 30'700, 0),
  };
  const Bill bill = Rate(rows, catalog);
  REQUIRE(bill.lines.size() == 2);
  const BillLine& before = bill.lines[0];
  const BillLine& after = bill.lines[1];
  CHECK(before.price_from == testing::kOct);
  CHECK(after.price_from == change);
  // allocated: 90,700 ms in all -> 91 s. The earlier period is billed floor(60,000 / 1000) = 60 s
  // at 1,000,000 = 60,000,000; the last gets 91 - 60 = 31 s at 2,000,000 = 62,000,000.
  CHECK(before.allocated.used_ms == 60'000);
  CHECK(before.allocated.billed_seconds == 60);
  CHECK(before.allocated.amount == Micros(60'000'000));
  CHECK(after.allocated.used_ms == 30'700);
  CHECK(after.allocated.billed_seconds == 31);
  CHECK(after.allocated.rate == Micros(2'000'000));
  CHECK(after.allocated.amount == Micros(62'000'000));
  // active: 40,500 ms in all -> 41 s. Earlier period floor(40.5) = 40 s x 500,000 = 20,000,000;
  // the rounded-up 500 ms go to the last period: 41 - 40 = 1 s x 1,000,000 = 1,000,000.
  CHECK(before.active.billed_seconds == 40);
  CHECK(before.active.amount == Micros(20'000'000));
  CHECK(after.active.used_ms == 0);
  CHECK(after.active.billed_seconds == 1);
  CHECK(after.active.amount == Micros(1'000'000));
  CHECK(before.amount == Micros(80'000'000));
  CHECK(after.amount == Micros(63'000'000));
  CHECK(bill.total == Micros(143'000'000));
}

TEST_CASE("Summed rows rate exactly like their intervals; one over a price change is refused") {
  const absl::Time change = kNov + absl::Minutes(10);
  const PriceCatalog catalog = CatalogWithA100ChangeAt(change);
  // Five minutes before the change, two after, two devices, one of them idle.
  std::vector<UsageRow> intervals;
  for (int m = 5; m <= 11; ++m) {
    const absl::Time t = kNov + absl::Minutes(m);
    intervals.push_back(Row("j-7", "j-7.1", "d0", "gpu", "emu-a100", t, 60'000, 1'000 * m + 7));
    intervals.push_back(Row("j-7", "j-7.1", "d1", "gpu", "emu-a100", t, 59'999, 0));
  }
  std::vector<UsageRow> summed;
  for (const char* device : {"d0", "d1"}) {
    for (auto [from, to] : {std::pair{5, 10}, std::pair{10, 12}}) {
      UsageRow r = Row("j-7", "j-7.1", device, "gpu", "emu-a100", kNov + absl::Minutes(from), 0, 0);
      r.interval_length = absl::Minutes(to - from);
      for (const UsageRow& i : intervals) {
        const absl::Time t = i.interval_start;
        if (i.device_id == device && t >= r.interval_start &&
            t < r.interval_start + r.interval_length) {
          r.allocated_ms += i.allocated_ms;
          r.active_ms += i.active_ms;
        }
      }
      summed.push_back(r);
    }
  }
  const Bill by_interval = Rate(intervals, catalog);
  // A summed row's usage is rated as a whole: the same lines, the same total, to the micro-unit.
  const Bill by_sum = Rate(summed, catalog);
  CHECK(by_sum == by_interval);
  REQUIRE(by_sum.lines.size() == 2);
  // d0: 300 s before the change, 120 s after. d1: 419,993 ms round up to 420 s; the earlier
  // period gets floor(299,995 / 1000) = 299 s, the last one the other 121 s.
  CHECK(by_sum.lines[0].allocated.billed_seconds == 300 + 299);
  CHECK(by_sum.lines[1].allocated.billed_seconds == 120 + 121);
  // The streaming rater gives the same bill.
  UsageRater rater("t-1", catalog, kNov, kDec);
  for (const UsageRow& r : summed) RequireOk(rater.Add(r));
  absl::StatusOr<Bill> streamed = rater.Finish();
  REQUIRE(streamed.ok());
  CHECK(*streamed == by_interval);
  // One row over the change cannot be split exactly.
  UsageRow across = summed[0];
  across.interval_length = absl::Minutes(7);
  absl::StatusOr<Bill> refused = RateMonth("t-1", {across}, catalog, kNovember);
  CHECK(refused.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(refused.status().message()), Catch::Contains("spans the price change"));
  // The streaming rater wants its rows in order and keeps its first error.
  UsageRater strict("t-1", catalog, kNov, kDec);
  RequireOk(strict.Add(summed[1]));
  const absl::Status out_of_order = strict.Add(summed[0]);
  CHECK(out_of_order.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(out_of_order.message()), Catch::Contains("out of order"));
  CHECK(strict.Finish().status() == out_of_order);
}

TEST_CASE("A preempted attempt is billed only for what it used, rounded apart from its retry") {
  // 10-second intervals. Attempt 1 held the npu 95,250 ms (busy 50,000) until preempted;
  // attempt 2 held it 20,000 ms (busy 20,000).
  const absl::Duration ten = absl::Seconds(10);
  const absl::Time t0 = kNov + absl::Hours(3);
  std::vector<UsageRow> rows;
  for (int i = 0; i < 9; ++i) {
    rows.push_back(
        Row("j-4", "j-4.1", "n0", "npu", "sim-npu", t0 + i * ten, 10'000, i < 5 ? 10'000 : 0, ten));
  }
  rows.push_back(Row("j-4", "j-4.1", "n0", "npu", "sim-npu", t0 + 9 * ten, 5'250, 0, ten));
  rows.push_back(Row("j-4", "j-4.2", "n3", "npu", "sim-npu", t0 + 30 * ten, 10'000, 10'000, ten));
  rows.push_back(Row("j-4", "j-4.2", "n3", "npu", "sim-npu", t0 + 31 * ten, 10'000, 10'000, ten));

  SECTION("per job") {
    const Bill bill = Rate(rows, StandardCatalog());
    REQUIRE(bill.lines.size() == 1);
    const BillLine& l = bill.lines[0];
    CHECK(l.device_class == "npu");
    CHECK(l.device_model == "sim-npu");
    // allocated: attempt 1 95,250 ms -> 96 s, attempt 2 20,000 ms -> 20 s: 116 s x 300,000
    CHECK(l.allocated.used_ms == 115'250);
    CHECK(l.allocated.billed_seconds == 116);
    CHECK(l.allocated.amount == Micros(34'800'000));
    // active: 50 s + 20 s = 70 s x 200,000
    CHECK(l.active.billed_seconds == 70);
    CHECK(l.active.amount == Micros(14'000'000));
    CHECK(bill.total == Micros(48'800'000));
  }
  SECTION("per attempt") {
    const Bill bill = Rate(rows, StandardCatalog(), {.per_attempt_lines = true});
    REQUIRE(bill.lines.size() == 2);
    CHECK(bill.lines[0].attempt_id == "j-4.1");
    // 96 x 300,000 + 50 x 200,000 = 28,800,000 + 10,000,000
    CHECK(bill.lines[0].amount == Micros(38'800'000));
    CHECK(bill.lines[1].attempt_id == "j-4.2");
    // 20 x 300,000 + 20 x 200,000
    CHECK(bill.lines[1].amount == Micros(10'000'000));
    CHECK(bill.total == Micros(48'800'000));
  }
}

TEST_CASE("An attempt on a lost node is billed up to its last report") {
  // The node reported 2 min 12.345 s of allocation, then vanished: the store has rows only up to
  // that report, and the bill is exactly that usage (gpu class price, emu-h100 has none).
  const absl::Time t0 = kNov + absl::Hours(4);
  const std::vector<UsageRow> rows = {
      Row("j-5", "j-5.1", "d0", "gpu", "emu-h100", t0, 60'000, 60'000),
      Row("j-5", "j-5.1", "d0", "gpu", "emu-h100", t0 + absl::Minutes(1), 60'000, 1'000),
      Row("j-5", "j-5.1", "d0", "gpu", "emu-h100", t0 + absl::Minutes(2), 12'345, 0),
  };
  const Bill bill = Rate(rows, StandardCatalog());
  REQUIRE(bill.lines.size() == 1);
  // allocated: 132,345 ms -> 133 s x 800,000 = 106,400,000; active 61,000 ms -> 61 s x 400,000
  CHECK(bill.lines[0].allocated.billed_seconds == 133);
  CHECK(bill.lines[0].allocated.amount == Micros(106'400'000));
  CHECK(bill.lines[0].active.amount == Micros(24'400'000));
  CHECK(bill.total == Micros(130'800'000));
}

TEST_CASE("A catalog minimum applies per meter with usage and goes to the last rate period") {
  PriceCatalog catalog = StandardCatalog();
  const absl::Time change = kNov + absl::Minutes(30);
  RequireOk(catalog.Add({.device_class = "gpu",
                         .device_model = "emu-small",
                         .allocated_rate = Micros(10),
                         .active_rate = Micros(5),
                         .effective_from = testing::kOct,
                         .minimum_billable = absl::Seconds(60)}));
  RequireOk(catalog.Add({.device_class = "gpu",
                         .device_model = "emu-small",
                         .allocated_rate = Micros(20),
                         .active_rate = Micros(5),
                         .effective_from = change,
                         .minimum_billable = absl::Seconds(60)}));
  const std::vector<UsageRow> rows = {
      // 1,500 ms held, never busy: allocated max(2, 60) = 60 s; active has no usage: 0 s.
      Row("j-6", "j-6.1", "d0", "gpu", "emu-small", kNov, 1'500, 0),
      // 2,500 ms before the change, 500 ms after: 3 s < 60 s. Earlier period floor(2.5) = 2 s
      // at 10; the last gets 60 - 2 = 58 s at 20.
      Row("j-7", "j-7.1", "d0", "gpu", "emu-small", change - absl::Minutes(1), 2'500, 0),
      Row("j-7", "j-7.1", "d0", "gpu", "emu-small", change, 500, 0),
  };
  const Bill bill = Rate(rows, catalog);
  REQUIRE(bill.lines.size() == 3);
  CHECK(bill.lines[0].job_id == "j-6");
  CHECK(bill.lines[0].allocated.billed_seconds == 60);
  CHECK(bill.lines[0].allocated.amount == Micros(600));  // 60 x 10
  CHECK(bill.lines[0].active.billed_seconds == 0);
  CHECK(bill.lines[1].allocated.billed_seconds == 2);
  CHECK(bill.lines[1].allocated.amount == Micros(20));  // 2 x 10
  CHECK(bill.lines[2].allocated.billed_seconds == 58);
  CHECK(bill.lines[2].allocated.amount == Micros(1'160));  // 58 x 20
  CHECK(bill.total == Micros(1'780));                      // 600 + 20 + 1,160
}

TEST_CASE("Lines come per job and model, in job, class, model and price order") {
  const absl::Time t0 = kNov + absl::Hours(72);
  const std::vector<UsageRow> rows = {
      Row("j-9", "j-9.1", "d0", "npu", "sim-npu", t0, 1'000, 0),
      Row("j-10", "j-10.1", "d0", "gpu", "emu-h100", t0, 1'000, 0),
      Row("j-10", "j-10.1", "d1", "gpu", "emu-a100", t0, 1'000, 0),
      Row("j-10", "j-10.2", "d0", "gpu", "emu-a100", t0, 1'000, 0),
  };
  const Bill bill = Rate(rows, StandardCatalog());
  REQUIRE(bill.lines.size() == 3);
  CHECK(bill.lines[0].job_id == "j-10");
  CHECK(bill.lines[0].device_model == "emu-a100");
  CHECK(bill.lines[0].allocated.billed_seconds == 2);  // two attempts, 1 s each
  CHECK(bill.lines[1].job_id == "j-10");
  CHECK(bill.lines[1].device_model == "emu-h100");
  CHECK(bill.lines[2].job_id == "j-9");
  // 2 x 1,000,000 + 1 x 800,000 + 1 x 300,000
  CHECK(bill.total == Micros(3'100'000));
}

TEST_CASE("Row order does not change the bill, and rows outside the period are ignored") {
  std::vector<UsageRow> rows;
  for (int a = 0; a < 4; ++a) {
    for (int i = 0; i < 5; ++i) {
      rows.push_back(Row("j-" + std::to_string(a % 2), "a-" + std::to_string(a),
                         "d" + std::to_string(i % 2), "gpu", i % 2 ? "emu-a100" : "emu-h100",
                         kNov + absl::Minutes(10 * a + i), 1'000 * i + 7, 300 * i));
    }
  }
  // Usage of October and December is not November's.
  rows.push_back(Row("j-0", "a-0", "d0", "gpu", "emu-h100", kNov - absl::Minutes(1), 60'000, 0));
  rows.push_back(Row("j-0", "a-0", "d0", "gpu", "emu-h100", kDec, 60'000, 0));
  const Bill sorted_bill = Rate(rows, StandardCatalog());
  std::mt19937 rng(42);
  std::shuffle(rows.begin(), rows.end(), rng);
  const Bill shuffled_bill = Rate(rows, StandardCatalog());
  CHECK(shuffled_bill == sorted_bill);
  // a-k, device d1 (emu-a100): i = 1, 3 -> 1,007 + 3,007 = 4,014 ms -> 5 s each attempt
  // a-k, device d0 (emu-h100): i = 0, 2, 4 -> 7 + 2,007 + 4,007 = 6,021 ms -> 7 s each attempt
  // active d1: 300 + 900 = 1,200 -> 2 s; d0: 0 + 600 + 1,200 = 1,800 -> 2 s
  // per attempt: 5 x 1,000,000 + 2 x 500,000 + 7 x 800,000 + 2 x 400,000 = 12,400,000; 4 attempts
  CHECK(sorted_bill.total == Micros(49'600'000));
  CHECK(sorted_bill.lines.size() == 4);
}

TEST_CASE("Usage intervals are whole seconds dividing a minute, aligned to the epoch") {
  for (int64_t ok : {1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60}) {
    INFO(ok);
    CHECK(ValidateUsageInterval(absl::Seconds(ok)).ok());
  }
  for (absl::Duration bad : {absl::Seconds(7), absl::Seconds(120), absl::ZeroDuration(),
                             absl::Milliseconds(1500), absl::Seconds(-5)}) {
    CHECK(ValidateUsageInterval(bad).code() == absl::StatusCode::kInvalidArgument);
  }
  const absl::Time t = kNov + absl::Seconds(47) + absl::Milliseconds(250);
  CHECK(UsageIntervalStart(t, absl::Seconds(60)) == kNov);
  CHECK(UsageIntervalStart(t, absl::Seconds(15)) == kNov + absl::Seconds(45));
  CHECK(UsageIntervalStart(t, absl::Seconds(1)) == kNov + absl::Seconds(47));
  CHECK(UsageIntervalStart(kNov, absl::Seconds(60)) == kNov);
}

TEST_CASE("An empty period gives an empty bill with a zero total") {
  const Bill bill = Value(RateUsage("t-1", {}, StandardCatalog(), kNov, kNov + absl::Hours(1)));
  CHECK(bill.lines.empty());
  CHECK(bill.total == Micros(0));
  CHECK(bill.from == kNov);
  CHECK(bill.to == kNov + absl::Hours(1));
}

absl::Status RateError(const std::vector<UsageRow>& rows, const PriceCatalog& catalog) {
  return RateMonth("t-1", rows, catalog, kNovember).status();
}

TEST_CASE("Rating rejects rows that break the usage contract, naming the problem") {
  const PriceCatalog catalog = StandardCatalog();
  const absl::Time t0 = kNov + absl::Hours(6);
  const UsageRow good = Row("j-1", "j-1.1", "d0", "gpu", "emu-a100", t0, 1'000, 500);
  auto message = [&](const std::vector<UsageRow>& rows, absl::StatusCode code) {
    absl::Status s = RateError(rows, catalog);
    CHECK(s.code() == code);
    return std::string(s.message());
  };
  CHECK_THAT(message({good, good}, absl::StatusCode::kInvalidArgument),
             Catch::Contains("duplicate usage row"));
  UsageRow other = good;
  other.tenant_id = "t-2";
  CHECK_THAT(message({other}, absl::StatusCode::kInvalidArgument), Catch::Contains("tenant"));
  UsageRow fraction = good;
  fraction.interval_start += absl::Milliseconds(500);
  CHECK_THAT(message({fraction}, absl::StatusCode::kInvalidArgument),
             Catch::Contains("interval_start must be a whole second"));
  UsageRow too_much = good;
  too_much.allocated_ms = 60'001;
  CHECK_THAT(message({too_much}, absl::StatusCode::kInvalidArgument),
             Catch::Contains("allocated_ms 60001 must be between 0 and 60000"));
  UsageRow negative = good;
  negative.active_ms = -1;
  CHECK_THAT(message({negative}, absl::StatusCode::kInvalidArgument), Catch::Contains("active_ms"));
  UsageRow empty = good;
  empty.interval_length = absl::ZeroDuration();
  CHECK_THAT(message({empty}, absl::StatusCode::kInvalidArgument),
             Catch::Contains("between 1s and 744h"));
  UsageRow overlapping = good;
  overlapping.interval_start += absl::Seconds(30);
  CHECK_THAT(message({good, overlapping}, absl::StatusCode::kInvalidArgument),
             Catch::Contains("overlap"));
  UsageRow past_end = good;
  past_end.interval_start = kDec - absl::Minutes(1);
  past_end.interval_length = absl::Minutes(2);
  CHECK_THAT(message({past_end}, absl::StatusCode::kInvalidArgument),
             Catch::Contains("straddles the end of the bill period"));
  UsageRow remodelled = good;
  remodelled.interval_start += absl::Minutes(1);
  remodelled.device_model = "emu-h100";
  CHECK_THAT(message({good, remodelled}, absl::StatusCode::kInvalidArgument),
             Catch::Contains("keeps its model"));
  UsageRow unpriced = good;
  unpriced.device_class = "tpu";
  CHECK_THAT(message({unpriced}, absl::StatusCode::kNotFound), Catch::Contains("no price"));
  // The period itself must be whole minutes and non-empty.
  CHECK(RateUsage("t-1", {}, catalog, kNov + absl::Seconds(1), kDec).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(RateUsage("t-1", {}, catalog, kDec, kNov).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("A bill whose amounts overflow int64 is OUT_OF_RANGE, never wrapped") {
  PriceCatalog catalog;
  RequireOk(catalog.Add({.device_class = "gpu",
                         .device_model = "",
                         .allocated_rate = kMaxRatePerDeviceSecond,
                         .active_rate = Micros(0),
                         .effective_from = testing::kOct,
                         .minimum_billable = kMaxMinimumBillable}));
  // Each attempt uses 1 ms and is billed the 24 h minimum: 86,400 s x 1e12 = 8.64e16 micros.
  // 100 attempts = 8.64e18 fits in int64 (max 9.22e18); 107 attempts = 9.2448e18 does not.
  std::vector<UsageRow> rows;
  for (int i = 0; i < 107; ++i) {
    rows.push_back(
        Row("j", "a-" + std::to_string(1000 + i), "d", "gpu", "g", kNov + absl::Minutes(i), 1, 0));
  }
  absl::Status s = RateUsage("t-1", rows, catalog, kNov, kDec).status();
  CHECK(s.code() == absl::StatusCode::kOutOfRange);
  CHECK_THAT(std::string(s.message()), Catch::Contains("overflow"));
  rows.resize(100);
  CHECK(Value(RateUsage("t-1", rows, catalog, kNov, kDec)).total ==
        Micros(8'640'000'000'000'000'000));
}

}  // namespace
}  // namespace hac::billing
