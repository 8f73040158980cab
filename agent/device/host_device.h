// HostDevice: the one Device implementation, shared by every backend. Device memory is host
// memory; kernels run on the host through a DeviceBackend.
//
// Owner: the job process (through libhacrt), or a test. It owns its backend and its state segment
// mapping. Thread-safety: all methods are thread-safe.
//
// Execution: launches from every stream go into one FIFO served by a single executor thread, so
// each stream is in order and at most one kernel runs at a time (busy time is then simply the sum
// of kernel durations; a backend may parallelize inside a kernel, as emu-gpu does over its SMs).
// For each kernel the executor records its wall-clock duration; when the backend returns a
// modelled duration, the executor first sleeps until start + model (pacing), so busy time
// follows the model whenever the host computes faster than the model. Overshoot (a late wake-up,
// a slow host) is carried as a debt and taken off the following kernels' sleeps, so the busy total
// of a sequence tracks the modelled total rather than drifting up by each kernel's wake-up latency.
//
// Accounting: allocations reserve bytes in the segment (cross-process capacity); busy time and
// kernel counts go to the segment after each kernel. Faults configured in the segment are
// honored: an unhealthy device cannot be opened; with kErrorAfterKernels the launches after the
// first N fail with INTERNAL and health becomes kFailed; with kHangAfterKernels kernel N+1 never
// completes (until Reset() or destruction).
//
// Invariants: every live allocation is in `allocations_`, and (while the segment generation is
// unchanged) its size is included in the segment's memory_used. completed_seq_ <= next_seq_.
#ifndef HAC_AGENT_DEVICE_HOST_DEVICE_H_
#define HAC_AGENT_DEVICE_HOST_DEVICE_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "agent/device/device.h"
#include "agent/device/device_state.h"

namespace hac::device {

class HostDevice final : public Device {
 public:
  // FAILED_PRECONDITION if the segment says the device is unhealthy.
  static absl::StatusOr<std::unique_ptr<HostDevice>> Create(
      std::unique_ptr<DeviceStateSegment> segment, std::unique_ptr<DeviceBackend> backend);
  ~HostDevice() override;

  const DeviceProperties& properties() const override;
  absl::StatusOr<void*> Allocate(uint64_t bytes) override;
  absl::Status Free(void* ptr) override;
  absl::Status Copy(void* dst, const void* src, uint64_t bytes, CopyKind kind) override;
  absl::StatusOr<StreamId> CreateStream() override;
  absl::Status DestroyStream(StreamId stream) override;
  absl::Status Launch(StreamId stream, const Kernel& kernel) override;
  absl::Status Synchronize(absl::Duration timeout) override;
  absl::Status SynchronizeStream(StreamId stream, absl::Duration timeout) override;
  DeviceTelemetry Telemetry() const override;
  absl::Status Reset() override;

  DeviceStateSegment& segment() { return *segment_; }

 private:
  struct Entry {
    uint64_t seq;
    Kernel kernel;
    bool hang;
  };

  HostDevice(std::unique_ptr<DeviceStateSegment> segment, std::unique_ptr<DeviceBackend> backend);
  void ExecutorLoop();
  absl::Status CheckGeneration() const;
  // OK if [ptr, ptr + bytes) lies inside one live allocation.
  absl::Status CheckRange(const void* ptr, uint64_t bytes, const char* what) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WaitFor(uint64_t seq, absl::Duration timeout);

  const std::unique_ptr<DeviceStateSegment> segment_;
  const std::unique_ptr<DeviceBackend> backend_;
  const uint64_t generation_;

  mutable absl::Mutex mu_;
  std::map<uintptr_t, uint64_t> allocations_ ABSL_GUARDED_BY(mu_);  // base -> accounted bytes
  std::deque<Entry> queue_ ABSL_GUARDED_BY(mu_);
  std::map<StreamId, uint64_t> stream_last_ ABSL_GUARDED_BY(mu_);  // last seq launched
  StreamId next_stream_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t completed_seq_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t reset_epoch_ ABSL_GUARDED_BY(mu_) = 0;
  bool running_ ABSL_GUARDED_BY(mu_) = false;  // the executor is inside Execute()
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  std::thread executor_;
};

}  // namespace hac::device

#endif  // HAC_AGENT_DEVICE_HOST_DEVICE_H_
