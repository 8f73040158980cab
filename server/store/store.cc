#include "server/store/store.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/util/time_util.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "server/store/counter_cache.h"
#include "server/store/usage_totals.h"
#include "common/status_macros.h"

namespace hac::server::store {
namespace {

// Each entry migrates from version i to i+1 and runs in its own transaction. Append only.
constexpr const char* kMigrations[] = {
    // 0 -> 1: tenants, tokens, jobs, quotas, settings.
    R"sql(
    CREATE TABLE tenants(
      id INTEGER PRIMARY KEY,
      name TEXT NOT NULL UNIQUE,
      create_time_us INTEGER NOT NULL);
    CREATE TABLE tokens(
      id INTEGER PRIMARY KEY,
      hash BLOB NOT NULL UNIQUE,
      role INTEGER NOT NULL,
      tenant_id INTEGER REFERENCES tenants(id),
      node TEXT,
      pool TEXT,
      create_time_us INTEGER NOT NULL,
      expire_time_us INTEGER,
      revoked INTEGER NOT NULL DEFAULT 0);
    CREATE INDEX tokens_tenant ON tokens(tenant_id);
    CREATE TABLE jobs(
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      tenant_id INTEGER NOT NULL REFERENCES tenants(id),
      name TEXT NOT NULL,
      state INTEGER NOT NULL,
      reason TEXT NOT NULL,
      spec BLOB NOT NULL,
      idempotency_key TEXT,
      create_time_us INTEGER NOT NULL,
      update_time_us INTEGER NOT NULL,
      end_time_us INTEGER,
      attempt_count INTEGER NOT NULL DEFAULT 0);
    CREATE UNIQUE INDEX jobs_idempotency ON jobs(tenant_id, idempotency_key)
      WHERE idempotency_key IS NOT NULL;
    CREATE INDEX jobs_tenant ON jobs(tenant_id, id);
    CREATE INDEX jobs_state ON jobs(state);
    CREATE TABLE quotas(
      tenant_id INTEGER NOT NULL REFERENCES tenants(id),
      device_class TEXT NOT NULL,
      max_devices INTEGER NOT NULL,
      borrowable INTEGER NOT NULL,
      PRIMARY KEY(tenant_id, device_class));
    CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    )sql",
    // 1 -> 2: nodes, attempts and the usage ledger's latest cumulative counters.
    R"sql(
    CREATE TABLE nodes(
      name TEXT PRIMARY KEY,
      pool TEXT NOT NULL,
      state INTEGER NOT NULL,
      node BLOB NOT NULL,
      register_time_us INTEGER NOT NULL);
    CREATE TABLE attempts(
      id TEXT PRIMARY KEY,
      job_id INTEGER NOT NULL REFERENCES jobs(id),
      number INTEGER NOT NULL,
      node TEXT NOT NULL,
      state INTEGER NOT NULL,
      attempt BLOB NOT NULL);
    CREATE INDEX attempts_job ON attempts(job_id, number);
    CREATE INDEX attempts_node ON attempts(node, state);
    CREATE TABLE usage_counters(
      attempt_id TEXT NOT NULL,
      device_index INTEGER NOT NULL,
      allocated_ms INTEGER NOT NULL,
      active_ms INTEGER NOT NULL,
      final INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY(attempt_id, device_index));
    )sql",
    // 2 -> 3: the billing ledger. usage_counters also remembers who used which device and the
    // latest interval it wrote; usage_intervals holds per-interval usage (rating's input),
    // keyed so that a tenant's month is one ordered range; prices, invoices, budgets.
    R"sql(
    ALTER TABLE usage_counters ADD COLUMN tenant_id INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE usage_counters ADD COLUMN job_id TEXT NOT NULL DEFAULT '';
    ALTER TABLE usage_counters ADD COLUMN device_id TEXT NOT NULL DEFAULT '';
    ALTER TABLE usage_counters ADD COLUMN device_class TEXT NOT NULL DEFAULT '';
    ALTER TABLE usage_counters ADD COLUMN device_model TEXT NOT NULL DEFAULT '';
    ALTER TABLE usage_counters ADD COLUMN assign_s INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE usage_counters ADD COLUMN last_start INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE usage_counters ADD COLUMN last_length INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE usage_counters ADD COLUMN last_allocated_ms INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE usage_counters ADD COLUMN last_active_ms INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE usage_intervals(
      tenant_id INTEGER NOT NULL,
      month INTEGER NOT NULL,
      job_id TEXT NOT NULL,
      attempt_id TEXT NOT NULL,
      device_id TEXT NOT NULL,
      interval_start INTEGER NOT NULL,
      interval_length INTEGER NOT NULL,
      device_class TEXT NOT NULL,
      device_model TEXT NOT NULL,
      allocated_ms INTEGER NOT NULL,
      active_ms INTEGER NOT NULL,
      PRIMARY KEY(tenant_id, month, job_id, attempt_id, device_id, interval_start)
    ) WITHOUT ROWID;
    CREATE TABLE prices(
      id INTEGER PRIMARY KEY,
      device_class TEXT NOT NULL,
      device_model TEXT NOT NULL,
      allocated_rate_micros INTEGER NOT NULL,
      active_rate_micros INTEGER NOT NULL,
      effective_from_s INTEGER NOT NULL,
      minimum_seconds INTEGER NOT NULL,
      UNIQUE(device_class, device_model, effective_from_s));
    CREATE TABLE invoices(
      tenant_id INTEGER NOT NULL REFERENCES tenants(id),
      month TEXT NOT NULL,
      close_time_us INTEGER NOT NULL,
      bill BLOB NOT NULL,
      PRIMARY KEY(tenant_id, month));
    CREATE TABLE budgets(
      tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id),
      monthly_limit_micros INTEGER NOT NULL,
      hard_stop INTEGER NOT NULL);
    )sql",
    // 3 -> 4: monthly totals per job, what bills read (usage_totals.h); counters not yet final
    // are found by the partial index. Migrate fills usage_totals from usage_intervals.
    R"sql(
    CREATE TABLE usage_totals(
      tenant_id INTEGER NOT NULL,
      month INTEGER NOT NULL,
      job_id TEXT NOT NULL,
      usage BLOB NOT NULL,
      PRIMARY KEY(tenant_id, month, job_id)
    ) WITHOUT ROWID;
    CREATE INDEX usage_counters_open ON usage_counters(tenant_id) WHERE final = 0;
    )sql",
};
static_assert(std::size(kMigrations) == Store::kSchemaVersion);

