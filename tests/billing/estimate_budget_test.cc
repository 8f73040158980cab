#include <catch2/catch.hpp>
#include <string>

#include "billing/budget.h"
#include "billing/estimate.h"
#include "tests/billing/billing_test_util.h"

namespace hac::billing {
namespace {

using testing::kNov;
using testing::Micros;
using testing::RequireOk;
using testing::StandardCatalog;
using testing::Value;

TEST_CASE("EstimateCost charges both meters for the whole max runtime on every device") {
  const Estimate e =
      Value(EstimateCost(StandardCatalog(),
                         {.device_class = "gpu",
                          .device_model = "emu-a100",
                          .device_count = 2,
                          .max_runtime = absl::Minutes(10) + absl::Milliseconds(500)},
                         kNov));
  // 600.5 s -> 601 s; (1,000,000 + 500,000) x 601 x 2 devices = 1,803,000,000
  CHECK(e.billed_seconds == 601);
  CHECK(e.device_count == 2);
  CHECK(e.priced_model == "emu-a100");
  CHECK(e.amount == Micros(1'803'000'000));
}

TEST_CASE("EstimateCost for a whole device class uses its most expensive price") {
  PriceCatalog catalog = StandardCatalog();
  RequireOk(catalog.Add({.device_class = "gpu",
                         .device_model = "emu-cheap",
                         .allocated_rate = Micros(1),
                         .active_rate = Micros(1),
                         .effective_from = testing::kOct,
                         .minimum_billable = absl::Seconds(60)}));
  const Estimate any = Value(EstimateCost(
      catalog, {.device_class = "gpu", .device_count = 1, .max_runtime = absl::Seconds(10)}, kNov));
  // emu-a100 (1,500,000/s) beats the class price (1,200,000/s) and emu-cheap: 10 x 1,500,000
  CHECK(any.priced_model == "emu-a100");
  CHECK(any.amount == Micros(15'000'000));
  // A model without its own price gets the class price; the minimum applies to a short runtime.
  CHECK(Value(EstimateCost(catalog,
                           {.device_class = "gpu",
                            .device_model = "emu-h100",
                            .max_runtime = absl::Seconds(10)},
                           kNov))
            .amount == Micros(12'000'000));
  const Estimate cheap = Value(EstimateCost(
      catalog,
      {.device_class = "gpu", .device_model = "emu-cheap", .max_runtime = absl::Seconds(10)},
      kNov));
  CHECK(cheap.billed_seconds == 60);
  CHECK(cheap.amount == Micros(120));  // 60 x (1 + 1)
}

TEST_CASE("EstimateCost rejects requests it cannot price") {
  const PriceCatalog catalog = StandardCatalog();
  CHECK(EstimateCost(catalog, {.device_class = "tpu", .max_runtime = absl::Hours(1)}, kNov)
            .status()
            .code() == absl::StatusCode::kNotFound);
  absl::Status no_runtime = EstimateCost(catalog, {.device_class = "gpu"}, kNov).status();
  CHECK(no_runtime.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(no_runtime.message()), Catch::Contains("max_runtime"));
  absl::Status too_many =
      EstimateCost(catalog,
                   {.device_class = "gpu", .device_count = 70'000, .max_runtime = absl::Hours(1)},
                   kNov)
          .status();
  CHECK_THAT(std::string(too_many.message()), Catch::Contains("between 1 and 65536"));
}

TEST_CASE("A budget allows submissions until spending reaches the limit") {
  const Month nov{2026, 11};
  const Budget budget{.monthly_limit = Micros(100'000'000), .hard_stop = false};
  const BudgetDecision below = Value(CheckBudget(budget, Micros(99'999'999), nov));
  CHECK(below.allow_submissions);
  CHECK_FALSE(below.cancel_running);
  CHECK(below.message == "spent 99.999999 of 100.000000 KRW in 2026-11");
  const BudgetDecision at = Value(CheckBudget(budget, Micros(100'000'000), nov));
  CHECK_FALSE(at.allow_submissions);
  CHECK_FALSE(at.cancel_running);
  CHECK(at.message == "budget exhausted: spent 100.000000 of 100.000000 KRW in 2026-11");
}

TEST_CASE("A hard-stop budget also cancels running attempts once exhausted") {
  const Month nov{2026, 11};
  const Budget budget{.monthly_limit = Micros(1'000'000'000), .hard_stop = true};
  const BudgetDecision over = Value(CheckBudget(budget, Micros(1'200'500'000), nov));
  CHECK_FALSE(over.allow_submissions);
  CHECK(over.cancel_running);
  CHECK(over.message ==
        "budget exhausted: spent 1,200.500000 of 1,000.000000 KRW in 2026-11; running attempts "
        "are cancelled (hard stop)");
  CHECK(Value(CheckBudget(budget, Micros(0), nov)).allow_submissions);
  CHECK_FALSE(Value(CheckBudget(budget, Micros(0), nov)).cancel_running);
  CHECK(CheckBudget({.monthly_limit = Micros(-1)}, Micros(0), nov).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hac::billing
