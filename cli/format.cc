#include "cli/format.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"

namespace hac::cli {
namespace {

std::string StripPrefix(const std::string& name, std::string_view prefix) {
  if (name.rfind(prefix, 0) == 0) return name.substr(prefix.size());
  return name.empty() ? "UNKNOWN" : name;
}

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

// The magnitude of `value` as unsigned, so INT64_MIN has one too.
uint64_t Magnitude(int64_t value) {
  return value < 0 ? uint64_t{0} - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
}

// "1,234,567" for 1234567.
std::string GroupThousands(uint64_t value) {
  const std::string digits = std::to_string(value);
  std::string grouped;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  return grouped;
}

// `value` / `scale` with `decimals` = log10(scale) digits after the point, grouped.
std::string FixedPoint(int64_t value, uint64_t scale, size_t decimals) {
  const uint64_t magnitude = Magnitude(value);
  std::string frac = std::to_string(magnitude % scale);
  frac.insert(0, decimals - frac.size(), '0');
  return absl::StrCat(value < 0 ? "-" : "", GroupThousands(magnitude / scale), ".", frac);
}

}  // namespace

void Table::RightAlign(size_t column) {
  if (right_.size() <= column) right_.resize(column + 1, false);
  right_[column] = true;
}

std::string Table::Render() const {
  size_t columns = header_.size();
  for (const auto& row : rows_) columns = std::max(columns, row.size());
  std::vector<size_t> width(columns, 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  };
  measure(header_);
  for (const auto& row : rows_) measure(row);
  std::string out;
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < columns; ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      const std::string pad(width[i] - cell.size(), ' ');
      const bool right = i < right_.size() && right_[i];
      line += right ? pad + cell : cell;
      if (i + 1 < columns) line += (right ? "" : pad) + "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  print(header_);
  for (const auto& row : rows_) print(row);
  return out;
}

std::string FormatMicros(int64_t micros, std::string_view currency) {
  std::string out = FixedPoint(micros, 1'000'000, 6);
  if (!currency.empty()) {
    absl::StrAppend(&out, " ", absl::string_view(currency.data(), currency.size()));
  }
  return out;
}

std::string FormatInteger(int64_t value) {
  return absl::StrCat(value < 0 ? "-" : "", GroupThousands(Magnitude(value)));
}

std::string FormatMillis(int64_t ms) { return FixedPoint(ms, 1'000, 3); }

absl::StatusOr<std::string> ToCanonicalJson(const google::protobuf::Message& message) {
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(message, &out);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print response as JSON: ", std::string(status.message())));
  }
  return out;
}

std::string JobStateName(hac::v1::JobState state) {
  return StripPrefix(hac::v1::JobState_Name(state), "JOB_STATE_");
}
std::string AttemptStateName(hac::v1::AttemptState state) {
  return StripPrefix(hac::v1::AttemptState_Name(state), "ATTEMPT_STATE_");
}
std::string NodeStateName(hac::v1::NodeState state) {
  return StripPrefix(hac::v1::NodeState_Name(state), "NODE_STATE_");
}
std::string RoleName(hac::v1::Role role) { return StripPrefix(hac::v1::Role_Name(role), "ROLE_"); }

absl::StatusOr<hac::v1::JobState> ParseJobState(std::string_view text) {
  std::string upper = absl::AsciiStrToUpper(absl::string_view(text.data(), text.size()));
  if (upper.rfind("JOB_STATE_", 0) != 0) upper = "JOB_STATE_" + upper;
  hac::v1::JobState state;
  if (!hac::v1::JobState_Parse(upper, &state) || state == hac::v1::JOB_STATE_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--state '", absl::string_view(text.data(), text.size()),
        "': expected pending, assigned, running, succeeded, failed or cancelled"));
  }
  return state;
}

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

std::string FormatTimestamp(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", ToTime(ts), absl::UTCTimeZone());
}

std::string FormatAge(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  const int64_t s = absl::ToInt64Seconds(d);
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrCat(s / 60, "m");
  if (s < 86400) return absl::StrCat(s / 3600, "h");
  return absl::StrCat(s / 86400, "d");
}

std::string DurationText(absl::Duration d) {
  if (d == absl::ZeroDuration()) return "-";
  return absl::FormatDuration(d);
}

std::string DeviceRequestsSummary(const hac::v1::JobSpec& spec) {
  std::vector<std::string> parts;
  for (const hac::v1::DeviceRequest& d : spec.devices()) {
    std::string s = absl::StrCat(d.device_class(), ":", d.count());
    if (!d.model().empty()) absl::StrAppend(&s, ":", d.model());
    if (d.nodes() > 1) absl::StrAppend(&s, " x", d.nodes(), " nodes");
    parts.push_back(std::move(s));
  }
  return parts.empty() ? "-" : absl::StrJoin(parts, " | ");
}

