// Helpers shared by the scheduler tests: compact builders for nodes and jobs, and a driver that
// applies decisions the way hacd or the simulator would.
#ifndef HAC_TESTS_SCHEDULER_TEST_UTIL_H_
#define HAC_TESTS_SCHEDULER_TEST_UTIL_H_

#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "scheduler/scheduler.h"

namespace hac::scheduler::testing {

inline const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

inline NodeSpec Node(const std::string& name, int devices, const std::string& cls = "gpu",
                     const std::string& model = "v100", const std::string& pool = "pool") {
  NodeSpec n{NodeId{name}, pool, NodeState::kReady, {}};
  for (int i = 0; i < devices; ++i) n.devices.push_back(DeviceSpec{i, cls, model, 0});
  return n;
}

inline JobRequest Job(const std::string& id, const std::string& tenant, int count,
                      const std::string& cls = "gpu", int priority = 0,
                      absl::Time submit = kT0, absl::Duration max_runtime = absl::Hours(1),
                      int nodes = 1) {
  JobRequest j;
  j.id = JobId{id};
  j.tenant = tenant;
  j.priority = priority;
  j.submit_time = submit;
  j.max_runtime = max_runtime;
  DeviceRequest r;
  r.device_class = cls;
  r.count = count;
  r.nodes = nodes;
  j.alternatives.push_back(r);
  return j;
}

inline std::unique_ptr<Scheduler> Make(const SchedulerConfig& config) {
  auto s = Scheduler::Create(config);
  if (!s.ok()) return nullptr;
  return std::move(s).value();
}

inline std::unique_ptr<Scheduler> Make(const std::string& text) {
  auto c = ParseSchedulerConfig(text);
  if (!c.ok()) return nullptr;
  return Make(*c);
}

// Placed job ids of a decision list, in order.
inline std::vector<std::string> Placed(const std::vector<Decision>& decisions) {
  std::vector<std::string> out;
  for (const Decision& d : decisions)
    if (const auto* p = std::get_if<PlaceDecision>(&d)) out.push_back(p->job.value);
  return out;
}

inline std::vector<PreemptDecision> Preempted(const std::vector<Decision>& decisions) {
  std::vector<PreemptDecision> out;
  for (const Decision& d : decisions)
    if (const auto* p = std::get_if<PreemptDecision>(&d)) out.push_back(*p);
  return out;
}

inline const PlaceDecision* FindPlace(const std::vector<Decision>& decisions,
                                      const std::string& job) {
  for (const Decision& d : decisions)
    if (const auto* p = std::get_if<PlaceDecision>(&d); p && p->job.value == job) return p;
  return nullptr;
}

inline std::string Reason(const Scheduler& s, const std::string& job) {
  auto r = s.PendingReason(JobId{job});
  return r.ok() ? *r : std::string(r.status().message());
}

}  // namespace hac::scheduler::testing

#endif  // HAC_TESTS_SCHEDULER_TEST_UTIL_H_
