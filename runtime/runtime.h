// Runtime: the devices one job process can use, built from HAC_VISIBLE_DEVICES (segments the
// agent created) or HAC_LOCAL_DEVICES (private devices for local development). The C API in
// hacrt.h is a thin shim over one process-wide Runtime; tests create their own.
//
// Owner: the C API shim (process lifetime) or a test. Thread-safety: all methods are thread-safe.
// Invariant: device i's properties never change; device i is opened at most once.
#ifndef HAC_RUNTIME_RUNTIME_H_
#define HAC_RUNTIME_RUNTIME_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "agent/device/device.h"
#include "agent/device/device_state.h"
#include "agent/device/registry.h"

namespace hac::runtime {

struct RuntimeOptions {
  // HAC_VISIBLE_DEVICES; nullopt when unset.
  std::optional<std::string> visible_devices;
  // HAC_LOCAL_DEVICES; used only when visible_devices is unset.
  std::optional<std::string> local_devices;

  static RuntimeOptions FromEnvironment();
};

class Runtime {
 public:
  // Attaches every listed segment (NOT_FOUND / DATA_LOSS naming the path) or creates the local
  // devices' private segments. Devices themselves are opened on first use.
  static absl::StatusOr<std::unique_ptr<Runtime>> Create(const RuntimeOptions& options);

  int device_count() const { return static_cast<int>(properties_.size()); }
  // INVALID_ARGUMENT (index out of range) is reported by the callers via OutOfRange.
  absl::StatusOr<device::DeviceProperties> properties(int index) const;
  // The opened device. FAILED_PRECONDITION if it is unhealthy.
  absl::StatusOr<device::Device*> device(int index);

 private:
  Runtime() : registry_(device::DeviceRegistry::CreateDefault()) {}

  std::unique_ptr<device::DeviceRegistry> registry_;
  std::vector<device::DeviceProperties> properties_;
  absl::Mutex mu_;
  // Segments not yet opened (moved into their device on open).
  std::vector<std::unique_ptr<device::DeviceStateSegment>> segments_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<device::Device>> devices_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hac::runtime

#endif  // HAC_RUNTIME_RUNTIME_H_
