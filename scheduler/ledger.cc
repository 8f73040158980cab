#include "scheduler/ledger.h"

#include <algorithm>

namespace hac::scheduler {

TenantIndex TenantLedger::Intern(const std::string& tenant) {
  auto [it, inserted] = index_.try_emplace(tenant, static_cast<TenantIndex>(tenants_.size()));
  if (inserted) tenants_.push_back(Tenant{tenant, {}});
  return it->second;
}

void TenantLedger::Add(TenantIndex t, const std::string& device_class, int64_t devices) {
  for (auto& [cls, used] : tenants_[t].used) {
    if (cls == device_class) {
      used = std::max<int64_t>(0, used + devices);
      return;
    }
  }
  tenants_[t].used.emplace_back(device_class, std::max<int64_t>(0, devices));
}

int64_t TenantLedger::Used(TenantIndex t, const std::string& device_class) const {
  for (const auto& [cls, used] : tenants_[t].used)
    if (cls == device_class) return used;
  return 0;
}

ShareWeights ShareWeights::Compute(const ClusterModel& cluster, const SchedulerConfig& config,
                                   const TenantLedger& ledger) {
  ShareWeights w;
  double max_price = 0;
  for (const auto& key : cluster.keys()) max_price = std::max(max_price, config.Price(key.device_class));
  if (max_price <= 0) max_price = 1;
  for (const auto& key : cluster.keys()) {
    bool seen = false;
    for (const auto& [cls, f] : w.class_factor) seen = seen || cls == key.device_class;
    if (seen) continue;
    int64_t capacity = cluster.ClassCapacity(key.device_class);
    w.class_factor.emplace_back(
        key.device_class,
        capacity > 0 ? config.Price(key.device_class) / max_price / static_cast<double>(capacity)
                     : 0.0);
  }
  w.tenant_weight.reserve(ledger.size());
  for (TenantIndex t = 0; t < ledger.size(); ++t) {
    w.tenant_weight.push_back(config.TenantWeight(ledger.Name(t)));
  }
  return w;
}

double TenantLedger::DominantShare(TenantIndex t, const ClusterModel& cluster,
                                   const SchedulerConfig& config) const {
  return DominantShare(t, ShareWeights::Compute(cluster, config, *this));
}

double TenantLedger::DominantShare(TenantIndex t, const ShareWeights& weights) const {
  double share = 0;
  for (const auto& [cls, used] : tenants_[t].used) {
    if (used == 0) continue;
    double s = 1.0;  // a class without capacity (all its nodes gone) counts as full
    for (const auto& [c, f] : weights.class_factor) {
      if (c == cls) {
        s = f > 0 ? f * static_cast<double>(used) : 1.0;
        break;
      }
    }
    share = std::max(share, s);
  }
  return share;
}

}  // namespace hac::scheduler
