#include "agent/device/host_device.h"

#include <time.h>

#include <cerrno>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace hac::device {
namespace {

int64_t MonotonicNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void SleepUntilNs(int64_t deadline_ns) {
  struct timespec ts;
  ts.tv_sec = deadline_ns / 1'000'000'000;
  ts.tv_nsec = deadline_ns % 1'000'000'000;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

constexpr uint64_t kAlign = 64;

}  // namespace

absl::StatusOr<std::unique_ptr<HostDevice>> HostDevice::Create(
    std::unique_ptr<DeviceStateSegment> segment, std::unique_ptr<DeviceBackend> backend) {
  if (segment == nullptr || backend == nullptr) {
    return absl::InvalidArgumentError("HostDevice needs a segment and a backend");
  }
  Health h = segment->health();
  if (h != Health::kHealthy) {
    return absl::FailedPreconditionError(absl::StrCat("device ", segment->properties().uuid,
                                                      " is ", HealthName(h)));
  }
  return std::unique_ptr<HostDevice>(new HostDevice(std::move(segment), std::move(backend)));
}

HostDevice::HostDevice(std::unique_ptr<DeviceStateSegment> segment,
                       std::unique_ptr<DeviceBackend> backend)
    : segment_(std::move(segment)),
      backend_(std::move(backend)),
      generation_(segment_->generation()) {
  segment_->AddAttach(1);
  stream_last_[kDefaultStream] = 0;
  executor_ = std::thread([this] { ExecutorLoop(); });
}

HostDevice::~HostDevice() {
  {
    absl::MutexLock l(&mu_);
    shutdown_ = true;
  }
  executor_.join();
  bool same = segment_->generation() == generation_;
  absl::MutexLock l(&mu_);
  for (const auto& [base, bytes] : allocations_) {
    if (same) segment_->ReleaseMemory(bytes);
    std::free(reinterpret_cast<void*>(base));
  }
  allocations_.clear();
  if (same) segment_->AddAttach(-1);
}

const DeviceProperties& HostDevice::properties() const { return segment_->properties(); }

absl::Status HostDevice::CheckGeneration() const {
  if (segment_->generation() != generation_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "device ", properties().uuid, " was reset by the agent; this process must stop using it"));
  }
  return absl::OkStatus();
}

absl::StatusOr<void*> HostDevice::Allocate(uint64_t bytes) {
  RETURN_IF_ERROR(CheckGeneration());
  RETURN_IF_ERROR(segment_->ReserveMemory(bytes));
  uint64_t rounded = bytes == 0 ? kAlign : (bytes + kAlign - 1) / kAlign * kAlign;
  void* p = std::aligned_alloc(kAlign, rounded);
  if (p == nullptr) {
    segment_->ReleaseMemory(bytes);
    return absl::ResourceExhaustedError(
        absl::StrCat("host memory backing ", bytes, " bytes of device memory is exhausted"));
  }
  absl::MutexLock l(&mu_);
  allocations_[reinterpret_cast<uintptr_t>(p)] = bytes;
  return p;
}

absl::Status HostDevice::Free(void* ptr) {
  if (ptr == nullptr) return absl::OkStatus();
  uint64_t bytes;
  {
    absl::MutexLock l(&mu_);
    auto it = allocations_.find(reinterpret_cast<uintptr_t>(ptr));
    if (it == allocations_.end()) {
      return absl::InvalidArgumentError("pointer was not allocated on this device (or was freed)");
    }
    bytes = it->second;
    allocations_.erase(it);
  }
  // Work still queued may use the buffer; like cudaFree, freeing waits for the device.
  absl::Status sync = Synchronize(absl::InfiniteDuration());
  if (segment_->generation() == generation_) segment_->ReleaseMemory(bytes);
  std::free(ptr);
  return sync;
}

absl::Status HostDevice::CheckRange(const void* ptr, uint64_t bytes, const char* what) const {
  if (bytes == 0) return absl::OkStatus();
  uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
  auto it = allocations_.upper_bound(p);
  if (it != allocations_.begin()) {
    --it;
    if (p >= it->first && bytes <= it->second && p - it->first <= it->second - bytes) {
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", bytes, " bytes at ", absl::Hex(p),
                                                 " are not inside one allocation of device ",
                                                 properties().uuid));
}

absl::Status HostDevice::Copy(void* dst, const void* src, uint64_t bytes, CopyKind kind) {
  RETURN_IF_ERROR(CheckGeneration());
  RETURN_IF_ERROR(Synchronize(absl::InfiniteDuration()));
  absl::MutexLock l(&mu_);
  if (kind != CopyKind::kHostToDevice) RETURN_IF_ERROR(CheckRange(src, bytes, "copy source"));
  if (kind != CopyKind::kDeviceToHost) RETURN_IF_ERROR(CheckRange(dst, bytes, "copy destination"));
  if (bytes > 0) std::memmove(dst, src, bytes);
  return absl::OkStatus();
}

absl::StatusOr<StreamId> HostDevice::CreateStream() {
  absl::MutexLock l(&mu_);
  StreamId id = next_stream_++;
  stream_last_[id] = 0;
  return id;
}

absl::Status HostDevice::DestroyStream(StreamId stream) {
  absl::MutexLock l(&mu_);
  if (stream == kDefaultStream) {
    return absl::InvalidArgumentError("the default stream cannot be destroyed");
  }
  if (stream_last_.erase(stream) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("unknown stream ", stream));
  }
  return absl::OkStatus();
}

