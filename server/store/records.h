// Domain records the store reads and writes. Plain values; no SQL here.
#ifndef HAC_SERVER_STORE_RECORDS_H_
#define HAC_SERVER_STORE_RECORDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "hac/v1/jobs.pb.h"
#include "hac/v1/nodes.pb.h"

namespace hac::server::store {

struct TenantRecord {
  int64_t id = 0;
  std::string name;
  absl::Time create_time;
};

// What a token may do. Values are stored; never renumber.
enum class Role : int {
  kAdmin = 1,
  kTenant = 2,
  kAgent = 3,  // a node credential
  kJoin = 4,   // a join token for hac-agent
};

struct TokenRecord {
  int64_t id = 0;
  Role role = Role::kTenant;
  int64_t tenant_id = 0;  // 0 when not a tenant token
  std::string tenant;     // the tenant's name, when tenant_id != 0
  std::string node;       // for kAgent
  std::string pool;       // for kJoin: the pool a joining node must name (empty: any)
  absl::Time create_time;
  std::optional<absl::Time> expire_time;
  bool revoked = false;
};

struct JobRecord {
  int64_t id = 0;
  int64_t tenant_id = 0;
  std::string tenant;
  hac::v1::JobSpec spec;
  hac::v1::JobState state = hac::v1::JOB_STATE_PENDING;
  std::string reason;
  absl::Time create_time;
  absl::Time update_time;
  std::optional<absl::Time> end_time;
  uint32_t attempt_count = 0;
};

// A job to commit. The spec has been validated and defaulted.
struct NewJob {
  int64_t tenant_id = 0;
  std::string tenant;  // the tenant's name, for the returned record
  hac::v1::JobSpec spec;
  std::string reason;
};

struct SubmitResult {
  JobRecord job;
  // True when the tenant's idempotency key matched an existing job; nothing was written.
  bool replay = false;
};

// Which jobs ListJobs returns: newest first.
struct JobFilter {
  int64_t tenant_id = 0;  // 0: every tenant
  std::vector<hac::v1::JobState> states;  // empty: all
  int64_t before_id = 0;                  // 0: from the newest
  int limit = 100;
};

// The latest cumulative usage of one device by one attempt.
struct UsageCounterRecord {
  std::string attempt_id;
  uint32_t device_index = 0;
  int64_t allocated_ms = 0;
  int64_t active_ms = 0;
  bool final = false;
  // Who used which device: needed to write interval rows the first time a counter is seen
  // (later reports reuse what was stored then). RecordUsage fills nothing here.
  int64_t tenant_id = 0;
  std::string job_id;        // "j-42"
  std::string device_id;     // the device's UUID
  std::string device_class;  // "gpu"
  std::string device_model;  // "emu-a100"
  absl::Time assign_time;    // no interval row starts before this time's interval
};

// A change of one attempt, and with it of its job, committed together.
struct AttemptChange {
  int64_t job_id = 0;
  hac::v1::Attempt attempt;  // the attempt as it is after the change (id, number, state, ...)
  std::string node;          // the node it runs on (first node of a gang)
  // The job's new state and reason; UNSPECIFIED leaves the job as it is.
  hac::v1::JobState job_state = hac::v1::JOB_STATE_UNSPECIFIED;
  std::string job_reason;
  bool new_attempt = false;  // insert (and bump the job's attempt count) rather than update
  // The attempt's final usage counters, stored in the same transaction before the state, as
  // RecordUsage stores them with rows of `usage_interval`: a final state is then never durable
  // without its usage.
  std::vector<UsageCounterRecord> final_usage;
  absl::Duration usage_interval = absl::Seconds(60);
};

// What RecordUsage did with a batch of counters.
struct UsageRecordResult {
  // Counters below what is stored (a replay or a reordered report): nothing changed.
  std::vector<UsageCounterRecord> backwards;
  // Milliseconds of an increase that did not fit between the attempt's assignment and the
  // report (a counter ahead of wall time): kept in the cumulative counter, not billed. One entry
  // per counter, with the excess in allocated_ms / active_ms.
  std::vector<UsageCounterRecord> excess;
};

// A job's state before and after a change.
struct JobTransition {
  int64_t job_id = 0;
  hac::v1::JobState before = hac::v1::JOB_STATE_UNSPECIFIED;
  hac::v1::JobState after = hac::v1::JOB_STATE_UNSPECIFIED;
};

// What an AttemptChange did: the job's transition, and what storing its final usage did.
struct AttemptChangeResult {
  JobTransition job;
  UsageRecordResult usage;
};

// A closed month's invoice as stored: the frozen bill, serialized (hac.v1.Bill).
struct InvoiceRecord {
  int64_t tenant_id = 0;
  std::string tenant;
  std::string month;  // "2026-11"
  absl::Time close_time;
  std::string bill;  // hac.v1.Bill bytes
};

// A tenant's monthly budget.
struct BudgetRecord {
  int64_t tenant_id = 0;
  std::string tenant;
  int64_t monthly_limit_micros = 0;
  bool hard_stop = false;
};

// Usage summed per key (a job, class, model or day) over a time range.
struct UsageSum {
  std::string key;
  int64_t allocated_ms = 0;
  int64_t active_ms = 0;
};

enum class UsageKey { kJob, kDeviceClass, kDeviceModel, kDay };

struct QuotaRecord {
  std::string tenant;
  std::string device_class;
  uint32_t max_devices = 0;
  bool borrowable = false;
};

}  // namespace hac::server::store

#endif  // HAC_SERVER_STORE_RECORDS_H_
