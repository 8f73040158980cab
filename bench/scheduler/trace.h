// Trace and cluster files for hac-sim.
//
// Traces (CSV with a header line):
//  * Philly (Jeon et al., ATC'19, as processed by the Pollux artifact):
//      timestamp,duration,num_gpus,gpu_time,cluster
//    timestamp 'YYYY-MM-DD HH:MM:SS' (UTC), duration in seconds, cluster = the team = tenant.
//    Rows need not be sorted. A job of n > 8 gpus becomes a gang of ceil(n/8) nodes with
//    ceil(n/nodes) gpus each (12 -> 2x6, 32 -> 4x8).
//  * Native:
//      submit_time,duration,devices,tenant[,priority][,alternatives]
//    submit_time and duration in seconds; devices an integer count of gpus; priority an integer
//    (default 0); alternatives, when present and not empty, replace `devices`:
//    'class:count[:speed[:nodes]]' joined by '|', e.g. 'gpu:1:1.0|npu:2:3.0'.
//  In both, duration is the run time at relative speed 1 and also the job's max runtime (the
//  simulator gives the scheduler exact runtime estimates).
//
// Cluster files: one pool per line, '#' comments:
//      pool <name> <nodes> <devices per node> <class> [model]
//  and optional `price <class> <relative price>` lines (fed to the DRF class weights).
#ifndef HAC_BENCH_SCHEDULER_TRACE_H_
#define HAC_BENCH_SCHEDULER_TRACE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "scheduler/types.h"

namespace hac::sim {

struct TraceJob {
  absl::Time submit;
  absl::Duration duration;  // at relative speed 1
  std::string tenant;
  int priority = 0;
  std::vector<scheduler::DeviceRequest> alternatives;
};

// Sorted by submit time (stable: file order breaks ties).
absl::StatusOr<std::vector<TraceJob>> LoadTrace(const std::string& path);

struct PoolSpec {
  std::string name;
  int nodes = 0;
  int devices_per_node = 0;
  std::string device_class;
  std::string model;
};

struct ClusterSpec {
  std::vector<PoolSpec> pools;
  std::map<std::string, double> price;
  int64_t Devices() const;
};

absl::StatusOr<ClusterSpec> LoadCluster(const std::string& path);
// 80 nodes x 8 gpu (640 gpus): the Philly trace keeps 374 gpus busy on average (978k
// gpu-hours over 109 days), so this cluster runs at about 58% load, with bursts well above
// 100% that build real queues (Philly itself had about 2,500 gpus in 14 virtual clusters).
ClusterSpec DefaultCluster();

}  // namespace hac::sim

#endif  // HAC_BENCH_SCHEDULER_TRACE_H_
