#include "billing/estimate.h"

#include <algorithm>
#include <string>

#include "absl/container/btree_set.h"
#include "absl/strings/str_cat.h"

namespace hac::billing {

absl::StatusOr<Estimate> EstimateCost(const PriceCatalog& catalog, const EstimateRequest& request,
                                      absl::Time now) {
  if (request.device_class.empty()) {
    return absl::InvalidArgumentError("device_class must not be empty");
  }
  if (request.device_count < 1 || request.device_count > kMaxEstimateDevices) {
    return absl::InvalidArgumentError(absl::StrCat("device_count ", request.device_count,
                                                   " must be between 1 and ", kMaxEstimateDevices));
  }
  if (request.max_runtime <= absl::ZeroDuration() ||
      request.max_runtime == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_runtime ", absl::FormatDuration(request.max_runtime),
                     " must be positive and finite to estimate a cost"));
  }
  // Candidate prices: the named model, or every model of the class the catalog knows plus the
  // class-wide price.
  absl::btree_set<std::string> models;
  if (!request.device_model.empty()) {
    models.insert(request.device_model);
  } else {
    models.insert("");
    for (const PriceEntry& e : catalog.entries()) {
      if (e.device_class == request.device_class) models.insert(e.device_model);
    }
  }
  const PriceEntry* best = nullptr;
  Money best_rate;
  for (const std::string& model : models) {
    absl::StatusOr<PricePeriod> p = catalog.Lookup(request.device_class, model, now);
    if (absl::IsNotFound(p.status())) continue;
    if (!p.ok()) return p.status();
    // Both rates are at most kMaxRatePerDeviceSecond, so their sum cannot overflow.
    const Money rate =
        Money::FromMicros(p->entry->allocated_rate.micros() + p->entry->active_rate.micros());
    if (best == nullptr || rate > best_rate) {
      best = p->entry;
      best_rate = rate;
    }
  }
  if (best == nullptr) {
    return absl::NotFoundError(absl::StrCat("no price for ", request.device_class,
                                            request.device_model.empty()
                                                ? std::string(" (any model)")
                                                : absl::StrCat("/", request.device_model),
                                            " at ", absl::FormatTime(now, absl::UTCTimeZone())));
  }
  Estimate e;
  e.priced_model = best->device_model;
  e.price_from = best->effective_from;
  e.allocated_rate = best->allocated_rate;
  e.active_rate = best->active_rate;
  e.device_count = request.device_count;
  e.billed_seconds =
      std::max(absl::ToInt64Seconds(absl::Ceil(request.max_runtime, absl::Seconds(1))),
               absl::ToInt64Seconds(best->minimum_billable));
  absl::StatusOr<Money> per_device = CheckedMul(best_rate, e.billed_seconds);
  if (!per_device.ok()) return per_device.status();
  absl::StatusOr<Money> amount = CheckedMul(*per_device, e.device_count);
  if (!amount.ok()) return amount.status();
  e.amount = *amount;
  return e;
}

}  // namespace hac::billing
