#include "agent/device/emu_gpu_backend.h"

#include "absl/strings/str_cat.h"
#include "agent/device/host_kernels.h"

namespace hac::device {

absl::StatusOr<std::unique_ptr<EmuGpuBackend>> EmuGpuBackend::Create(const EmuGpuParams& params) {
  if (params.sm_count < 1 || params.sm_count > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("emu-gpu sms = ", params.sm_count, " is outside [1, 256]"));
  }
  return std::unique_ptr<EmuGpuBackend>(new EmuGpuBackend(static_cast<int>(params.sm_count)));
}

EmuGpuBackend::EmuGpuBackend(int sm_count) {
  for (int i = 0; i < sm_count; ++i) sms_.emplace_back([this] { SmLoop(); });
}

EmuGpuBackend::~EmuGpuBackend() {
  {
    absl::MutexLock l(&mu_);
    shutdown_ = true;
  }
  for (std::thread& t : sms_) t.join();
}

absl::Status EmuGpuBackend::Supports(const Kernel&) const { return absl::OkStatus(); }

std::optional<absl::Duration> EmuGpuBackend::Execute(const Kernel& kernel) {
  int64_t blocks = GridBlocks(kernel);
  if (blocks == 0) return std::nullopt;
  absl::MutexLock l(&mu_);
  next_block_.store(0);
  kernel_ = &kernel;
  blocks_ = blocks;
  blocks_done_ = 0;
  ++launch_id_;
  mu_.Await(absl::Condition(
      +[](EmuGpuBackend* b) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return b->blocks_done_ == b->blocks_ && b->active_sms_ == 0;
      },
      this));
  kernel_ = nullptr;
  return std::nullopt;
}

void EmuGpuBackend::SmLoop() {
  uint64_t seen = 0;
  for (;;) {
    const Kernel* kernel;
    int64_t blocks;
    {
      struct Args {
        EmuGpuBackend* b;
        uint64_t seen;
      } args{this, seen};
      absl::MutexLock l(&mu_);
      mu_.Await(absl::Condition(
          +[](Args* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return a->b->shutdown_ || (a->b->launch_id_ != a->seen && a->b->kernel_ != nullptr);
          },
          &args));
      if (shutdown_) return;
      seen = launch_id_;
      kernel = kernel_;
      blocks = blocks_;
      ++active_sms_;
    }
    int64_t done = 0;
    for (int64_t b = next_block_.fetch_add(1); b < blocks; b = next_block_.fetch_add(1)) {
      RunBlock(*kernel, b);
      ++done;
    }
    absl::MutexLock l(&mu_);
    blocks_done_ += done;
    --active_sms_;
  }
}

}  // namespace hac::device
