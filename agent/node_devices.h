// NodeDevices: the accelerators of this node as the agent holds them: one shared state segment
// per device (hac::device), who owns which, and the busy time each has accumulated.
//
//   ASSIGN_OR_RETURN(auto config, ParseDeviceFlags({"sim-npu:4"}, {}));
//   ASSIGN_OR_RETURN(auto devices, NodeDevices::Create(config, state_dir + "/devices", gen));
//   RETURN_IF_ERROR(devices->Claim("j-1.1", {0, 1}));   // SetOwner on both
//   env["HAC_VISIBLE_DEVICES"] = devices->VisibleDevices({0, 1});
//   ...
//   devices->Release("j-1.1");                          // Reset: memory, counters, owner
//
// Create() resets every device, so a node starts clean whatever a previous agent left. A device
// is reset on every release, which is what reclaims memory a crashed job left accounted.
//
// Owner: the agent. Thread-safety: all methods are thread-safe. Invariants: a device has at most
// one owner; the segment's owner field matches the claim; TotalBusy never decreases.
#ifndef HAC_AGENT_NODE_DEVICES_H_
#define HAC_AGENT_NODE_DEVICES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/device/device_state.h"
#include "agent/device/registry.h"

namespace hac::agent {

// Builds the node device config from --device flags ("BACKEND:COUNT[:MODEL]", e.g. "sim-npu:4"
// or "emu-gpu:2:egpu-m") and per-model parameters ("MODEL key=value ...", e.g.
// "atom-sim clock_mhz=100 memory=2GiB"; a group without a model matches its backend name).
// INVALID_ARGUMENT names the flag and what is wrong; the device library validates the keys.
absl::StatusOr<device::NodeDeviceConfig> ParseDeviceFlags(const std::vector<std::string>& devices,
                                                          const std::vector<std::string>& params);

class NodeDevices {
 public:
  // One segment file per device under `dir` (created if missing), each reset.
  static absl::StatusOr<std::unique_ptr<NodeDevices>> Create(const device::NodeDeviceConfig& config,
                                                             const std::string& dir,
                                                             absl::BitGenRef gen);

  int size() const { return static_cast<int>(segments_.size()); }
  const device::DeviceProperties& properties(int index) const;
  const std::string& path(int index) const;

  // Gives the devices to the attempt. INVALID_ARGUMENT for an index out of range or repeated;
  // FAILED_PRECONDITION when one is held by another attempt. All or nothing.
  absl::Status Claim(const std::string& attempt_id, const std::vector<uint32_t>& indices);
  // Resets and frees every device the attempt holds (none: no-op). Returns their indices.
  std::vector<uint32_t> Release(const std::string& attempt_id);
  // Resets every device and forgets every claim.
  void ResetAll();

  // HAC_VISIBLE_DEVICES for these devices: their segment paths, comma-joined, in order.
  std::string VisibleDevices(const std::vector<uint32_t>& indices) const;
  device::DeviceStateSnapshot Snapshot(int index) const;
  // Busy time of the device since Create(), across claims and resets.
  absl::Duration TotalBusy(int index) const;
  // The attempt holding the device, or empty.
  std::string Owner(int index) const;

 private:
  explicit NodeDevices(std::vector<std::unique_ptr<device::DeviceStateSegment>> segments);

  const std::vector<std::unique_ptr<device::DeviceStateSegment>> segments_;
  mutable absl::Mutex mu_;
  std::vector<std::string> owners_ ABSL_GUARDED_BY(mu_);
  // Busy time of earlier claims (before their resets).
  std::vector<absl::Duration> busy_before_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hac::agent

#endif  // HAC_AGENT_NODE_DEVICES_H_
