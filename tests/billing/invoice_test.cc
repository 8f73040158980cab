#include "billing/invoice.h"

#include <catch2/catch.hpp>
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
const Month kDecember{2026, 12};

// November: j-1 held an emu-a100 for 30,000 ms (busy 0): 30 s x 1,000,000 = 30,000,000.
// December: j-2 held an npu for 10,000 ms: 10 s x 300,000 = 3,000,000.
std::vector<UsageRow> KnownAtClose() {
  return {Row("j-1", "j-1.1", "d0", "gpu", "emu-a100", kNov + absl::Hours(10), 30'000, 0),
          Row("j-2", "j-2.1", "n0", "npu", "sim-npu", kDec + absl::Hours(1), 10'000, 0)};
}

TEST_CASE("A month cannot be closed before it ends") {
  absl::Status s =
      CloseInvoice("t-1", kNovember, KnownAtClose(), StandardCatalog(), {}, kDec - absl::Seconds(1))
          .status();
  CHECK(s.code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(s.message()), Catch::Contains("cannot close 2026-11"));
}

TEST_CASE("A closed invoice never changes when late usage or new prices arrive") {
  std::vector<UsageRow> rows = KnownAtClose();
  PriceCatalog catalog = StandardCatalog();
  const Invoice nov =
      Value(CloseInvoice("t-1", kNovember, rows, catalog, {}, kDec + absl::Hours(1)));
  const Invoice frozen_copy = nov;
  CHECK(nov.total() == Micros(30'000'000));
  CHECK(nov.month() == kNovember);
  CHECK(nov.closed_at() == kDec + absl::Hours(1));
  CHECK(nov.bill().from == kNov);
  CHECK(nov.bill().to == kDec);
  REQUIRE(nov.bill().lines.size() == 1);

  // Late November usage and a (retroactive) price change arrive after the close.
  rows.push_back(Row("j-1", "j-1.1", "d0", "gpu", "emu-a100",
                     kNov + absl::Hours(10) + absl::Minutes(1), 10'400, 0));
  RequireOk(catalog.Add({.device_class = "gpu",
                         .device_model = "emu-a100",
                         .allocated_rate = Micros(9'000'000),
                         .active_rate = Micros(0),
                         .effective_from = kNov + absl::Hours(10) + absl::Minutes(1)}));
  const Bill nov_now = Value(RateMonth("t-1", rows, catalog, kNovember));
  CHECK(nov_now.total != nov.total());
  // The stored invoice is a value with no mutators: it still says what it said at close.
  CHECK(nov == frozen_copy);
  CHECK(nov.total() == Micros(30'000'000));
  CHECK(nov.bill().lines[0].allocated.billed_seconds == 30);
}

TEST_CASE("Late usage of a closed month becomes an adjustment line on the next month's invoice") {
  std::vector<UsageRow> rows = KnownAtClose();
  const PriceCatalog catalog = StandardCatalog();
  const Invoice nov =
      Value(CloseInvoice("t-1", kNovember, rows, catalog, {}, kDec + absl::Minutes(5)));
  REQUIRE(nov.total() == Micros(30'000'000));

  // 10,400 ms of November arrive late: 30,000 + 10,400 = 40,400 ms -> 41 s, i.e. 11 s more
  // than invoiced: 11 x 1,000,000 = 11,000,000.
  rows.push_back(Row("j-1", "j-1.1", "d0", "gpu", "emu-a100",
                     kNov + absl::Hours(10) + absl::Minutes(1), 10'400, 0));
  const Bill nov_now = Value(RateMonth("t-1", rows, catalog, kNovember));
  const std::vector<BillLine> adj = Value(AdjustmentLines(nov, nov_now, {}));
  REQUIRE(adj.size() == 1);
  CHECK(adj[0].kind == LineKind::kAdjustment);
  CHECK(adj[0].adjusts == kNovember);
  CHECK(adj[0].job_id == "j-1");
  CHECK(adj[0].allocated.used_ms == 10'400);
  CHECK(adj[0].allocated.billed_seconds == 11);
  CHECK(adj[0].allocated.rate == Micros(1'000'000));
  CHECK(adj[0].allocated.amount == Micros(11'000'000));
  CHECK(adj[0].amount == Micros(11'000'000));

  // December's invoice: its own usage (3,000,000) plus the adjustment (11,000,000).
  const Invoice dec =
      Value(CloseInvoice("t-1", kDecember, rows, catalog, adj, Month{2027, 1}.Start()));
  REQUIRE(dec.bill().lines.size() == 2);
  CHECK(dec.bill().lines[0].kind == LineKind::kUsage);
  CHECK(dec.bill().lines[0].job_id == "j-2");
  CHECK(dec.bill().lines[1] == adj[0]);
  CHECK(dec.total() == Micros(14'000'000));
  // November's invoice is untouched, and invoiced + adjusted = November's rating now.
  CHECK(nov.total() == Micros(30'000'000));
  CHECK(nov.total().micros() + adj[0].amount.micros() == nov_now.total.micros());

  // Nothing new: no adjustment. More late usage after December closed: only the new part.
  CHECK(Value(AdjustmentLines(nov, nov_now, adj)).empty());
  rows.push_back(Row("j-1", "j-1.1", "d0", "gpu", "emu-a100",
                     kNov + absl::Hours(10) + absl::Minutes(2), 600, 0));
  // 41,000 ms -> 41 s: the same seconds, only 600 ms more measured, nothing more to pay.
  const Bill nov_later = Value(RateMonth("t-1", rows, catalog, kNovember));
  const std::vector<BillLine> adj2 = Value(AdjustmentLines(nov, nov_later, adj));
  REQUIRE(adj2.size() == 1);
  CHECK(adj2[0].allocated.used_ms == 600);
  CHECK(adj2[0].allocated.billed_seconds == 0);
  CHECK(adj2[0].amount == Micros(0));
}

TEST_CASE("Usage that disappeared from a closed month is reversed by a negative adjustment") {
  const PriceCatalog catalog = StandardCatalog();
  const Invoice nov = Value(CloseInvoice("t-1", kNovember, KnownAtClose(), catalog, {}, kDec));
  const Bill empty_now = Value(RateMonth("t-1", {}, catalog, kNovember));
  const std::vector<BillLine> adj = Value(AdjustmentLines(nov, empty_now, {}));
  REQUIRE(adj.size() == 1);
  CHECK(adj[0].allocated.used_ms == -30'000);
  CHECK(adj[0].allocated.billed_seconds == -30);
  CHECK(adj[0].amount == Micros(-30'000'000));
}

TEST_CASE("Adjustments are checked against the invoice they correct") {
  const PriceCatalog catalog = StandardCatalog();
  const Invoice nov = Value(CloseInvoice("t-1", kNovember, KnownAtClose(), catalog, {}, kDec));
  const Bill dec_bill = Value(RateMonth("t-1", KnownAtClose(), catalog, kDecember));
  CHECK(AdjustmentLines(nov, dec_bill, {}).status().code() == absl::StatusCode::kInvalidArgument);
  // A usage line is not an adjustment; an adjustment of December cannot go on December.
  CHECK(CloseInvoice("t-1", kDecember, {}, catalog, nov.bill().lines, Month{2027, 1}.Start())
            .status()
            .code() == absl::StatusCode::kInvalidArgument);
  BillLine self = nov.bill().lines[0];
  self.kind = LineKind::kAdjustment;
  self.adjusts = kDecember;
  CHECK(
      CloseInvoice("t-1", kDecember, {}, catalog, {self}, Month{2027, 1}.Start()).status().code() ==
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hac::billing
