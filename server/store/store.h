// Store: hacd's durable state in one SQLite file (WAL mode), with versioned schema migrations.
//
// All SQL of the control plane lives in server/store/. Writes go through a GroupCommitter (one
// transaction per batch of concurrent writes); a write that returns OK is committed to disk.
// Reads use a small pool of read connections and see every write acknowledged before they
// started.
//
// Thread-safe. Owned by hacd's composition root; services hold a reference.
#ifndef HAC_SERVER_STORE_STORE_H_
#define HAC_SERVER_STORE_STORE_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "billing/price_catalog.h"
#include "billing/usage.h"
#include "common/clock.h"
#include "server/store/group_commit.h"
#include "server/store/records.h"
#include "server/store/sqlite.h"

namespace hac::server::store {

class CounterCache;

class Store {
 public:
  // The schema version this build migrates to.
  static constexpr int kSchemaVersion = 4;

  // Opens or creates the database at `path` and migrates it to kSchemaVersion. A database
  // from a newer build is refused (FAILED_PRECONDITION).
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path,
                                                     const common::Clock& clock);
  ~Store();

  absl::StatusOr<int> SchemaVersion();

  // Tenants. Names are unique (ALREADY_EXISTS).
  absl::StatusOr<TenantRecord> CreateTenant(absl::string_view name);
  absl::StatusOr<TenantRecord> FindTenant(absl::string_view name);  // NOT_FOUND
  absl::StatusOr<std::vector<TenantRecord>> ListTenants();

  // Tokens, by the SHA-256 of their secret.
  absl::StatusOr<TokenRecord> CreateToken(const TokenRecord& token, absl::string_view hash);
  absl::StatusOr<TokenRecord> FindToken(absl::string_view hash);  // NOT_FOUND
  absl::StatusOr<std::vector<TokenRecord>> ListTokens(int64_t tenant_id);  // 0: all
  absl::StatusOr<TokenRecord> RevokeToken(int64_t id);                     // NOT_FOUND
  absl::StatusOr<bool> HasAdminToken();

  // Commits a job (PENDING), or, when the tenant already used the spec's idempotency key,
  // returns that job (replay = true). The same key with a different spec is
  // FAILED_PRECONDITION.
  absl::StatusOr<SubmitResult> SubmitJob(const NewJob& job);
  // SubmitJob without blocking: `done` gets the result once the write committed or failed. It
  // runs on the store's writer thread, so it must be quick and must not wait for the store.
  void SubmitJobAsync(NewJob job, std::function<void(absl::StatusOr<SubmitResult>)> done);
  absl::StatusOr<JobRecord> GetJob(int64_t id);  // NOT_FOUND
  absl::StatusOr<std::vector<JobRecord>> ListJobs(const JobFilter& filter);
  // Moves a job that has not ended to CANCELLED. FAILED_PRECONDITION when it has ended.
  // Returns the job before (first) and after (second) the change.
  absl::StatusOr<std::pair<JobRecord, JobRecord>> CancelJob(int64_t id, absl::string_view reason);
  absl::StatusOr<std::map<hac::v1::JobState, int64_t>> CountJobsByState();

  // Nodes, stored whole (hac.v1.Node) with their name, pool and state.
  absl::Status PutNode(const hac::v1::Node& node);
  absl::StatusOr<hac::v1::Node> GetNode(absl::string_view name);  // NOT_FOUND
  absl::StatusOr<std::vector<hac::v1::Node>> ListNodes();

  // Several attempt changes and their jobs' transitions in one transaction (all or none): a
  // scheduling pass's placements (changes without final usage). A CANCELLED job stays
  // CANCELLED whatever its attempt reports; an empty job_reason keeps the job's reason.
  absl::StatusOr<std::vector<JobTransition>> ApplyAttemptChanges(
      const std::vector<AttemptChange>& changes);
  // One attempt change, with its final usage (stored first, in the same transaction), without
  // waiting: `done` runs on the store's writer thread once it is committed (or failed), with
  // what RecordUsage did with the usage. `done`
  // must not wait for the store. A `deferrable` change (one nobody waits for) may wait up to
  // GroupCommitter::kDeferDelay to share another write's commit.
  void ApplyAttemptChangeAsync(AttemptChange change,
                               std::function<void(absl::StatusOr<AttemptChangeResult>)> done,
                               bool deferrable = false);
  // A job's attempts, oldest first.
  absl::StatusOr<std::vector<hac::v1::Attempt>> ListAttempts(int64_t job_id);
  // Attempts in ASSIGNED or RUNNING state (on `node`, or everywhere when empty), with their
  // job ids.
  absl::StatusOr<std::vector<std::pair<int64_t, hac::v1::Attempt>>> ListActiveAttempts(
      absl::string_view node);
  // Jobs not yet ended (PENDING, ASSIGNED, RUNNING), oldest first.
  absl::StatusOr<std::vector<JobRecord>> ListUnfinishedJobs();
  // Sets pending jobs' reasons (no state change, no update time change), in one transaction,
  // without waiting for it (deferrable, see ApplyAttemptChangeAsync): reasons are informational
  // and recomputed by every pass.
  void SetJobReasonsAsync(std::vector<std::pair<int64_t, std::string>> reasons);

