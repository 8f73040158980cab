// The usage ledger's monthly totals (table usage_totals, schema v4): what a month's bill reads.
//
// usage_intervals keeps one row per (attempt, device, interval): a tenant with a million
// attempts has millions of them in a month, too many to read for every bill. usage_totals keeps,
// per (tenant, month, job), one row whose blob lists each (attempt, device, price epoch) of the
// job with its interval rows summed: the first interval's start, the last one's end and both
// meters' milliseconds. A price epoch starts at every price's effective_from (any model), so an
// entry never spans a price known when it was written; rating the entries gives the same bill as
// rating the intervals (rating.h, "Summed rows").
//
// Which usage is where: an (attempt, device) whose counter is final (the attempt ended) is in
// usage_totals, summed when the final report arrived and kept up to date by later increases; a
// counter not yet final is only in usage_intervals, found through the partial index
// usage_counters_open. StreamMonthUsage merges the two into one ordered stream of rows.
//
// A price added later with an effective_from inside an entry makes that entry span two prices;
// rating then refuses the row (FAILED_PRECONDITION) and the caller rates the intervals instead.
//
// All functions run on a connection the caller holds (the writer inside its transaction, or a
// reader); none is thread-safe by itself.
#ifndef HAC_SERVER_STORE_USAGE_TOTALS_H_
#define HAC_SERVER_STORE_USAGE_TOTALS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "billing/usage.h"
#include "server/store/counter_cache.h"
#include "server/store/sqlite.h"

namespace hac::server::store {

// One (attempt, device, price epoch) of a job's month: its interval rows summed.
struct UsageTotal {
  std::string attempt_id;
  uint32_t device_index = 0;
  int64_t epoch_s = 0;  // the latest price effective_from <= its intervals (0: none)
  std::string device_class;
  std::string device_model;
  int64_t start_s = 0;  // its first interval's start
  int64_t end_s = 0;    // its last interval's end
  int64_t allocated_ms = 0;
  int64_t active_ms = 0;
};

// The device id a summed row carries: the device's index in the attempt, in decimal. Rows are
// ordered by it as a string, like any device id.
std::string DeviceKey(uint32_t device_index);

// Order within a job's blob: attempt_id, then DeviceKey, then epoch_s.
bool UsageTotalLess(const UsageTotal& a, const UsageTotal& b);

// Blob: a format byte (1), then per entry, in UsageTotalLess order, varints and length-prefixed
// strings: attempt_id, device_index, epoch_s, device_class, device_model, start_s,
// end_s - start_s, allocated_ms, active_ms.
std::string EncodeUsageTotals(absl::Span<const UsageTotal> totals);
// Decodes into `out`, reusing its elements' storage; INTERNAL on a malformed blob.
absl::Status DecodeUsageTotals(absl::string_view blob, std::vector<UsageTotal>& out);
// Adds `t` into the sorted `totals`: summed into the entry of the same (attempt, device, epoch)
// (start the earlier, end the later), or inserted in order.
void MergeUsageTotal(std::vector<UsageTotal>& totals, const UsageTotal& t);

// The effective_from of every price, ascending (the epoch boundaries).
absl::StatusOr<std::vector<int64_t>> PriceEpochs(Database& db);

// Sums the interval rows of the counter (attempt_id, device_index) `st` describes into its job's
// totals: the counter just became final. Writer only, inside the usage transaction.
absl::Status FoldCounter(Database& db, const std::vector<int64_t>& epochs,
                         const std::string& attempt_id, uint32_t device_index,
                         const CounterState& st);

// One increase written to an interval row.
struct IntervalPut {
  int64_t start_s = 0;
  int64_t length_s = 0;
  int64_t allocated_ms = 0;
  int64_t active_ms = 0;
};
// Adds increases of a final counter (written to usage_intervals too) to its job's totals.
absl::Status AddToTotals(Database& db, const std::vector<int64_t>& epochs,
                         const std::string& attempt_id, uint32_t device_index,
                         const CounterState& st, absl::Span<const IntervalPut> puts);

// Rebuilds usage_totals from usage_intervals for every final counter (migration to v4).
absl::Status RebuildUsageTotals(Database& db);

// The tenant's usage with interval_start in the UTC month [from_s, to_s) (month key `month`,
// year * 100 + month) in rating order (job, attempt, device, interval_start): the totals of final
// counters and the interval rows of the others, merged. `tenant_label` becomes each row's
// tenant_id. Stops at and returns the first error of `fn`. The row passed to `fn` is valid only
// during the call.
absl::Status StreamMonthUsage(Database& db, int64_t tenant_id, absl::string_view tenant_label,
                              int64_t month, int64_t from_s, int64_t to_s,
                              const std::function<absl::Status(const billing::UsageRow&)>& fn);

}  // namespace hac::server::store

#endif  // HAC_SERVER_STORE_USAGE_TOTALS_H_