// Maps (env, labels) serialize in hash order unless asked otherwise; idempotent replays compare
// specs by their bytes, so the bytes must not depend on that order.
std::string DeterministicBytes(const google::protobuf::MessageLite& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }
  return out;
}

int64_t ToMicros(absl::Time t) { return absl::ToUnixMicros(t); }
absl::Time FromMicros(int64_t us) { return absl::FromUnixMicros(us); }

bool IsFinal(hac::v1::JobState s) {
  return s == hac::v1::JOB_STATE_SUCCEEDED || s == hac::v1::JOB_STATE_FAILED ||
         s == hac::v1::JOB_STATE_CANCELLED;
}

absl::StatusOr<int> ReadUserVersion(Database& db) {
  ASSIGN_OR_RETURN(Statement * st, db.Cached("PRAGMA user_version"));
  ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return absl::InternalError("PRAGMA user_version returned no row");
  return static_cast<int>(st->ColumnInt64(0));
}

absl::Status Migrate(Database& db) {
  ASSIGN_OR_RETURN(int version, ReadUserVersion(db));
  if (version > Store::kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("database schema version ", version, " is newer than this hacd supports (",
                     Store::kSchemaVersion, "): upgrade hacd"));
  }
  for (int v = version; v < Store::kSchemaVersion; ++v) {
    RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
    absl::Status s = db.Exec(kMigrations[v]);
    if (s.ok() && v + 1 == 4) s = RebuildUsageTotals(db);
    if (s.ok()) s = db.Exec(absl::StrCat("PRAGMA user_version = ", v + 1).c_str());
    if (s.ok()) s = db.Exec("COMMIT");
    if (!s.ok()) {
      (void)db.Exec("ROLLBACK");
      return absl::InternalError(absl::StrCat("schema migration to version ", v + 1,
                                              " failed: ", s.message()));
    }
  }
  return absl::OkStatus();
}

constexpr char kJobColumns[] =
    "j.id, j.tenant_id, t.name, j.spec, j.state, j.reason, j.create_time_us, j.update_time_us, "
    "j.end_time_us, j.attempt_count";

