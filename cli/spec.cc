#include "cli/spec.h"

#include <limits>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "cli/config.h"
#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"

namespace hac::cli {
namespace {

absl::Status Bad(std::string_view flag, std::string_view value, std::string_view expected) {
  const auto av = [](std::string_view v) { return absl::string_view(v.data(), v.size()); };
  return absl::InvalidArgumentError(
      absl::StrCat(av(flag), " '", av(value), "': expected ", av(expected)));
}

template <typename Int>
absl::StatusOr<Int> ParseInt(std::string_view text, std::string_view flag, Int min, Int max,
                             std::string_view expected) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(absl::string_view(text.data(), text.size()), &v) || v < int64_t{min} ||
      v > int64_t{max}) {
    return Bad(flag, text, expected);
  }
  return static_cast<Int>(v);
}

// Splits "K=V"; the key must not be empty.
absl::StatusOr<std::pair<std::string, std::string>> ParseKeyValue(std::string_view text,
                                                                  std::string_view flag) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) return Bad(flag, text, "KEY=VALUE");
  return std::pair(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
}

bool IsClassName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

}  // namespace

std::string DefaultJobName(const hac::v1::JobSpec& spec) {
  std::string base;
  if (spec.has_workload()) {
    base = spec.workload().name();
  } else if (spec.has_command() && spec.command().argv_size() > 0) {
    base = spec.command().argv(0);
    if (size_t slash = base.find_last_of('/'); slash != std::string::npos) {
      base = base.substr(slash + 1);
    }
  }
  std::string name;
  for (char c : base) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (name.empty() && !alnum) continue;  // Must start with a letter or digit.
    name += (alnum || c == '.' || c == '_' || c == '-') ? c : '-';
    if (name.size() == 128) break;
  }
  return name.empty() ? "job" : name;
}

std::vector<FlagSpec> SubmitFlags() {
  return {
      {.name = "name", .value_name = "NAME",
       .help = "a name for people (default: the workload or the program's file name)"},
      {.name = "device", .repeatable = true, .value_name = "CLASS:COUNT[:MODEL]",
       .help = "devices per node; each --device is an alternative (npu:2, gpu:1:emu-a100)"},
      {.name = "nodes", .value_name = "N", .help = "nodes of the gang, for every alternative"},
      {.name = "memory", .value_name = "BYTES",
       .help = "device memory needed per device (suffixes Ki, Mi, Gi, Ti)"},
      {.name = "speed", .repeatable = true, .value_name = "CLASS=PERMILLE",
       .help = "relative speed of the alternatives of a class (1000 = baseline)"},
      {.name = "optimize", .value_name = "time|cost", .help = "how to choose an alternative"},
      {.name = "priority", .value_name = "N", .help = "higher runs first (0..1000)"},
      {.name = "max-runtime", .value_name = "DURATION", .help = "per attempt, e.g. 90s, 1h"},
      {.name = "max-retries", .value_name = "N", .help = "retries of failed or lost attempts"},
      {.name = "label", .repeatable = true, .value_name = "K=V", .help = "a label"},
      {.name = "env", .repeatable = true, .value_name = "K=V",
       .help = "an environment variable of the command"},
      {.name = "workdir", .value_name = "DIR", .help = "working directory of the command"},
      {.name = "workload", .value_name = "NAME",
       .help = "run a built-in workload (gemm, train-mlp, infer) instead of a command"},
      {.name = "arg", .repeatable = true, .value_name = "A",
       .help = "an argument of the workload (or give them after --)"},
      {.name = "idempotency-key", .value_name = "KEY",
       .help = "submitting the same key again returns the first job"},
      {.name = "file", .short_name = "f", .value_name = "spec.json",
       .help = "a JobSpec in protobuf JSON; flags override its fields"},
      {.name = "wait", .boolean = true,
       .help = "watch the job until it ends; exit 0 only if it SUCCEEDED"},
      {.name = "dry-run", .boolean = true,
       .help = "submit nothing; show where it would run, when, and its most cost"},
  };
}

