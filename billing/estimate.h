// EstimateCost: what a job would cost at current prices if it ran for its whole max runtime
// (for `hacctl submit --dry-run` and for budget checks before admission).
//
// It is an upper bound under current prices: both meters are charged at 100% (every device held
// and busy for the whole max runtime), the runtime is rounded up to whole seconds and raised to
// the price's minimum, and when the request names only a device class the most expensive price
// in force for any model of that class (or the class-wide price) is used. A price change
// scheduled after `now` is not included.
#ifndef HAC_BILLING_ESTIMATE_H_
#define HAC_BILLING_ESTIMATE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "billing/money.h"
#include "billing/price_catalog.h"

namespace hac::billing {

// Largest device count an estimate accepts.
inline constexpr int64_t kMaxEstimateDevices = 65'536;

// What the job asks for. Plain value: owned by whoever holds it, not synchronized (share it
// read-only or copy it).
struct EstimateRequest {
  std::string device_class{};    // required
  std::string device_model{};    // empty: any model of the class
  int64_t device_count = 1;      // 1..kMaxEstimateDevices
  absl::Duration max_runtime{};  // > 0
};

// The estimate and how it was obtained. Plain value: owned by whoever holds it, not synchronized
// (share it read-only or copy it).
struct Estimate {
  // The price used: its model ("" for a class-wide price), effective_from and rates.
  std::string priced_model{};
  absl::Time price_from{};
  Money allocated_rate{};
  Money active_rate{};
  // Seconds billed per device and meter: max_runtime rounded up, at least the price's minimum.
  int64_t billed_seconds = 0;
  int64_t device_count = 0;
  // device_count x billed_seconds x (allocated_rate + active_rate).
  Money amount{};
};

// INVALID_ARGUMENT for a bad request (naming the field and limit), NOT_FOUND if no price is in
// force for the request at `now`, OUT_OF_RANGE if the amount overflows.
absl::StatusOr<Estimate> EstimateCost(const PriceCatalog& catalog, const EstimateRequest& request,
                                      absl::Time now);

}  // namespace hac::billing

#endif  // HAC_BILLING_ESTIMATE_H_
