#include "bench/scheduler/trace.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace hac::sim {
namespace {

absl::Status Bad(const std::string& path, int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ":", line, ": ", what));
}

scheduler::DeviceRequest Gpus(int n) {
  scheduler::DeviceRequest r;
  r.device_class = "gpu";
  if (n > 8) {
    r.nodes = (n + 7) / 8;
    r.count = (n + r.nodes - 1) / r.nodes;
  } else {
    r.count = std::max(1, n);
  }
  return r;
}

}  // namespace

int64_t ClusterSpec::Devices() const {
  int64_t total = 0;
  for (const PoolSpec& p : pools) total += static_cast<int64_t>(p.nodes) * p.devices_per_node;
  return total;
}

absl::StatusOr<std::vector<TraceJob>> LoadTrace(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open trace ", path));
  std::string line;
  if (!std::getline(in, line)) return absl::InvalidArgumentError(absl::StrCat(path, ": empty"));
  std::vector<std::string> header = absl::StrSplit(absl::StripAsciiWhitespace(line), ',');
  auto column = [&](const std::string& name) {
    auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? -1 : static_cast<int>(it - header.begin());
  };
  const bool philly = column("timestamp") >= 0 && column("num_gpus") >= 0;
  const int c_submit = philly ? column("timestamp") : column("submit_time");
  const int c_duration = column("duration");
  const int c_devices = philly ? column("num_gpus") : column("devices");
  const int c_tenant = philly ? column("cluster") : column("tenant");
  const int c_priority = column("priority");
  const int c_alternatives = column("alternatives");
  if (c_submit < 0 || c_duration < 0 || c_devices < 0 || c_tenant < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": header must be timestamp,duration,num_gpus,gpu_time,cluster (Philly) or "
              "submit_time,duration,devices,tenant[,priority][,alternatives]"));
  }
  std::vector<TraceJob> jobs;
  int line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    absl::string_view l = absl::StripAsciiWhitespace(line);
    if (l.empty()) continue;
    std::vector<std::string> f = absl::StrSplit(l, ',');
    auto field = [&](int c) -> std::string {
      return c >= 0 && c < static_cast<int>(f.size()) ? f[c] : std::string();
    };
    TraceJob j;
    if (philly) {
      std::string err;
      if (!absl::ParseTime("%Y-%m-%d %H:%M:%S", field(c_submit), absl::UTCTimeZone(), &j.submit,
                           &err)) {
        return Bad(path, line_no, "timestamp: " + err);
      }
    } else {
      double t = 0;
      if (!absl::SimpleAtod(field(c_submit), &t)) return Bad(path, line_no, "submit_time: not a number");
      j.submit = absl::UnixEpoch() + absl::Seconds(t);
    }
    double duration = 0;
    if (!absl::SimpleAtod(field(c_duration), &duration) || duration < 0) {
      return Bad(path, line_no, "duration: not a non-negative number");
    }
    j.duration = absl::Seconds(std::max(1.0, duration));
    j.tenant = field(c_tenant);
    if (j.tenant.empty()) return Bad(path, line_no, "tenant: empty");
    if (c_priority >= 0 && !field(c_priority).empty() &&
        !absl::SimpleAtoi(field(c_priority), &j.priority)) {
      return Bad(path, line_no, "priority: not an integer");
    }
    std::string alternatives = field(c_alternatives);
    if (!alternatives.empty()) {
      for (absl::string_view alt : absl::StrSplit(alternatives, '|')) {
        std::vector<std::string> p = absl::StrSplit(alt, ':');
        scheduler::DeviceRequest r;
        r.device_class = p[0];
        if (p.size() < 2 || r.device_class.empty() || !absl::SimpleAtoi(p[1], &r.count) ||
            (p.size() > 2 && !absl::SimpleAtod(p[2], &r.relative_speed)) ||
            (p.size() > 3 && !absl::SimpleAtoi(p[3], &r.nodes))) {
          return Bad(path, line_no, "alternatives: expected class:count[:speed[:nodes]]|...");
        }
        j.alternatives.push_back(r);
      }
    } else {
      double n = 0;  // Philly writes counts as integers; accept 4.0 too
      if (!absl::SimpleAtod(field(c_devices), &n) || n < 1) {
        return Bad(path, line_no, "devices: not a positive count");
      }
      j.alternatives.push_back(Gpus(static_cast<int>(std::lround(n))));
    }
    jobs.push_back(std::move(j));
  }
  std::stable_sort(jobs.begin(), jobs.end(),
                   [](const TraceJob& a, const TraceJob& b) { return a.submit < b.submit; });
  return jobs;
}

absl::StatusOr<ClusterSpec> LoadCluster(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open cluster file ", path));
  ClusterSpec spec;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    absl::string_view l = line;
    if (size_t hash = l.find('#'); hash != absl::string_view::npos) l = l.substr(0, hash);
    std::vector<std::string> w = absl::StrSplit(l, ' ', absl::SkipWhitespace());
    if (w.empty()) continue;
    if (w[0] == "pool" && (w.size() == 5 || w.size() == 6)) {
      PoolSpec p;
      p.name = w[1];
      p.device_class = w[4];
      p.model = w.size() == 6 ? w[5] : w[4];
      if (!absl::SimpleAtoi(w[2], &p.nodes) || !absl::SimpleAtoi(w[3], &p.devices_per_node) ||
          p.nodes < 0 || p.devices_per_node < 1) {
        return Bad(path, line_no, "pool: expected pool <name> <nodes> <devices> <class> [model]");
      }
      spec.pools.push_back(p);
    } else if (w[0] == "price" && w.size() == 3) {
      double v = 0;
      if (!absl::SimpleAtod(w[2], &v) || v <= 0) return Bad(path, line_no, "price: expected > 0");
      spec.price[w[1]] = v;
    } else {
      return Bad(path, line_no, "expected 'pool <name> <nodes> <devices> <class> [model]' or "
                                "'price <class> <value>'");
    }
  }
  if (spec.pools.empty()) return Bad(path, line_no, "no pool");
  return spec;
}

ClusterSpec DefaultCluster() {
  ClusterSpec spec;
  spec.pools.push_back(PoolSpec{"philly", 80, 8, "gpu", "p100"});
  return spec;
}

}  // namespace hac::sim