absl::Status HostDevice::Launch(StreamId stream, const Kernel& kernel) {
  RETURN_IF_ERROR(CheckGeneration());
  Health h = segment_->health();
  if (h != Health::kHealthy) {
    return absl::InternalError(
        absl::StrCat("device ", properties().uuid, " is ", HealthName(h)));
  }
  std::vector<Operand> operands;
  RETURN_IF_ERROR(ValidateKernel(kernel, &operands));
  RETURN_IF_ERROR(backend_->Supports(kernel));
  absl::MutexLock l(&mu_);
  auto it = stream_last_.find(stream);
  if (it == stream_last_.end()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown stream ", stream));
  }
  for (const Operand& o : operands) {
    RETURN_IF_ERROR(CheckRange(o.ptr, static_cast<uint64_t>(o.bytes), OpKindName(kernel.op)));
  }
  FaultConfig fault = segment_->fault();
  uint64_t n = segment_->NextLaunch();
  bool hang = false;
  if (fault.mode == FaultMode::kErrorAfterKernels && n > fault.after_kernels) {
    segment_->SetHealth(Health::kFailed);
    return absl::InternalError(absl::StrCat("device ", properties().uuid,
                                            ": injected fault after ", fault.after_kernels,
                                            " kernels"));
  }
  if (fault.mode == FaultMode::kHangAfterKernels && n == fault.after_kernels + 1) hang = true;
  uint64_t seq = next_seq_++;
  it->second = seq;
  queue_.push_back(Entry{seq, kernel, hang});
  return absl::OkStatus();
}

void HostDevice::ExecutorLoop() {
  int64_t pace_debt_ns = 0;  // executor-thread only
  for (;;) {
    Entry e;
    uint64_t epoch;
    {
      absl::MutexLock l(&mu_);
      mu_.Await(absl::Condition(
          +[](HostDevice* d) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return d->shutdown_ || !d->queue_.empty();
          },
          this));
      if (shutdown_) return;
      e = queue_.front();
      queue_.pop_front();
      epoch = reset_epoch_;
      if (e.hang) {
        // The injected hang: this kernel completes only when the device is reset or destroyed.
        struct Args {
          HostDevice* d;
          uint64_t epoch;
        } args{this, epoch};
        mu_.Await(absl::Condition(
            +[](Args* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return a->d->shutdown_ || a->d->reset_epoch_ != a->epoch;
            },
            &args));
        if (shutdown_) return;
        continue;
      }
      running_ = true;
    }
    int64_t t0 = MonotonicNs();
    std::optional<absl::Duration> model = backend_->Execute(e.kernel);
    int64_t model_ns = model.has_value() ? absl::ToInt64Nanoseconds(*model) : 0;
    if (model.has_value()) SleepUntilNs(t0 + std::max<int64_t>(0, model_ns - pace_debt_ns));
    int64_t t1 = MonotonicNs();
    // Time past the model (a late wake-up, a slow host) is paid back from the next kernels'
    // slack, so over a sequence busy time tracks the modelled total instead of drifting up.
    if (model.has_value()) pace_debt_ns = std::max<int64_t>(0, pace_debt_ns + (t1 - t0) - model_ns);
    if (segment_->generation() == generation_) {
      segment_->AddKernelRun(absl::Nanoseconds(t1 - t0), model.value_or(absl::ZeroDuration()));
    }
    absl::MutexLock l(&mu_);
    running_ = false;
    if (reset_epoch_ == epoch && e.seq > completed_seq_) completed_seq_ = e.seq;
  }
}

absl::Status HostDevice::WaitFor(uint64_t seq, absl::Duration timeout) {
  struct Args {
    HostDevice* d;
    uint64_t seq;
  } args{this, seq};
  absl::MutexLock l(&mu_);
  bool done = mu_.AwaitWithTimeout(absl::Condition(
                                       +[](Args* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                         return a->d->completed_seq_ >= a->seq;
                                       },
                                       &args),
                                   timeout);
  if (!done) {
    return absl::DeadlineExceededError(absl::StrCat("device ", properties().uuid,
                                                    " did not finish its work within ",
                                                    absl::FormatDuration(timeout)));
  }
  return absl::OkStatus();
}

absl::Status HostDevice::Synchronize(absl::Duration timeout) {
  uint64_t seq;
  {
    absl::MutexLock l(&mu_);
    seq = next_seq_ - 1;
  }
  return WaitFor(seq, timeout);
}

absl::Status HostDevice::SynchronizeStream(StreamId stream, absl::Duration timeout) {
  uint64_t seq;
  {
    absl::MutexLock l(&mu_);
    auto it = stream_last_.find(stream);
    if (it == stream_last_.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown stream ", stream));
    }
    seq = it->second;
  }
  return WaitFor(seq, timeout);
}

DeviceTelemetry HostDevice::Telemetry() const {
  DeviceStateSnapshot s = segment_->Snapshot();
  DeviceTelemetry t;
  t.busy = s.busy;
  t.memory_used = s.memory_used;
  t.kernels_run = s.kernels_run;
  t.health = s.health;
  return t;
}

absl::Status HostDevice::Reset() {
  std::map<uintptr_t, uint64_t> freed;
  {
    absl::MutexLock l(&mu_);
    queue_.clear();
    ++reset_epoch_;
    mu_.Await(absl::Condition(
        +[](HostDevice* d) ABSL_NO_THREAD_SAFETY_ANALYSIS { return !d->running_; }, this));
    completed_seq_ = next_seq_ - 1;
    freed.swap(allocations_);
  }
  bool same = segment_->generation() == generation_;
  for (const auto& [base, bytes] : freed) {
    if (same) segment_->ReleaseMemory(bytes);
    std::free(reinterpret_cast<void*>(base));
  }
  if (same && segment_->health() == Health::kFailed) segment_->SetHealth(Health::kHealthy);
  return absl::OkStatus();
}

}  // namespace hac::device
