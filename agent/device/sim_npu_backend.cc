#include "agent/device/sim_npu_backend.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "agent/device/host_kernels.h"

namespace hac::device {
namespace {

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

int64_t VectorCost(OpKind op) {
  switch (op) {
    case OpKind::kGelu:
    case OpKind::kGeluBackward:
    case OpKind::kSoftmax:
    case OpKind::kSoftmaxCrossEntropy:
      return 8;
    default:
      return 1;
  }
}

}  // namespace

absl::Status SimNpuTimingModel::Validate(const SimNpuParams& p) {
  auto need = [](const char* name, uint64_t v) -> absl::Status {
    if (v == 0) return absl::InvalidArgumentError(absl::StrCat("sim-npu ", name, " must be > 0"));
    return absl::OkStatus();
  };
  for (auto [name, v] : {std::pair<const char*, uint64_t>{"array rows", p.array_rows},
                         {"array cols", p.array_cols},
                         {"clock_hz", p.clock_hz},
                         {"sram_bytes", p.sram_bytes},
                         {"dram_bytes_per_s", p.dram_bytes_per_s},
                         {"vector_lanes", p.vector_lanes},
                         {"bf16_cycles_per_mac", p.bf16_cycles_per_mac}}) {
    if (absl::Status s = need(name, v); !s.ok()) return s;
  }
  if (p.array_rows > 4096 || p.array_cols > 4096) {
    return absl::InvalidArgumentError("sim-npu array dimensions must be <= 4096");
  }
  return absl::OkStatus();
}

int64_t SimNpuTimingModel::ComputeCycles(const Kernel& k) const {
  if (k.op == OpKind::kGemm) {
    if (k.m == 0 || k.n == 0 || k.k == 0) return 0;
    int64_t r = p_.array_rows, c = p_.array_cols;
    // In double: for absurd shapes the product would overflow int64.
    double tiles = static_cast<double>(CeilDiv(k.k, r)) * static_cast<double>(CeilDiv(k.n, c));
    double per_tile = static_cast<double>(2 * r + c + k.m - 2);
    double mult = k.dtype == DType::kBF16 ? p_.bf16_cycles_per_mac : 1;
    return static_cast<int64_t>(std::min(tiles * per_tile * mult, 9.0e18));
  }
  return CeilDiv(KernelElements(k), p_.vector_lanes) * VectorCost(k.op);
}

int64_t SimNpuTimingModel::DramBytes(const Kernel& k) const {
  if (k.op != OpKind::kGemm) return KernelBytes(k);
  if (k.m == 0 || k.n == 0) return 0;
  int64_t e = DTypeSize(k.dtype);
  int64_t a = k.m * k.k * e, b = k.k * k.n * e, c = k.m * k.n * 4 * (k.beta != 0.0f ? 2 : 1);
  if (static_cast<uint64_t>(a + b + c) <= p_.sram_bytes || k.k == 0) return a + b + c;
  int64_t cols = p_.array_cols;
  int64_t fit = static_cast<int64_t>(p_.sram_bytes / 2) / (k.k * e * cols) * cols;
  int64_t nb = std::max(cols, fit);
  return a * CeilDiv(k.n, nb) + b + c;
}

absl::Duration SimNpuTimingModel::KernelTime(const Kernel& k) const {
  double compute_s = static_cast<double>(ComputeCycles(k)) / static_cast<double>(p_.clock_hz);
  double dram_s = static_cast<double>(DramBytes(k)) / static_cast<double>(p_.dram_bytes_per_s);
  return absl::Nanoseconds(static_cast<int64_t>(p_.launch_overhead_ns)) +
         absl::Seconds(std::max(compute_s, dram_s));
}

double SimNpuTimingModel::PeakOps(DType t) const {
  double macs_per_s = static_cast<double>(p_.array_rows) * p_.array_cols * p_.clock_hz;
  if (t == DType::kI8) return 2 * macs_per_s;
  if (t == DType::kBF16) return 2 * macs_per_s / p_.bf16_cycles_per_mac;
  return 0;
}

absl::StatusOr<std::unique_ptr<SimNpuBackend>> SimNpuBackend::Create(const SimNpuParams& params) {
  if (absl::Status s = SimNpuTimingModel::Validate(params); !s.ok()) return s;
  return std::unique_ptr<SimNpuBackend>(new SimNpuBackend(params));
}

absl::Status SimNpuBackend::Supports(const Kernel& k) const {
  if (k.op == OpKind::kGemm && k.dtype != DType::kI8 && k.dtype != DType::kBF16) {
    return absl::UnimplementedError(absl::StrCat("sim-npu runs gemm in i8 and bf16, not ",
                                                 DTypeName(k.dtype)));
  }
  return absl::OkStatus();
}

std::optional<absl::Duration> SimNpuBackend::Execute(const Kernel& k) {
  int64_t blocks = GridBlocks(k);
  for (int64_t b = 0; b < blocks; ++b) RunBlock(k, b);
  return model_.KernelTime(k);
}

}  // namespace hac::device
