// A small discrete-event driver for property and contract tests: applies decisions like hacd,
// finishes attempts after their (seeded random) run time, and checks invariants on every
// decision against its own bookkeeping, independent of the scheduler's.
#ifndef HAC_TESTS_SCHEDULER_DRIVER_H_
#define HAC_TESTS_SCHEDULER_DRIVER_H_

#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "tests/scheduler/test_util.h"

namespace hac::scheduler::testing {

struct DriverStats {
  int placed = 0;
  int preempted = 0;
  int completed = 0;
  int double_booked = 0;      // a device given to two attempts at once
  int partial_gangs = 0;      // a placement without exactly nodes x count devices of the class
  int quota_exceeded = 0;     // hard quota exceeded after a placement
  int reservation_missed = 0; // a job started after the reservation it was given
  std::map<std::string, absl::Time> start;     // first start per job
  std::map<std::string, absl::Time> finish;    // completion per job
  std::map<std::string, double> device_hours;  // per tenant
};

class Driver {
 public:
  explicit Driver(Scheduler& s) : s_(s) {}

  // Adds a job arriving at `at`; it runs for runtime_fraction x its max runtime.
  void Arrive(JobRequest job, double runtime_fraction = 1.0) {
    requests_[job.id.value] = job;
    fraction_[job.id.value] = runtime_fraction;
    events_.insert({job.submit_time, 0, seq_++, job.id.value});
  }

  // Runs until no event is left or `until`.
  DriverStats Run(absl::Time until) {
    while (!events_.empty()) {
      absl::Time now = std::get<0>(*events_.begin());
      if (now > until) break;
      while (!events_.empty() && std::get<0>(*events_.begin()) == now) {
        auto [t, kind, seq, what] = *events_.begin();
        events_.erase(events_.begin());
        Apply(now, kind, what);
      }
      Pass(now);
    }
    return stats_;
  }

  const DriverStats& stats() const { return stats_; }

 private:
  struct Running {
    std::string job;
    std::string tenant;
    std::string cls;
    int64_t devices;
    absl::Time start;
    std::vector<std::pair<std::string, int>> owned;
  };

  void Apply(absl::Time now, int kind, const std::string& what) {
    if (kind == 0) {
      REQUIRE(s_.Submit(requests_[what]).ok());
      return;
    }
    auto it = running_.find(what);
    if (it == running_.end()) return;  // already ended (preempted before it finished)
    Running r = it->second;
    running_.erase(it);
    for (const auto& dev : r.owned) owner_.erase(dev);
    usage_[{r.tenant, r.cls}] -= r.devices;
    stats_.device_hours[r.tenant] += r.devices * absl::ToDoubleHours(now - r.start);
    bool requeue = kind == 2;
    REQUIRE(s_.AttemptFinished(AttemptId{what}, requeue ? AttemptEnd::kRequeue : AttemptEnd::kDone).ok());
    if (!requeue) {
      stats_.finish[r.job] = now;
      ++stats_.completed;
    }
  }

  void Pass(absl::Time now) {
    std::vector<Decision> decisions = s_.Schedule(now);
    if (auto r = s_.last_reservation(); r.has_value()) {
      auto [it, inserted] = reserved_.try_emplace(r->first.value, r->second);
      if (!inserted && r->second < it->second) it->second = r->second;
    }
    for (const Decision& d : decisions) {
      if (const auto* p = std::get_if<PlaceDecision>(&d)) {
        OnPlace(now, *p);
      } else {
        const auto& pre = std::get<PreemptDecision>(d);
        ++stats_.preempted;
        events_.insert({now + pre.grace, 2, seq_++, pre.attempt.value});
      }
    }
  }

