#include "agent/node_devices.h"

#include <filesystem>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace hac::agent {

absl::StatusOr<device::NodeDeviceConfig> ParseDeviceFlags(const std::vector<std::string>& devices,
                                                          const std::vector<std::string>& params) {
  // Parameters by model (or backend) name: "key=value key=value".
  std::vector<std::pair<std::string, std::string>> by_name;
  for (const std::string& p : params) {
    std::vector<std::string> parts =
        absl::StrSplit(p, absl::MaxSplits(' ', 1), absl::SkipWhitespace());
    if (parts.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "device-params '", p, "' must be 'MODEL key=value ...', e.g. 'atom-sim clock_mhz=100'"));
    }
    by_name.emplace_back(parts[0], parts[1]);
  }
  std::string text;
  for (const std::string& d : devices) {
    std::vector<std::string> parts = absl::StrSplit(d, ':');
    int count = 0;
    if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() ||
        !absl::SimpleAtoi(parts[1], &count) || count < 1 || count > 64 ||
        (parts.size() == 3 && parts[2].empty())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--device '", d, "' must be BACKEND:COUNT[:MODEL] with COUNT 1..64, e.g. sim-npu:4"));
    }
    std::string line = absl::StrCat("backend=", parts[0], " count=", count);
    std::string match = parts[0];
    if (parts.size() == 3) {
      absl::StrAppend(&line, " model=", parts[2]);
      match = parts[2];
    }
    for (const auto& [name, kv] : by_name) {
      if (name == match) absl::StrAppend(&line, " ", kv);
    }
    absl::StrAppend(&text, line, "\n");
  }
  if (text.empty()) {
    return absl::InvalidArgumentError("at least one --device BACKEND:COUNT[:MODEL] is required");
  }
  return device::NodeDeviceConfig::Parse(text);
}

absl::StatusOr<std::unique_ptr<NodeDevices>> NodeDevices::Create(
    const device::NodeDeviceConfig& config, const std::string& dir, absl::BitGenRef gen) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create device directory ", dir, ": ", ec.message()));
  }
  auto registry = device::DeviceRegistry::CreateDefault();
  ASSIGN_OR_RETURN(auto segments, registry->CreateSegments(config, dir, gen));
  for (auto& s : segments) s->Reset();
  return std::unique_ptr<NodeDevices>(new NodeDevices(std::move(segments)));
}

NodeDevices::NodeDevices(std::vector<std::unique_ptr<device::DeviceStateSegment>> segments)
    : segments_(std::move(segments)),
      owners_(segments_.size()),
      busy_before_(segments_.size(), absl::ZeroDuration()) {}

const device::DeviceProperties& NodeDevices::properties(int index) const {
  return segments_[index]->properties();
}

const std::string& NodeDevices::path(int index) const { return segments_[index]->path(); }

absl::Status NodeDevices::Claim(const std::string& attempt_id,
                                const std::vector<uint32_t>& indices) {
  absl::MutexLock lock(&mu_);
  std::set<uint32_t> seen;
  for (uint32_t i : indices) {
    if (i >= segments_.size()) {
      return absl::InvalidArgumentError(absl::StrCat("device index ", i, " out of range (node has ",
                                                     segments_.size(), " devices)"));
    }
    if (!seen.insert(i).second) {
      return absl::InvalidArgumentError(absl::StrCat("device index ", i, " listed twice"));
    }
    if (!owners_[i].empty() && owners_[i] != attempt_id) {
      return absl::FailedPreconditionError(
          absl::StrCat("device ", i, " is held by attempt ", owners_[i]));
    }
  }
  for (uint32_t i : indices) {
    owners_[i] = attempt_id;
    segments_[i]->SetOwner(attempt_id);
  }
  return absl::OkStatus();
}

std::vector<uint32_t> NodeDevices::Release(const std::string& attempt_id) {
  absl::MutexLock lock(&mu_);
  std::vector<uint32_t> released;
  for (size_t i = 0; i < segments_.size(); ++i) {
    if (owners_[i] != attempt_id) continue;
    busy_before_[i] += segments_[i]->Snapshot().busy;
    segments_[i]->Reset();
    owners_[i].clear();
    released.push_back(static_cast<uint32_t>(i));
  }
  return released;
}

void NodeDevices::ResetAll() {
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < segments_.size(); ++i) {
    busy_before_[i] += segments_[i]->Snapshot().busy;
    segments_[i]->Reset();
    owners_[i].clear();
  }
}

std::string NodeDevices::VisibleDevices(const std::vector<uint32_t>& indices) const {
  std::vector<std::string> paths;
  for (uint32_t i : indices) {
    if (i < segments_.size()) paths.push_back(segments_[i]->path());
  }
  return absl::StrJoin(paths, ",");
}

device::DeviceStateSnapshot NodeDevices::Snapshot(int index) const {
  return segments_[index]->Snapshot();
}

absl::Duration NodeDevices::TotalBusy(int index) const {
  absl::MutexLock lock(&mu_);
  return busy_before_[index] + segments_[index]->Snapshot().busy;
}

std::string NodeDevices::Owner(int index) const {
  absl::MutexLock lock(&mu_);
  return owners_[index];
}

}  // namespace hac::agent
