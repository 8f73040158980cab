#include "agent/device/registry.h"

#include <cstdio>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/device/emu_gpu_backend.h"
#include "agent/device/host_device.h"
#include "agent/device/sim_npu_backend.h"
#include "common/status_macros.h"

namespace hac::device {
namespace {

constexpr int kMaxCount = 64;

// Debian's Abseil has its own string_view; these keep std::string_view throughout.
std::vector<std::string_view> Split(std::string_view s, std::string_view seps, bool skip_empty) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || seps.find(s[i]) != std::string_view::npos) {
      std::string_view piece = s.substr(start, i - start);
      if (!skip_empty || !piece.empty()) out.push_back(piece);
      start = i + 1;
    }
  }
  return out;
}

std::pair<std::string_view, std::string_view> SplitOnce(std::string_view s, char sep) {
  size_t i = s.find(sep);
  if (i == std::string_view::npos) return {s, std::string_view()};
  return {s.substr(0, i), s.substr(i + 1)};
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool ToUint(std::string_view s, uint64_t* v) {
  return absl::SimpleAtoi(absl::string_view(s.data(), s.size()), v);
}

std::string NewUuid(absl::BitGenRef gen) {
  uint64_t hi = absl::Uniform<uint64_t>(gen), lo = absl::Uniform<uint64_t>(gen);
  hi = (hi & ~0xf000ull) | 0x4000ull;            // version 4
  lo = (lo & 0x3fffffffffffffffull) | (1ull << 63);  // variant 10
  char buf[40];
  snprintf(buf, sizeof(buf), "%08llx-%04llx-%04llx-%04llx-%012llx",
           static_cast<unsigned long long>(hi >> 32),
           static_cast<unsigned long long>((hi >> 16) & 0xffff),
           static_cast<unsigned long long>(hi & 0xffff),
           static_cast<unsigned long long>(lo >> 48),
           static_cast<unsigned long long>(lo & 0xffffffffffffull));
  return buf;
}

absl::StatusOr<DeviceGroupConfig> GroupFromOptions(DeviceOptions options) {
  DeviceGroupConfig g;
  auto it = options.find("backend");
  if (it == options.end() || it->second.empty()) {
    return absl::InvalidArgumentError("device group has no backend=");
  }
  g.backend = it->second;
  options.erase(it);
  if (auto m = options.find("model"); m != options.end()) {
    g.model = m->second;
    options.erase(m);
  }
  uint64_t count = 1;
  RETURN_IF_ERROR(TakeUint(&options, "count", 1, kMaxCount, &count));
  g.count = static_cast<int>(count);
  g.options = std::move(options);
  return g;
}

absl::Status AddOption(DeviceOptions* options, std::string_view token) {
  std::pair<std::string_view, std::string_view> kv = SplitOnce(token, '=');
  if (kv.first.empty() || token.find('=') == std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected key=value, got \"", std::string(token), "\""));
  }
  std::string key(kv.first);
  if (options->count(key) > 0) {
    return absl::InvalidArgumentError(absl::StrCat("key ", key, " given twice"));
  }
  (*options)[key] = std::string(kv.second);
  return absl::OkStatus();
}

}  // namespace

absl::Status TakeUint(DeviceOptions* options, const std::string& key, uint64_t min, uint64_t max,
                      uint64_t* out) {
  auto it = options->find(key);
  if (it == options->end()) return absl::OkStatus();
  uint64_t v;
  if (!absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &v) || v < min ||
      v > max) {
    return absl::InvalidArgumentError(absl::StrCat(key, "=", it->second,
                                                   " is not an integer in [", min, ", ", max, "]"));
  }
  *out = v;
  options->erase(it);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ParseBytes(std::string_view s) {
  uint64_t mult = 1;
  std::string_view num = s;
  for (auto [suffix, m] : {std::pair<std::string_view, uint64_t>{"KiB", 1ull << 10},
                           {"MiB", 1ull << 20},
                           {"GiB", 1ull << 30}}) {
    if (s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix) {
      num = s.substr(0, s.size() - suffix.size());
      mult = m;
    }
  }
  uint64_t v;
  if (!ToUint(num, &v) ||
      v > (uint64_t{1} << 50) / mult) {
    return absl::InvalidArgumentError(
        absl::StrCat("memory=", std::string(s), " is not a size up to 1 PiB (e.g. 512MiB)"));
  }
  return v * mult;
}

