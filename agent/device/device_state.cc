#include "agent/device/device_state.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <algorithm>
#include <new>

#include "absl/strings/str_cat.h"

namespace hac::device {
namespace {

constexpr uint64_t kMagic = 0x4841434445565354ull;  // "HACDEVST"
constexpr uint32_t kVersion = 1;
constexpr int kOwnerWords = 8;

static_assert(std::atomic<uint64_t>::is_always_lock_free,
              "cross-process counters need lock-free 64-bit atomics");
static_assert(std::atomic<uint32_t>::is_always_lock_free);

absl::Status ErrnoStatus(const std::string& what, const std::string& path) {
  int e = errno;
  std::string msg = absl::StrCat(what, " ", path, ": ", strerror(e));
  if (e == ENOENT) return absl::NotFoundError(msg);
  if (e == EACCES || e == EPERM) return absl::PermissionDeniedError(msg);
  return absl::InternalError(msg);
}

}  // namespace

struct DeviceStateSegment::Layout {
  std::atomic<uint64_t> magic;
  uint32_t version;
  uint32_t size;
  DeviceProperties props;
  std::atomic<uint64_t> generation;
  std::atomic<uint64_t> memory_used;
  std::atomic<uint64_t> busy_ns;
  std::atomic<uint64_t> model_busy_ns;
  std::atomic<uint64_t> kernels_run;
  std::atomic<uint64_t> kernels_launched;
  std::atomic<uint64_t> attach_count;
  std::atomic<uint32_t> health;
  std::atomic<uint32_t> fault_mode;
  std::atomic<uint64_t> fault_after;
  std::atomic<uint64_t> owner_seq;  // odd while the owner is being written
  std::atomic<uint64_t> owner[kOwnerWords];
};

DeviceStateSegment::DeviceStateSegment(std::string path, void* base, size_t size)
    : path_(std::move(path)), base_(base), size_(size) {}

DeviceStateSegment::~DeviceStateSegment() { munmap(base_, size_); }

absl::StatusOr<std::unique_ptr<DeviceStateSegment>> DeviceStateSegment::Create(
    const std::string& path, const DeviceProperties& props) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("cannot create device state", path);
  size_t size = sizeof(Layout);
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    absl::Status s = ErrnoStatus("cannot size device state", path);
    close(fd);
    return s;
  }
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (base == MAP_FAILED) return ErrnoStatus("cannot map device state", path);
  auto seg = std::unique_ptr<DeviceStateSegment>(new DeviceStateSegment(path, base, size));
  seg->Init(props);
  return seg;
}

absl::StatusOr<std::unique_ptr<DeviceStateSegment>> DeviceStateSegment::CreateAnonymous(
    const DeviceProperties& props) {
  size_t size = sizeof(Layout);
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return ErrnoStatus("cannot map anonymous device state", "");
  auto seg = std::unique_ptr<DeviceStateSegment>(new DeviceStateSegment("", base, size));
  seg->Init(props);
  return seg;
}

absl::StatusOr<std::unique_ptr<DeviceStateSegment>> DeviceStateSegment::Attach(
    const std::string& path) {
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open device state", path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    absl::Status s = ErrnoStatus("cannot stat device state", path);
    close(fd);
    return s;
  }
  size_t size = sizeof(Layout);
  if (static_cast<size_t>(st.st_size) != size) {
    close(fd);
    return absl::DataLossError(absl::StrCat("device state ", path, " has size ", st.st_size,
                                            ", expected ", size));
  }
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (base == MAP_FAILED) return ErrnoStatus("cannot map device state", path);
  auto seg = std::unique_ptr<DeviceStateSegment>(new DeviceStateSegment(path, base, size));
  const Layout* l = seg->layout();
  if (l->magic.load(std::memory_order_acquire) != kMagic || l->version != kVersion) {
    return absl::DataLossError(absl::StrCat(path, " is not a version ", kVersion,
                                            " device state segment"));
  }
  return seg;
}

void DeviceStateSegment::Init(const DeviceProperties& props) {
  Layout* l = new (base_) Layout();
  l->version = kVersion;
  l->size = static_cast<uint32_t>(size_);
  l->props = props;
  l->fault_mode.store(static_cast<uint32_t>(props.fault.mode));
  l->fault_after.store(props.fault.after_kernels);
  l->health.store(static_cast<uint32_t>(
      props.fault.mode == FaultMode::kUnhealthy ? Health::kUnhealthy : Health::kHealthy));
  l->magic.store(kMagic, std::memory_order_release);
}

const DeviceProperties& DeviceStateSegment::properties() const { return layout()->props; }

DeviceStateSnapshot DeviceStateSegment::Snapshot() const {
  const Layout* l = layout();
  DeviceStateSnapshot s;
  s.generation = l->generation.load();
  s.memory_used = l->memory_used.load();
  s.memory_capacity = l->props.memory_bytes;
  s.busy = absl::Nanoseconds(l->busy_ns.load());
  s.model_busy = absl::Nanoseconds(l->model_busy_ns.load());
  s.kernels_run = l->kernels_run.load();
  s.kernels_launched = l->kernels_launched.load();
  s.attach_count = l->attach_count.load();
  s.health = static_cast<Health>(l->health.load());
  s.owner = Owner();
  return s;
}