absl::StatusOr<uint64_t> ParseByteSize(std::string_view text, std::string_view flag) {
  constexpr std::string_view kExpected = "a byte count like 1073741824, 512Mi or 16Gi";
  struct Suffix {
    std::string_view name;
    int shift;
  };
  constexpr Suffix kSuffixes[] = {{"Ki", 10}, {"Mi", 20}, {"Gi", 30}, {"Ti", 40}};
  std::string_view digits = text;
  int shift = 0;
  for (const Suffix& s : kSuffixes) {
    if (text.size() > s.name.size() && text.substr(text.size() - s.name.size()) == s.name) {
      digits = text.substr(0, text.size() - s.name.size());
      shift = s.shift;
      break;
    }
  }
  if (digits.empty()) return Bad(flag, text, kExpected);
  for (char c : digits) {
    if (c < '0' || c > '9') return Bad(flag, text, kExpected);
  }
  uint64_t v = 0;
  if (!absl::SimpleAtoi(absl::string_view(digits.data(), digits.size()), &v)) {
    return Bad(flag, text, kExpected);
  }
  if (v > (std::numeric_limits<uint64_t>::max() >> shift)) {
    return Bad(flag, text, "a byte count below 16Ei (2^64)");
  }
  return v << shift;
}

absl::StatusOr<hac::v1::DeviceRequest> ParseDeviceFlag(std::string_view text) {
  constexpr std::string_view kExpected =
      "CLASS:COUNT[:MODEL] with a positive COUNT, e.g. npu:2 or gpu:1:emu-a100";
  std::vector<std::string> parts =
      absl::StrSplit(absl::string_view(text.data(), text.size()), absl::MaxSplits(':', 2));
  if (parts.size() < 2 || !IsClassName(parts[0])) return Bad("--device", text, kExpected);
  absl::StatusOr<uint32_t> count =
      ParseInt<uint32_t>(parts[1], "--device", 1, 1'000'000, kExpected);
  if (!count.ok()) return Bad("--device", text, kExpected);
  hac::v1::DeviceRequest d;
  d.set_device_class(parts[0]);
  d.set_count(*count);
  if (parts.size() == 3) {
    if (parts[2].empty()) return Bad("--device", text, kExpected);
    d.set_model(parts[2]);
  }
  return d;
}

absl::StatusOr<hac::v1::JobSpec> ParseJobSpecJson(std::string_view json, std::string_view source) {
  hac::v1::JobSpec spec;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &spec, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(absl::string_view(source.data(), source.size()),
                     ": not a JobSpec in protobuf JSON form: ", std::string(status.message())));
  }
  return spec;
}