absl::StatusOr<JobRecord> ReadJob(Statement& st) {
  JobRecord j;
  j.id = st.ColumnInt64(0);
  j.tenant_id = st.ColumnInt64(1);
  j.tenant = st.ColumnText(2);
  if (!j.spec.ParseFromString(st.ColumnBlob(3))) {
    return absl::DataLossError(absl::StrCat("job ", j.id, ": stored spec does not parse"));
  }
  j.state = static_cast<hac::v1::JobState>(st.ColumnInt64(4));
  j.reason = st.ColumnText(5);
  j.create_time = FromMicros(st.ColumnInt64(6));
  j.update_time = FromMicros(st.ColumnInt64(7));
  if (!st.ColumnIsNull(8)) j.end_time = FromMicros(st.ColumnInt64(8));
  j.attempt_count = static_cast<uint32_t>(st.ColumnInt64(9));
  return j;
}

absl::StatusOr<JobRecord> GetJobOn(Database& db, int64_t id) {
  static const std::string sql =
      absl::StrCat("SELECT ", kJobColumns, " FROM jobs j JOIN tenants t ON t.id = j.tenant_id ",
                   "WHERE j.id = ?");
  ASSIGN_OR_RETURN(Statement * st, db.Cached(sql.c_str()));
  st->BindInt64(1, id);
  ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return absl::NotFoundError(absl::StrCat("job ", JobIdString(id), " not found"));
  return ReadJob(*st);
}

constexpr char kTokenSelect[] =
    "SELECT k.id, k.role, k.tenant_id, t.name, k.node, k.pool, k.create_time_us, "
    "k.expire_time_us, k.revoked FROM tokens k LEFT JOIN tenants t ON t.id = k.tenant_id ";

TokenRecord ReadToken(Statement& st) {
  TokenRecord t;
  t.id = st.ColumnInt64(0);
  t.role = static_cast<Role>(st.ColumnInt64(1));
  t.tenant_id = st.ColumnIsNull(2) ? 0 : st.ColumnInt64(2);
  t.tenant = st.ColumnText(3);
  t.node = st.ColumnText(4);
  t.pool = st.ColumnText(5);
  t.create_time = FromMicros(st.ColumnInt64(6));
  if (!st.ColumnIsNull(7)) t.expire_time = FromMicros(st.ColumnInt64(7));
  t.revoked = st.ColumnInt64(8) != 0;
  return t;
}

absl::StatusOr<TokenRecord> GetTokenOn(Database& db, int64_t id) {
  static const std::string sql = absl::StrCat(kTokenSelect, "WHERE k.id = ?");
  ASSIGN_OR_RETURN(Statement * st, db.Cached(sql.c_str()));
  st->BindInt64(1, id);
  ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return absl::NotFoundError(absl::StrCat("token t-", id, " not found"));
  return ReadToken(*st);
}

}  // namespace

std::string JobIdString(int64_t id) { return absl::StrCat("j-", id); }

absl::StatusOr<int64_t> ParseJobId(absl::string_view id) {
  int64_t n = 0;
  if (id.size() < 3 || id.substr(0, 2) != "j-" ||
      !absl::SimpleAtoi(absl::string_view(id.data() + 2, id.size() - 2), &n) || n <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("id: \"", id.substr(0, 64), "\" is not a job id (expected j-<number>)"));
  }
  return n;
}

Store::Store(std::string path, const common::Clock& clock, std::unique_ptr<CounterCache> cache,
             std::unique_ptr<GroupCommitter> writer)
    : path_(std::move(path)),
      clock_(clock),
      counter_cache_(std::move(cache)),
      writer_(std::move(writer)) {}

Store::~Store() = default;

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path,
                                                   const common::Clock& clock) {
  ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(path));
  RETURN_IF_ERROR(Migrate(*db));
  auto cache = std::make_unique<CounterCache>();
  // What usage writes cached of the counters is not to be trusted once any write rolled back.
  auto writer = std::make_unique<GroupCommitter>(std::move(db), 512, GroupCommitter::kDeferDelay,
                                                 [c = cache.get()] { c->Clear(); });
  return std::unique_ptr<Store>(
      new Store(path, clock, std::move(cache), std::move(writer)));
}

absl::Status Store::Read(const std::function<absl::Status(Database&)>& fn) {
  std::unique_ptr<Database> db;
  {
    absl::MutexLock lock(&pool_mu_);
    if (!readers_.empty()) {
      db = std::move(readers_.back());
      readers_.pop_back();
    }
  }
  if (db == nullptr) {
    ASSIGN_OR_RETURN(db, Database::Open(path_));
  }
  absl::Status s = fn(*db);
  db->ResetAll();
  absl::MutexLock lock(&pool_mu_);
  readers_.push_back(std::move(db));
  return s;
}

absl::StatusOr<int> Store::SchemaVersion() {
  int v = 0;
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(v, ReadUserVersion(db));
    return absl::OkStatus();
  }));
  return v;
}

// ---- tenants ----

