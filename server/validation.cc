#include "server/validation.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "server/limits.h"

namespace hac::server {
namespace {

using absl::StrCat;

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(StrCat(field, ": ", what));
}

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool HasNul(absl::string_view s) { return s.find('\0') != absl::string_view::npos; }

// A short, printable rendering of a client's string for error messages.
std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 40)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
      absl::StrAppend(&out, "\\x", absl::Hex(u, absl::kZeroPad2));
    } else {
      out.push_back(c);
    }
  }
  if (s.size() > 40) out += "...";
  return out + "\"";
}

// Well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool IsUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (int k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

absl::Status ValidateJobName(absl::string_view name) {
  constexpr absl::string_view f = "spec.name";
  if (name.empty()) return Invalid(f, "required (1..128 characters from [A-Za-z0-9._-])");
  if (name.size() > limits::kMaxJobNameLength) {
    return Invalid(f, StrCat("is ", name.size(), " characters; the limit is ",
                             limits::kMaxJobNameLength));
  }
  for (char c : name) {
    if (!IsAlnum(c) && c != '.' && c != '_' && c != '-') {
      return Invalid(f, StrCat(Quote(name), " has a character outside [A-Za-z0-9._-]"));
    }
  }
  if (!IsAlnum(name[0])) return Invalid(f, "must start with a letter or digit");
  return absl::OkStatus();
}

