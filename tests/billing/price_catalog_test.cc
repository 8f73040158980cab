#include "billing/price_catalog.h"

#include <catch2/catch.hpp>
#include <string>

#include "tests/billing/billing_test_util.h"

namespace hac::billing {
namespace {

using testing::kNov;
using testing::kOct;
using testing::Micros;
using testing::RequireOk;
using testing::StandardCatalog;
using testing::Value;

PriceEntry Gpu(std::string model, int64_t allocated, int64_t active, absl::Time from) {
  return PriceEntry{.device_class = "gpu",
                    .device_model = std::move(model),
                    .allocated_rate = Micros(allocated),
                    .active_rate = Micros(active),
                    .effective_from = from};
}

std::string AddError(PriceCatalog& c, const PriceEntry& e) {
  absl::Status s = c.Add(e);
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  return std::string(s.message());
}

TEST_CASE("PriceCatalog prefers a model's own price over its class's price") {
  PriceCatalog c = StandardCatalog();
  const absl::Time t = kNov + absl::Hours(5);
  PricePeriod a100 = Value(c.Lookup("gpu", "emu-a100", t));
  CHECK(a100.entry->allocated_rate == Micros(1'000'000));
  CHECK(a100.entry->device_model == "emu-a100");
  PricePeriod h100 = Value(c.Lookup("gpu", "emu-h100", t));
  CHECK(h100.entry->allocated_rate == Micros(800'000));
  CHECK(h100.entry->device_model.empty());
  // A newer class price does not override an older model price.
  RequireOk(c.Add(Gpu("", 5, 5, kNov)));
  CHECK(Value(c.Lookup("gpu", "emu-a100", t)).entry->allocated_rate == Micros(1'000'000));
  CHECK(Value(c.Lookup("gpu", "emu-h100", t)).entry->allocated_rate == Micros(5));
}

TEST_CASE("PriceCatalog returns the version in force and how long it stays in force") {
  PriceCatalog c;
  RequireOk(c.Add(Gpu("", 100, 10, kOct)));
  RequireOk(c.Add(Gpu("m", 300, 30, kNov + absl::Hours(2))));  // added out of time order
  RequireOk(c.Add(Gpu("m", 200, 20, kNov)));
  // Before the model has a price, the class price applies until the model's first price.
  PricePeriod p = Value(c.Lookup("gpu", "m", kOct + absl::Hours(1)));
  CHECK(p.entry->allocated_rate == Micros(100));
  CHECK(p.from == kOct);
  CHECK(p.until == kNov);
  p = Value(c.Lookup("gpu", "m", kNov + absl::Minutes(119)));
  CHECK(p.entry->allocated_rate == Micros(200));
  CHECK(p.until == kNov + absl::Hours(2));
  p = Value(c.Lookup("gpu", "m", kNov + absl::Hours(2)));
  CHECK(p.entry->allocated_rate == Micros(300));
  CHECK(p.until == absl::InfiniteFuture());
  CHECK(c.entries().size() == 3);
}

TEST_CASE("PriceCatalog lookups without a price in force are NOT_FOUND") {
  PriceCatalog c = StandardCatalog();
  CHECK(c.Lookup("gpu", "emu-a100", kOct - absl::Seconds(1)).status().code() ==
        absl::StatusCode::kNotFound);
  absl::Status s = c.Lookup("tpu", "x", kNov).status();
  CHECK(s.code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(s.message()), Catch::Contains("no price for tpu/x"));
}

TEST_CASE("PriceCatalog rejects invalid entries naming the field and the limit") {
  PriceCatalog c;
  CHECK_THAT(AddError(c, Gpu("m", -1, 0, kNov)),
             Catch::Contains("allocated_rate") && Catch::Contains("negative"));
  CHECK_THAT(AddError(c, Gpu("m", 0, -1, kNov)), Catch::Contains("active_rate"));
  CHECK_THAT(AddError(c, Gpu("m", kMaxRatePerDeviceSecond.micros() + 1, 0, kNov)),
             Catch::Contains("allocated_rate") && Catch::Contains("1,000,000.000000"));
  CHECK_THAT(AddError(c, Gpu("m", 1, 1, kNov + absl::Seconds(30))),
             Catch::Contains("effective_from") && Catch::Contains("whole UTC minute"));
  CHECK_THAT(AddError(c, Gpu("m", 1, 1, kNov + absl::Minutes(10) + absl::Milliseconds(5))),
             Catch::Contains("effective_from"));
  CHECK_THAT(AddError(c, Gpu("m", 1, 1, absl::InfiniteFuture())), Catch::Contains("finite"));
  CHECK_THAT(AddError(c, PriceEntry{.device_class = "", .effective_from = kNov}),
             Catch::Contains("device_class must not be empty"));
  CHECK_THAT(AddError(c, Gpu("bad model", 1, 1, kNov)), Catch::Contains("device_model"));
  CHECK_THAT(AddError(c, Gpu(std::string(65, 'm'), 1, 1, kNov)), Catch::Contains("limit is 64"));
  PriceEntry min = Gpu("m", 1, 1, kNov);
  min.minimum_billable = absl::Milliseconds(1500);
  CHECK_THAT(AddError(c, min), Catch::Contains("minimum_billable") && Catch::Contains("whole"));
  min.minimum_billable = absl::Hours(25);
  CHECK_THAT(AddError(c, min), Catch::Contains("minimum_billable") && Catch::Contains("24h"));
  CHECK(c.entries().empty());
  // The limits themselves are accepted.
  PriceEntry ok = Gpu("m", kMaxRatePerDeviceSecond.micros(), 0, kNov);
  ok.minimum_billable = kMaxMinimumBillable;
  RequireOk(c.Add(ok));
  CHECK(c.entries().size() == 1);
}

TEST_CASE("PriceCatalog never edits a price: a second entry at the same time is rejected") {
  PriceCatalog c;
  RequireOk(c.Add(Gpu("m", 1, 1, kNov)));
  CHECK_THAT(AddError(c, Gpu("m", 2, 2, kNov)), Catch::Contains("duplicate price: gpu/m"));
  RequireOk(c.Add(Gpu("", 2, 2, kNov)));  // the class scope is a different scope
  CHECK(Value(c.Lookup("gpu", "m", kNov)).entry->allocated_rate == Micros(1));
  CHECK(c.entries().size() == 2);
}

TEST_CASE("A copied PriceCatalog answers from its own entries") {
  PriceCatalog original = StandardCatalog();
  PriceCatalog copy = original;
  RequireOk(original.Add(Gpu("emu-a100", 7, 7, kNov)));
  PricePeriod p = Value(copy.Lookup("gpu", "emu-a100", kNov + absl::Hours(1)));
  CHECK(p.entry->allocated_rate == Micros(1'000'000));
  CHECK(p.entry == &copy.entries()[0]);
  CHECK(Value(original.Lookup("gpu", "emu-a100", kNov)).entry->allocated_rate == Micros(7));
}

TEST_CASE("PriceCatalog can use another currency but only a well-formed one") {
  CHECK(Value(PriceCatalog::Create("USD")).currency() == "USD");
  CHECK(PriceCatalog().currency() == "KRW");
  CHECK(PriceCatalog::Create("usd").status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hac::billing