void DeviceStateSegment::SetOwner(const std::string& attempt) {
  Layout* l = layout();
  char buf[kOwnerWords * 8] = {};
  memcpy(buf, attempt.data(), std::min(attempt.size(), sizeof(buf) - 1));
  l->owner_seq.fetch_add(1, std::memory_order_acq_rel);  // odd: writing
  for (int i = 0; i < kOwnerWords; ++i) {
    uint64_t w;
    memcpy(&w, buf + 8 * i, 8);
    l->owner[i].store(w, std::memory_order_relaxed);
  }
  l->owner_seq.fetch_add(1, std::memory_order_release);  // even: stable
}

std::string DeviceStateSegment::Owner() const {
  const Layout* l = layout();
  char buf[kOwnerWords * 8];
  for (;;) {
    uint64_t before = l->owner_seq.load(std::memory_order_acquire);
    if (before & 1) continue;
    for (int i = 0; i < kOwnerWords; ++i) {
      uint64_t w = l->owner[i].load(std::memory_order_relaxed);
      memcpy(buf + 8 * i, &w, 8);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (l->owner_seq.load(std::memory_order_relaxed) == before) break;
  }
  buf[sizeof(buf) - 1] = '\0';
  return std::string(buf);
}

void DeviceStateSegment::Reset() {
  Layout* l = layout();
  l->memory_used.store(0);
  l->busy_ns.store(0);
  l->model_busy_ns.store(0);
  l->kernels_run.store(0);
  l->kernels_launched.store(0);
  l->attach_count.store(0);
  l->health.store(static_cast<uint32_t>(
      l->fault_mode.load() == static_cast<uint32_t>(FaultMode::kUnhealthy) ? Health::kUnhealthy
                                                                          : Health::kHealthy));
  SetOwner("");
  l->generation.fetch_add(1);
}

void DeviceStateSegment::SetFault(const FaultConfig& fault) {
  Layout* l = layout();
  l->fault_after.store(fault.after_kernels);
  l->fault_mode.store(static_cast<uint32_t>(fault.mode));
  if (fault.mode == FaultMode::kUnhealthy) {
    l->health.store(static_cast<uint32_t>(Health::kUnhealthy));
  } else if (l->health.load() == static_cast<uint32_t>(Health::kUnhealthy)) {
    l->health.store(static_cast<uint32_t>(Health::kHealthy));
  }
}

uint64_t DeviceStateSegment::generation() const { return layout()->generation.load(); }

absl::Status DeviceStateSegment::ReserveMemory(uint64_t bytes) {
  Layout* l = layout();
  uint64_t cap = l->props.memory_bytes;
  uint64_t used = l->memory_used.load();
  for (;;) {
    if (bytes > cap || used > cap - bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat("device ", l->props.uuid, ": allocating ", bytes, " bytes with ", used,
                       " of ", cap, " bytes in use exceeds the memory capacity"));
    }
    if (l->memory_used.compare_exchange_weak(used, used + bytes)) return absl::OkStatus();
  }
}

void DeviceStateSegment::ReleaseMemory(uint64_t bytes) {
  Layout* l = layout();
  uint64_t used = l->memory_used.load();
  for (;;) {
    uint64_t next = used > bytes ? used - bytes : 0;
    if (l->memory_used.compare_exchange_weak(used, next)) return;
  }
}

void DeviceStateSegment::AddKernelRun(absl::Duration busy, absl::Duration model_busy) {
  Layout* l = layout();
  l->busy_ns.fetch_add(static_cast<uint64_t>(absl::ToInt64Nanoseconds(busy)));
  l->model_busy_ns.fetch_add(static_cast<uint64_t>(absl::ToInt64Nanoseconds(model_busy)));
  l->kernels_run.fetch_add(1);
}

uint64_t DeviceStateSegment::NextLaunch() { return layout()->kernels_launched.fetch_add(1) + 1; }

FaultConfig DeviceStateSegment::fault() const {
  FaultConfig f;
  f.mode = static_cast<FaultMode>(layout()->fault_mode.load());
  f.after_kernels = layout()->fault_after.load();
  return f;
}

Health DeviceStateSegment::health() const {
  return static_cast<Health>(layout()->health.load());
}

void DeviceStateSegment::SetHealth(Health h) {
  layout()->health.store(static_cast<uint32_t>(h));
}

void DeviceStateSegment::AddAttach(int delta) {
  if (delta >= 0) {
    layout()->attach_count.fetch_add(static_cast<uint64_t>(delta));
    return;
  }
  uint64_t d = static_cast<uint64_t>(-delta);
  uint64_t cur = layout()->attach_count.load();
  for (;;) {
    uint64_t next = cur > d ? cur - d : 0;
    if (layout()->attach_count.compare_exchange_weak(cur, next)) return;
  }
}

}  // namespace hac::device