absl::Status ValidateDevices(const hac::v1::JobSpec& spec) {
  const int n = spec.devices_size();
  if (n < static_cast<int>(limits::kMinDeviceAlternatives) ||
      n > static_cast<int>(limits::kMaxDeviceAlternatives)) {
    return Invalid("spec.devices", StrCat("has ", n, " entries; 1..",
                                          limits::kMaxDeviceAlternatives, " are allowed"));
  }
  for (int i = 0; i < n; ++i) {
    const hac::v1::DeviceRequest& d = spec.devices(i);
    const std::string p = StrCat("spec.devices[", i, "]");
    if (d.device_class() != "gpu" && d.device_class() != "npu") {
      return Invalid(StrCat(p, ".device_class"),
                     StrCat(Quote(d.device_class()), " is not a device class (gpu or npu)"));
    }
    if (d.model().size() > 63) return Invalid(StrCat(p, ".model"), "longer than 63 characters");
    for (char c : d.model()) {
      if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') {
        return Invalid(StrCat(p, ".model"),
                       StrCat(Quote(d.model()), " has a character outside [A-Za-z0-9._-]"));
      }
    }
    if (d.count() < 1 || d.count() > limits::kMaxDevicesPerNode) {
      return Invalid(StrCat(p, ".count"), StrCat(d.count(), " is outside 1..",
                                                 limits::kMaxDevicesPerNode));
    }
    if (d.nodes() > limits::kMaxNodesPerJob) {
      return Invalid(StrCat(p, ".nodes"),
                     StrCat(d.nodes(), " is outside 1..", limits::kMaxNodesPerJob));
    }
    const uint32_t nodes = d.nodes() == 0 ? 1 : d.nodes();
    if (d.count() * nodes > limits::kMaxDevicesPerJob) {
      return Invalid(StrCat(p), StrCat("count x nodes = ", d.count() * nodes,
                                       " devices; the limit is ", limits::kMaxDevicesPerJob));
    }
    if (d.memory_bytes() > limits::kMaxMemoryBytesPerDevice) {
      return Invalid(StrCat(p, ".memory_bytes"),
                     StrCat(d.memory_bytes(), " exceeds the limit of ",
                            limits::kMaxMemoryBytesPerDevice, " (1 TiB)"));
    }
    if (d.relative_speed_permille() > limits::kMaxRelativeSpeedPermille) {
      return Invalid(StrCat(p, ".relative_speed_permille"),
                     StrCat(d.relative_speed_permille(), " exceeds the limit of ",
                            limits::kMaxRelativeSpeedPermille));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateArgs(absl::string_view field, const google::protobuf::RepeatedPtrField<
                                                       std::string>& args, bool required) {
  if (required && args.empty()) return Invalid(field, "at least one entry (the program) is required");
  if (args.size() > static_cast<int>(limits::kMaxArgvEntries)) {
    return Invalid(field, StrCat("has ", args.size(), " entries; the limit is ",
                                 limits::kMaxArgvEntries));
  }
  size_t total = 0;
  for (int i = 0; i < args.size(); ++i) {
    const std::string& a = args.Get(i);
    if (a.size() > limits::kMaxArgBytes) {
      return Invalid(StrCat(field, "[", i, "]"),
                     StrCat("is ", a.size(), " bytes; the limit is ", limits::kMaxArgBytes));
    }
    if (HasNul(a)) return Invalid(StrCat(field, "[", i, "]"), "contains a NUL byte");
    total += a.size();
  }
  if (required && args.Get(0).empty()) return Invalid(StrCat(field, "[0]"), "the program is empty");
  if (total > limits::kMaxArgvTotalBytes) {
    return Invalid(field, StrCat("totals ", total, " bytes; the limit is ",
                                 limits::kMaxArgvTotalBytes));
  }
  return absl::OkStatus();
}

absl::Status ValidateCommand(const hac::v1::Command& cmd) {
  if (absl::Status s = ValidateArgs("spec.command.argv", cmd.argv(), true); !s.ok()) return s;
  if (cmd.env_size() > static_cast<int>(limits::kMaxEnvEntries)) {
    return Invalid("spec.command.env", StrCat("has ", cmd.env_size(), " entries; the limit is ",
                                              limits::kMaxEnvEntries));
  }
  size_t total = 0;
  for (const auto& [k, v] : cmd.env()) {
    const std::string f = StrCat("spec.command.env[", Quote(k), "]");
    if (k.empty() || k.size() > limits::kMaxEnvNameLength) {
      return Invalid(f, StrCat("name must be 1..", limits::kMaxEnvNameLength, " characters"));
    }
    if (!(IsAlnum(k[0]) && !(k[0] >= '0' && k[0] <= '9')) && k[0] != '_') {
      return Invalid(f, "name must start with a letter or _ ([A-Za-z_][A-Za-z0-9_]*)");
    }
    for (char c : k) {
      if (!IsAlnum(c) && c != '_') {
        return Invalid(f, "name has a character outside [A-Za-z0-9_]");
      }
    }
    if (k.rfind("HAC_", 0) == 0) return Invalid(f, "names starting with HAC_ are reserved");
    if (v.size() > limits::kMaxEnvValueBytes) {
      return Invalid(f, StrCat("value is ", v.size(), " bytes; the limit is ",
                               limits::kMaxEnvValueBytes));
    }
    if (HasNul(v)) return Invalid(f, "value contains a NUL byte");
    total += k.size() + v.size();
  }
  if (total > limits::kMaxEnvTotalBytes) {
    return Invalid("spec.command.env", StrCat("totals ", total, " bytes; the limit is ",
                                              limits::kMaxEnvTotalBytes));
  }
  if (cmd.working_dir().size() > limits::kMaxWorkingDirBytes) {
    return Invalid("spec.command.working_dir",
                   StrCat("is ", cmd.working_dir().size(), " bytes; the limit is ",
                          limits::kMaxWorkingDirBytes));
  }
  if (HasNul(cmd.working_dir())) return Invalid("spec.command.working_dir", "contains a NUL byte");
  return absl::OkStatus();
}

absl::Status ValidateLabels(const hac::v1::JobSpec& spec) {
  if (spec.labels_size() > static_cast<int>(limits::kMaxLabels)) {
    return Invalid("spec.labels", StrCat("has ", spec.labels_size(), " entries; the limit is ",
                                         limits::kMaxLabels));
  }
  for (const auto& [k, v] : spec.labels()) {
    const std::string f = StrCat("spec.labels[", Quote(k), "]");
    if (k.empty() || k.size() > limits::kMaxLabelKeyLength) {
      return Invalid(f, StrCat("key must be 1..", limits::kMaxLabelKeyLength, " characters"));
    }
    for (char c : k) {
      if (!IsAlnum(c) && c != '.' && c != '_' && c != '/' && c != '-') {
        return Invalid(f, "key has a character outside [A-Za-z0-9._/-]");
      }
    }
    if (v.size() > limits::kMaxLabelValueBytes) {
      return Invalid(f, StrCat("value is ", v.size(), " bytes; the limit is ",
                               limits::kMaxLabelValueBytes));
    }
    if (!IsUtf8(v) || HasNul(v)) return Invalid(f, "value is not valid UTF-8 without NUL");
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view WorkloadBinary(absl::string_view workload) {
  if (workload == "gemm") return "hac-gemm";
  if (workload == "train-mlp") return "hac-train-mlp";
  if (workload == "infer") return "hac-infer";
  return "";
}

absl::Status ValidateName63(absl::string_view field, absl::string_view name) {
  if (name.empty() || name.size() > limits::kMaxTenantNameLength) {
    return Invalid(field, StrCat("must be 1..", limits::kMaxTenantNameLength,
                                 " characters from [a-z0-9-]"));
  }
  if (!IsLowerAlnum(name[0])) return Invalid(field, "must start with a letter or digit");
  for (char c : name) {
    if (!IsLowerAlnum(c) && c != '-') {
      return Invalid(field, StrCat(Quote(name), " has a character outside [a-z0-9-]"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateJobSpec(const hac::v1::JobSpec& spec) {
  if (absl::Status s = ValidateJobName(spec.name()); !s.ok()) return s;
  if (absl::Status s = ValidateDevices(spec); !s.ok()) return s;
  switch (spec.run_case()) {
    case hac::v1::JobSpec::kCommand:
      if (absl::Status s = ValidateCommand(spec.command()); !s.ok()) return s;
      break;
    case hac::v1::JobSpec::kWorkload:
      if (WorkloadBinary(spec.workload().name()).empty()) {
        return Invalid("spec.workload.name",
                       StrCat(Quote(spec.workload().name()),
                              " is not a built-in workload (gemm, train-mlp, infer)"));
      }
      if (absl::Status s = ValidateArgs("spec.workload.args", spec.workload().args(), false);
          !s.ok()) {
        return s;
      }
      break;
    case hac::v1::JobSpec::RUN_NOT_SET:
      return Invalid("spec.run", "one of command or workload is required");
  }
  if (spec.priority() < limits::kMinPriority || spec.priority() > limits::kMaxPriority) {
    return Invalid("spec.priority", StrCat(spec.priority(), " is outside ", limits::kMinPriority,
                                           "..", limits::kMaxPriority));
  }
  if (spec.has_max_runtime()) {
    const auto& d = spec.max_runtime();
    if (d.nanos() < 0 || d.nanos() >= 1'000'000'000 || d.seconds() < 0) {
      return Invalid("spec.max_runtime", "is not a valid positive duration");
    }
    absl::Duration rt = absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
    if (rt < limits::kMinMaxRuntime || rt > limits::kMaxMaxRuntime) {
      return Invalid("spec.max_runtime", StrCat(absl::FormatDuration(rt), " is outside 1s..720h"));
    }
  }
  if (spec.max_retries() > limits::kMaxRetries) {
    return Invalid("spec.max_retries",
                   StrCat(spec.max_retries(), " is outside 0..", limits::kMaxRetries));
  }
  if (absl::Status s = ValidateLabels(spec); !s.ok()) return s;
  const std::string& key = spec.idempotency_key();
  if (key.size() > limits::kMaxIdempotencyKeyLength) {
    return Invalid("spec.idempotency_key", StrCat("is ", key.size(), " characters; the limit is ",
                                                  limits::kMaxIdempotencyKeyLength));
  }
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) {
      return Invalid("spec.idempotency_key", "must be printable ASCII without spaces");
    }
  }
  if (!hac::v1::Optimize_IsValid(spec.optimize())) {
    return Invalid("spec.optimize", "unknown value");
  }
  return absl::OkStatus();
}

void ApplyJobSpecDefaults(hac::v1::JobSpec& spec) {
  for (hac::v1::DeviceRequest& d : *spec.mutable_devices()) {
    if (d.nodes() == 0) d.set_nodes(1);
    if (d.relative_speed_permille() == 0) d.set_relative_speed_permille(1000);
  }
  if (!spec.has_max_runtime()) {
    spec.mutable_max_runtime()->set_seconds(absl::ToInt64Seconds(limits::kDefaultMaxRuntime));
  }
  if (spec.optimize() == hac::v1::OPTIMIZE_UNSPECIFIED) spec.set_optimize(hac::v1::OPTIMIZE_TIME);
}

}  // namespace hac::server
