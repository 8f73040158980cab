// FifoPolicy: first come, first served.
//
// Assumptions: none. Algorithm: the key is the submit time in seconds. Tie-break: arrival order
// (the scheduler's sequence number). Thread-safety: stateless, const.
#ifndef HAC_SCHEDULER_FIFO_POLICY_H_
#define HAC_SCHEDULER_FIFO_POLICY_H_

#include "scheduler/policy.h"

namespace hac::scheduler {

class FifoPolicy final : public OrderPolicy {
 public:
  std::string_view name() const override { return "fifo"; }
  double Key(const PendingJob& job, const PassContext&) const override {
    return absl::ToDoubleSeconds(job.request->submit_time - absl::UnixEpoch());
  }
};

}  // namespace hac::scheduler

#endif  // HAC_SCHEDULER_FIFO_POLICY_H_