absl::StatusOr<TenantRecord> Store::CreateTenant(absl::string_view name) {
  TenantRecord t;
  t.name = std::string(name);
  t.create_time = clock_.Now();
  absl::Status s = writer_->Write([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * st,
                     db.Cached("INSERT INTO tenants(name, create_time_us) VALUES(?, ?)"));
    st->BindText(1, t.name);
    st->BindInt64(2, ToMicros(t.create_time));
    RETURN_IF_ERROR(st->Run());
    t.id = db.LastInsertRowId();
    return absl::OkStatus();
  });
  if (absl::IsAlreadyExists(s)) {
    return absl::AlreadyExistsError(absl::StrCat("tenant \"", name, "\" already exists"));
  }
  RETURN_IF_ERROR(s);
  return t;
}

absl::StatusOr<TenantRecord> Store::FindTenant(absl::string_view name) {
  TenantRecord t;
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * st,
                     db.Cached("SELECT id, name, create_time_us FROM tenants WHERE name = ?"));
    st->BindText(1, name);
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return absl::NotFoundError(absl::StrCat("tenant \"", name, "\" not found"));
    t.id = st->ColumnInt64(0);
    t.name = st->ColumnText(1);
    t.create_time = FromMicros(st->ColumnInt64(2));
    return absl::OkStatus();
  }));
  return t;
}

absl::StatusOr<std::vector<TenantRecord>> Store::ListTenants() {
  std::vector<TenantRecord> out;
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * st,
                     db.Cached("SELECT id, name, create_time_us FROM tenants ORDER BY name"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      out.push_back({st->ColumnInt64(0), st->ColumnText(1), FromMicros(st->ColumnInt64(2))});
    }
    return absl::OkStatus();
  }));
  return out;
}

// ---- tokens ----