std::string NodeDevicesSummary(const hac::v1::Node& node) {
  // (class, model) -> (total, free), in order of first appearance.
  std::vector<std::pair<std::string, std::string>> order;
  std::map<std::pair<std::string, std::string>, std::pair<int, int>> counts;
  for (const hac::v1::Device& d : node.devices()) {
    auto key = std::pair(d.device_class(), d.model());
    if (counts.find(key) == counts.end()) order.push_back(key);
    auto& [total, free] = counts[key];
    ++total;
    if (d.attempt_id().empty() && d.health() != hac::v1::DEVICE_HEALTH_UNHEALTHY) ++free;
  }
  std::vector<std::string> parts;
  for (const auto& key : order) {
    const auto& [total, free] = counts[key];
    parts.push_back(absl::StrCat(total, " ", key.first, key.second.empty() ? "" : " ",
                                 key.second, " (free ", free, ")"));
  }
  return parts.empty() ? "-" : absl::StrJoin(parts, ", ");
}

std::string JobsTable(const std::vector<hac::v1::Job>& jobs, absl::Time now) {
  Table t({"ID", "TENANT", "NAME", "STATE", "DEVICES", "AGE", "REASON"});
  for (const hac::v1::Job& j : jobs) {
    t.AddRow({j.id(), OrDash(j.tenant()), OrDash(j.spec().name()), JobStateName(j.state()),
              DeviceRequestsSummary(j.spec()), FormatAge(now - ToTime(j.create_time())),
              OrDash(j.reason())});
  }
  return t.Render();
}

std::string JobDetail(const hac::v1::Job& job) {
  const hac::v1::JobSpec& spec = job.spec();
  std::string run = "-";
  if (spec.has_workload()) {
    run = absl::StrCat("workload ", spec.workload().name(),
                       spec.workload().args_size() > 0 ? " " : "",
                       absl::StrJoin(spec.workload().args(), " "));
  } else if (spec.has_command()) {
    run = absl::StrJoin(spec.command().argv(), " ");
  }
  std::vector<std::string> labels;
  for (const auto& [k, v] : spec.labels()) labels.push_back(absl::StrCat(k, "=", v));
  std::sort(labels.begin(), labels.end());
  const absl::Duration max_runtime =
      absl::Seconds(spec.max_runtime().seconds()) + absl::Nanoseconds(spec.max_runtime().nanos());

  std::string out;
  auto line = [&](std::string_view key, const std::string& value) {
    absl::StrAppend(&out, absl::string_view(key.data(), key.size()), ":",
                    std::string(key.size() < 12 ? 13 - key.size() : 1, ' '), value, "\n");
  };
  line("id", job.id());
  line("tenant", OrDash(job.tenant()));
  line("name", OrDash(spec.name()));
  line("state", JobStateName(job.state()));
  line("reason", OrDash(job.reason()));
  line("devices", DeviceRequestsSummary(spec));
  line("run", run);
  line("priority", absl::StrCat(spec.priority()));
  line("max runtime", max_runtime == absl::ZeroDuration() ? "default" : DurationText(max_runtime));
  line("max retries", absl::StrCat(spec.max_retries()));
  line("labels", labels.empty() ? "-" : absl::StrJoin(labels, ","));
  line("created", FormatTimestamp(job.create_time()));
  line("updated", FormatTimestamp(job.update_time()));
  line("ended", FormatTimestamp(job.end_time()));
  line("attempts", absl::StrCat(job.attempt_count()));

  for (const hac::v1::Attempt& a : job.attempts()) {
    std::vector<std::string> devices;
    for (const hac::v1::DeviceRef& d : a.devices()) {
      devices.push_back(absl::StrCat(d.node(), "/", d.index(), " ", d.device_class(),
                                     d.model().empty() ? "" : " ", d.model()));
    }
    std::string exit = "-";
    if (a.has_exit()) {
      exit = a.exit().message().empty()
                 ? (a.exit().signal() != 0 ? absl::StrCat("signal ", a.exit().signal())
                                           : absl::StrCat("exit ", a.exit().code()))
                 : a.exit().message();
    }
    absl::StrAppend(&out, "\nattempt ", a.number(), " (", a.id(), "): ", AttemptStateName(a.state()),
                    "\n");
    absl::StrAppend(&out, "  nodes:    ", a.nodes_size() ? absl::StrJoin(a.nodes(), ",") : "-",
                    "\n");
    absl::StrAppend(&out, "  devices:  ", devices.empty() ? "-" : absl::StrJoin(devices, ", "),
                    "\n");
    absl::StrAppend(&out, "  assigned: ", FormatTimestamp(a.assign_time()), "\n");
    absl::StrAppend(&out, "  started:  ", FormatTimestamp(a.start_time()), "\n");
    absl::StrAppend(&out, "  ended:    ", FormatTimestamp(a.end_time()), "\n");
    absl::StrAppend(&out, "  exit:     ", exit, "\n");
    if (!a.message().empty()) absl::StrAppend(&out, "  message:  ", a.message(), "\n");
    if (a.usage_size() > 0) {
      Table usage({"DEVICE", "ALLOCATED MS", "ACTIVE MS"});
      for (const hac::v1::DeviceUsage& u : a.usage()) {
        usage.AddRow({absl::StrCat(u.device().node(), "/", u.device().index()),
                      absl::StrCat(u.allocated_ms()), absl::StrCat(u.active_ms())});
      }
      for (absl::string_view l : absl::StrSplit(usage.Render(), '\n', absl::SkipEmpty())) {
        absl::StrAppend(&out, "  ", l, "\n");
      }
    }
  }
  return out;
}

