// The price catalog both billing benchmarks rate with (hac-bench-bill and hac-bench-bill-store),
// so their figures are comparable: one model with its own price that changes on the 15th of the
// benchmark month at 00:00 UTC, two models on class prices, and one class with a 60 s minimum.
//
//   gpu/emu-a100  1.000000 / 0.500000 per device-second (allocated / active), from the month
//                 before; 1.200000 / 0.600000 from the 15th
//   gpu/*         0.800000 / 0.400000 (emu-h100 uses it)
//   npu/*         0.300000 / 0.200000, minimum 60 s (sim-npu uses it)
#ifndef HAC_BENCH_BILLING_BENCH_CATALOG_H_
#define HAC_BENCH_BILLING_BENCH_CATALOG_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "billing/month.h"
#include "billing/price_catalog.h"

namespace hac::bench {

// When gpu/emu-a100's price changes inside `month`: the 15th at 00:00 UTC.
absl::Time PriceChange(billing::Month month);

// The catalog above, for `month`.
absl::StatusOr<billing::PriceCatalog> BenchCatalog(billing::Month month);

}  // namespace hac::bench

#endif  // HAC_BENCH_BILLING_BENCH_CATALOG_H_
