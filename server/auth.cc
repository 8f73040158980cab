#include "server/auth.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/token.h"

namespace hac::server {

absl::StatusOr<Principal> Authenticator::Authenticate(absl::string_view authorization) {
  constexpr absl::string_view kBearer = "Bearer ";
  if (authorization.empty()) {
    return absl::UnauthenticatedError(
        "missing bearer token: send metadata 'authorization: Bearer <token>'");
  }
  if (!absl::StartsWith(authorization, kBearer) || authorization.size() == kBearer.size()) {
    return absl::UnauthenticatedError(
        "malformed authorization metadata: expected 'Bearer <token>'");
  }
  absl::string_view secret = authorization.substr(kBearer.size());
  const std::string hash = common::HashToken(std::string_view(secret.data(), secret.size()));
  const absl::Time now = clock_.Now();
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(hash);
    if (it != cache_.end()) {
      if (it->second.expire_time && *it->second.expire_time <= now) {
        return absl::UnauthenticatedError("token expired");
      }
      return it->second.principal;
    }
  }
  absl::StatusOr<store::TokenRecord> rec = store_.FindToken(hash);
  if (absl::IsNotFound(rec.status())) {
    return absl::UnauthenticatedError("invalid token");
  }
  RETURN_IF_ERROR(rec.status());
  if (rec->revoked) return absl::UnauthenticatedError("token revoked");
  if (rec->expire_time && *rec->expire_time <= now) {
    return absl::UnauthenticatedError("token expired");
  }
  Principal p;
  p.role = rec->role;
  p.token_id = rec->id;
  p.tenant_id = rec->tenant_id;
  p.tenant = rec->tenant;
  p.node = rec->node;
  p.pool = rec->pool;
  absl::MutexLock lock(&mu_);
  cache_[hash] = Cached{p, rec->expire_time};
  return p;
}

absl::StatusOr<std::pair<std::string, store::TokenRecord>> Authenticator::Issue(
    const store::TokenRecord& token) {
  std::string secret = common::NewToken();
  ASSIGN_OR_RETURN(store::TokenRecord rec, store_.CreateToken(token, common::HashToken(secret)));
  return std::make_pair(std::move(secret), std::move(rec));
}

absl::StatusOr<bool> Authenticator::EnsureAdminToken(
    const std::function<absl::Status(const std::string& secret)>& persist) {
  ASSIGN_OR_RETURN(bool has, store_.HasAdminToken());
  if (has) return false;
  const std::string secret = common::NewToken();
  RETURN_IF_ERROR(persist(secret));
  store::TokenRecord t;
  t.role = Role::kAdmin;
  RETURN_IF_ERROR(store_.CreateToken(t, common::HashToken(secret)).status());
  return true;
}

absl::StatusOr<store::TokenRecord> Authenticator::Revoke(int64_t token_id) {
  ASSIGN_OR_RETURN(store::TokenRecord rec, store_.RevokeToken(token_id));
  absl::MutexLock lock(&mu_);
  cache_.clear();
  return rec;
}

absl::Status RequireAdmin(const Principal& p) {
  if (p.is_admin()) return absl::OkStatus();
  return absl::PermissionDeniedError("this call needs an admin token");
}

absl::Status RequireTenantOrAdmin(const Principal& p) {
  if (p.role == Role::kAdmin || p.role == Role::kTenant) return absl::OkStatus();
  return absl::PermissionDeniedError("this call needs a tenant or admin token");
}

}  // namespace hac::server
