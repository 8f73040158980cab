#include "scheduler/config.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"

namespace hac::scheduler {
namespace {

absl::Status LineError(int line, absl::string_view key, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("scheduler config line ", line, ": ", key, ": ", what));
}

absl::StatusOr<bool> ParseOnOff(absl::string_view v) {
  if (v == "on" || v == "true" || v == "yes") return true;
  if (v == "off" || v == "false" || v == "no") return false;
  return absl::InvalidArgumentError("expected on or off");
}

}  // namespace

double SchedulerConfig::TenantWeight(const std::string& tenant) const {
  auto it = tenant_weight.find(tenant);
  return it == tenant_weight.end() ? 1.0 : it->second;
}

double SchedulerConfig::Price(const std::string& device_class) const {
  auto it = price.find(device_class);
  return it == price.end() ? 1.0 : it->second;
}

const QuotaLimit* SchedulerConfig::Quota(const std::string& tenant,
                                         const std::string& device_class) const {
  auto t = quota_limits.find(tenant);
  if (t == quota_limits.end()) return nullptr;
  auto c = t->second.find(device_class);
  return c == t->second.end() ? nullptr : &c->second;
}

absl::Status Validate(const SchedulerConfig& config) {
  for (const std::string& name : config.order) {
    if (name != "priority" && name != "fair_share" && name != "fifo") {
      return absl::InvalidArgumentError(
          absl::StrCat("order: unknown policy '", name, "' (known: fifo, priority, fair_share)"));
    }
  }
  if (!(config.aging_per_hour >= 0) || config.aging_per_hour > 1e6) {
    return absl::InvalidArgumentError("aging_per_hour: must be in [0, 1e6]");
  }
  if (config.default_max_runtime <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("default_max_runtime: must be > 0");
  }
  if (config.default_grace_period < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("default_grace_period: must be >= 0");
  }
  for (const auto& [tenant, w] : config.tenant_weight) {
    if (!(w > 0) || w > 1e6) {
      return absl::InvalidArgumentError(
          absl::StrCat("tenant_weight.", tenant, ": must be in (0, 1e6]"));
    }
  }
  for (const auto& [cls, p] : config.price) {
    if (!(p > 0) || p > 1e9) {
      return absl::InvalidArgumentError(absl::StrCat("price.", cls, ": must be in (0, 1e9]"));
    }
  }
  for (const auto& [tenant, classes] : config.quota_limits) {
    for (const auto& [cls, q] : classes) {
      if (q.limit < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("quota.", tenant, ".", cls, ": must be >= 0"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<SchedulerConfig> ParseSchedulerConfig(std::string_view text) {
  SchedulerConfig config;
  int line_no = 0;
  for (absl::string_view raw : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    ++line_no;
    absl::string_view line = raw;
    if (size_t hash = line.find('#'); hash != absl::string_view::npos) line = line.substr(0, hash);
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) return LineError(line_no, line, "expected key = value");
    std::string key(absl::StripAsciiWhitespace(line.substr(0, eq)));
    std::string value(absl::StripAsciiWhitespace(line.substr(eq + 1)));
    if (key == "order") {
      config.order.clear();
      for (absl::string_view part : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
        std::string name(absl::StripAsciiWhitespace(part));
        config.order.push_back(name);
      }
    } else if (key == "placement") {
      if (value == "best_fit") config.placement = PlacementKind::kBestFit;
      else if (value == "spread") config.placement = PlacementKind::kSpread;
      else if (value == "first_fit") config.placement = PlacementKind::kFirstFit;
      else return LineError(line_no, key, "expected best_fit, spread or first_fit");
    } else if (key == "alternatives") {
      if (value == "earliest_finish") config.alternatives = AlternativeKind::kEarliestFinish;
      else if (value == "first_listed") config.alternatives = AlternativeKind::kFirstListed;
      else return LineError(line_no, key, "expected earliest_finish or first_listed");
    } else if (key == "on_blocked") {
      if (value == "skip") config.on_blocked = OnBlocked::kSkip;
      else if (value == "stop") config.on_blocked = OnBlocked::kStop;
      else return LineError(line_no, key, "expected skip or stop");
    } else if (key == "quota" || key == "backfill" || key == "preemption") {
      absl::StatusOr<bool> on = ParseOnOff(value);
      if (!on.ok()) return LineError(line_no, key, on.status().message());
      (key == "quota" ? config.quota : key == "backfill" ? config.backfill : config.preemption) =
          *on;
    } else if (key == "aging_per_hour") {
      if (!absl::SimpleAtod(value, &config.aging_per_hour)) {
        return LineError(line_no, key, "expected a number");
      }
    } else if (key == "default_max_runtime" || key == "default_grace_period") {
      absl::Duration d;
      if (!absl::ParseDuration(value, &d)) {
        return LineError(line_no, key, "expected a duration like 30s, 90m or 24h");
      }
      (key == "default_max_runtime" ? config.default_max_runtime : config.default_grace_period) =
          d;
    } else if (absl::StartsWith(key, "tenant_weight.") || absl::StartsWith(key, "price.")) {
      bool weight = absl::StartsWith(key, "tenant_weight.");
      std::string name = key.substr(key.find('.') + 1);
      double v = 0;
      if (name.empty() || !absl::SimpleAtod(value, &v)) {
        return LineError(line_no, key, "expected <name> = <number>");
      }
      (weight ? config.tenant_weight : config.price)[name] = v;
    } else if (absl::StartsWith(key, "quota.")) {
      std::vector<std::string> parts = absl::StrSplit(key, '.');
      if (parts.size() != 3 || parts[1].empty() || parts[2].empty()) {
        return LineError(line_no, key, "expected quota.<tenant>.<class>");
      }
      std::vector<std::string> words = absl::StrSplit(value, ' ', absl::SkipWhitespace());
      QuotaLimit q;
      if (words.empty() || !absl::SimpleAtoi(words[0], &q.limit) || words.size() > 2 ||
          (words.size() == 2 && words[1] != "borrowable")) {
        return LineError(line_no, key, "expected <devices> [borrowable]");
      }
      q.borrowable = words.size() == 2;
      config.quota_limits[parts[1]][parts[2]] = q;
    } else {
      return LineError(line_no, key, "unknown key");
    }
  }
  if (absl::Status s = Validate(config); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("scheduler config: ", s.message()));
  }
  return config;
}

SchedulerConfig FifoConfig() {
  SchedulerConfig c;
  c.order.clear();
  c.placement = PlacementKind::kFirstFit;
  c.alternatives = AlternativeKind::kFirstListed;
  c.quota = false;
  c.backfill = false;
  c.preemption = false;
  c.on_blocked = OnBlocked::kStop;
  c.aging_per_hour = 0;
  return c;
}

SchedulerConfig ComposedConfig() { return SchedulerConfig{}; }

}  // namespace hac::scheduler
