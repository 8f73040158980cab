// TenantLedger: devices each tenant holds, per device class, and the tenant's weighted dominant
// share (the input of fair share and quota).
//
// Owner: the Scheduler. Thread-safety: none. Invariant: Used() never goes below zero; it equals
// the sum over the tenant's running attempts of their devices of the class.
#ifndef HAC_SCHEDULER_LEDGER_H_
#define HAC_SCHEDULER_LEDGER_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "scheduler/cluster_model.h"
#include "scheduler/config.h"

namespace hac::scheduler {

using TenantIndex = uint32_t;
class TenantLedger;

// What dominant shares are computed with, fixed for one pass: per class
// price(c) / (max price of the cluster's classes x capacity(c)), and each tenant's weight.
struct ShareWeights {
  std::vector<std::pair<std::string, double>> class_factor;
  std::vector<double> tenant_weight;  // by TenantIndex

  static ShareWeights Compute(const ClusterModel& cluster, const SchedulerConfig& config,
                              const TenantLedger& ledger);
};

class TenantLedger {
 public:
  TenantIndex Intern(const std::string& tenant);
  const std::string& Name(TenantIndex t) const { return tenants_[t].name; }
  size_t size() const { return tenants_.size(); }

  void Add(TenantIndex t, const std::string& device_class, int64_t devices);
  int64_t Used(TenantIndex t, const std::string& device_class) const;

  // max over classes c of (price(c) / max price of the cluster's classes) * used(c) / capacity(c).
  // A device-hour of an expensive class weighs more than one of a cheap class, so holding all
  // the cheap NPUs is a smaller share than holding all the GPUs. Not divided by the weight.
  double DominantShare(TenantIndex t, const ClusterModel& cluster,
                       const SchedulerConfig& config) const;
  // The same with precomputed weights: O(classes the tenant uses x classes).
  double DominantShare(TenantIndex t, const ShareWeights& weights) const;

 private:
  struct Tenant {
    std::string name;
    std::vector<std::pair<std::string, int64_t>> used;  // per class, few entries
  };
  std::vector<Tenant> tenants_;
  absl::flat_hash_map<std::string, TenantIndex> index_;
};

}  // namespace hac::scheduler

#endif  // HAC_SCHEDULER_LEDGER_H_
