// PriorityPolicy: priority classes, FIFO inside a class, with aging so nothing starves.
//
// Assumptions: priorities are small integers, higher first; the pending jobs' distinct
// priorities are the classes. Algorithm: a pending job's aged level is
// priority + floor(aging_per_hour x hours waited since submit); its effective class is the
// highest class present in the queue that is <= its aged level, and the key is minus that class.
// So waiting never reorders jobs of one class (fair share and FIFO still decide there), but a
// priority-0 job behind a stream of priority-5 work reaches class 5 after 5 / aging_per_hour
// hours, and is then ahead of every newer priority-5 job (same class, earlier submit): no
// starvation. Aging only orders the queue; preemption compares raw priorities (PreemptionPolicy).
// Tie-break: the next policy (fair share), then FIFO. Thread-safety: stateless, const.
#ifndef HAC_SCHEDULER_PRIORITY_POLICY_H_
#define HAC_SCHEDULER_PRIORITY_POLICY_H_

#include <algorithm>
#include <cmath>

#include "scheduler/policy.h"

namespace hac::scheduler {

// priority + floor(aging_per_hour x hours waited); the level PriorityPolicy orders by.
inline double EffectivePriority(const JobRequest& job, absl::Time now, double aging_per_hour) {
  double waited_hours = absl::ToDoubleHours(now - job.submit_time);
  if (waited_hours < 0) waited_hours = 0;
  return job.priority + std::floor(aging_per_hour * waited_hours);
}

class PriorityPolicy final : public OrderPolicy {
 public:
  std::string_view name() const override { return "priority"; }
  double Key(const PendingJob& job, const PassContext& ctx) const override {
    double level = EffectivePriority(*job.request, ctx.now, ctx.config.aging_per_hour);
    if (ctx.priority_classes != nullptr && !ctx.priority_classes->empty()) {
      const std::vector<int>& classes = *ctx.priority_classes;
      auto it = std::upper_bound(classes.begin(), classes.end(), level,
                                 [](double l, int c) { return l < c; });
      if (it != classes.begin()) return -static_cast<double>(*std::prev(it));
    }
    return -level;
  }
};

}  // namespace hac::scheduler

#endif  // HAC_SCHEDULER_PRIORITY_POLICY_H_
