// The shared device state segment: agent-side API, two processes on one device, reclaim after a
// crashed job.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "tests/device/device_test_util.h"

namespace hac::device {
namespace {

using testing::PlanOne;

// A fresh temporary directory, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "hac-device-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// One byte over a pipe; false on EOF.
bool ReadByte(int fd) {
  char c;
  return read(fd, &c, 1) == 1;
}
void WriteByte(int fd) {
  char c = 'x';
  REQUIRE(write(fd, &c, 1) == 1);
}

TEST_CASE("The agent creates segments that a job attaches to by path") {
  TempDir dir;
  auto config = NodeDeviceConfig::ParseShort("emu-gpu:2/memory=1MiB,sim-npu:1");
  REQUIRE(config.ok());
  std::mt19937_64 gen(5);
  auto registry = DeviceRegistry::CreateDefault();
  auto segments = registry->CreateSegments(*config, dir.path(), gen);
  REQUIRE(segments.ok());
  REQUIRE(segments->size() == 3);
  CHECK((*segments)[0]->path() == dir.path() + "/emu-gpu-0.state");
  CHECK((*segments)[2]->path() == dir.path() + "/sim-npu-2.state");

  DeviceStateSegment& agent = *(*segments)[0];
  agent.SetOwner("attempt-42");
  auto attached = DeviceStateSegment::Attach(agent.path());
  REQUIRE(attached.ok());
  CHECK(std::string((*attached)->properties().uuid) == agent.properties().uuid);
  CHECK((*attached)->Owner() == "attempt-42");
  auto dev = registry->Open(*std::move(attached));
  REQUIRE(dev.ok());
  void* p = *(*dev)->Allocate(1000);
  CHECK(agent.Snapshot().memory_used == 1000);
  CHECK(agent.Snapshot().attach_count == 1);
  CHECK(agent.Snapshot().memory_capacity == (1u << 20));
  REQUIRE((*dev)->Free(p).ok());
  CHECK(agent.Snapshot().memory_used == 0);

  CHECK(DeviceStateSegment::Attach(dir.path() + "/missing.state").status().code() ==
        absl::StatusCode::kNotFound);
  std::string junk = dir.path() + "/junk.state";
  FILE* f = fopen(junk.c_str(), "w");
  REQUIRE(f != nullptr);
  fputs("not a segment", f);
  fclose(f);
  CHECK(DeviceStateSegment::Attach(junk).status().code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("Two processes attached to one device share its memory capacity and counters") {
  TempDir dir;
  std::string path = dir.path() + "/dev.state";
  auto agent = DeviceStateSegment::Create(path, PlanOne("emu-gpu/memory=1MiB"));
  REQUIRE(agent.ok());
  int to_child[2], to_parent[2];
  REQUIRE(pipe(to_child) == 0);
  REQUIRE(pipe(to_parent) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Child: attach by path, take 700 KiB, run one kernel, report, wait, exit cleanly.
    int rc = 1;
    auto seg = DeviceStateSegment::Attach(path);
    if (seg.ok()) {
      auto dev = DeviceRegistry::CreateDefault()->Open(*std::move(seg));
      if (dev.ok()) {
        auto p = (*dev)->Allocate(700 << 10);
        if (p.ok()) {
          float* x = static_cast<float*>(*p);
          if ((*dev)->Launch(kDefaultStream, Kernel::Relu(x, x, 1000)).ok() &&
              (*dev)->Synchronize().ok()) {
            rc = 0;
          }
        }
        char c = 'x';
        if (write(to_parent[1], &c, 1) != 1) rc = 2;
        if (read(to_child[0], &c, 1) != 1) rc = 3;
      }
    }
    _exit(rc);
  }
  REQUIRE(ReadByte(to_parent[0]));
  // Parent, as a second job process on the same device.
  auto seg = DeviceStateSegment::Attach(path);
  REQUIRE(seg.ok());
  auto dev = DeviceRegistry::CreateDefault()->Open(*std::move(seg));
  REQUIRE(dev.ok());
  DeviceStateSnapshot s = (*agent)->Snapshot();
  CHECK(s.memory_used == (700u << 10));
  CHECK(s.attach_count == 2);
  CHECK(s.kernels_run == 1);
  // The child's 700 KiB count against the parent too.
  CHECK((*dev)->Allocate(400 << 10).status().code() == absl::StatusCode::kResourceExhausted);
  auto mine = (*dev)->Allocate(300 << 10);
  REQUIRE(mine.ok());
  CHECK((*agent)->Snapshot().memory_used == (1000u << 10));
  WriteByte(to_child[1]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  // The child's device destructor released its memory on a clean exit.
  CHECK((*agent)->Snapshot().memory_used == (300u << 10));
  CHECK((*agent)->Snapshot().attach_count == 1);
  for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]}) close(fd);
}

TEST_CASE("After a job is killed the agent reset reclaims its memory and the device is reusable") {
  TempDir dir;
  std::string path = dir.path() + "/dev.state";
  auto agent = DeviceStateSegment::Create(path, PlanOne("sim-npu/memory=4MiB"));
  REQUIRE(agent.ok());
  (*agent)->SetOwner("attempt-7");
  int to_parent[2];
  REQUIRE(pipe(to_parent) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto seg = DeviceStateSegment::Attach(path);
    if (!seg.ok()) _exit(1);
    auto dev = DeviceRegistry::CreateDefault()->Open(*std::move(seg));
    if (!dev.ok()) _exit(1);
    if (!(*dev)->Allocate(3 << 20).ok()) _exit(1);
    char c = 'x';
    if (write(to_parent[1], &c, 1) != 1) _exit(1);
    for (;;) pause();  // until SIGKILL
  }
  REQUIRE(ReadByte(to_parent[0]));
  REQUIRE(kill(pid, SIGKILL) == 0);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status));
  // The crash leaked the accounting ...
  DeviceStateSnapshot before = (*agent)->Snapshot();
  CHECK(before.memory_used == (3u << 20));
  CHECK(before.owner == "attempt-7");
  // ... until the agent resets the device.
  (*agent)->Reset();
  DeviceStateSnapshot after = (*agent)->Snapshot();
  CHECK(after.memory_used == 0);
  CHECK(after.attach_count == 0);
  CHECK(after.owner.empty());
  CHECK(after.health == Health::kHealthy);
  CHECK(after.generation == before.generation + 1);
  // The whole capacity is usable again by the next job.
  auto seg = DeviceStateSegment::Attach(path);
  REQUIRE(seg.ok());
  auto dev = DeviceRegistry::CreateDefault()->Open(*std::move(seg));
  REQUIRE(dev.ok());
  CHECK((*dev)->Allocate(4 << 20).ok());
  close(to_parent[0]);
  close(to_parent[1]);
}

