// Every documented limit on what clients send, in one place (README.md "Limits" lists them).
#ifndef HAC_SERVER_LIMITS_H_
#define HAC_SERVER_LIMITS_H_

#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"

namespace hac::server::limits {

inline constexpr size_t kMaxJobNameLength = 128;
inline constexpr size_t kMinDeviceAlternatives = 1;
inline constexpr size_t kMaxDeviceAlternatives = 4;
inline constexpr uint32_t kMaxDevicesPerNode = 64;
inline constexpr uint32_t kMaxNodesPerJob = 64;
inline constexpr uint32_t kMaxDevicesPerJob = 512;
inline constexpr uint64_t kMaxMemoryBytesPerDevice = uint64_t{1} << 40;  // 1 TiB
inline constexpr uint32_t kMaxRelativeSpeedPermille = 1'000'000;
inline constexpr size_t kMaxArgvEntries = 256;
inline constexpr size_t kMaxArgBytes = 4096;
inline constexpr size_t kMaxArgvTotalBytes = 64 * 1024;
inline constexpr size_t kMaxEnvEntries = 128;
inline constexpr size_t kMaxEnvNameLength = 128;
inline constexpr size_t kMaxEnvValueBytes = 4096;
inline constexpr size_t kMaxEnvTotalBytes = 64 * 1024;
inline constexpr size_t kMaxWorkingDirBytes = 1024;
inline constexpr int32_t kMinPriority = 0;
inline constexpr int32_t kMaxPriority = 1000;
inline constexpr absl::Duration kMinMaxRuntime = absl::Seconds(1);
inline constexpr absl::Duration kMaxMaxRuntime = absl::Hours(24 * 30);
inline constexpr absl::Duration kDefaultMaxRuntime = absl::Hours(24);
inline constexpr uint32_t kMaxRetries = 10;
inline constexpr size_t kMaxLabels = 32;
inline constexpr size_t kMaxLabelKeyLength = 63;
inline constexpr size_t kMaxLabelValueBytes = 256;
inline constexpr size_t kMaxIdempotencyKeyLength = 128;
inline constexpr size_t kMaxTenantNameLength = 63;
inline constexpr size_t kMaxCancelReasonBytes = 1024;
inline constexpr uint32_t kDefaultPageSize = 100;
inline constexpr uint32_t kMaxPageSize = 1000;
// gRPC's receive limit for one message.
inline constexpr int kMaxMessageBytes = 4 * 1024 * 1024;

}  // namespace hac::server::limits

#endif  // HAC_SERVER_LIMITS_H_
