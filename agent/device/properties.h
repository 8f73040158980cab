// DeviceProperties: what a device is (class, backend, model, UUID, capacity, compute units, peak
// rates per data type) plus the backend parameters and fault settings it was configured with.
//
// It is a trivially copyable, fixed-size value: the agent writes it once into the device's shared
// state segment (see device_state.h), and a job process that attaches to the segment reads it back
// and needs nothing else to build the device. Strings are NUL-terminated fixed arrays for that
// reason; use the accessors to read them.
#ifndef HAC_AGENT_DEVICE_PROPERTIES_H_
#define HAC_AGENT_DEVICE_PROPERTIES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace hac::device {

// Element types. Stored in segments and passed through the C runtime: values are stable.
enum class DType : uint32_t { kF32 = 0, kBF16 = 1, kI8 = 2, kI32 = 3 };
inline constexpr int kNumDTypes = 4;
// "f32", "bf16", "i8", "i32".
const char* DTypeName(DType t);
// Size of one element in bytes.
int64_t DTypeSize(DType t);

enum class DeviceClass : uint32_t { kGpu = 0, kNpu = 1 };
const char* DeviceClassName(DeviceClass c);  // "gpu", "npu"

// Health as seen by the agent and the job. kFailed is set by a kernel fault and cleared by a reset;
// kUnhealthy is configured (fault=unhealthy) and survives resets.
enum class Health : uint32_t { kHealthy = 0, kUnhealthy = 1, kFailed = 2 };
const char* HealthName(Health h);  // "healthy", "unhealthy", "failed"

// Fault injection, configured per device so the agent's error paths can be tested.
enum class FaultMode : uint32_t {
  kNone = 0,
  kUnhealthy = 1,          // the device is unhealthy from the start; opening it fails
  kErrorAfterKernels = 2,  // launches after the first `after_kernels` fail with INTERNAL
  kHangAfterKernels = 3,   // the kernel after the first `after_kernels` never completes
};
struct FaultConfig {
  FaultMode mode = FaultMode::kNone;
  uint32_t reserved = 0;
  uint64_t after_kernels = 0;
};

// emu-gpu parameters. Kernels run as a grid of blocks over `sm_count` worker threads.
struct EmuGpuParams {
  uint32_t sm_count = 2;
  uint32_t reserved = 0;
};

// sim-npu parameters: the timing model (see sim_npu_backend.h for the formulas).
struct SimNpuParams {
  uint32_t array_rows = 16;             // systolic array height (reduction dimension K)
  uint32_t array_cols = 16;             // systolic array width (output dimension N)
  uint64_t clock_hz = 5'000'000;        // array and vector unit clock
  uint64_t sram_bytes = 4ull << 20;     // on-chip scratchpad used for GEMM tiling
  uint64_t dram_bytes_per_s = 500'000'000;  // off-chip bandwidth
  uint32_t vector_lanes = 16;           // elementwise unit: elements per cycle
  uint32_t bf16_cycles_per_mac = 2;     // bf16 passes take this many cycles per int8 pass
  uint64_t launch_overhead_ns = 5'000;  // fixed cost per kernel
};

struct DeviceProperties {
  DeviceClass device_class = DeviceClass::kGpu;
  uint32_t compute_units = 0;  // SMs (emu-gpu) or array PEs (sim-npu)
  char backend[16] = {};
  char model[32] = {};
  char uuid[40] = {};
  uint64_t memory_bytes = 0;
  // Peak GEMM rate in operations per second (2 per multiply-add) per DType; 0 = the backend does
  // not run GEMM in that type.
  double peak_ops_per_s[kNumDTypes] = {};
  EmuGpuParams emu_gpu;
  SimNpuParams sim_npu;
  FaultConfig fault;

  std::string backend_name() const { return std::string(backend); }
  std::string model_name() const { return std::string(model); }
  std::string uuid_string() const { return std::string(uuid); }
  bool SupportsGemm(DType t) const { return peak_ops_per_s[static_cast<int>(t)] > 0; }
};
static_assert(std::is_trivially_copyable_v<DeviceProperties>);

// Copies `s` into a fixed array, truncating; always NUL-terminates.
template <size_t N>
void SetFixedString(char (&dst)[N], std::string_view s) {
  size_t n = s.size() < N - 1 ? s.size() : N - 1;
  for (size_t i = 0; i < n; ++i) dst[i] = s[i];
  for (size_t i = n; i < N; ++i) dst[i] = '\0';
}

}  // namespace hac::device

#endif  // HAC_AGENT_DEVICE_PROPERTIES_H_