std::string WatchLine(const hac::v1::Job& job) {
  return absl::StrCat(FormatTimestamp(job.update_time()), " ", job.id(), " ",
                      JobStateName(job.state()), " ", OrDash(job.reason()));
}

std::string NodesTable(const std::vector<hac::v1::Node>& nodes, absl::Time now) {
  Table t({"NAME", "POOL", "STATE", "DEVICES", "LAST HEARTBEAT"});
  for (const hac::v1::Node& n : nodes) {
    const bool never = n.last_heartbeat().seconds() == 0 && n.last_heartbeat().nanos() == 0;
    t.AddRow({n.name(), OrDash(n.pool()), NodeStateName(n.state()), NodeDevicesSummary(n),
              never ? "never" : FormatAge(now - ToTime(n.last_heartbeat())) + " ago"});
  }
  return t.Render();
}

std::string DryRunText(const hac::v1::DryRunResult& r) {
  std::string out;
  absl::StrAppend(&out, "placeable now:   ", r.placeable_now() ? "yes" : "no", "\n");
  if (!r.reason().empty()) absl::StrAppend(&out, "reason:          ", r.reason(), "\n");
  std::vector<std::string> devices;
  for (const hac::v1::DeviceRef& d : r.devices()) {
    devices.push_back(absl::StrCat(d.node(), "/", d.index(), " ", d.device_class(),
                                   d.model().empty() ? "" : " ", d.model()));
  }
  absl::StrAppend(&out, "devices:         ", devices.empty() ? "-" : absl::StrJoin(devices, ", "),
                  "\n");
  absl::StrAppend(&out, "estimated start: ", FormatTimestamp(r.estimated_start()), "\n");
  // No currency: the server had no price to estimate with (or predates estimates).
  absl::StrAppend(&out, "estimated cost:  ",
                  r.currency().empty()
                      ? "-"
                      : absl::StrCat("at most ",
                                     FormatMicros(r.estimated_cost_micros(), r.currency()),
                                     " (all devices held and busy for the max runtime)"),
                  "\n");
  return out;
}

std::string FormatServerError(const absl::Status& status, std::string_view server) {
  std::string out = absl::StrCat("hacctl: ", absl::StatusCodeToString(status.code()), ": ",
                                 status.message(), "\n");
  const absl::string_view addr(server.data(), server.size());
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
      absl::StrAppend(&out, "hint: cannot reach hacd at ", addr,
                      ": is it running? set --server or HAC_SERVER\n");
      break;
    case absl::StatusCode::kUnauthenticated:
      absl::StrAppend(&out,
                      "hint: token missing or invalid: set --token or HAC_TOKEN "
                      "(or --token-file / HAC_TOKEN_FILE)\n");
      break;
    case absl::StatusCode::kPermissionDenied:
      absl::StrAppend(&out,
                      "hint: your token's role may not do this: use an admin token "
                      "('hacctl whoami' shows your role)\n");
      break;
    case absl::StatusCode::kNotFound:
      absl::StrAppend(&out,
                      "hint: it does not exist or belongs to another tenant: check the id "
                      "('hacctl jobs' lists your jobs)\n");
      break;
    case absl::StatusCode::kDeadlineExceeded:
      absl::StrAppend(&out, "hint: hacd at ", addr,
                      " did not answer in time: raise --timeout or check the server\n");
      break;
    default:
      break;
  }
  return out;
}

}  // namespace hac::cli
