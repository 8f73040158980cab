// Domain types of the pure scheduler: ids, job requests, nodes, placements and decisions.
//
// No protobuf here: hacd translates its proto messages into these at its edge. Device classes and
// models are strings ("gpu", "npu"; "v100", "atom") so a new class needs no code change.
#ifndef HAC_SCHEDULER_TYPES_H_
#define HAC_SCHEDULER_TYPES_H_

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/time/time.h"

namespace hac::scheduler {

// A strongly typed string id. `Id<JobTag>` and `Id<NodeTag>` do not mix. Value type.
template <typename Tag>
struct Id {
  std::string value;

  friend bool operator==(const Id&, const Id&) = default;
  friend std::strong_ordering operator<=>(const Id& a, const Id& b) { return a.value <=> b.value; }
  template <typename H>
  friend H AbslHashValue(H h, const Id& id) {
    return H::combine(std::move(h), id.value);
  }
};

using JobId = Id<struct JobIdTag>;          // hacd's job id, e.g. "j-000123".
using AttemptId = Id<struct AttemptIdTag>;  // "<job>/<n>": the n-th attempt of a job.
using NodeId = Id<struct NodeIdTag>;        // the node's name.
using TenantId = std::string;

// One way to run a job: `nodes` nodes (the gang width) with `count` devices each, all of one
// class (and of `model` when given). A job lists one or more alternatives.
struct DeviceRequest {
  std::string device_class;           // "gpu", "npu", ...
  std::optional<std::string> model;   // any model of the class when absent
  int count = 1;                      // devices per node, >= 1
  int nodes = 1;                      // gang width, >= 1: all nodes are placed at once or none
  int64_t memory_bytes = 0;           // minimum memory per device; 0 = any
  double relative_speed = 1.0;        // > 0; run time on this alternative = max_runtime / speed
};

enum class OptimizeFor { kTime, kCost };

// What hacd knows about a pending job.
struct JobRequest {
  JobId id;
  TenantId tenant;
  int priority = 0;                     // higher runs first
  absl::Time submit_time = absl::InfinitePast();
  std::vector<DeviceRequest> alternatives;
  // Run time bound at relative speed 1.0; ZeroDuration() = use the configured default.
  absl::Duration max_runtime = absl::ZeroDuration();
  OptimizeFor optimize_for = OptimizeFor::kTime;
  // SIGTERM-to-SIGKILL time if preempted; ZeroDuration() = the configured default.
  absl::Duration grace_period = absl::ZeroDuration();
};

enum class NodeState { kReady, kCordoned, kDraining, kLost };

struct DeviceSpec {
  int index = 0;  // unique within the node
  std::string device_class;
  std::string model;
  int64_t memory_bytes = 0;  // 0 = unknown (satisfies any request)
};

struct NodeSpec {
  NodeId id;
  std::string pool;
  NodeState state = NodeState::kReady;
  std::vector<DeviceSpec> devices;
};

// The devices of one attempt on one node.
struct NodeDevices {
  NodeId node;
  std::vector<int> device_indices;  // ascending

  friend bool operator==(const NodeDevices&, const NodeDevices&) = default;
};
using Placement = std::vector<NodeDevices>;

// Start `attempt` of `job` on `placement` using `job.alternatives[alternative]`. The scheduler
// counts the devices as used from the moment it returns this; if hacd cannot commit or dispatch
// it, hacd undoes it with AttemptFinished(attempt, AttemptEnd::kRequeue).
struct PlaceDecision {
  JobId job;
  AttemptId attempt;
  int alternative = 0;
  Placement placement;
  absl::Time expected_end;  // start + max_runtime / relative_speed
};

// Send SIGTERM to `attempt` (and SIGKILL after `grace`) so that `for_job` can run. The victim
// keeps its devices until hacd reports AttemptFinished(attempt, kRequeue); its job then returns
// to the queue with its original submit time and is billed only for what it used.
struct PreemptDecision {
  AttemptId attempt;
  JobId victim_job;
  JobId for_job;
  absl::Duration grace;
};

using Decision = std::variant<PlaceDecision, PreemptDecision>;

// How an attempt ended.
enum class AttemptEnd {
  kDone,     // the job is finished (succeeded, failed for good or cancelled): forget it
  kRequeue,  // preempted, lost, failed with retries left, or a decision hacd could not commit
};

// Answer of Scheduler::DryRun.
struct DryRunResult {
  bool placeable_now = false;
  int alternative = -1;  // the alternative it would use, -1 when none is possible at all
  Placement placement;   // when placeable_now
  std::string reason;    // why not, when !placeable_now; a sentence a person can act on
  // now when placeable_now; otherwise the earliest time running attempts free enough devices
  // (by their max runtime), ignoring pending jobs ahead: a lower bound. InfiniteFuture() when
  // no node of the cluster can ever hold it.
  absl::Time estimated_start = absl::InfiniteFuture();
};

}  // namespace hac::scheduler

#endif  // HAC_SCHEDULER_TYPES_H_