absl::StatusOr<TokenRecord> Store::CreateToken(const TokenRecord& token, absl::string_view hash) {
  TokenRecord out;
  RETURN_IF_ERROR(writer_->Write([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * st,
                     db.Cached("INSERT INTO tokens(hash, role, tenant_id, node, pool, "
                               "create_time_us, expire_time_us) VALUES(?, ?, ?, ?, ?, ?, ?)"));
    st->BindBlob(1, hash);
    st->BindInt64(2, static_cast<int>(token.role));
    if (token.tenant_id != 0) {
      st->BindInt64(3, token.tenant_id);
    } else {
      st->BindNull(3);
    }
    st->BindTextOrNull(4, token.node);
    st->BindTextOrNull(5, token.pool);
    st->BindInt64(6, ToMicros(clock_.Now()));
    if (token.expire_time) {
      st->BindInt64(7, ToMicros(*token.expire_time));
    } else {
      st->BindNull(7);
    }
    RETURN_IF_ERROR(st->Run());
    ASSIGN_OR_RETURN(out, GetTokenOn(db, db.LastInsertRowId()));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<TokenRecord> Store::FindToken(absl::string_view hash) {
  TokenRecord out;
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    static const std::string sql = absl::StrCat(kTokenSelect, "WHERE k.hash = ?");
    ASSIGN_OR_RETURN(Statement * st, db.Cached(sql.c_str()));
    st->BindBlob(1, hash);
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return absl::NotFoundError("token not found");
    out = ReadToken(*st);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<TokenRecord>> Store::ListTokens(int64_t tenant_id) {
  std::vector<TokenRecord> out;
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    static const std::string sql =
        absl::StrCat(kTokenSelect, "WHERE ?1 = 0 OR k.tenant_id = ?1 ORDER BY k.id");
    ASSIGN_OR_RETURN(Statement * st, db.Cached(sql.c_str()));
    st->BindInt64(1, tenant_id);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      out.push_back(ReadToken(*st));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<TokenRecord> Store::RevokeToken(int64_t id) {
  TokenRecord out;
  RETURN_IF_ERROR(writer_->Write([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * st, db.Cached("UPDATE tokens SET revoked = 1 WHERE id = ?"));
    st->BindInt64(1, id);
    RETURN_IF_ERROR(st->Run());
    ASSIGN_OR_RETURN(out, GetTokenOn(db, id));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<bool> Store::HasAdminToken() {
  bool has = false;
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * st,
                     db.Cached("SELECT 1 FROM tokens WHERE role = 1 AND revoked = 0 LIMIT 1"));
    ASSIGN_OR_RETURN(has, st->Step());
    return absl::OkStatus();
  }));
  return has;
}

// ---- jobs ----

absl::StatusOr<SubmitResult> Store::SubmitJob(const NewJob& job) {
  absl::Notification committed;
  absl::StatusOr<SubmitResult> out;
  SubmitJobAsync(job, [&](absl::StatusOr<SubmitResult> r) {
    out = std::move(r);
    committed.Notify();
  });
  committed.WaitForNotification();
  return out;
}

void Store::SubmitJobAsync(NewJob job, std::function<void(absl::StatusOr<SubmitResult>)> done) {
  struct Submission {
    NewJob job;
    std::string spec_bytes;
    SubmitResult out;
  };
  auto sub = std::make_shared<Submission>();
  sub->spec_bytes = DeterministicBytes(job.spec);
  sub->job = std::move(job);
  auto write = [this, sub](Database& db) -> absl::Status {
    const NewJob& job = sub->job;
    SubmitResult& out = sub->out;
    const std::string& key = job.spec.idempotency_key();
    if (!key.empty()) {
      ASSIGN_OR_RETURN(
          Statement * find,
          db.Cached("SELECT id, spec FROM jobs WHERE tenant_id = ? AND idempotency_key = ?"));
      find->BindInt64(1, job.tenant_id);
      find->BindText(2, key);
      ASSIGN_OR_RETURN(bool found, find->Step());
      if (found) {
        int64_t id = find->ColumnInt64(0);
        if (find->ColumnBlob(1) != sub->spec_bytes) {
          return absl::FailedPreconditionError(absl::StrCat(
              "spec.idempotency_key: \"", key, "\" was already used for job ", JobIdString(id),
              " with a different spec; use a new key for a different job"));
        }
        find->Reset();
        ASSIGN_OR_RETURN(out.job, GetJobOn(db, id));
        out.replay = true;
        return absl::OkStatus();
      }
    }
    const int64_t now = ToMicros(clock_.Now());
    ASSIGN_OR_RETURN(
        Statement * st,
        db.Cached("INSERT INTO jobs(tenant_id, name, state, reason, spec, idempotency_key, "
                  "create_time_us, update_time_us) VALUES(?, ?, ?, ?, ?, ?, ?, ?)"));
    st->BindInt64(1, job.tenant_id);
    st->BindText(2, job.spec.name());
    st->BindInt64(3, hac::v1::JOB_STATE_PENDING);
    st->BindText(4, job.reason);
    st->BindBlob(5, sub->spec_bytes);
    st->BindTextOrNull(6, key);
    st->BindInt64(7, now);
    st->BindInt64(8, now);
    RETURN_IF_ERROR(st->Run());
    // The record is what was just written; no need to read it back.
    out.job.id = db.LastInsertRowId();
    out.job.tenant_id = job.tenant_id;
    out.job.tenant = job.tenant;
    out.job.spec = job.spec;
    out.job.state = hac::v1::JOB_STATE_PENDING;
    out.job.reason = job.reason;
    out.job.create_time = out.job.update_time = FromMicros(now);
    return absl::OkStatus();
  };
  writer_->WriteAsync(std::move(write), [sub, done = std::move(done)](const absl::Status& s) {
    if (s.ok()) {
      done(std::move(sub->out));
    } else {
      done(s);
    }
  });
}

absl::StatusOr<JobRecord> Store::GetJob(int64_t id) {
  JobRecord out;
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(out, GetJobOn(db, id));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<JobRecord>> Store::ListJobs(const JobFilter& filter) {
  // States are a small set; pass them as a bit mask so one prepared statement serves all.
  int64_t state_mask = 0;
  for (hac::v1::JobState s : filter.states) state_mask |= int64_t{1} << static_cast<int>(s);
  std::vector<JobRecord> out;
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    static const std::string sql = absl::StrCat(
        "SELECT ", kJobColumns, " FROM jobs j JOIN tenants t ON t.id = j.tenant_id ",
        "WHERE (?1 = 0 OR j.tenant_id = ?1) AND (?2 = 0 OR ((?2 >> j.state) & 1) = 1) ",
        "AND (?3 = 0 OR j.id < ?3) ORDER BY j.id DESC LIMIT ?4");
    ASSIGN_OR_RETURN(Statement * st, db.Cached(sql.c_str()));
    st->BindInt64(1, filter.tenant_id);
    st->BindInt64(2, state_mask);
    st->BindInt64(3, filter.before_id);
    st->BindInt64(4, filter.limit);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      ASSIGN_OR_RETURN(JobRecord j, ReadJob(*st));
      out.push_back(std::move(j));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::pair<JobRecord, JobRecord>> Store::CancelJob(int64_t id,
                                                                 absl::string_view reason) {
  std::pair<JobRecord, JobRecord> out;
  RETURN_IF_ERROR(writer_->Write([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(out.first, GetJobOn(db, id));
    if (IsFinal(out.first.state)) {
      return absl::FailedPreconditionError(
          absl::StrCat("job ", JobIdString(id), " has already ended (",
                       hac::v1::JobState_Name(out.first.state), ")"));
    }
    const int64_t now = ToMicros(clock_.Now());
    ASSIGN_OR_RETURN(Statement * st,
                     db.Cached("UPDATE jobs SET state = ?, reason = ?, update_time_us = ?, "
                               "end_time_us = ? WHERE id = ?"));
    st->BindInt64(1, hac::v1::JOB_STATE_CANCELLED);
    st->BindText(2, reason);
    st->BindInt64(3, now);
    st->BindInt64(4, now);
    st->BindInt64(5, id);
    RETURN_IF_ERROR(st->Run());
    ASSIGN_OR_RETURN(out.second, GetJobOn(db, id));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::map<hac::v1::JobState, int64_t>> Store::CountJobsByState() {
  std::map<hac::v1::JobState, int64_t> out;
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * st,
                     db.Cached("SELECT state, COUNT(*) FROM jobs GROUP BY state"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      out[static_cast<hac::v1::JobState>(st->ColumnInt64(0))] = st->ColumnInt64(1);
    }
    return absl::OkStatus();
  }));
  return out;
}

// ---- nodes ----

absl::Status Store::PutNode(const hac::v1::Node& node) {
  const std::string bytes = DeterministicBytes(node);
  const int64_t registered = google::protobuf::util::TimeUtil::TimestampToMicroseconds(
      node.register_time());
  return writer_->Write([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * st,
                     db.Cached("INSERT INTO nodes(name, pool, state, node, register_time_us) "
                               "VALUES(?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                               "pool = excluded.pool, state = excluded.state, node = excluded.node, "
                               "register_time_us = excluded.register_time_us"));
    st->BindText(1, node.name());
    st->BindText(2, node.pool());
    st->BindInt64(3, node.state());
    st->BindBlob(4, bytes);
    st->BindInt64(5, registered);
    return st->Run();
  });
}

absl::StatusOr<hac::v1::Node> Store::GetNode(absl::string_view name) {
  hac::v1::Node out;
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * st, db.Cached("SELECT node FROM nodes WHERE name = ?"));
    st->BindText(1, name);
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return absl::NotFoundError(absl::StrCat("node \"", name, "\" not found"));
    if (!out.ParseFromString(st->ColumnBlob(0))) return absl::DataLossError("node does not parse");
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<hac::v1::Node>> Store::ListNodes() {
  std::vector<hac::v1::Node> out;
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * st, db.Cached("SELECT node FROM nodes ORDER BY name"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      hac::v1::Node n;
      if (!n.ParseFromString(st->ColumnBlob(0))) return absl::DataLossError("node does not parse");
      out.push_back(std::move(n));
    }
    return absl::OkStatus();
  }));
  return out;
}

// ---- attempts ----

namespace {

absl::StatusOr<JobTransition> ApplyAttemptChangeOn(Database& db, const AttemptChange& change,
                                                   absl::Time now_time) {
  // The job's state columns only: its spec is not needed here.
  ASSIGN_OR_RETURN(Statement * get,
                   db.Cached("SELECT state, reason, update_time_us, end_time_us FROM jobs "
                             "WHERE id = ?"));
  get->BindInt64(1, change.job_id);
  ASSIGN_OR_RETURN(bool found, get->Step());
  if (!found) {
    return absl::NotFoundError(absl::StrCat("job ", JobIdString(change.job_id), " not found"));
  }
  const auto before = static_cast<hac::v1::JobState>(get->ColumnInt64(0));
  const std::string before_reason = get->ColumnText(1);
  const int64_t before_update = get->ColumnInt64(2);
  const bool ended = !get->ColumnIsNull(3);
  const int64_t before_end = ended ? get->ColumnInt64(3) : 0;
  get->Reset();

  const std::string bytes = DeterministicBytes(change.attempt);
  const char* sql = change.new_attempt
                        ? "INSERT INTO attempts(node, state, attempt, id, job_id, number) "
                          "VALUES(?, ?, ?, ?, ?, ?)"
                        : "UPDATE attempts SET node = ?, state = ?, attempt = ? WHERE id = ?";
  ASSIGN_OR_RETURN(Statement * st, db.Cached(sql));
  st->BindText(1, change.node);
  st->BindInt64(2, change.attempt.state());
  st->BindBlob(3, bytes);
  st->BindText(4, change.attempt.id());
  if (change.new_attempt) {
    st->BindInt64(5, change.job_id);
    st->BindInt64(6, change.attempt.number());
  }
  RETURN_IF_ERROR(st->Run());
  if (!change.new_attempt && db.Changes() == 0) {
    return absl::NotFoundError(absl::StrCat("attempt ", change.attempt.id(), " not found"));
  }
  hac::v1::JobState state =
      change.job_state != hac::v1::JOB_STATE_UNSPECIFIED ? change.job_state : before;
  const std::string* reason = change.job_reason.empty() ? &before_reason : &change.job_reason;
  if (before == hac::v1::JOB_STATE_CANCELLED) {
    state = hac::v1::JOB_STATE_CANCELLED;  // cancelled stays cancelled
    reason = &before_reason;
  }
  const int64_t now = ToMicros(now_time);
  ASSIGN_OR_RETURN(
      Statement * job,
      db.Cached("UPDATE jobs SET state = ?, reason = ?, update_time_us = ?, "
                "end_time_us = ?, attempt_count = max(attempt_count, ?) WHERE id = ?"));
  job->BindInt64(1, state);
  job->BindText(2, *reason);
  job->BindInt64(3, state == before ? before_update : now);
  if (IsFinal(state)) {
    job->BindInt64(4, ended ? before_end : now);
  } else {
    job->BindNull(4);
  }
  job->BindInt64(5, change.attempt.number());
  job->BindInt64(6, change.job_id);
  RETURN_IF_ERROR(job->Run());
  return JobTransition{change.job_id, before, state};
}

}  // namespace

absl::Status Store::ApplyAttemptChangeIn(Database& db, const AttemptChange& change,
                                         absl::Time now, AttemptChangeResult& result) {
  if (!change.final_usage.empty()) {
    RETURN_IF_ERROR(RecordUsageIn(db, change.final_usage, now, change.usage_interval,
                                  result.usage));
  }
  ASSIGN_OR_RETURN(result.job, ApplyAttemptChangeOn(db, change, now));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<JobTransition>> Store::ApplyAttemptChanges(
    const std::vector<AttemptChange>& changes) {
  for (const AttemptChange& c : changes) {
    if (!c.final_usage.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("attempt ", c.attempt.id(),
                       ": ApplyAttemptChanges takes no final usage (ApplyAttemptChange does)"));
    }
  }
  std::vector<JobTransition> out;
  const absl::Time now = clock_.Now();
  RETURN_IF_ERROR(writer_->Write([&](Database& db) -> absl::Status {
    out.clear();
    for (const AttemptChange& c : changes) {
      ASSIGN_OR_RETURN(JobTransition t, ApplyAttemptChangeOn(db, c, now));
      out.push_back(t);
    }
    return absl::OkStatus();
  }));
  return out;
}

void Store::ApplyAttemptChangeAsync(
    AttemptChange change, std::function<void(absl::StatusOr<AttemptChangeResult>)> done,
    bool deferrable) {
  if (!change.final_usage.empty()) {
    if (absl::Status s = billing::ValidateUsageInterval(change.usage_interval); !s.ok()) {
      done(s);
      return;
    }
  }
  auto result = std::make_shared<AttemptChangeResult>();
  const absl::Time now = clock_.Now();
  writer_->WriteAsync(
      [this, change = std::move(change), result, now](Database& db) -> absl::Status {
        return ApplyAttemptChangeIn(db, change, now, *result);
      },
      [result, done = std::move(done)](const absl::Status& s) {
        if (s.ok()) {
          done(std::move(*result));
        } else {
          done(s);
        }
      },
      deferrable);
}

absl::StatusOr<std::vector<hac::v1::Attempt>> Store::ListAttempts(int64_t job_id) {
  std::vector<hac::v1::Attempt> out;
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * st,
                     db.Cached("SELECT attempt FROM attempts WHERE job_id = ? ORDER BY number"));
    st->BindInt64(1, job_id);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      hac::v1::Attempt a;
      if (!a.ParseFromString(st->ColumnBlob(0))) {
        return absl::DataLossError("attempt does not parse");
      }
      out.push_back(std::move(a));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<std::pair<int64_t, hac::v1::Attempt>>> Store::ListActiveAttempts(
    absl::string_view node) {
  std::vector<std::pair<int64_t, hac::v1::Attempt>> out;
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * st,
                     db.Cached("SELECT job_id, attempt FROM attempts WHERE state IN (1, 2) AND "
                               "(?1 = '' OR node = ?1) ORDER BY job_id, number"));
    st->BindText(1, node);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      hac::v1::Attempt a;
      if (!a.ParseFromString(st->ColumnBlob(1))) {
        return absl::DataLossError("attempt does not parse");
      }
      out.emplace_back(st->ColumnInt64(0), std::move(a));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<JobRecord>> Store::ListUnfinishedJobs() {
  std::vector<JobRecord> out;
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    static const std::string sql =
        absl::StrCat("SELECT ", kJobColumns, " FROM jobs j JOIN tenants t ON t.id = j.tenant_id ",
                     "WHERE j.state IN (1, 2, 3) ORDER BY j.id");
    ASSIGN_OR_RETURN(Statement * st, db.Cached(sql.c_str()));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      ASSIGN_OR_RETURN(JobRecord j, ReadJob(*st));
      out.push_back(std::move(j));
    }
    return absl::OkStatus();
  }));
  return out;
}