absl::StatusOr<FaultConfig> ParseFault(std::string_view s) {
  FaultConfig f;
  if (s == "none") return f;
  if (s == "unhealthy") {
    f.mode = FaultMode::kUnhealthy;
    return f;
  }
  std::pair<std::string_view, std::string_view> kv = SplitOnce(s, ':');
  uint64_t n;
  if ((kv.first == "error_after" || kv.first == "hang_after") && ToUint(kv.second, &n)) {
    f.mode = kv.first == "error_after" ? FaultMode::kErrorAfterKernels
                                       : FaultMode::kHangAfterKernels;
    f.after_kernels = n;
    return f;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "fault=", std::string(s), " is not one of none, unhealthy, error_after:N, hang_after:N"));
}

absl::StatusOr<NodeDeviceConfig> NodeDeviceConfig::Parse(std::string_view text) {
  NodeDeviceConfig config;
  int line_no = 0;
  for (std::string_view line : Split(text, "\n", false)) {
    ++line_no;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    DeviceOptions options;
    for (std::string_view token : Split(line, " \t\r", true)) {
      if (absl::Status s = AddOption(&options, token); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": ", s.message()));
      }
    }
    if (options.empty()) continue;
    absl::StatusOr<DeviceGroupConfig> g = GroupFromOptions(std::move(options));
    if (!g.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": ", g.status().message()));
    }
    config.groups.push_back(*std::move(g));
  }
  return config;
}

absl::StatusOr<NodeDeviceConfig> NodeDeviceConfig::ParseShort(std::string_view spec) {
  NodeDeviceConfig config;
  for (std::string_view group : Split(spec, ",", true)) {
    group = Trim(group);
    if (group.empty()) continue;
    std::vector<std::string_view> parts = Split(group, "/", false);
    DeviceOptions options;
    std::pair<std::string_view, std::string_view> head = SplitOnce(parts[0], ':');
    options["backend"] = std::string(Trim(head.first));
    if (!head.second.empty()) options["count"] = std::string(head.second);
    for (size_t i = 1; i < parts.size(); ++i) RETURN_IF_ERROR(AddOption(&options, parts[i]));
    ASSIGN_OR_RETURN(DeviceGroupConfig g, GroupFromOptions(std::move(options)));
    config.groups.push_back(std::move(g));
  }
  if (config.groups.empty()) {
    return absl::InvalidArgumentError("device spec is empty (expected e.g. emu-gpu:1,sim-npu:2)");
  }
  return config;
}

std::unique_ptr<DeviceRegistry> DeviceRegistry::CreateDefault() {
  auto r = std::make_unique<DeviceRegistry>();
  r->factories_.push_back(MakeEmuGpuFactory());
  r->factories_.push_back(MakeSimNpuFactory());
  return r;
}

absl::Status DeviceRegistry::Register(std::unique_ptr<DeviceBackendFactory> factory) {
  if (Find(factory->name()) != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat("backend ", std::string(factory->name()), " is already registered"));
  }
  factories_.push_back(std::move(factory));
  return absl::OkStatus();
}

std::vector<std::string> DeviceRegistry::BackendNames() const {
  std::vector<std::string> names;
  for (const auto& f : factories_) names.emplace_back(f->name());
  return names;
}

const DeviceBackendFactory* DeviceRegistry::Find(std::string_view name) const {
  for (const auto& f : factories_) {
    if (f->name() == name) return f.get();
  }
  return nullptr;
}

