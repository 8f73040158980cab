#include "bench/billing/bench_catalog.h"

#include <utility>

#include "billing/money.h"
#include "common/status_macros.h"

namespace hac::bench {

absl::Time PriceChange(billing::Month month) { return month.Start() + absl::Hours(24 * 14); }

absl::StatusOr<billing::PriceCatalog> BenchCatalog(billing::Month month) {
  using billing::Money;
  billing::PriceCatalog catalog;
  const absl::Time before = month.Previous().Start();
  RETURN_IF_ERROR(catalog.Add({.device_class = "gpu",
                               .device_model = "emu-a100",
                               .allocated_rate = Money::FromMicros(1'000'000),
                               .active_rate = Money::FromMicros(500'000),
                               .effective_from = before}));
  RETURN_IF_ERROR(catalog.Add({.device_class = "gpu",
                               .device_model = "emu-a100",
                               .allocated_rate = Money::FromMicros(1'200'000),
                               .active_rate = Money::FromMicros(600'000),
                               .effective_from = PriceChange(month)}));
  RETURN_IF_ERROR(catalog.Add({.device_class = "gpu",
                               .allocated_rate = Money::FromMicros(800'000),
                               .active_rate = Money::FromMicros(400'000),
                               .effective_from = before}));
  RETURN_IF_ERROR(catalog.Add({.device_class = "npu",
                               .allocated_rate = Money::FromMicros(300'000),
                               .active_rate = Money::FromMicros(200'000),
                               .effective_from = before,
                               .minimum_billable = absl::Seconds(60)}));
  return catalog;
}

}  // namespace hac::bench
