// Device behaviour shared by both backends: memory capacity and bounds, streams, telemetry,
// faults, registry configuration.
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/device/device_test_util.h"

namespace hac::device {
namespace {

using testing::FromDevice;
using testing::OpenLocal;
using testing::PlanOne;
using testing::ToDevice;

#define HAC_BACKENDS GENERATE(as<std::string>{}, "emu-gpu", "sim-npu/model=atom-sim-fast")

TEST_CASE("Allocations past the memory capacity fail with RESOURCE_EXHAUSTED") {
  std::string spec = std::string(HAC_BACKENDS) + "/memory=1MiB";
  auto dev = OpenLocal(spec);
  REQUIRE(dev->properties().memory_bytes == (1u << 20));
  auto a = dev->Allocate(600 << 10);
  REQUIRE(a.ok());
  auto b = dev->Allocate(600 << 10);
  CHECK(b.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(dev->Telemetry().memory_used == (600u << 10));
  auto c = dev->Allocate(1 << 20);
  CHECK(c.status().code() == absl::StatusCode::kResourceExhausted);
  REQUIRE(dev->Free(*a).ok());
  CHECK(dev->Telemetry().memory_used == 0);
  auto d = dev->Allocate(1 << 20);  // exactly the capacity fits
  REQUIRE(d.ok());
  CHECK(dev->Telemetry().memory_used == (1u << 20));
  auto z = dev->Allocate(0);  // zero bytes: a pointer that accounts for nothing
  REQUIRE(z.ok());
  CHECK(*z != nullptr);
  CHECK(dev->Free(*z).ok());
  CHECK(dev->Free(*d).ok());
}

TEST_CASE("Freeing a foreign pointer and out-of-bounds copies are INVALID_ARGUMENT") {
  auto dev = OpenLocal(HAC_BACKENDS);
  int host[4] = {1, 2, 3, 4};
  CHECK(dev->Free(host).code() == absl::StatusCode::kInvalidArgument);
  void* p = *dev->Allocate(16);
  CHECK(dev->Copy(p, host, 16, CopyKind::kHostToDevice).ok());
  CHECK(dev->Copy(p, host, 17, CopyKind::kHostToDevice).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(dev->Copy(static_cast<char*>(p) + 8, host, 12, CopyKind::kHostToDevice).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(dev->Copy(host, host + 1, 4, CopyKind::kDeviceToDevice).code() ==
        absl::StatusCode::kInvalidArgument);
  // A kernel whose operand runs past its buffer is refused before it is queued.
  CHECK(dev->Launch(kDefaultStream, Kernel::Relu(static_cast<float*>(p), static_cast<float*>(p), 5))
            .code() == absl::StatusCode::kInvalidArgument);
  CHECK(dev->Launch(kDefaultStream, Kernel::Relu(static_cast<float*>(p), static_cast<float*>(p), 4))
            .ok());
  CHECK(dev->Launch(kDefaultStream, Kernel::Copy(p, static_cast<char*>(p) + 4, 8)).code() ==
        absl::StatusCode::kInvalidArgument);  // overlapping device-to-device copy
  int back[4] = {};
  REQUIRE(dev->Copy(back, p, 16, CopyKind::kDeviceToHost).ok());
  CHECK(std::memcmp(back, host, 16) == 0);  // positive ints are unchanged by relu
  CHECK(dev->Free(p).ok());
  CHECK(dev->Free(p).code() == absl::StatusCode::kInvalidArgument);  // double free
}

TEST_CASE("Streams run their kernels in order and telemetry counts them") {
  auto dev = OpenLocal(HAC_BACKENDS);
  auto s1 = dev->CreateStream();
  REQUIRE(s1.ok());
  std::vector<float> ones(1000, 1.0f);
  float* x = static_cast<float*>(ToDevice(*dev, ones));
  // x = x + x four times on stream s1: 16 if in order.
  for (int i = 0; i < 4; ++i) REQUIRE(dev->Launch(*s1, Kernel::Add(x, x, x, 1000)).ok());
  REQUIRE(dev->SynchronizeStream(*s1).ok());
  CHECK(FromDevice<float>(*dev, x, 1000) == std::vector<float>(1000, 16.0f));
  DeviceTelemetry t = dev->Telemetry();
  CHECK(t.kernels_run == 4);
  CHECK(t.busy > absl::ZeroDuration());
  CHECK(t.health == Health::kHealthy);
  CHECK(dev->DestroyStream(*s1).ok());
  CHECK(dev->Launch(*s1, Kernel::Add(x, x, x, 1000)).code() == absl::StatusCode::kInvalidArgument);
  CHECK(dev->DestroyStream(kDefaultStream).code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("An unhealthy device cannot be opened") {
  auto seg = DeviceStateSegment::CreateAnonymous(PlanOne("emu-gpu/fault=unhealthy"));
  REQUIRE(seg.ok());
  CHECK((*seg)->Snapshot().health == Health::kUnhealthy);
  auto dev = DeviceRegistry::CreateDefault()->Open(*std::move(seg));
  CHECK(dev.status().code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("A device configured to fail after N kernels errors on launch N+1 until reset") {
  auto seg_or = DeviceStateSegment::CreateAnonymous(PlanOne("sim-npu/model=atom-sim-fast/fault=error_after:3"));
  REQUIRE(seg_or.ok());
  DeviceStateSegment* seg = seg_or->get();
  auto dev = *DeviceRegistry::CreateDefault()->Open(*std::move(seg_or));
  float* x = static_cast<float*>(*dev->Allocate(64));
  for (int i = 0; i < 3; ++i) REQUIRE(dev->Launch(kDefaultStream, Kernel::Relu(x, x, 16)).ok());
  absl::Status st = dev->Launch(kDefaultStream, Kernel::Relu(x, x, 16));
  CHECK(st.code() == absl::StatusCode::kInternal);
  CHECK(seg->Snapshot().health == Health::kFailed);
  CHECK(dev->Launch(kDefaultStream, Kernel::Relu(x, x, 16)).code() == absl::StatusCode::kInternal);
  REQUIRE(dev->Synchronize().ok());
  CHECK(seg->Snapshot().kernels_run == 3);
  // The in-process reset clears the fault and frees this process's memory.
  REQUIRE(dev->Reset().ok());
  CHECK(seg->Snapshot().health == Health::kHealthy);
  CHECK(seg->Snapshot().memory_used == 0);
}

TEST_CASE("A hung kernel never completes: synchronize times out and reset unblocks the device") {
  auto dev = OpenLocal("emu-gpu/fault=hang_after:1");
  float* x = static_cast<float*>(*dev->Allocate(64));
  REQUIRE(dev->Launch(kDefaultStream, Kernel::Relu(x, x, 16)).ok());
  REQUIRE(dev->Synchronize(absl::Seconds(30)).ok());
  REQUIRE(dev->Launch(kDefaultStream, Kernel::Relu(x, x, 16)).ok());  // this one hangs
  CHECK(dev->Synchronize(absl::Milliseconds(100)).code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(dev->Telemetry().kernels_run == 1);
  REQUIRE(dev->Reset().ok());
  CHECK(dev->Synchronize(absl::Seconds(30)).ok());
}

TEST_CASE("The node config parser builds properties per model and rejects bad keys") {
  auto config = NodeDeviceConfig::Parse(
      "# two kinds\n"
      "backend=emu-gpu count=2 model=egpu-m sms=3 memory=64MiB\n"
      "\n"
      "backend=sim-npu array=32x8 clock_mhz=50 fault=hang_after:7  # comment\n");
  REQUIRE(config.ok());
  std::mt19937_64 gen(1);
  auto plan = DeviceRegistry::CreateDefault()->Plan(*config, gen);
  REQUIRE(plan.ok());
  REQUIRE(plan->size() == 3);
  const DeviceProperties& g = (*plan)[0];
  CHECK(g.backend_name() == "emu-gpu");
  CHECK(g.model_name() == "egpu-m");
  CHECK(g.device_class == DeviceClass::kGpu);
  CHECK(g.emu_gpu.sm_count == 3);
  CHECK(g.compute_units == 3);
  CHECK(g.memory_bytes == (64u << 20));
  CHECK(g.SupportsGemm(DType::kF32));
  CHECK((*plan)[0].uuid_string() != (*plan)[1].uuid_string());
  CHECK((*plan)[0].uuid_string().size() == 36);
  const DeviceProperties& n = (*plan)[2];
  CHECK(n.model_name() == "atom-sim");
  CHECK(n.device_class == DeviceClass::kNpu);
  CHECK(n.sim_npu.array_rows == 32);
  CHECK(n.sim_npu.array_cols == 8);
  CHECK(n.sim_npu.clock_hz == 50'000'000);
  CHECK(n.compute_units == 256);
  CHECK(n.peak_ops_per_s[static_cast<int>(DType::kI8)] == 2.0 * 256 * 50e6);
  CHECK(n.peak_ops_per_s[static_cast<int>(DType::kBF16)] == 256 * 50e6);
  CHECK(!n.SupportsGemm(DType::kF32));
  CHECK(n.fault.mode == FaultMode::kHangAfterKernels);
  CHECK(n.fault.after_kernels == 7);

  auto registry = DeviceRegistry::CreateDefault();
  for (const char* bad : {"backend=tpu", "backend=emu-gpu sms=0", "backend=emu-gpu colour=red",
                          "backend=sim-npu array=16", "backend=emu-gpu model=h100",
                          "backend=emu-gpu fault=sometimes", "backend=emu-gpu count=65",
                          "count=2", "backend=emu-gpu sms"}) {
    INFO(bad);
    auto c = NodeDeviceConfig::Parse(bad);
    absl::Status st = c.ok() ? registry->Plan(*c, gen).status() : c.status();
    CHECK(st.code() == absl::StatusCode::kInvalidArgument);
  }
  auto shortform = NodeDeviceConfig::ParseShort("emu-gpu:1, sim-npu:2/clock_mhz=100");
  REQUIRE(shortform.ok());
  REQUIRE(shortform->groups.size() == 2);
  CHECK(shortform->groups[1].count == 2);
  CHECK(shortform->groups[1].options.at("clock_mhz") == "100");
}

}  // namespace
}  // namespace hac::device
