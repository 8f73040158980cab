// Node device configuration and the backend registry that builds devices from it.
//
// NodeDeviceConfig text format (the agent's device config file): one group of identical devices
// per line, `key=value` tokens separated by spaces; `#` starts a comment.
//
//   backend=emu-gpu count=2 model=egpu-s sms=2 memory=1GiB
//   backend=sim-npu count=1 model=atom-sim array=16x16 clock_mhz=20 fault=error_after:100
//
// Keys for every backend: backend (required), count (default 1, at most 64), model (default the
// backend's first model), memory (bytes; suffixes KiB MiB GiB), fault (none | unhealthy |
// error_after:N | hang_after:N). emu-gpu: sms. sim-npu: array (RxC), clock_mhz, sram_kib,
// dram_mbps (MB/s), lanes, bf16_cycles, launch_ns. Unknown keys are INVALID_ARGUMENT.
//
// Short form (HAC_LOCAL_DEVICES, for local development without an agent): comma-separated groups
// `backend[:count][/key=value...]`, e.g. `emu-gpu:1,sim-npu:2/clock_mhz=100`.
//
// Agent use:
//   auto registry = DeviceRegistry::CreateDefault();
//   ASSIGN_OR_RETURN(NodeDeviceConfig config, NodeDeviceConfig::Parse(text));
//   ASSIGN_OR_RETURN(auto segments, registry->CreateSegments(config, state_dir, gen));
//   // HAC_VISIBLE_DEVICES for a job = comma-joined segments[i]->path() of its devices.
// Job use (libhacrt): DeviceStateSegment::Attach(path) then registry->Open(std::move(segment)).
#ifndef HAC_AGENT_DEVICE_REGISTRY_H_
#define HAC_AGENT_DEVICE_REGISTRY_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/device/device.h"
#include "agent/device/device_state.h"

namespace hac::device {

using DeviceOptions = std::map<std::string, std::string>;

// One group of identical devices. Value type.
struct DeviceGroupConfig {
  std::string backend;
  std::string model;  // empty: the backend's default model
  int count = 1;
  DeviceOptions options;  // memory, fault and backend parameters, unparsed
};

// A node's devices, in order (device index = position). Value type.
struct NodeDeviceConfig {
  std::vector<DeviceGroupConfig> groups;
  static absl::StatusOr<NodeDeviceConfig> Parse(std::string_view text);
  static absl::StatusOr<NodeDeviceConfig> ParseShort(std::string_view spec);
};

// Parses `key` out of `options` (and erases it) into *out when present. INVALID_ARGUMENT names the
// key and the allowed range.
absl::Status TakeUint(DeviceOptions* options, const std::string& key, uint64_t min, uint64_t max,
                      uint64_t* out);
// "512", "64KiB", "256MiB", "2GiB".
absl::StatusOr<uint64_t> ParseBytes(std::string_view s);
absl::StatusOr<FaultConfig> ParseFault(std::string_view s);

// How one backend is configured and built. Implementations are stateless and thread-safe.
class DeviceBackendFactory {
 public:
  virtual ~DeviceBackendFactory() = default;
  virtual std::string_view name() const = 0;
  // Fills device_class, compute_units, memory_bytes (the model's default), peak rates and the
  // backend parameters for `model` (empty = default model), consuming the options it knows.
  // INVALID_ARGUMENT for an unknown model or a bad value.
  virtual absl::Status Configure(std::string_view model, DeviceOptions* options,
                                 DeviceProperties* props) const = 0;
  virtual absl::StatusOr<std::unique_ptr<DeviceBackend>> CreateBackend(
      const DeviceProperties& props) const = 0;
};

std::unique_ptr<DeviceBackendFactory> MakeEmuGpuFactory();
std::unique_ptr<DeviceBackendFactory> MakeSimNpuFactory();

// Backends by name. Owner: whoever builds devices (the agent, libhacrt). Thread-safety: Register
// before sharing; the const methods are then thread-safe. Invariant: backend names are unique.
class DeviceRegistry {
 public:
  // A registry holding emu-gpu and sim-npu.
  static std::unique_ptr<DeviceRegistry> CreateDefault();

  absl::Status Register(std::unique_ptr<DeviceBackendFactory> factory);
  std::vector<std::string> BackendNames() const;

  // Properties of every device the config describes, in order, each with a fresh UUID.
  absl::StatusOr<std::vector<DeviceProperties>> Plan(const NodeDeviceConfig& config,
                                                     absl::BitGenRef gen) const;
  // Agent: Plan() and one segment file per device, `dir`/<backend>-<index>.state.
  absl::StatusOr<std::vector<std::unique_ptr<DeviceStateSegment>>> CreateSegments(
      const NodeDeviceConfig& config, const std::string& dir, absl::BitGenRef gen) const;
  // Job: the device an attached segment describes. FAILED_PRECONDITION if it is unhealthy,
  // NOT_FOUND if its backend is not registered.
  absl::StatusOr<std::unique_ptr<Device>> Open(std::unique_ptr<DeviceStateSegment> segment) const;

 private:
  const DeviceBackendFactory* Find(std::string_view name) const;
  std::vector<std::unique_ptr<DeviceBackendFactory>> factories_;
};

}  // namespace hac::device

#endif  // HAC_AGENT_DEVICE_REGISTRY_H_
