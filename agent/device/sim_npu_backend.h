// SimNpuBackend: an inference NPU modelled on a weight-stationary systolic array (in the spirit of
// Rebellions ATOM). Results are computed exactly on the host (host_kernels.h); busy time follows
// SimNpuTimingModel because HostDevice paces each kernel to the modelled duration.
//
// Supported: GEMM in i8 (int32 accumulation) and bf16 (f32 accumulation) on the array; every
// other op (elementwise, bias add, softmax, reductions, casts, quantization, backward ops) on the
// vector unit. f32 GEMM is UNIMPLEMENTED, like on the real part: jobs cast to bf16 or quantize.
//
// Timing model (all parameters in SimNpuParams, per device model, overridable in the node config):
//   GEMM  R x C array (R along K, C along N). The K x N weights are cut into ceil(K/R) * ceil(N/C)
//         tiles; each tile is loaded (R cycles) and the M activation rows stream through it
//         (M + R + C - 2 cycles including fill and drain):
//           compute_cycles = ceil(K/R) * ceil(N/C) * (2R + C + M - 2) * (bf16 ? bf16_cycles_per_mac : 1)
//         DRAM traffic with e = 1 (i8) or 2 (bf16) bytes per input element, output 4 bytes
//         (read and written when beta != 0): if A + B + C fit in SRAM, each is moved once;
//         otherwise B is processed in column blocks of nb = max(C, floor(SRAM/2 / (K*e*C)) * C)
//         and A is re-read once per block: traffic = A * ceil(N/nb) + B + C.
//   other ops  cycles = ceil(elements / vector_lanes) * cost (cost 4 for exp/tanh-based ops:
//         gelu, gelu backward, softmax, softmax cross entropy; 1 otherwise); traffic = all
//         operand bytes.
//   time = launch_overhead + max(cycles / clock_hz, traffic / dram_bytes_per_s).
// Defaults (model "atom-sim"): 16 x 16 array at 20 MHz (10.2 GOPS int8, 5.1 bf16), 4 MiB SRAM,
// 1 GB/s DRAM, 64 vector lanes, 2 us launch overhead. Deliberately slow so that a 2-core host,
// even under sanitizers, finishes the host computation well before the modelled time: pacing, not
// host speed, sets busy time.
//
// Owner: its HostDevice. Thread-safety: Execute is called by one thread at a time; the model is
// immutable after construction.
#ifndef HAC_AGENT_DEVICE_SIM_NPU_BACKEND_H_
#define HAC_AGENT_DEVICE_SIM_NPU_BACKEND_H_

#include <memory>

#include "agent/device/device.h"

namespace hac::device {

// The timing model above. Immutable value; thread-safe.
class SimNpuTimingModel {
 public:
  explicit SimNpuTimingModel(const SimNpuParams& p) : p_(p) {}
  // INVALID_ARGUMENT naming the parameter unless every parameter is positive.
  static absl::Status Validate(const SimNpuParams& p);

  absl::Duration KernelTime(const Kernel& k) const;
  int64_t ComputeCycles(const Kernel& k) const;
  int64_t DramBytes(const Kernel& k) const;
  double PeakOps(DType t) const;  // 2 ops per MAC; 0 for unsupported GEMM types

 private:
  SimNpuParams p_;
};

class SimNpuBackend final : public DeviceBackend {
 public:
  static absl::StatusOr<std::unique_ptr<SimNpuBackend>> Create(const SimNpuParams& params);

  absl::Status Supports(const Kernel& kernel) const override;
  std::optional<absl::Duration> Execute(const Kernel& kernel) override;

  const SimNpuTimingModel& model() const { return model_; }

 private:
  explicit SimNpuBackend(const SimNpuParams& p) : model_(p) {}
  SimNpuTimingModel model_;
};

}  // namespace hac::device

#endif  // HAC_AGENT_DEVICE_SIM_NPU_BACKEND_H_
