// Authenticator: turns a bearer token into a Principal (who is calling, in which role), and
// issues new tokens. Secrets are random (common/token.h), shown once and stored only as their
// SHA-256; a small in-memory cache maps hashes to principals so most RPCs touch no database.
//
// Thread-safe. Owned by hacd's composition root.
#ifndef HAC_SERVER_AUTH_H_
#define HAC_SERVER_AUTH_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "server/store/records.h"
#include "server/store/store.h"

namespace hac::server {

using store::Role;

// The caller of an RPC.
struct Principal {
  Role role = Role::kTenant;
  int64_t token_id = 0;
  int64_t tenant_id = 0;  // for kTenant
  std::string tenant;     // for kTenant
  std::string node;       // for kAgent
  std::string pool;       // for kJoin
  bool is_admin() const { return role == Role::kAdmin; }
};

class Authenticator {
 public:
  Authenticator(store::Store& store, const common::Clock& clock) : store_(store), clock_(clock) {}

  // `authorization` is the value of the "authorization" metadata ("Bearer <token>").
  // UNAUTHENTICATED when missing, malformed, unknown, revoked or expired.
  absl::StatusOr<Principal> Authenticate(absl::string_view authorization);

  // Creates a token like `token` (role, tenant, node, pool, expiry) and returns its secret.
  absl::StatusOr<std::pair<std::string, store::TokenRecord>> Issue(const store::TokenRecord& token);

  // When no admin token exists yet, creates one: its secret is handed to `persist` (which
  // writes it where the operator finds it) before its hash is committed, so a crash between
  // the two never leaves an admin token nobody knows. Returns true when one was created.
  absl::StatusOr<bool> EnsureAdminToken(
      const std::function<absl::Status(const std::string& secret)>& persist);

  // Revokes a token and forgets cached principals.
  absl::StatusOr<store::TokenRecord> Revoke(int64_t token_id);

 private:
  struct Cached {
    Principal principal;
    std::optional<absl::Time> expire_time;
  };
  store::Store& store_;
  const common::Clock& clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Cached> cache_ ABSL_GUARDED_BY(mu_);
};

// Role checks with the canonical codes: PERMISSION_DENIED names what is needed.
absl::Status RequireAdmin(const Principal& p);
// A tenant or an admin (job, usage and bill APIs).
absl::Status RequireTenantOrAdmin(const Principal& p);

}  // namespace hac::server

#endif  // HAC_SERVER_AUTH_H_
