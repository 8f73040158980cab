// Helpers for the device tests: open private devices from a short spec (the HAC_LOCAL_DEVICES
// syntax) and fill tensors with seeded random values.
#ifndef HAC_TESTS_DEVICE_DEVICE_TEST_UTIL_H_
#define HAC_TESTS_DEVICE_DEVICE_TEST_UTIL_H_

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/random/random.h"
#include "agent/device/device.h"
#include "agent/device/host_device.h"
#include "agent/device/registry.h"

namespace hac::device::testing {

// The properties the short spec describes (first device), with a fixed-seed UUID.
inline DeviceProperties PlanOne(const std::string& spec) {
  auto config = NodeDeviceConfig::ParseShort(spec);
  REQUIRE(config.ok());
  std::mt19937_64 gen(42);
  auto plan = DeviceRegistry::CreateDefault()->Plan(*config, gen);
  REQUIRE(plan.ok());
  REQUIRE(!plan->empty());
  return plan->front();
}

// A private device (anonymous segment) for `spec`, e.g. "emu-gpu/sms=2".
inline std::unique_ptr<Device> OpenLocal(const std::string& spec) {
  auto seg = DeviceStateSegment::CreateAnonymous(PlanOne(spec));
  REQUIRE(seg.ok());
  auto dev = DeviceRegistry::CreateDefault()->Open(*std::move(seg));
  REQUIRE(dev.ok());
  return *std::move(dev);
}

inline std::vector<float> RandomFloats(std::mt19937& gen, int64_t n, float lo = -1, float hi = 1) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(gen);
  return v;
}

// A device buffer holding a copy of `host` (or `bytes` uninitialized bytes).
template <typename T>
void* ToDevice(Device& dev, const std::vector<T>& host) {
  auto p = dev.Allocate(host.size() * sizeof(T));
  REQUIRE(p.ok());
  REQUIRE(dev.Copy(*p, host.data(), host.size() * sizeof(T), CopyKind::kHostToDevice).ok());
  return *p;
}

template <typename T>
std::vector<T> FromDevice(Device& dev, const void* p, int64_t n) {
  std::vector<T> host(static_cast<size_t>(n));
  REQUIRE(dev.Copy(host.data(), p, n * sizeof(T), CopyKind::kDeviceToHost).ok());
  return host;
}

}  // namespace hac::device::testing

#endif  // HAC_TESTS_DEVICE_DEVICE_TEST_UTIL_H_
