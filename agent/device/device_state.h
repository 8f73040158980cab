// DeviceStateSegment: the small shared-memory record of one device that the node agent and the
// job process both see. It is the cross-process truth for accounting and reclaim.
//
// Storage: a regular file (the agent puts them under its state directory, e.g.
// /var/lib/hac/devices/emu-gpu-0.state; a tmpfs such as /dev/shm works the same) mapped with
// mmap(MAP_SHARED). A file was chosen over shm_open so the path can be handed to the job verbatim in
// HAC_VISIBLE_DEVICES, inspected with ordinary tools, and cleaned up with the state directory.
// For local development without an agent, CreateAnonymous() maps the same layout privately.
//
// Layout: a header (magic, version, size), the immutable DeviceProperties, then lock-free 64-bit
// atomics: generation, memory_used, busy_ns, model_busy_ns, kernels_run, kernels_launched,
// attach_count, health, and the owner attempt id (a seqlock-protected 63-byte string).
//
// Who writes what:
//   agent  Create() at startup; SetOwner() when it assigns the device; Snapshot() every second to
//          meter; Reset() after the job exits (or crashes): memory accounting, counters, fault state
//          and owner go back to zero and `generation` increments.
//   job    Attach() via HAC_VISIBLE_DEVICES; the device implementation (HostDevice) reserves and
//          releases memory, adds busy time and kernel counts. A job that sees the generation change
//          under it was reset by the agent and must stop using the device.
//
// Thread-safety: every method is safe to call concurrently from any thread of any process mapping
// the segment. Invariants: memory_used <= properties().memory_bytes; counters only grow between
// resets.
#ifndef HAC_AGENT_DEVICE_DEVICE_STATE_H_
#define HAC_AGENT_DEVICE_DEVICE_STATE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/device/properties.h"

namespace hac::device {

// A consistent-enough copy of the mutable state, for metering and display.
struct DeviceStateSnapshot {
  uint64_t generation = 0;
  uint64_t memory_used = 0;
  uint64_t memory_capacity = 0;
  absl::Duration busy;         // real time kernels were executing
  absl::Duration model_busy;   // sum of modelled kernel times (sim-npu; zero on emu-gpu)
  uint64_t kernels_run = 0;
  uint64_t kernels_launched = 0;
  uint64_t attach_count = 0;   // processes currently attached (best effort: a crash leaves it up)
  Health health = Health::kHealthy;
  std::string owner;           // attempt id set by the agent; empty when unassigned
};

class DeviceStateSegment {
 public:
  // Creates (or truncates and recreates) the segment file at `path` holding `props`.
  static absl::StatusOr<std::unique_ptr<DeviceStateSegment>> Create(const std::string& path,
                                                                    const DeviceProperties& props);
  // Maps an existing segment. NOT_FOUND if the file is missing, DATA_LOSS if it is not a segment.
  static absl::StatusOr<std::unique_ptr<DeviceStateSegment>> Attach(const std::string& path);
  // A segment in anonymous shared memory (no file): for local devices; survives fork().
  static absl::StatusOr<std::unique_ptr<DeviceStateSegment>> CreateAnonymous(
      const DeviceProperties& props);

  ~DeviceStateSegment();
  DeviceStateSegment(const DeviceStateSegment&) = delete;
  DeviceStateSegment& operator=(const DeviceStateSegment&) = delete;

  const std::string& path() const { return path_; }  // empty for anonymous segments
  const DeviceProperties& properties() const;

  // --- agent side ---
  DeviceStateSnapshot Snapshot() const;
  void SetOwner(const std::string& attempt);  // truncated to 63 bytes
  std::string Owner() const;
  // Reclaims the device: memory_used, busy, kernels, attach count and owner to zero, health back to
  // healthy (unless configured unhealthy), generation + 1.
  void Reset();
  // Changes the fault configuration in place (tests and operators).
  void SetFault(const FaultConfig& fault);

  // --- device side (HostDevice) ---
  uint64_t generation() const;
  // Adds `bytes` to memory_used unless that would pass capacity: RESOURCE_EXHAUSTED then.
  absl::Status ReserveMemory(uint64_t bytes);
  // Subtracts `bytes` (clamped at zero).
  void ReleaseMemory(uint64_t bytes);
  void AddKernelRun(absl::Duration busy, absl::Duration model_busy);
  // Increments and returns kernels_launched (1 for the first launch after a reset).
  uint64_t NextLaunch();
  FaultConfig fault() const;
  Health health() const;
  void SetHealth(Health h);
  void AddAttach(int delta);

 private:
  struct Layout;
  DeviceStateSegment(std::string path, void* base, size_t size);
  void Init(const DeviceProperties& props);
  Layout* layout() const { return static_cast<Layout*>(base_); }

  std::string path_;
  void* base_;
  size_t size_;
};

}  // namespace hac::device

#endif  // HAC_AGENT_DEVICE_DEVICE_STATE_H_