TEST_CASE("A process still attached when the agent resets the device is told to stop") {
  auto seg_or = DeviceStateSegment::CreateAnonymous(PlanOne("emu-gpu"));
  REQUIRE(seg_or.ok());
  DeviceStateSegment* seg = seg_or->get();
  auto dev = *DeviceRegistry::CreateDefault()->Open(*std::move(seg_or));
  float* x = static_cast<float*>(*dev->Allocate(64));
  seg->Reset();
  CHECK(dev->Launch(kDefaultStream, Kernel::Relu(x, x, 16)).code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(dev->Allocate(64).status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(dev->Free(x).ok());  // freeing still works and does not disturb the new accounting
  CHECK(seg->Snapshot().memory_used == 0);
}

TEST_CASE("Owner ids are stored truncated to 63 bytes and read back consistently") {
  auto seg = DeviceStateSegment::CreateAnonymous(PlanOne("emu-gpu"));
  REQUIRE(seg.ok());
  CHECK((*seg)->Owner().empty());
  (*seg)->SetOwner(std::string(100, 'a'));
  CHECK((*seg)->Owner() == std::string(63, 'a'));
  (*seg)->SetOwner("job-1/attempt-2");
  CHECK((*seg)->Snapshot().owner == "job-1/attempt-2");
}

}  // namespace
}  // namespace hac::device