  void OnPlace(absl::Time now, const PlaceDecision& p) {
    ++stats_.placed;
    const JobRequest& job = requests_[p.job.value];
    const DeviceRequest& alt = job.alternatives[p.alternative];
    Running r{p.job.value, job.tenant, alt.device_class,
              static_cast<int64_t>(alt.count) * alt.nodes, now, {}};
    std::set<std::string> nodes;
    bool whole = p.placement.size() == static_cast<size_t>(alt.nodes);
    for (const NodeDevices& nd : p.placement) {
      nodes.insert(nd.node.value);
      whole = whole && nd.device_indices.size() == static_cast<size_t>(alt.count);
      auto n = s_.cluster().Find(nd.node);
      for (int idx : nd.device_indices) {
        std::pair<std::string, int> dev{nd.node.value, idx};
        if (!owner_.emplace(dev, p.attempt.value).second) ++stats_.double_booked;
        r.owned.push_back(dev);
        if (n) {
          for (const auto& d : s_.cluster().node(*n).devices)
            if (d.index == idx)
              whole = whole && s_.cluster().keys()[d.key].device_class == alt.device_class;
        }
      }
    }
    if (!whole || nodes.size() != p.placement.size()) ++stats_.partial_gangs;
    int64_t& used = usage_[{job.tenant, alt.device_class}];
    used += r.devices;
    const QuotaLimit* q = s_.config().Quota(job.tenant, alt.device_class);
    if (q != nullptr && s_.config().quota && !q->borrowable && used > q->limit) ++stats_.quota_exceeded;
    if (!stats_.start.contains(p.job.value)) stats_.start[p.job.value] = now;
    if (auto it = reserved_.find(p.job.value); it != reserved_.end() && now > it->second) {
      ++stats_.reservation_missed;
    }
    absl::Duration run = (p.expected_end - now) * fraction_[p.job.value];
    if (run < absl::Seconds(1)) run = absl::Seconds(1);
    running_[p.attempt.value] = std::move(r);
    events_.insert({now + run, 1, seq_++, p.attempt.value});
  }

  Scheduler& s_;
  uint64_t seq_ = 0;
  // (time, kind: 0 arrive, 1 finish, 2 preempted exit, seq, job or attempt id)
  std::set<std::tuple<absl::Time, int, uint64_t, std::string>> events_;
  std::map<std::string, JobRequest> requests_;
  std::map<std::string, double> fraction_;
  std::map<std::string, Running> running_;
  std::map<std::pair<std::string, int>, std::string> owner_;
  std::map<std::pair<std::string, std::string>, int64_t> usage_;
  std::map<std::string, absl::Time> reserved_;
  DriverStats stats_;
};

// A seeded mixed workload: gangs, alternatives, priorities, three tenants.
inline std::vector<JobRequest> RandomJobs(uint32_t seed, int n, absl::Duration spacing) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> count(1, 4), width(1, 2), prio(0, 3), tenant(0, 2), kind(0, 9);
  std::uniform_int_distribution<int> minutes(5, 240);
  std::vector<JobRequest> jobs;
  for (int i = 0; i < n; ++i) {
    int c = count(rng);
    int w = kind(rng) < 2 ? width(rng) : 1;
    JobRequest j = Job("j" + std::to_string(i), "t" + std::to_string(tenant(rng)), c, "gpu",
                       prio(rng), kT0 + spacing * i, absl::Minutes(minutes(rng)), w);
    if (kind(rng) < 3) {
      j.alternatives.push_back(DeviceRequest{"npu", std::nullopt, c * 2, 1, 0, 1.5});
    }
    if (kind(rng) == 0) j.optimize_for = OptimizeFor::kCost;
    jobs.push_back(j);
  }
  return jobs;
}

inline void AddMixedCluster(Scheduler& s) {
  for (int i = 0; i < 6; ++i) REQUIRE(s.AddNode(Node("g" + std::to_string(i), 4)).ok());
  for (int i = 0; i < 2; ++i) REQUIRE(s.AddNode(Node("p" + std::to_string(i), 4, "npu", "atom")).ok());
}

}  // namespace hac::scheduler::testing

#endif  // HAC_TESTS_SCHEDULER_DRIVER_H_
