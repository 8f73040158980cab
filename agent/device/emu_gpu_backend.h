// EmuGpuBackend: a GPU emulated on the host CPU.
//
// A kernel runs as a grid of blocks (host_kernels.h) over the device's own worker threads, its
// "SMs" (EmuGpuParams::sm_count). The executor thread hands the grid to the SMs and waits; SMs take
// blocks from a shared counter. Busy time is the real time the kernel was executing (nullopt from
// Execute). Supports every op, and GEMM in f32, bf16 (f32 accumulation) and i8 (int32).
//
// Owner: its HostDevice. Thread-safety: Execute is called by one thread at a time (the device's
// executor); the SM threads are internal. Invariants: the SM threads live as long as the
// backend; between launches no SM references a kernel.
#ifndef HAC_AGENT_DEVICE_EMU_GPU_BACKEND_H_
#define HAC_AGENT_DEVICE_EMU_GPU_BACKEND_H_

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "agent/device/device.h"

namespace hac::device {

class EmuGpuBackend final : public DeviceBackend {
 public:
  // INVALID_ARGUMENT unless 1 <= sm_count <= 256.
  static absl::StatusOr<std::unique_ptr<EmuGpuBackend>> Create(const EmuGpuParams& params);
  ~EmuGpuBackend() override;

  absl::Status Supports(const Kernel& kernel) const override;
  std::optional<absl::Duration> Execute(const Kernel& kernel) override;

  // Nominal peak f32 rate of one SM, used for DeviceProperties::peak_ops_per_s (documented, not
  // measured: see docs/devices.md for measured figures).
  static constexpr double kNominalSmFlops = 32e9;

 private:
  explicit EmuGpuBackend(int sm_count);
  void SmLoop();

  absl::Mutex mu_;
  const Kernel* kernel_ ABSL_GUARDED_BY(mu_) = nullptr;
  int64_t blocks_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t launch_id_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t blocks_done_ ABSL_GUARDED_BY(mu_) = 0;
  // SMs working on the current launch. Execute returns only when it is 0, so no SM still holds the
  // kernel or the block counter when the next launch resets them.
  int active_sms_ ABSL_GUARDED_BY(mu_) = 0;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int64_t> next_block_{0};
  std::vector<std::thread> sms_;
};

}  // namespace hac::device

#endif  // HAC_AGENT_DEVICE_EMU_GPU_BACKEND_H_
