// PriorityPolicy: priority classes, FIFO inside a class, with aging so nothing starves.
//
// Assumptions: priorities are small integers, higher first. Algorithm: the effective level of a
// pending job is priority + floor(aging_per_hour x hours waited since submit); the key is minus
// that level, so higher levels go first. Because the level is an integer, jobs of one level
// still compete by the next policy (fair share) and then FIFO. A job of priority 0 waiting
// behind a stream of priority-5 work reaches level 5 after 5 / aging_per_hour hours and is then
// ahead of every newer priority-5 job: no starvation. Aging only orders the queue; preemption
// compares raw priorities (see PreemptionPolicy). Tie-break: the next policy, then FIFO.
// Thread-safety: stateless, const.
#ifndef HAC_SCHEDULER_PRIORITY_POLICY_H_
#define HAC_SCHEDULER_PRIORITY_POLICY_H_

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
    return -EffectivePriority(*job.request, ctx.now, ctx.config.aging_per_hour);
  }
};

}  // namespace hac::scheduler

#endif  // HAC_SCHEDULER_PRIORITY_POLICY_H_