void Store::SetJobReasonsAsync(std::vector<std::pair<int64_t, std::string>> reasons) {
  writer_->WriteAsync(
      [reasons = std::move(reasons)](Database& db) -> absl::Status {
        ASSIGN_OR_RETURN(Statement * st,
                         db.Cached("UPDATE jobs SET reason = ? WHERE id = ? AND state = 1"));
        for (const auto& [id, reason] : reasons) {
          st->Reset();
          st->BindText(1, reason);
          st->BindInt64(2, id);
          RETURN_IF_ERROR(st->Run());
        }
        return absl::OkStatus();
      },
      [](const absl::Status& s) {
        if (!s.ok()) HAC_LOG(WARNING) << "job reasons not stored: " << s.message();
      },
      /*deferrable=*/true);
}

// ---- quotas ----

absl::StatusOr<QuotaRecord> Store::SetQuota(int64_t tenant_id, const QuotaRecord& quota) {
  RETURN_IF_ERROR(writer_->Write([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(
        Statement * st,
        db.Cached("INSERT INTO quotas(tenant_id, device_class, max_devices, borrowable) "
                  "VALUES(?, ?, ?, ?) ON CONFLICT(tenant_id, device_class) DO UPDATE SET "
                  "max_devices = excluded.max_devices, borrowable = excluded.borrowable"));
    st->BindInt64(1, tenant_id);
    st->BindText(2, quota.device_class);
    st->BindInt64(3, quota.max_devices);
    st->BindInt64(4, quota.borrowable ? 1 : 0);
    return st->Run();
  }));
  return quota;
}