absl::Status ApplySubmitFlags(const ParsedArgs& args, hac::v1::JobSpec& spec) {
  if (auto v = args.Get("name")) spec.set_name(*v);

  // Devices: --device replaces the file's alternatives; --nodes/--memory/--speed apply to all.
  if (args.Has("device")) {
    spec.clear_devices();
    for (const std::string& d : args.GetAll("device")) {
      ASSIGN_OR_RETURN(*spec.add_devices(), ParseDeviceFlag(d));
    }
  }
  if (auto v = args.Get("nodes")) {
    ASSIGN_OR_RETURN(uint32_t nodes,
                     ParseInt<uint32_t>(*v, "--nodes", 1, 1'000'000, "a positive node count"));
    for (auto& d : *spec.mutable_devices()) d.set_nodes(nodes);
  }
  if (auto v = args.Get("memory")) {
    ASSIGN_OR_RETURN(uint64_t bytes, ParseByteSize(*v, "--memory"));
    for (auto& d : *spec.mutable_devices()) d.set_memory_bytes(bytes);
  }
  for (const std::string& s : args.GetAll("speed")) {
    constexpr std::string_view kExpected = "CLASS=PERMILLE with a positive PERMILLE, e.g. gpu=1500";
    auto kv = ParseKeyValue(s, "--speed");
    if (!kv.ok()) return Bad("--speed", s, kExpected);
    absl::StatusOr<uint32_t> permille =
        ParseInt<uint32_t>(kv->second, "--speed", 1, 1'000'000, kExpected);
    if (!permille.ok()) return Bad("--speed", s, kExpected);
    bool matched = false;
    for (auto& d : *spec.mutable_devices()) {
      if (d.device_class() == kv->first) {
        d.set_relative_speed_permille(*permille);
        matched = true;
      }
    }
    if (!matched) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--speed '", s, "': no --device alternative of class ", kv->first));
    }
  }
  if (auto v = args.Get("optimize")) {
    if (*v == "time") {
      spec.set_optimize(hac::v1::OPTIMIZE_TIME);
    } else if (*v == "cost") {
      spec.set_optimize(hac::v1::OPTIMIZE_COST);
    } else {
      return Bad("--optimize", *v, "time or cost");
    }
  }
  if (auto v = args.Get("priority")) {
    ASSIGN_OR_RETURN(int32_t p, ParseInt<int32_t>(*v, "--priority", 0, 1'000'000,
                                                  "a non-negative integer (0..1000)"));
    spec.set_priority(p);
  }
  if (auto v = args.Get("max-runtime")) {
    absl::Duration d;
    if (!absl::ParseDuration(*v, &d) || d <= absl::ZeroDuration() ||
        d == absl::InfiniteDuration()) {
      return Bad("--max-runtime", *v, "a positive duration like 90s, 30m or 2h");
    }
    const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
    spec.mutable_max_runtime()->set_seconds(seconds);
    spec.mutable_max_runtime()->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d)));
  }
  if (auto v = args.Get("max-retries")) {
    ASSIGN_OR_RETURN(uint32_t r, ParseInt<uint32_t>(*v, "--max-retries", 0, 1'000'000,
                                                    "a non-negative integer (0..10)"));
    spec.set_max_retries(r);
  }
  for (const std::string& l : args.GetAll("label")) {
    ASSIGN_OR_RETURN(auto kv, ParseKeyValue(l, "--label"));
    (*spec.mutable_labels())[kv.first] = kv.second;
  }
  if (auto v = args.Get("idempotency-key")) spec.set_idempotency_key(*v);

  // What to run.
  if (auto v = args.Get("workload")) {
    if (args.Has("env") || args.Has("workdir")) {
      return absl::InvalidArgumentError(
          "--env and --workdir apply to a command, not to a --workload");
    }
    hac::v1::Workload* w = spec.mutable_workload();  // Clears a command from the file.
    w->set_name(*v);
    w->clear_args();
    for (const std::string& a : args.GetAll("arg")) w->add_args(a);
    for (const std::string& a : args.rest()) w->add_args(a);
    return absl::OkStatus();
  }
  if (args.Has("arg")) {
    return absl::InvalidArgumentError(
        "--arg is an argument of a --workload; give a command's arguments after --");
  }
  if (!args.rest().empty()) {
    hac::v1::Command* c = spec.mutable_command();  // Clears a workload from the file.
    c->clear_argv();
    for (const std::string& a : args.rest()) c->add_argv(a);
  }
  if (args.Has("env") || args.Has("workdir")) {
    if (spec.has_workload()) {
      return absl::InvalidArgumentError(
          "--env and --workdir apply to a command, not to the file's workload");
    }
    hac::v1::Command* c = spec.mutable_command();
    for (const std::string& e : args.GetAll("env")) {
      ASSIGN_OR_RETURN(auto kv, ParseKeyValue(e, "--env"));
      (*c->mutable_env())[kv.first] = kv.second;
    }
    if (auto v = args.Get("workdir")) c->set_working_dir(*v);
  }
  return absl::OkStatus();
}

absl::StatusOr<hac::v1::JobSpec> BuildJobSpec(const ParsedArgs& args) {
  hac::v1::JobSpec spec;
  if (auto path = args.Get("file")) {
    absl::StatusOr<std::string> text = ReadFileToString(*path);
    if (!text.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("-f: ", text.status().message()));
    }
    ASSIGN_OR_RETURN(spec, ParseJobSpecJson(*text, *path));
  }
  RETURN_IF_ERROR(ApplySubmitFlags(args, spec));
  if (spec.devices_size() == 0) {
    return absl::InvalidArgumentError(
        "no devices: give --device CLASS:COUNT[:MODEL] (e.g. --device gpu:1) or devices in -f");
  }
  const bool has_command = spec.has_command() && spec.command().argv_size() > 0;
  const bool has_workload = spec.has_workload() && !spec.workload().name().empty();
  if (!has_command && !has_workload) {
    return absl::InvalidArgumentError(
        "nothing to run: give a command after -- (hacctl submit --device gpu:1 -- ./train.sh) "
        "or --workload NAME");
  }
  if (spec.name().empty()) spec.set_name(DefaultJobName(spec));
  return spec;
}

}  // namespace hac::cli
