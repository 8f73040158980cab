// FairSharePolicy: weighted fair share between tenants, dominant-resource fairness across
// device classes, classes weighted by price.
//
// Assumptions: tenant weights and class prices come from the config (default 1). Algorithm: the
// key is the tenant's weighted dominant share, TenantLedger::DominantShare / weight, i.e.
// max over classes of (price(c) / max price) x used(c) / capacity(c), divided by the weight: the
// tenant furthest below its entitlement goes first, and every placement raises its tenant's key
// (the scheduler re-reads keys lazily, so one pass interleaves tenants). With weights 2:1 and a
// saturated cluster the tenants' shares converge to 2/3 and 1/3. Tie-break: the next policy, then
// FIFO. Thread-safety: stateless, const.
#ifndef HAC_SCHEDULER_FAIR_SHARE_POLICY_H_
#define HAC_SCHEDULER_FAIR_SHARE_POLICY_H_

#include "scheduler/policy.h"

namespace hac::scheduler {

class FairSharePolicy final : public OrderPolicy {
 public:
  std::string_view name() const override { return "fair_share"; }
  double Key(const PendingJob& job, const PassContext& ctx) const override {
    if (ctx.weights != nullptr && job.tenant < ctx.weights->tenant_weight.size()) {
      return ctx.ledger.DominantShare(job.tenant, *ctx.weights) /
             ctx.weights->tenant_weight[job.tenant];
    }
    return ctx.ledger.DominantShare(job.tenant, ctx.cluster, ctx.config) /
           ctx.config.TenantWeight(job.request->tenant);
  }
};

}  // namespace hac::scheduler

#endif  // HAC_SCHEDULER_FAIR_SHARE_POLICY_H_
