// Shared fixtures for the billing tests: a standard catalog and compact row builders.
#ifndef HAC_TESTS_BILLING_BILLING_TEST_UTIL_H_
#define HAC_TESTS_BILLING_BILLING_TEST_UTIL_H_

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "billing/money.h"
#include "billing/month.h"
#include "billing/price_catalog.h"
#include "billing/usage.h"

namespace hac::billing::testing {

inline const absl::Time kOct = Month{2026, 10}.Start();
inline const absl::Time kNov = Month{2026, 11}.Start();
inline const absl::Time kDec = Month{2026, 12}.Start();

inline Money Micros(int64_t micros) { return Money::FromMicros(micros); }

// The value of a StatusOr that the test requires to be OK (the status is printed if not).
template <typename T>
T Value(absl::StatusOr<T> s) {
  INFO(s.status().ToString());
  REQUIRE(s.ok());
  return *std::move(s);
}

inline void RequireOk(const absl::Status& s) {
  INFO(s.ToString());
  REQUIRE(s.ok());
}

// Prices in force since 2026-10-01 (micro-units per device-second):
//   gpu/emu-a100      allocated 1,000,000  active 500,000
//   gpu (class-wide)  allocated   800,000  active 400,000
//   npu (class-wide)  allocated   300,000  active 200,000
inline PriceCatalog StandardCatalog() {
  PriceCatalog c;
  RequireOk(c.Add({.device_class = "gpu",
                   .device_model = "emu-a100",
                   .allocated_rate = Micros(1'000'000),
                   .active_rate = Micros(500'000),
                   .effective_from = kOct}));
  RequireOk(c.Add({.device_class = "gpu",
                   .device_model = "",
                   .allocated_rate = Micros(800'000),
                   .active_rate = Micros(400'000),
                   .effective_from = kOct}));
  RequireOk(c.Add({.device_class = "npu",
                   .device_model = "",
                   .allocated_rate = Micros(300'000),
                   .active_rate = Micros(200'000),
                   .effective_from = kOct}));
  return c;
}

// One usage row of tenant "t-1".
inline UsageRow Row(std::string job, std::string attempt, std::string device,
                    std::string device_class, std::string model, absl::Time start,
                    int64_t allocated_ms, int64_t active_ms,
                    absl::Duration interval = kDefaultUsageInterval) {
  UsageRow r;
  r.tenant_id = "t-1";
  r.job_id = std::move(job);
  r.attempt_id = std::move(attempt);
  r.device_id = std::move(device);
  r.device_class = std::move(device_class);
  r.device_model = std::move(model);
  r.interval_start = start;
  r.interval_length = interval;
  r.allocated_ms = allocated_ms;
  r.active_ms = active_ms;
  return r;
}

}  // namespace hac::billing::testing

#endif  // HAC_TESTS_BILLING_BILLING_TEST_UTIL_H_
