// AdminManager: the gRPC-free logic behind AdminService: tenants, tokens, quotas, join tokens
// and the scheduler's configuration text. Admin only, except WhoAmI and listing one's own
// quotas.
//
// Thread-safe. Owned by hacd's composition root.
#ifndef HAC_SERVER_ADMIN_H_
#define HAC_SERVER_ADMIN_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "hac/v1/admin.pb.h"
#include "server/auth.h"
#include "server/store/store.h"

namespace hac::server {

class AdminManager {
 public:
  AdminManager(store::Store& store, Authenticator& auth, const common::Clock& clock)
      : store_(store), auth_(auth), clock_(clock) {}

  // Applies a scheduler configuration text to the running scheduler (INVALID_ARGUMENT when it
  // does not parse or validate). Set once at start-up; without it the text is only stored.
  void SetSchedulerConfigApplier(std::function<absl::Status(const std::string&)> apply) {
    apply_scheduler_config_ = std::move(apply);
  }
  // Called after quotas change, so the scheduler enforces them at once.
  void SetQuotaListener(std::function<absl::Status()> reload) { reload_quotas_ = std::move(reload); }

  absl::StatusOr<hac::v1::CreateTenantResponse> CreateTenant(
      const Principal& caller, const hac::v1::CreateTenantRequest& req);
  absl::StatusOr<hac::v1::ListTenantsResponse> ListTenants(const Principal& caller);
  absl::StatusOr<hac::v1::CreateTokenResponse> CreateToken(const Principal& caller,
                                                           const hac::v1::CreateTokenRequest& req);
  absl::StatusOr<hac::v1::TokenInfo> RevokeToken(const Principal& caller,
                                                  const hac::v1::RevokeTokenRequest& req);
  absl::StatusOr<hac::v1::ListTokensResponse> ListTokens(const Principal& caller,
                                                         const hac::v1::ListTokensRequest& req);
  absl::StatusOr<hac::v1::Quota> SetQuota(const Principal& caller,
                                          const hac::v1::SetQuotaRequest& req);
  absl::StatusOr<hac::v1::ListQuotasResponse> ListQuotas(const Principal& caller,
                                                         const hac::v1::ListQuotasRequest& req);
  absl::Status DeleteQuota(const Principal& caller, const hac::v1::DeleteQuotaRequest& req);
  absl::StatusOr<hac::v1::CreateJoinTokenResponse> CreateJoinToken(
      const Principal& caller, const hac::v1::CreateJoinTokenRequest& req);
  absl::StatusOr<hac::v1::SchedulerConfig> GetSchedulerConfig(const Principal& caller);
  absl::StatusOr<hac::v1::SchedulerConfig> SetSchedulerConfig(
      const Principal& caller, const hac::v1::SchedulerConfig& req);
  absl::StatusOr<hac::v1::WhoAmIResponse> WhoAmI(const Principal& caller);

 private:
  store::Store& store_;
  Authenticator& auth_;
  const common::Clock& clock_;
  std::function<absl::Status(const std::string&)> apply_scheduler_config_;
  std::function<absl::Status()> reload_quotas_;
};

// A token's metadata in its API form ("t-<id>").
hac::v1::TokenInfo TokenToProto(const store::TokenRecord& t);

}  // namespace hac::server

#endif  // HAC_SERVER_ADMIN_H_