absl::StatusOr<std::vector<QuotaRecord>> Store::ListQuotas(int64_t tenant_id) {
  std::vector<QuotaRecord> out;
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(
        Statement * st,
        db.Cached("SELECT t.name, q.device_class, q.max_devices, q.borrowable FROM quotas q "
                  "JOIN tenants t ON t.id = q.tenant_id WHERE ?1 = 0 OR q.tenant_id = ?1 "
                  "ORDER BY t.name, q.device_class"));
    st->BindInt64(1, tenant_id);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      out.push_back({st->ColumnText(0), st->ColumnText(1),
                     static_cast<uint32_t>(st->ColumnInt64(2)), st->ColumnInt64(3) != 0});
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::Status Store::DeleteQuota(int64_t tenant_id, absl::string_view device_class) {
  return writer_->Write([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * st,
                     db.Cached("DELETE FROM quotas WHERE tenant_id = ? AND device_class = ?"));
    st->BindInt64(1, tenant_id);
    st->BindText(2, device_class);
    RETURN_IF_ERROR(st->Run());
    if (db.Changes() == 0) {
      return absl::NotFoundError(absl::StrCat("no quota for device class \"", device_class, "\""));
    }
    return absl::OkStatus();
  });
}

// ---- settings ----

absl::StatusOr<std::optional<std::string>> Store::GetSetting(absl::string_view key) {
  std::optional<std::string> out;
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * st, db.Cached("SELECT value FROM settings WHERE key = ?"));
    st->BindText(1, key);
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (row) out = st->ColumnText(0);
    return absl::OkStatus();
  }));
  return out;
}

absl::Status Store::PutSetting(absl::string_view key, absl::string_view value) {
  return writer_->Write([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * st,
                     db.Cached("INSERT INTO settings(key, value) VALUES(?, ?) ON CONFLICT(key) "
                               "DO UPDATE SET value = excluded.value"));
    st->BindText(1, key);
    st->BindText(2, value);
    return st->Run();
  });
}

}  // namespace hac::server::store
