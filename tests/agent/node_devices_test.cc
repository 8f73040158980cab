#include "agent/node_devices.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "absl/random/random.h"
#include "absl/strings/str_split.h"
#include "agent/device/device_state.h"
#include "tests/testing/temp_dir.h"

namespace hac::agent {
namespace {

std::unique_ptr<NodeDevices> MakeDevices(const testing::TempDir& dir,
                                         std::vector<std::string> flags = {"sim-npu:2",
                                                                           "emu-gpu:1"}) {
  auto config = ParseDeviceFlags(flags, {});
  REQUIRE(config.ok());
  absl::BitGen gen;
  auto devices = NodeDevices::Create(*config, dir.File("devices"), gen);
  REQUIRE(devices.ok());
  return std::move(*devices);
}

TEST_CASE("ParseDeviceFlags builds one group per --device flag with per-model parameters") {
  auto config = ParseDeviceFlags({"sim-npu:4", "emu-gpu:2:egpu-m"},
                                 {"egpu-m memory=2GiB", "sim-npu clock_mhz=100"});
  REQUIRE(config.ok());
  REQUIRE(config->groups.size() == 2);
  CHECK(config->groups[0].backend == "sim-npu");
  CHECK(config->groups[0].count == 4);
  CHECK(config->groups[1].backend == "emu-gpu");
  CHECK(config->groups[1].model == "egpu-m");
  CHECK(config->groups[1].count == 2);
  CHECK(config->groups[1].options.at("memory") == "2GiB");
  CHECK(config->groups[0].options.at("clock_mhz") == "100");
}

TEST_CASE("ParseDeviceFlags rejects malformed flags naming the expected form") {
  auto bad = ParseDeviceFlags({"sim-npu"}, {});
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(bad.status().message() ==
        "--device 'sim-npu' must be BACKEND:COUNT[:MODEL] with COUNT 1..64, e.g. sim-npu:4");
  CHECK(ParseDeviceFlags({"sim-npu:0"}, {}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(ParseDeviceFlags({}, {}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(ParseDeviceFlags({"sim-npu:1"}, {"atom-sim"}).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("NodeDevices creates one segment per device and joins their paths for the job") {
  testing::TempDir dir;
  auto devices = MakeDevices(dir);
  REQUIRE(devices->size() == 3);
  CHECK(devices->properties(0).backend_name() == "sim-npu");
  CHECK(devices->properties(2).backend_name() == "emu-gpu");
  std::vector<std::string> paths = absl::StrSplit(devices->VisibleDevices({2, 0}), ',');
  REQUIRE(paths.size() == 2);
  CHECK(paths[0] == devices->path(2));
  CHECK(paths[1] == devices->path(0));
  CHECK(access(paths[0].c_str(), R_OK | W_OK) == 0);
}

TEST_CASE("NodeDevices rejects an unknown backend") {
  testing::TempDir dir;
  auto config = ParseDeviceFlags({"warp-drive:1"}, {});
  REQUIRE(config.ok());
  absl::BitGen gen;
  CHECK_FALSE(NodeDevices::Create(*config, dir.File("devices"), gen).ok());
}

TEST_CASE("NodeDevices claims devices for one attempt at a time, all or nothing") {
  testing::TempDir dir;
  auto devices = MakeDevices(dir);
  REQUIRE(devices->Claim("j-1.1", {0, 1}).ok());
  CHECK(devices->Snapshot(0).owner == "j-1.1");
  CHECK(devices->Owner(1) == "j-1.1");
  auto taken = devices->Claim("j-2.1", {2, 1});
  CHECK(taken.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(taken.message() == "device 1 is held by attempt j-1.1");
  CHECK(devices->Owner(2).empty());  // nothing claimed on failure
  CHECK(devices->Claim("j-2.1", {7}).code() == absl::StatusCode::kInvalidArgument);
  CHECK(devices->Claim("j-2.1", {2, 2}).code() == absl::StatusCode::kInvalidArgument);
  CHECK(devices->Release("j-1.1") == std::vector<uint32_t>{0, 1});
  CHECK(devices->Owner(0).empty());
  CHECK(devices->Claim("j-2.1", {0, 1, 2}).ok());
}

TEST_CASE("NodeDevices release reclaims memory and busy time a crashed job left accounted") {
  testing::TempDir dir;
  auto devices = MakeDevices(dir);
  REQUIRE(devices->Claim("j-1.1", {1}).ok());
  uint64_t generation = devices->Snapshot(1).generation;
  std::string path = devices->path(1);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The job: attach like libhacrt, account memory and busy time, then crash.
    auto seg = device::DeviceStateSegment::Attach(path);
    if (!seg.ok()) _exit(2);
    if (!(*seg)->ReserveMemory(1 << 20).ok()) _exit(3);
    (*seg)->AddKernelRun(absl::Milliseconds(250), absl::ZeroDuration());
    kill(getpid(), SIGKILL);
    _exit(4);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFSIGNALED(status));
  CHECK(devices->Snapshot(1).memory_used == (1u << 20));
  CHECK(devices->Snapshot(1).busy == absl::Milliseconds(250));

  CHECK(devices->Release("j-1.1") == std::vector<uint32_t>{1});
  device::DeviceStateSnapshot after = devices->Snapshot(1);
  CHECK(after.memory_used == 0);
  CHECK(after.busy == absl::ZeroDuration());
  CHECK(after.owner.empty());
  CHECK(after.generation == generation + 1);
  CHECK(devices->TotalBusy(1) == absl::Milliseconds(250));  // kept for the metrics
}

TEST_CASE("NodeDevices starts every device reset even if the previous agent left it dirty") {
  testing::TempDir dir;
  {
    auto first = MakeDevices(dir);
    REQUIRE(first->Claim("old", {0}).ok());
  }
  auto again = MakeDevices(dir);
  CHECK(again->Snapshot(0).owner.empty());
  CHECK(again->Owner(0).empty());
  CHECK(again->Claim("new", {0}).ok());
}

}  // namespace
}  // namespace hac::agent
