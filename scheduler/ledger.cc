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

double TenantLedger::DominantShare(TenantIndex t, const ClusterModel& cluster,
                                   const SchedulerConfig& config) const {
  double max_price = 0;
  for (const auto& key : cluster.keys()) max_price = std::max(max_price, config.Price(key.device_class));
  if (max_price <= 0) max_price = 1;
  double share = 0;
  for (const auto& [cls, used] : tenants_[t].used) {
    if (used == 0) continue;
    int64_t capacity = cluster.ClassCapacity(cls);
    double s = capacity > 0 ? static_cast<double>(used) / static_cast<double>(capacity) : 1.0;
    share = std::max(share, s * config.Price(cls) / max_price);
  }
  return share;
}

}  // namespace hac::scheduler
