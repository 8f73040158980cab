#include "server/admin.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "google/protobuf/util/time_util.h"
#include "server/validation.h"

namespace hac::server {
namespace {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

hac::v1::Role RoleToProto(Role r) {
  switch (r) {
    case Role::kAdmin:
      return hac::v1::ROLE_ADMIN;
    case Role::kTenant:
      return hac::v1::ROLE_TENANT;
    case Role::kAgent:
      return hac::v1::ROLE_AGENT;
    case Role::kJoin:
      return hac::v1::ROLE_UNSPECIFIED;
  }
  return hac::v1::ROLE_UNSPECIFIED;
}

constexpr char kSchedulerConfigKey[] = "scheduler_config";
constexpr size_t kMaxSchedulerConfigBytes = 64 * 1024;

absl::Status ValidateDeviceClass(absl::string_view field, absl::string_view c) {
  if (c != "gpu" && c != "npu") {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", c.substr(0, 40), "\" is not a device class (gpu or npu)"));
  }
  return absl::OkStatus();
}

}  // namespace

hac::v1::TokenInfo TokenToProto(const store::TokenRecord& t) {
  hac::v1::TokenInfo out;
  out.set_id(absl::StrCat("t-", t.id));
  out.set_role(RoleToProto(t.role));
  out.set_tenant(t.tenant);
  *out.mutable_create_time() = ToProtoTime(t.create_time);
  out.set_revoked(t.revoked);
  return out;
}

absl::StatusOr<hac::v1::CreateTenantResponse> AdminManager::CreateTenant(
    const Principal& caller, const hac::v1::CreateTenantRequest& req) {
  RETURN_IF_ERROR(RequireAdmin(caller));
  RETURN_IF_ERROR(ValidateName63("name", req.name()));
  ASSIGN_OR_RETURN(store::TenantRecord tenant, store_.CreateTenant(req.name()));
  store::TokenRecord tok;
  tok.role = Role::kTenant;
  tok.tenant_id = tenant.id;
  ASSIGN_OR_RETURN(auto issued, auth_.Issue(tok));
  hac::v1::CreateTenantResponse resp;
  resp.mutable_tenant()->set_name(tenant.name);
  *resp.mutable_tenant()->mutable_create_time() = ToProtoTime(tenant.create_time);
  resp.set_token(issued.first);
  *resp.mutable_token_info() = TokenToProto(issued.second);
  return resp;
}

absl::StatusOr<hac::v1::ListTenantsResponse> AdminManager::ListTenants(const Principal& caller) {
  RETURN_IF_ERROR(RequireAdmin(caller));
  ASSIGN_OR_RETURN(auto tenants, store_.ListTenants());
  hac::v1::ListTenantsResponse resp;
  for (const auto& t : tenants) {
    hac::v1::Tenant* out = resp.add_tenants();
    out->set_name(t.name);
    *out->mutable_create_time() = ToProtoTime(t.create_time);
  }
  return resp;
}

absl::StatusOr<hac::v1::CreateTokenResponse> AdminManager::CreateToken(
    const Principal& caller, const hac::v1::CreateTokenRequest& req) {
  RETURN_IF_ERROR(RequireAdmin(caller));
  store::TokenRecord tok;
  switch (req.role()) {
    case hac::v1::ROLE_TENANT: {
      RETURN_IF_ERROR(ValidateName63("tenant", req.tenant()));
      ASSIGN_OR_RETURN(store::TenantRecord t, store_.FindTenant(req.tenant()));
      tok.role = Role::kTenant;
      tok.tenant_id = t.id;
      break;
    }
    case hac::v1::ROLE_ADMIN:
      if (!req.tenant().empty()) {
        return absl::InvalidArgumentError("tenant: must be empty for an admin token");
      }
      tok.role = Role::kAdmin;
      break;
    default:
      return absl::InvalidArgumentError(
          "role: must be ROLE_TENANT or ROLE_ADMIN (agents get node credentials by joining)");
  }
  ASSIGN_OR_RETURN(auto issued, auth_.Issue(tok));
  hac::v1::CreateTokenResponse resp;
  resp.set_token(issued.first);
  *resp.mutable_info() = TokenToProto(issued.second);
  return resp;
}

absl::StatusOr<hac::v1::TokenInfo> AdminManager::RevokeToken(
    const Principal& caller, const hac::v1::RevokeTokenRequest& req) {
  RETURN_IF_ERROR(RequireAdmin(caller));
  int64_t id = 0;
  if (req.id().rfind("t-", 0) != 0 || !absl::SimpleAtoi(req.id().substr(2), &id) || id <= 0) {
    return absl::InvalidArgumentError("id: expected a token id like t-12");
  }
  if (id == caller.token_id) {
    return absl::FailedPreconditionError("id: a token cannot revoke itself");
  }
  ASSIGN_OR_RETURN(store::TokenRecord rec, auth_.Revoke(id));
  return TokenToProto(rec);
}

absl::StatusOr<hac::v1::ListTokensResponse> AdminManager::ListTokens(
    const Principal& caller, const hac::v1::ListTokensRequest& req) {
  RETURN_IF_ERROR(RequireAdmin(caller));
  int64_t tenant_id = 0;
  if (!req.tenant().empty()) {
    ASSIGN_OR_RETURN(store::TenantRecord t, store_.FindTenant(req.tenant()));
    tenant_id = t.id;
  }
  ASSIGN_OR_RETURN(auto tokens, store_.ListTokens(tenant_id));
  hac::v1::ListTokensResponse resp;
  for (const auto& t : tokens) {
    if (t.role == Role::kJoin) continue;  // join tokens are short-lived and listed nowhere
    *resp.add_tokens() = TokenToProto(t);
  }
  return resp;
}