absl::StatusOr<std::vector<DeviceProperties>> DeviceRegistry::Plan(const NodeDeviceConfig& config,
                                                                   absl::BitGenRef gen) const {
  std::vector<DeviceProperties> out;
  for (const DeviceGroupConfig& g : config.groups) {
    const DeviceBackendFactory* f = Find(g.backend);
    if (f == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("backend=", g.backend, " is not one of ",
                                                     absl::StrJoin(BackendNames(), ", ")));
    }
    DeviceOptions options = g.options;
    DeviceProperties props;
    SetFixedString(props.backend, g.backend);
    RETURN_IF_ERROR(f->Configure(g.model, &options, &props));
    if (auto it = options.find("memory"); it != options.end()) {
      ASSIGN_OR_RETURN(props.memory_bytes, ParseBytes(it->second));
      options.erase(it);
    }
    if (auto it = options.find("fault"); it != options.end()) {
      ASSIGN_OR_RETURN(props.fault, ParseFault(it->second));
      options.erase(it);
    }
    if (!options.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown key ", options.begin()->first,
                                                     " for backend ", g.backend));
    }
    for (int i = 0; i < g.count; ++i) {
      SetFixedString(props.uuid, NewUuid(gen));
      out.push_back(props);
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::unique_ptr<DeviceStateSegment>>> DeviceRegistry::CreateSegments(
    const NodeDeviceConfig& config, const std::string& dir, absl::BitGenRef gen) const {
  ASSIGN_OR_RETURN(std::vector<DeviceProperties> plan, Plan(config, gen));
  std::vector<std::unique_ptr<DeviceStateSegment>> segments;
  for (size_t i = 0; i < plan.size(); ++i) {
    std::string path = absl::StrCat(dir, "/", plan[i].backend, "-", i, ".state");
    ASSIGN_OR_RETURN(std::unique_ptr<DeviceStateSegment> seg,
                     DeviceStateSegment::Create(path, plan[i]));
    segments.push_back(std::move(seg));
  }
  return segments;
}

absl::StatusOr<std::unique_ptr<Device>> DeviceRegistry::Open(
    std::unique_ptr<DeviceStateSegment> segment) const {
  const DeviceProperties& props = segment->properties();
  const DeviceBackendFactory* f = Find(props.backend);
  if (f == nullptr) {
    return absl::NotFoundError(absl::StrCat("device ", props.uuid, " has backend ", props.backend,
                                            ", which this build does not have"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<DeviceBackend> backend, f->CreateBackend(props));
  ASSIGN_OR_RETURN(std::unique_ptr<HostDevice> dev,
                   HostDevice::Create(std::move(segment), std::move(backend)));
  return std::unique_ptr<Device>(std::move(dev));
}

// ---- emu-gpu ----

namespace {

struct EmuGpuModel {
  const char* name;
  uint32_t sms;
  uint64_t memory;
};
constexpr EmuGpuModel kEmuGpuModels[] = {{"egpu-s", 2, 1ull << 30}, {"egpu-m", 4, 4ull << 30}};

class EmuGpuFactory final : public DeviceBackendFactory {
 public:
  std::string_view name() const override { return "emu-gpu"; }
  absl::Status Configure(std::string_view model, DeviceOptions* options,
                         DeviceProperties* props) const override {
    const EmuGpuModel* m = &kEmuGpuModels[0];
    if (!model.empty()) {
      m = nullptr;
      for (const EmuGpuModel& x : kEmuGpuModels) {
        if (model == x.name) m = &x;
      }
      if (m == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("emu-gpu model=", std::string(model), " is not one of egpu-s, egpu-m"));
      }
    }
    uint64_t sms = m->sms;
    RETURN_IF_ERROR(TakeUint(options, "sms", 1, 256, &sms));
    props->device_class = DeviceClass::kGpu;
    SetFixedString(props->model, m->name);
    props->memory_bytes = m->memory;
    props->emu_gpu.sm_count = static_cast<uint32_t>(sms);
    props->compute_units = static_cast<uint32_t>(sms);
    double peak = EmuGpuBackend::kNominalSmFlops * static_cast<double>(sms);
    props->peak_ops_per_s[static_cast<int>(DType::kF32)] = peak;
    props->peak_ops_per_s[static_cast<int>(DType::kBF16)] = peak;
    props->peak_ops_per_s[static_cast<int>(DType::kI8)] = peak;
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<DeviceBackend>> CreateBackend(
      const DeviceProperties& props) const override {
    ASSIGN_OR_RETURN(std::unique_ptr<EmuGpuBackend> b, EmuGpuBackend::Create(props.emu_gpu));
    return std::unique_ptr<DeviceBackend>(std::move(b));
  }
};

// ---- sim-npu ----

struct SimNpuModel {
  const char* name;
  SimNpuParams params;
  uint64_t memory;
};

SimNpuParams FastNpuParams() {
  SimNpuParams p;
  p.array_rows = 64;
  p.array_cols = 64;
  p.clock_hz = 1'000'000'000;
  p.sram_bytes = 32ull << 20;
  p.dram_bytes_per_s = 64'000'000'000;
  p.vector_lanes = 256;
  p.launch_overhead_ns = 1'000;
  return p;
}

class SimNpuFactory final : public DeviceBackendFactory {
 public:
  std::string_view name() const override { return "sim-npu"; }
  absl::Status Configure(std::string_view model, DeviceOptions* options,
                         DeviceProperties* props) const override {
    const SimNpuModel models[] = {{"atom-sim", SimNpuParams{}, 1ull << 30},
                                  {"atom-sim-fast", FastNpuParams(), 1ull << 30}};
    const SimNpuModel* m = &models[0];
    if (!model.empty()) {
      m = nullptr;
      for (const SimNpuModel& x : models) {
        if (model == x.name) m = &x;
      }
      if (m == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            "sim-npu model=", std::string(model), " is not one of atom-sim, atom-sim-fast"));
      }
    }
    SimNpuParams p = m->params;
    if (auto it = options->find("array"); it != options->end()) {
      std::pair<std::string_view, std::string_view> rc = SplitOnce(it->second, 'x');
      uint64_t r, c;
      if (!ToUint(rc.first, &r) || !ToUint(rc.second, &c) || r < 1 ||
          c < 1 || r > 4096 || c > 4096) {
        return absl::InvalidArgumentError(
            absl::StrCat("array=", it->second, " is not RxC with 1 <= R, C <= 4096"));
      }
      p.array_rows = static_cast<uint32_t>(r);
      p.array_cols = static_cast<uint32_t>(c);
      options->erase(it);
    }
    uint64_t v = p.clock_hz / 1'000'000;
    if (options->count("clock_mhz") > 0) {
      RETURN_IF_ERROR(TakeUint(options, "clock_mhz", 1, 100'000, &v));
      p.clock_hz = v * 1'000'000;
    }
    v = p.sram_bytes >> 10;
    RETURN_IF_ERROR(TakeUint(options, "sram_kib", 1, 1ull << 30, &v));
    p.sram_bytes = v << 10;
    v = p.dram_bytes_per_s / 1'000'000;
    if (options->count("dram_mbps") > 0) {
      RETURN_IF_ERROR(TakeUint(options, "dram_mbps", 1, 100'000'000, &v));
      p.dram_bytes_per_s = v * 1'000'000;
    }
    uint64_t lanes = p.vector_lanes, bf16 = p.bf16_cycles_per_mac;
    RETURN_IF_ERROR(TakeUint(options, "lanes", 1, 65536, &lanes));
    RETURN_IF_ERROR(TakeUint(options, "bf16_cycles", 1, 64, &bf16));
    RETURN_IF_ERROR(TakeUint(options, "launch_ns", 0, 1'000'000'000, &p.launch_overhead_ns));
    p.vector_lanes = static_cast<uint32_t>(lanes);
    p.bf16_cycles_per_mac = static_cast<uint32_t>(bf16);
    RETURN_IF_ERROR(SimNpuTimingModel::Validate(p));
    props->device_class = DeviceClass::kNpu;
    SetFixedString(props->model, m->name);
    props->memory_bytes = m->memory;
    props->sim_npu = p;
    props->compute_units = p.array_rows * p.array_cols;
    SimNpuTimingModel timing(p);
    for (DType t : {DType::kF32, DType::kBF16, DType::kI8, DType::kI32}) {
      props->peak_ops_per_s[static_cast<int>(t)] = timing.PeakOps(t);
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<DeviceBackend>> CreateBackend(
      const DeviceProperties& props) const override {
    ASSIGN_OR_RETURN(std::unique_ptr<SimNpuBackend> b, SimNpuBackend::Create(props.sim_npu));
    return std::unique_ptr<DeviceBackend>(std::move(b));
  }
};

}  // namespace

std::unique_ptr<DeviceBackendFactory> MakeEmuGpuFactory() {
  return std::make_unique<EmuGpuFactory>();
}
std::unique_ptr<DeviceBackendFactory> MakeSimNpuFactory() {
  return std::make_unique<SimNpuFactory>();
}

}  // namespace hac::device
