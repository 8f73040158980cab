// Heterogeneity: choosing among a job's alternative device requests (e.g. 2 npu or 1 gpu).
//
// EarliestFinishPolicy. Assumptions: run time on an alternative is max_runtime / relative_speed;
// a start estimate for an alternative that does not fit now comes from the release profile
// (running attempts ending at their max runtime), a lower bound. Algorithm: for a job asking for
// time, the option with the smallest start + runtime; for a job asking for cost
// (OptimizeFor::kCost), the smallest price x devices x runtime. Tie-breaks: for time, cost then
// listed order; for cost, finish time then listed order. So "1 gpu now, 10 h" loses to "2 npu in
// 10 min at speed 4" (finishes at 2h40).
//
// FirstListedPolicy. Algorithm: the first listed option that fits now, else the first listed.
//
// Thread-safety: stateless, const.
#ifndef HAC_SCHEDULER_HETEROGENEITY_POLICY_H_
#define HAC_SCHEDULER_HETEROGENEITY_POLICY_H_

#include <tuple>

#include "scheduler/policy.h"

namespace hac::scheduler {

class EarliestFinishPolicy final : public AlternativePolicy {
 public:
  std::string_view name() const override { return "earliest_finish"; }
  bool NeedsEstimates() const override { return true; }
  size_t Choose(const JobRequest& job, const std::vector<AlternativeOption>& options) const override {
    size_t best = 0;
    for (size_t i = 1; i < options.size(); ++i) {
      if (Better(job, options[i], options[best])) best = i;
    }
    return best;
  }

 private:
  static bool Better(const JobRequest& job, const AlternativeOption& a, const AlternativeOption& b) {
    absl::Time fa = a.start == absl::InfiniteFuture() ? a.start : a.start + a.runtime;
    absl::Time fb = b.start == absl::InfiniteFuture() ? b.start : b.start + b.runtime;
    if (job.optimize_for == OptimizeFor::kCost) {
      // An option that can never start is never cheaper.
      bool na = fa == absl::InfiniteFuture(), nb = fb == absl::InfiniteFuture();
      return std::tie(na, a.cost, fa, a.alternative) < std::tie(nb, b.cost, fb, b.alternative);
    }
    return std::tie(fa, a.cost, a.alternative) < std::tie(fb, b.cost, b.alternative);
  }
};

class FirstListedPolicy final : public AlternativePolicy {
 public:
  std::string_view name() const override { return "first_listed"; }
  bool NeedsEstimates() const override { return false; }
  size_t Choose(const JobRequest&, const std::vector<AlternativeOption>& options) const override {
    for (size_t i = 0; i < options.size(); ++i)
      if (options[i].placeable_now) return i;
    return 0;
  }
};

}  // namespace hac::scheduler

#endif  // HAC_SCHEDULER_HETEROGENEITY_POLICY_H_
