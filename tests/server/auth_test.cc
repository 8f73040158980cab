#include "server/auth.h"

#include <catch2/catch.hpp>

#include "common/clock.h"
#include "tests/testing/temp_dir.h"

namespace hac::server {
namespace {

struct Fixture {
  testing::TempDir dir;
  common::FakeClock clock;
  std::unique_ptr<store::Store> store = *store::Store::Open(dir.File("hac.db"), clock);
  Authenticator auth{*store, clock};
};

TEST_CASE("The first admin token is persisted before it is committed, and only once") {
  Fixture f;
  std::string written;
  auto created = f.auth.EnsureAdminToken([&](const std::string& s) {
    // Not yet committed while being persisted.
    CHECK_FALSE(*f.store->HasAdminToken());
    written = s;
    return absl::OkStatus();
  });
  REQUIRE(created.ok());
  CHECK(*created);
  auto p = f.auth.Authenticate("Bearer " + written);
  REQUIRE(p.ok());
  CHECK(p->is_admin());
  int calls = 0;
  auto again = f.auth.EnsureAdminToken([&](const std::string&) {
    ++calls;
    return absl::OkStatus();
  });
  CHECK_FALSE(*again);
  CHECK(calls == 0);
}

TEST_CASE("A failed persist creates no admin token") {
  Fixture f;
  auto created = f.auth.EnsureAdminToken(
      [](const std::string&) { return absl::UnavailableError("disk full"); });
  CHECK(created.status().code() == absl::StatusCode::kUnavailable);
  CHECK_FALSE(*f.store->HasAdminToken());
}

TEST_CASE("Missing, malformed, unknown and revoked tokens are UNAUTHENTICATED") {
  Fixture f;
  auto tenant = *f.store->CreateTenant("acme");
  store::TokenRecord rec;
  rec.role = Role::kTenant;
  rec.tenant_id = tenant.id;
  auto issued = f.auth.Issue(rec);
  REQUIRE(issued.ok());
  auto p = f.auth.Authenticate("Bearer " + issued->first);
  REQUIRE(p.ok());
  CHECK(p->tenant == "acme");
  CHECK(p->tenant_id == tenant.id);

  CHECK(f.auth.Authenticate("").status().code() == absl::StatusCode::kUnauthenticated);
  CHECK(f.auth.Authenticate(issued->first).status().code() ==
        absl::StatusCode::kUnauthenticated);  // no "Bearer "
  CHECK(f.auth.Authenticate("Bearer hac_wrong").status().code() ==
        absl::StatusCode::kUnauthenticated);
  REQUIRE(f.auth.Revoke(issued->second.id).ok());
  auto revoked = f.auth.Authenticate("Bearer " + issued->first);
  CHECK(revoked.status().code() == absl::StatusCode::kUnauthenticated);
  CHECK(std::string(revoked.status().message()).find("revoked") != std::string::npos);
}

TEST_CASE("Only the hash of a token is stored") {
  Fixture f;
  store::TokenRecord rec;
  rec.role = Role::kAdmin;
  auto issued = *f.auth.Issue(rec);
  // Looking the secret itself up as a hash finds nothing.
  CHECK(f.store->FindToken(issued.first).status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("An expired token is refused, measured on the server's clock") {
  Fixture f;
  store::TokenRecord rec;
  rec.role = Role::kJoin;
  rec.expire_time = f.clock.Now() + absl::Minutes(10);
  auto issued = *f.auth.Issue(rec);
  CHECK(f.auth.Authenticate("Bearer " + issued.first).ok());
  f.clock.Advance(absl::Minutes(10));
  CHECK(f.auth.Authenticate("Bearer " + issued.first).status().code() ==
        absl::StatusCode::kUnauthenticated);
}

TEST_CASE("Role checks answer PERMISSION_DENIED") {
  Principal tenant;
  tenant.role = Role::kTenant;
  Principal agent;
  agent.role = Role::kAgent;
  Principal admin;
  admin.role = Role::kAdmin;
  CHECK(RequireAdmin(tenant).code() == absl::StatusCode::kPermissionDenied);
  CHECK(RequireAdmin(admin).ok());
  CHECK(RequireTenantOrAdmin(agent).code() == absl::StatusCode::kPermissionDenied);
  CHECK(RequireTenantOrAdmin(tenant).ok());
}

}  // namespace
}  // namespace hac::server
