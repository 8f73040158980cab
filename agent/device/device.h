// Device: one accelerator as a job process sees it, and DeviceBackend: what differs between
// accelerator kinds.
//
// Device is the interface the runtime (libhacrt) programs against: properties, memory
// (allocate/free with capacity enforced, copies), kernel launch on in-order streams, synchronize,
// telemetry and reset. There is one implementation, HostDevice (host_device.h), shared by every
// backend; a backend only says which kernels it supports and how it executes one (and, for
// simulated hardware, how long the kernel takes). So memory, streams, accounting, faults and pacing
// exist once.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Device> dev, registry.Open(std::move(segment)));
//   ASSIGN_OR_RETURN(void* a, dev->Allocate(bytes));
//   RETURN_IF_ERROR(dev->Copy(a, host, bytes, CopyKind::kHostToDevice));
//   RETURN_IF_ERROR(dev->Launch(kDefaultStream, Kernel::Relu(a, a, n)));
//   RETURN_IF_ERROR(dev->Synchronize());
#ifndef HAC_AGENT_DEVICE_DEVICE_H_
#define HAC_AGENT_DEVICE_DEVICE_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/device/kernel.h"
#include "agent/device/properties.h"

namespace hac::device {

enum class CopyKind { kHostToDevice, kDeviceToHost, kDeviceToDevice };

using StreamId = int32_t;
inline constexpr StreamId kDefaultStream = 0;

struct DeviceTelemetry {
  absl::Duration busy;     // time kernels were executing (since the last agent reset)
  uint64_t memory_used = 0;  // bytes, all processes attached to the device
  uint64_t kernels_run = 0;
  Health health = Health::kHealthy;
};

// Interface. Owner: the job process's runtime, one object per device per process (tests own
// theirs). Implementations are thread-safe: any thread may call any method. Invariant: pointers
// from Allocate() stay valid until Free() or Reset() of the same object.
class Device {
 public:
  virtual ~Device() = default;

  virtual const DeviceProperties& properties() const = 0;

  // Device memory. RESOURCE_EXHAUSTED past the capacity (shared by every process on the device).
  // A zero-byte allocation returns a unique pointer that accounts for nothing.
  virtual absl::StatusOr<void*> Allocate(uint64_t bytes) = 0;
  // INVALID_ARGUMENT unless `ptr` came from Allocate() on this device and was not freed.
  virtual absl::Status Free(void* ptr) = 0;
  // Synchronous copy: waits for all launched work, then copies. The device side(s) must lie inside
  // live allocations (INVALID_ARGUMENT otherwise).
  virtual absl::Status Copy(void* dst, const void* src, uint64_t bytes, CopyKind kind) = 0;

  // Streams are in-order queues; kDefaultStream always exists.
  virtual absl::StatusOr<StreamId> CreateStream() = 0;
  virtual absl::Status DestroyStream(StreamId stream) = 0;
  // Validates and enqueues. Errors: INVALID_ARGUMENT (shape, pointers), UNIMPLEMENTED (the backend
  // does not run this op/dtype), INTERNAL (device fault), FAILED_PRECONDITION (the agent reset the
  // device under this process).
  virtual absl::Status Launch(StreamId stream, const Kernel& kernel) = 0;
  // Waits for the work launched so far; DEADLINE_EXCEEDED after `timeout` (a hung device).
  virtual absl::Status Synchronize(absl::Duration timeout = absl::InfiniteDuration()) = 0;
  virtual absl::Status SynchronizeStream(StreamId stream,
                                         absl::Duration timeout = absl::InfiniteDuration()) = 0;

  virtual DeviceTelemetry Telemetry() const = 0;
  // Returns the device to its just-opened state in this process: queued work is abandoned, this
  // process's allocations are freed, a kernel fault is cleared. Agent-side counters are untouched.
  virtual absl::Status Reset() = 0;
};

// What a backend does with a kernel. Owned by its HostDevice; Execute is called from the device's
// single executor thread, one kernel at a time, so implementations need no locking of their own.
class DeviceBackend {
 public:
  virtual ~DeviceBackend() = default;
  // OK, or UNIMPLEMENTED naming the op and dtype.
  virtual absl::Status Supports(const Kernel& kernel) const = 0;
  // Runs the (validated, supported) kernel to completion on the host. Returns the modelled
  // duration for simulated devices (the device then paces to it) or nullopt when the real
  // execution time is the busy time.
  virtual std::optional<absl::Duration> Execute(const Kernel& kernel) = 0;
};

}  // namespace hac::device

#endif  // HAC_AGENT_DEVICE_DEVICE_H_