  // Usage ledger (server/store/ledger.cc). Keeps the maximum of each cumulative counter, so
  // duplicated, reordered and replayed reports change nothing, and turns every increase into
  // per-interval rows of `interval` (whole seconds dividing 60): the increase goes into the
  // interval containing `now` and, when that one is full (an agent that reconnects after a gap),
  // into the ones before it, never before the interval preceding the attempt's assignment (one
  // interval of slack between clocks); what does not fit is kept in the counter but not in any
  // row (UsageRecordResult::excess). All in one transaction with the batch.
  absl::StatusOr<UsageRecordResult> RecordUsage(const std::vector<UsageCounterRecord>& counters,
                                                absl::Time now, absl::Duration interval);
  // Like RecordUsage, without waiting: `done` runs on the store's writer thread once the batch
  // committed (or failed), in the order the calls were made. `done` must not wait for the store.
  void RecordUsageAsync(std::vector<UsageCounterRecord> counters, absl::Time now,
                        absl::Duration interval,
                        std::function<void(absl::StatusOr<UsageRecordResult>)> done);
  absl::StatusOr<std::vector<UsageCounterRecord>> GetUsage(absl::string_view attempt_id);
  // A tenant's interval rows with interval_start in [from, to), in rating order (job, attempt,
  // device, interval_start). `tenant_label` becomes each row's tenant_id.
  absl::StatusOr<std::vector<billing::UsageRow>> ListUsageRows(int64_t tenant_id,
                                                               absl::string_view tenant_label,
                                                               absl::Time from, absl::Time to);
  // A tenant's usage of the UTC month starting at `month_start`, in rating order, one row at a
  // time to `fn` (valid only during the call): per (attempt, device, price epoch) the sum of its
  // intervals for ended attempts, the intervals themselves for running ones (usage_totals.h).
  // Rating these rows gives the bill of ListUsageRows for the month, unless a price was added
  // with an effective_from inside a summed row: rating then says FAILED_PRECONDITION and the
  // caller rates ListUsageRows instead. Stops at and returns the first error of `fn`.
  absl::Status ForEachMonthUsage(int64_t tenant_id, absl::string_view tenant_label,
                                 absl::Time month_start,
                                 const std::function<absl::Status(const billing::UsageRow&)>& fn);
  // Interval rows with interval_start in [from, to) summed per key, ordered by key.
  // tenant_id 0: every tenant.
  absl::StatusOr<std::vector<UsageSum>> SumUsage(int64_t tenant_id, absl::Time from,
                                                 absl::Time to, UsageKey key);
  // Tenants with interval rows in the UTC month containing `t`.
  absl::StatusOr<std::vector<TenantRecord>> TenantsWithUsage(absl::Time t);

  // Price catalog entries, oldest first (as added). Adding one that exists for the same
  // (class, model, effective_from) is ALREADY_EXISTS.
  absl::Status AddPrice(const billing::PriceEntry& price);
  absl::StatusOr<std::vector<billing::PriceEntry>> ListPrices();

  // Invoices. InsertInvoice fails with ALREADY_EXISTS when the month is already closed.
  absl::Status InsertInvoice(const InvoiceRecord& invoice);
  absl::StatusOr<std::vector<InvoiceRecord>> ListInvoices(int64_t tenant_id);  // oldest first

  // Budgets. A limit of 0 removes the budget.
  absl::Status SetBudget(const BudgetRecord& budget);
  absl::StatusOr<std::vector<BudgetRecord>> ListBudgets();  // every tenant's

  // Quotas per tenant and device class.
  absl::StatusOr<QuotaRecord> SetQuota(int64_t tenant_id, const QuotaRecord& quota);
  absl::StatusOr<std::vector<QuotaRecord>> ListQuotas(int64_t tenant_id);  // 0: all
  absl::Status DeleteQuota(int64_t tenant_id, absl::string_view device_class);  // NOT_FOUND

  // Settings: small named text values (e.g. the scheduler's configuration).
  absl::StatusOr<std::optional<std::string>> GetSetting(absl::string_view key);
  absl::Status PutSetting(absl::string_view key, absl::string_view value);

  // Group-commit counters (for tests, benchmarks and metrics).
  int64_t commit_batches() const { return writer_->batches(); }
  int64_t commit_writes() const { return writer_->writes(); }

 private:
  Store(std::string path, const common::Clock& clock, std::unique_ptr<CounterCache> cache,
        std::unique_ptr<GroupCommitter> writer);
  // Runs `fn` on a read connection from the pool.
  absl::Status Read(const std::function<absl::Status(Database&)>& fn);
  // On the writer connection, inside a write: RecordUsage's work (ledger.cc; the counter cache
  // is cleared when it fails) and an attempt change's with its final usage first (store.cc).
  absl::Status RecordUsageIn(Database& db, const std::vector<UsageCounterRecord>& counters,
                             absl::Time now, absl::Duration interval, UsageRecordResult& result);
  absl::Status ApplyAttemptChangeIn(Database& db, const AttemptChange& change, absl::Time now,
                                    AttemptChangeResult& result);

  const std::string path_;
  const common::Clock& clock_;
  // The ledger's cache of counter state (counter_cache.h); the writer thread's only.
  std::unique_ptr<CounterCache> counter_cache_;
  std::unique_ptr<GroupCommitter> writer_;
  absl::Mutex pool_mu_;
  std::vector<std::unique_ptr<Database>> readers_ ABSL_GUARDED_BY(pool_mu_);
};

// "j-42" <-> 42. ParseJobId fails with NOT_FOUND-friendly INVALID_ARGUMENT on bad input.
std::string JobIdString(int64_t id);
absl::StatusOr<int64_t> ParseJobId(absl::string_view id);

}  // namespace hac::server::store

#endif  // HAC_SERVER_STORE_STORE_H_