absl::StatusOr<hac::v1::Quota> AdminManager::SetQuota(const Principal& caller,
                                                      const hac::v1::SetQuotaRequest& req) {
  RETURN_IF_ERROR(RequireAdmin(caller));
  const hac::v1::Quota& q = req.quota();
  RETURN_IF_ERROR(ValidateName63("quota.tenant", q.tenant()));
  RETURN_IF_ERROR(ValidateDeviceClass("quota.device_class", q.device_class()));
  if (q.max_devices() > 1'000'000) {
    return absl::InvalidArgumentError("quota.max_devices: exceeds the limit of 1000000");
  }
  ASSIGN_OR_RETURN(store::TenantRecord t, store_.FindTenant(q.tenant()));
  store::QuotaRecord rec{t.name, q.device_class(), q.max_devices(), q.borrowable()};
  RETURN_IF_ERROR(store_.SetQuota(t.id, rec).status());
  if (reload_quotas_) RETURN_IF_ERROR(reload_quotas_());
  return q;
}

absl::StatusOr<hac::v1::ListQuotasResponse> AdminManager::ListQuotas(
    const Principal& caller, const hac::v1::ListQuotasRequest& req) {
  RETURN_IF_ERROR(RequireTenantOrAdmin(caller));
  int64_t tenant_id = 0;
  if (!caller.is_admin()) {
    tenant_id = caller.tenant_id;
  } else if (!req.tenant().empty()) {
    ASSIGN_OR_RETURN(store::TenantRecord t, store_.FindTenant(req.tenant()));
    tenant_id = t.id;
  }
  ASSIGN_OR_RETURN(auto quotas, store_.ListQuotas(tenant_id));
  hac::v1::ListQuotasResponse resp;
  for (const auto& q : quotas) {
    hac::v1::Quota* out = resp.add_quotas();
    out->set_tenant(q.tenant);
    out->set_device_class(q.device_class);
    out->set_max_devices(q.max_devices);
    out->set_borrowable(q.borrowable);
  }
  return resp;
}

absl::Status AdminManager::DeleteQuota(const Principal& caller,
                                       const hac::v1::DeleteQuotaRequest& req) {
  RETURN_IF_ERROR(RequireAdmin(caller));
  RETURN_IF_ERROR(ValidateName63("tenant", req.tenant()));
  RETURN_IF_ERROR(ValidateDeviceClass("device_class", req.device_class()));
  ASSIGN_OR_RETURN(store::TenantRecord t, store_.FindTenant(req.tenant()));
  RETURN_IF_ERROR(store_.DeleteQuota(t.id, req.device_class()));
  return reload_quotas_ ? reload_quotas_() : absl::OkStatus();
}

absl::StatusOr<hac::v1::CreateJoinTokenResponse> AdminManager::CreateJoinToken(
    const Principal& caller, const hac::v1::CreateJoinTokenRequest& req) {
  RETURN_IF_ERROR(RequireAdmin(caller));
  absl::Duration ttl = absl::Hours(24);
  if (req.has_ttl()) {
    ttl = absl::Seconds(req.ttl().seconds()) + absl::Nanoseconds(req.ttl().nanos());
    if (ttl < absl::Seconds(1) || ttl > absl::Hours(24 * 30)) {
      return absl::InvalidArgumentError("ttl: must be within 1s..720h");
    }
  }
  if (!req.pool().empty()) RETURN_IF_ERROR(ValidateName63("pool", req.pool()));
  store::TokenRecord tok;
  tok.role = Role::kJoin;
  tok.pool = req.pool();
  tok.expire_time = clock_.Now() + ttl;
  ASSIGN_OR_RETURN(auto issued, auth_.Issue(tok));
  hac::v1::CreateJoinTokenResponse resp;
  resp.set_token(issued.first);
  *resp.mutable_expire_time() = ToProtoTime(*tok.expire_time);
  return resp;
}

absl::StatusOr<hac::v1::SchedulerConfig> AdminManager::GetSchedulerConfig(
    const Principal& caller) {
  RETURN_IF_ERROR(RequireAdmin(caller));
  ASSIGN_OR_RETURN(auto text, store_.GetSetting(kSchedulerConfigKey));
  hac::v1::SchedulerConfig out;
  if (text) out.set_text(*text);
  return out;
}

absl::StatusOr<hac::v1::SchedulerConfig> AdminManager::SetSchedulerConfig(
    const Principal& caller, const hac::v1::SchedulerConfig& req) {
  RETURN_IF_ERROR(RequireAdmin(caller));
  if (req.text().size() > kMaxSchedulerConfigBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("text: ", req.text().size(), " bytes; the limit is ",
                     kMaxSchedulerConfigBytes));
  }
  // Applied first, so a text the scheduler refuses is never stored; stored next, so it survives
  // a restart (a failed store leaves it running until then, and the caller sees the error).
  if (apply_scheduler_config_) RETURN_IF_ERROR(apply_scheduler_config_(req.text()));
  RETURN_IF_ERROR(store_.PutSetting(kSchedulerConfigKey, req.text()));
  return req;
}

absl::StatusOr<hac::v1::WhoAmIResponse> AdminManager::WhoAmI(const Principal& caller) {
  hac::v1::WhoAmIResponse resp;
  hac::v1::TokenInfo* t = resp.mutable_token();
  t->set_id(absl::StrCat("t-", caller.token_id));
  t->set_role(RoleToProto(caller.role));
  t->set_tenant(caller.tenant);
  return resp;
}

}  // namespace hac::server
