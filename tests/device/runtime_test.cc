// The runtime's device discovery (HAC_VISIBLE_DEVICES / HAC_LOCAL_DEVICES), in process.
#include <cstdlib>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "runtime/runtime.h"
#include "tests/device/device_test_util.h"

namespace hac::runtime {
namespace {

using device::DeviceRegistry;
using device::DeviceStateSegment;
using device::NodeDeviceConfig;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "hac-rt-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST_CASE("The runtime opens exactly the segments listed in HAC_VISIBLE_DEVICES") {
  TempDir dir;
  auto config = NodeDeviceConfig::ParseShort("emu-gpu:2,sim-npu:1/fault=unhealthy");
  REQUIRE(config.ok());
  std::mt19937_64 gen(3);
  auto segments = DeviceRegistry::CreateDefault()->CreateSegments(*config, dir.path(), gen);
  REQUIRE(segments.ok());
  RuntimeOptions options;
  options.visible_devices = (*segments)[1]->path() + "," + (*segments)[2]->path();
  options.local_devices = "emu-gpu:4";  // ignored: the agent's list wins
  auto rt = Runtime::Create(options);
  REQUIRE(rt.ok());
  REQUIRE((*rt)->device_count() == 2);
  CHECK(std::string((*rt)->properties(0)->uuid) == (*segments)[1]->properties().uuid);
  CHECK((*rt)->properties(1)->backend_name() == "sim-npu");
  CHECK((*rt)->properties(2).status().code() == absl::StatusCode::kOutOfRange);

  auto dev = (*rt)->device(0);
  REQUIRE(dev.ok());
  void* p = *(*dev)->Allocate(4096);
  CHECK((*segments)[1]->Snapshot().memory_used == 4096);
  CHECK((*segments)[0]->Snapshot().memory_used == 0);
  CHECK((*dev)->Free(p).ok());
  // The unhealthy device is listed (the job can see it) but cannot be opened.
  CHECK((*rt)->device(1).status().code() == absl::StatusCode::kFailedPrecondition);
  // Once the agent marks it healthy again, a retry opens it.
  (*segments)[2]->SetFault(device::FaultConfig{});
  CHECK((*rt)->device(1).ok());
}

TEST_CASE("The runtime reports a missing segment and builds local devices from the short spec") {
  RuntimeOptions missing;
  missing.visible_devices = "/nonexistent/hac/dev.state";
  auto rt = Runtime::Create(missing);
  CHECK(rt.status().code() == absl::StatusCode::kNotFound);
  CHECK(std::string(rt.status().message()).find("HAC_VISIBLE_DEVICES") != std::string::npos);

  RuntimeOptions local;
  local.local_devices = "emu-gpu:1,sim-npu:2/clock_mhz=100";
  auto lrt = Runtime::Create(local);
  REQUIRE(lrt.ok());
  REQUIRE((*lrt)->device_count() == 3);
  CHECK((*lrt)->properties(2)->sim_npu.clock_hz == 100'000'000);
  CHECK((*lrt)->device(2).ok());

  RuntimeOptions bad;
  bad.local_devices = "quantum-gpu:1";
  CHECK(Runtime::Create(bad).status().code() == absl::StatusCode::kInvalidArgument);

  auto none = Runtime::Create(RuntimeOptions{});
  REQUIRE(none.ok());
  CHECK((*none)->device_count() == 0);
}

}  // namespace
}  // namespace hac::runtime
