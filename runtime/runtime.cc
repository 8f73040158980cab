#include "runtime/runtime.h"

#include <cstdlib>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace hac::runtime {

RuntimeOptions RuntimeOptions::FromEnvironment() {
  RuntimeOptions o;
  if (const char* v = std::getenv("HAC_VISIBLE_DEVICES")) o.visible_devices = v;
  if (const char* l = std::getenv("HAC_LOCAL_DEVICES")) o.local_devices = l;
  return o;
}

absl::StatusOr<std::unique_ptr<Runtime>> Runtime::Create(const RuntimeOptions& options) {
  auto rt = std::unique_ptr<Runtime>(new Runtime());
  absl::MutexLock l(&rt->mu_);
  if (options.visible_devices.has_value()) {
    const std::string& list = *options.visible_devices;
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      std::string path = list.substr(start, comma - start);
      start = comma + 1;
      if (path.empty()) continue;
      absl::StatusOr<std::unique_ptr<device::DeviceStateSegment>> seg =
          device::DeviceStateSegment::Attach(path);
      if (!seg.ok()) {
        return absl::Status(seg.status().code(),
                            absl::StrCat("HAC_VISIBLE_DEVICES: ", seg.status().message()));
      }
      rt->properties_.push_back((*seg)->properties());
      rt->segments_.push_back(*std::move(seg));
    }
  } else if (options.local_devices.has_value()) {
    absl::StatusOr<device::NodeDeviceConfig> config =
        device::NodeDeviceConfig::ParseShort(*options.local_devices);
    if (!config.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("HAC_LOCAL_DEVICES: ", config.status().message()));
    }
    std::random_device seed;
    std::mt19937_64 gen(seed());
    absl::StatusOr<std::vector<device::DeviceProperties>> plan = rt->registry_->Plan(*config, gen);
    if (!plan.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("HAC_LOCAL_DEVICES: ", plan.status().message()));
    }
    for (const device::DeviceProperties& p : *plan) {
      ASSIGN_OR_RETURN(std::unique_ptr<device::DeviceStateSegment> seg,
                       device::DeviceStateSegment::CreateAnonymous(p));
      rt->properties_.push_back(p);
      rt->segments_.push_back(std::move(seg));
    }
  }
  rt->devices_.resize(rt->properties_.size());
  return rt;
}

absl::StatusOr<device::DeviceProperties> Runtime::properties(int index) const {
  if (index < 0 || index >= device_count()) {
    return absl::OutOfRangeError(
        absl::StrCat("device ", index, " does not exist (", device_count(), " visible)"));
  }
  return properties_[index];
}

absl::StatusOr<device::Device*> Runtime::device(int index) {
  if (index < 0 || index >= device_count()) {
    return absl::OutOfRangeError(
        absl::StrCat("device ", index, " does not exist (", device_count(), " visible)"));
  }
  absl::MutexLock l(&mu_);
  if (devices_[index] == nullptr) {
    if (segments_[index] == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("device ", index, " could not be opened (see the first error)"));
    }
    // Open() consumes the segment even on failure; keep a mapping to retry after a reset.
    std::string path = segments_[index]->path();
    absl::StatusOr<std::unique_ptr<device::Device>> dev =
        registry_->Open(std::move(segments_[index]));
    if (!dev.ok()) {
      if (!path.empty()) {
        absl::StatusOr<std::unique_ptr<device::DeviceStateSegment>> again =
            device::DeviceStateSegment::Attach(path);
        if (again.ok()) segments_[index] = *std::move(again);
      }
      return dev.status();
    }
    devices_[index] = *std::move(dev);
  }
  return devices_[index].get();
}

}  // namespace hac::runtime
