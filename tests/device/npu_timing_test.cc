// The sim-npu timing model: its formulas on known shapes, and pacing (busy time measured in the
// segment follows the model within 10% over a sequence of kernels on the default model).
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "agent/device/sim_npu_backend.h"
#include "tests/device/device_test_util.h"

namespace hac::device {
namespace {

using testing::PlanOne;
using testing::RandomFloats;
using testing::ToDevice;

TEST_CASE("The systolic timing model gives the documented cycles, traffic and time") {
  SimNpuParams p;
  p.array_rows = 16;
  p.array_cols = 16;
  p.clock_hz = 20'000'000;
  p.dram_bytes_per_s = 1'000'000'000;
  p.vector_lanes = 64;
  p.bf16_cycles_per_mac = 2;
  p.launch_overhead_ns = 2'000;
  p.sram_bytes = 4 << 20;
  SimNpuTimingModel model(p);
  // i8 64x64x64: 4 * 4 weight tiles of (2*16 + 16 + 64 - 2) = 110 cycles.
  Kernel k = Kernel::Gemm(DType::kI8, false, false, 64, 64, 64, 1, nullptr, nullptr, 0, nullptr);
  CHECK(model.ComputeCycles(k) == 16 * 110);
  CHECK(model.DramBytes(k) == 64 * 64 + 64 * 64 + 64 * 64 * 4);
  CHECK(model.KernelTime(k) == absl::Nanoseconds(2000 + 88000));  // 1760 cycles / 20 MHz
  // bf16 takes bf16_cycles_per_mac (2) times the cycles.
  k.dtype = DType::kBF16;
  CHECK(model.ComputeCycles(k) == 2 * 16 * 110);
  // gelu costs 8 cycles per lane group: 1000 elements = 16 groups = 128 cycles.
  CHECK(model.ComputeCycles(Kernel::Gelu(nullptr, nullptr, 1000)) == 16 * 8);
  // A bandwidth-bound elementwise op: 1e5 floats in, 1e5 out = 800 KB at 1 GB/s = 800 us.
  Kernel relu = Kernel::Relu(nullptr, nullptr, 100000);
  CHECK(model.ComputeCycles(relu) == (100000 + 63) / 64);
  CHECK(model.KernelTime(relu) == absl::Nanoseconds(2000 + 800000));
  // Weights larger than half the SRAM: A is re-read per column block.
  SimNpuParams small = p;
  small.sram_bytes = 64 << 10;
  SimNpuTimingModel tiled(small);
  Kernel big = Kernel::Gemm(DType::kI8, false, false, 256, 512, 512, 1, nullptr, nullptr, 0, nullptr);
  // nb = floor(32 KiB / (512 * 16)) * 16 = 64 columns -> 8 passes over A.
  CHECK(tiled.DramBytes(big) == 256 * 512 * 8 + 512 * 512 + 256 * 512 * 4);
  // Empty GEMM costs only the launch overhead.
  Kernel empty = Kernel::Gemm(DType::kI8, false, false, 0, 8, 8, 1, nullptr, nullptr, 0, nullptr);
  CHECK(model.KernelTime(empty) == absl::Nanoseconds(2000));
}

TEST_CASE("sim-npu busy time follows the timing model within 10% over a sequence of kernels") {
  // The default model with a 1 MHz clock and 100 MB/s DRAM: the same formulas with 5x the
  // modelled time, so that host compute stays far below it even on a loaded 2-core sanitized CI
  // host (bench/device measures the shipped defaults).
  DeviceProperties props = PlanOne("sim-npu/clock_mhz=1/dram_mbps=100");
  SimNpuTimingModel model(props.sim_npu);
  auto seg_or = DeviceStateSegment::CreateAnonymous(props);
  REQUIRE(seg_or.ok());
  DeviceStateSegment* seg = seg_or->get();
  auto dev = *DeviceRegistry::CreateDefault()->Open(*std::move(seg_or));
  std::mt19937 gen(1);
  std::vector<float> xf = RandomFloats(gen, 256 * 256);
  // All buffers written once first, so first-touch page faults do not land inside the sequence.
  void* x = ToDevice(*dev, xf);
  void* y = ToDevice(*dev, xf);
  void* out = ToDevice(*dev, xf);
  std::vector<Kernel> kernels = {
      Kernel::Gemm(DType::kI8, false, false, 128, 128, 128, 1, x, y, 0, out),
      Kernel::Gemm(DType::kBF16, false, true, 96, 200, 150, 1, x, y, 0, out),
      Kernel::Gelu(static_cast<float*>(x), static_cast<float*>(out), 50000),
      Kernel::Softmax(static_cast<float*>(x), static_cast<float*>(out), 100, 300),
      Kernel::Gemm(DType::kI8, true, false, 256, 64, 256, 1, x, y, 1, out),
      Kernel::Add(static_cast<float*>(x), static_cast<float*>(y), static_cast<float*>(out), 65536),
      Kernel::Cast(DType::kF32, DType::kBF16, x, out, 65536),
      Kernel::Gemm(DType::kBF16, false, false, 64, 64, 64, 1, x, y, 0, out),
  };
  // Warm up: the first kernel also allocates the executor's scratch buffers.
  REQUIRE(dev->Launch(kDefaultStream, kernels[0]).ok());
  REQUIRE(dev->Synchronize().ok());
  absl::Duration expected;
  DeviceStateSnapshot before = seg->Snapshot();
  // Twice through (about 250 ms modelled), so one late wake-up at the very end, the only
  // overshoot that later kernels cannot pay back, stays a small fraction even under heavy load.
  for (int rep = 0; rep < 2; ++rep) {
    for (const Kernel& k : kernels) {
      REQUIRE(dev->Launch(kDefaultStream, k).ok());
      expected += model.KernelTime(k);
    }
  }
  REQUIRE(dev->Synchronize().ok());
  DeviceStateSnapshot after = seg->Snapshot();
  absl::Duration busy = after.busy - before.busy;
  CHECK(after.model_busy - before.model_busy == expected);
  INFO("busy " << absl::FormatDuration(busy) << " model " << absl::FormatDuration(expected));
  CHECK(busy >= expected * 0.9);
  CHECK(busy <= expected * 1.10);
  CHECK(after.kernels_run - before.kernels_run == 2 * kernels.size());
}

}  // namespace
}  // namespace hac::device
