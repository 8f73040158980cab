// QuotaPolicy: per-tenant quotas per device class.
//
// Assumptions: quota.<tenant>.<class> in the config; a tenant/class without an entry is
// unlimited. Algorithm: an alternative asking for d = count x nodes devices of class c is
// admitted when used(tenant, c) + d <= limit. Above the limit a hard quota refuses it with a
// reason ("waiting: tenant quota npu 8/8"); a borrowable quota admits it as *borrowing*: it runs
// only if idle capacity fits it now (it never waits for, reserves or preempts for the excess)
// and its attempt may be preempted by any job of another tenant that is within its own quota.
// Tie-break: none (a yes/no answer). Thread-safety: stateless, const.
#ifndef HAC_SCHEDULER_QUOTA_POLICY_H_
#define HAC_SCHEDULER_QUOTA_POLICY_H_

#include "absl/strings/str_cat.h"
#include "scheduler/policy.h"

namespace hac::scheduler {

class QuotaPolicy final : public AdmissionPolicy {
 public:
  std::string_view name() const override { return "quota"; }
  Admission Admit(const PendingJob& job, const DeviceRequest& alt,
                  const PassContext& ctx) const override {
    const QuotaLimit* q = ctx.config.Quota(job.request->tenant, alt.device_class);
    if (q == nullptr) return Admission{};
    int64_t used = ctx.ledger.Used(job.tenant, alt.device_class);
    int64_t want = static_cast<int64_t>(alt.count) * alt.nodes;
    if (used + want <= q->limit) return Admission{};
    if (q->borrowable) return Admission{true, true, ""};
    return Admission{false, false,
                     absl::StrCat("waiting: tenant quota ", alt.device_class, " ", used, "/",
                                  q->limit, want > q->limit ? " (the job alone exceeds it)" : "")};
  }
};

}  // namespace hac::scheduler

#endif  // HAC_SCHEDULER_QUOTA_POLICY_H_
