// The discrete-event simulator behind hac-sim: replays a trace on a cluster through the same
// hac::scheduler library hacd uses, with virtual time.
//
// Events are job arrivals (from the trace), attempt ends (start + duration / relative speed) and
// preempted attempts exiting (after their grace period; the job is requeued and later restarts
// from the beginning). After all events of one instant the scheduler runs one pass; its
// decisions are applied at once (no dispatch delay). Single-threaded, deterministic.
#ifndef HAC_BENCH_SCHEDULER_SIMULATOR_H_
#define HAC_BENCH_SCHEDULER_SIMULATOR_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/scheduler/trace.h"
#include "scheduler/config.h"

namespace hac::sim {

struct SimResult {
  std::string policy;
  size_t jobs = 0;
  size_t completed = 0;
  size_t never_started = 0;  // infeasible on this cluster
  // Job completion time (finish - submit) and queueing delay (first start - submit), seconds.
  double jct_avg = 0, jct_median = 0, jct_p99 = 0;
  double queue_avg = 0, queue_median = 0, queue_p99 = 0;
  double makespan = 0;     // last finish - first submit, seconds
  double utilization = 0;  // busy device-seconds / (devices x makespan)
  // Jain's index over tenants of each tenant's mean run time / JCT (1 = every tenant's jobs
  // are slowed down alike).
  double jain = 0;
  size_t preemptions = 0;
  size_t passes = 0;
  double wall_seconds = 0;  // replay time on this machine
};

absl::StatusOr<SimResult> Simulate(const std::vector<TraceJob>& trace, const ClusterSpec& cluster,
                                   const std::string& policy_name,
                                   const scheduler::SchedulerConfig& config);

}  // namespace hac::sim

#endif  // HAC_BENCH_SCHEDULER_SIMULATOR_H_
