// SchedulerConfig: which policies the scheduler composes and their parameters, plus a parser for
// the `key = value` text form an admin edits (hacd hands the result to Scheduler::Reconfigure,
// no restart needed).
//
// Text form, one setting a line, `#` starts a comment, blank lines ignored:
//
//   order = priority, fair_share     # ordering policies, most significant first
//   placement = best_fit             # best_fit | spread | first_fit
//   alternatives = earliest_finish   # earliest_finish | first_listed
//   quota = on                       # enforce quota.<tenant>.<class>
//   backfill = on                    # EASY backfill behind one reservation
//   preemption = on
//   on_blocked = skip                # skip | stop (when backfill is off)
//   aging_per_hour = 1               # priority levels a pending job gains per hour waited
//   default_max_runtime = 24h
//   default_grace_period = 30s
//   tenant_weight.alice = 2
//   price.npu = 0.5                  # relative price of a device-hour of the class (default 1)
//   quota.alice.gpu = 8              # hard: never exceeded
//   quota.bob.npu = 4 borrowable     # may exceed while capacity is idle; the excess is preemptible
//
// docs/scheduler.md documents every key.
#ifndef HAC_SCHEDULER_CONFIG_H_
#define HAC_SCHEDULER_CONFIG_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace hac::scheduler {

enum class PlacementKind { kBestFit, kSpread, kFirstFit };
enum class AlternativeKind { kEarliestFinish, kFirstListed };
enum class OnBlocked { kSkip, kStop };

struct QuotaLimit {
  int limit = 0;            // devices of the class the tenant may hold at once
  bool borrowable = false;  // may exceed `limit` using idle capacity (preemptible excess)
};

// Plain value type, owned by whoever builds it (hacd reads it from the admin's file and hands a
// copy to Scheduler::Reconfigure); no thread-safety of its own. Invariant once Validate() has
// passed (Scheduler::Create and Reconfigure call it): weights and prices > 0, quotas >= 0,
// durations positive, known policy names only.
struct SchedulerConfig {
  // Ordering policies, most significant first: "priority", "fair_share", "fifo". FIFO (submit
  // time, then arrival order) always breaks the remaining ties, so an empty list is plain FIFO.
  std::vector<std::string> order = {"priority", "fair_share"};
  PlacementKind placement = PlacementKind::kBestFit;
  AlternativeKind alternatives = AlternativeKind::kEarliestFinish;
  bool quota = true;
  bool backfill = true;
  bool preemption = true;
  // What a pass does with a job that cannot be placed when backfill is off: kSkip goes on with
  // the next job (greedy), kStop ends the pass (strict FIFO, head-of-line blocking).
  OnBlocked on_blocked = OnBlocked::kSkip;
  double aging_per_hour = 1.0;
  absl::Duration default_max_runtime = absl::Hours(24);
  absl::Duration default_grace_period = absl::Seconds(30);
  std::map<std::string, double> tenant_weight;                     // default 1
  std::map<std::string, double> price;                             // default 1
  std::map<std::string, std::map<std::string, QuotaLimit>> quota_limits;  // tenant -> class

  double TenantWeight(const std::string& tenant) const;
  double Price(const std::string& device_class) const;
  // nullptr when the tenant has no quota for the class (unlimited).
  const QuotaLimit* Quota(const std::string& tenant, const std::string& device_class) const;
};

// INVALID_ARGUMENT naming the field and the limit when a value is out of range.
absl::Status Validate(const SchedulerConfig& config);

// Parses the text form above. INVALID_ARGUMENT names the line number and the key.
absl::StatusOr<SchedulerConfig> ParseSchedulerConfig(std::string_view text);

// The two presets the simulator compares: strict FIFO with first-fit and nothing else, and every
// policy composed (priority with aging, fair share, quota, best-fit, earliest-finish
// alternatives, backfill, preemption).
SchedulerConfig FifoConfig();
SchedulerConfig ComposedConfig();

}  // namespace hac::scheduler

#endif  // HAC_SCHEDULER_CONFIG_H_
