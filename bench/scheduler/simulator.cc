#include "bench/scheduler/simulator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <queue>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "scheduler/scheduler.h"

namespace hac::sim {
namespace {

using scheduler::AttemptEnd;
using scheduler::AttemptId;
using scheduler::Decision;
using scheduler::PlaceDecision;
using scheduler::PreemptDecision;

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

struct Running {
  size_t job;
  absl::Time start;
  int64_t devices;
};

// (time, kind 0 = ends, 1 = preempted exit, sequence, attempt)
using Event = std::tuple<absl::Time, int, uint64_t, std::string>;

}  // namespace

absl::StatusOr<SimResult> Simulate(const std::vector<TraceJob>& trace, const ClusterSpec& cluster,
                                   const std::string& policy_name,
                                   const scheduler::SchedulerConfig& config) {
  auto wall_start = std::chrono::steady_clock::now();
  auto created = scheduler::Scheduler::Create(config);
  if (!created.ok()) return created.status();
  scheduler::Scheduler& s = **created;
  for (const PoolSpec& pool : cluster.pools) {
    for (int n = 0; n < pool.nodes; ++n) {
      scheduler::NodeSpec spec{scheduler::NodeId{absl::StrCat(pool.name, "-", n)}, pool.name,
                               scheduler::NodeState::kReady, {}};
      for (int d = 0; d < pool.devices_per_node; ++d) {
        spec.devices.push_back({d, pool.device_class, pool.model, 0});
      }
      if (absl::Status st = s.AddNode(spec); !st.ok()) return st;
    }
  }
  const size_t n = trace.size();
  std::vector<absl::Time> first_start(n, absl::InfiniteFuture()), finish(n, absl::InfiniteFuture());
  std::vector<std::string> ids(n);
  for (size_t i = 0; i < n; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "j-%07zu", i);
    ids[i] = buf;
  }
  absl::flat_hash_map<std::string, size_t> index;
  index.reserve(n);
  for (size_t i = 0; i < n; ++i) index[ids[i]] = i;

  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events;
  absl::flat_hash_map<std::string, Running> running;
  uint64_t seq = 0;
  size_t next = 0;
  double busy_device_seconds = 0;
  SimResult r;
  r.policy = policy_name;
  r.jobs = n;
  while (next < n || !events.empty()) {
    absl::Time now = absl::InfiniteFuture();
    if (next < n) now = trace[next].submit;
    if (!events.empty()) now = std::min(now, std::get<0>(events.top()));
    while (!events.empty() && std::get<0>(events.top()) == now) {
      auto [t, kind, sq, attempt] = events.top();
      events.pop();
      auto it = running.find(attempt);
      if (it == running.end()) continue;  // ended before its preemption took effect
      busy_device_seconds += static_cast<double>(it->second.devices) *
                             absl::ToDoubleSeconds(now - it->second.start);
      size_t job = it->second.job;
      running.erase(it);
      if (kind == 0) finish[job] = now;
      absl::Status st = s.AttemptFinished(AttemptId{attempt},
                                          kind == 0 ? AttemptEnd::kDone : AttemptEnd::kRequeue);
      if (!st.ok()) return st;
    }
    while (next < n && trace[next].submit == now) {
      const TraceJob& tj = trace[next];
      scheduler::JobRequest req;
      req.id = scheduler::JobId{ids[next]};
      req.tenant = tj.tenant;
      req.priority = tj.priority;
      req.submit_time = tj.submit;
      req.alternatives = tj.alternatives;
      req.max_runtime = tj.duration;
      if (absl::Status st = s.Submit(req); !st.ok()) return st;
      ++next;
    }
    std::vector<Decision> decisions = s.Schedule(now);
    ++r.passes;
    for (const Decision& d : decisions) {
      if (const auto* p = std::get_if<PlaceDecision>(&d)) {
        size_t job = index.at(p->job.value);
        const auto& alt = trace[job].alternatives[p->alternative];
        first_start[job] = std::min(first_start[job], now);
        running[p->attempt.value] =
            Running{job, now, static_cast<int64_t>(alt.count) * alt.nodes};
        absl::Duration run = trace[job].duration / alt.relative_speed;
        if (run < absl::Seconds(1)) run = absl::Seconds(1);
        events.push({now + run, 0, seq++, p->attempt.value});
      } else {
        const auto& pre = std::get<PreemptDecision>(d);
        ++r.preemptions;
        events.push({now + pre.grace, 1, seq++, pre.attempt.value});
      }
    }
    // Nothing left to happen: what is still pending can never run here.
    if (next >= n && events.empty()) break;
  }

  std::vector<double> jct, queue;
  std::map<std::string, std::pair<double, int>> progress;  // tenant -> (sum of run/JCT, jobs)
  absl::Time first_submit = n ? trace.front().submit : absl::UnixEpoch();
  absl::Time last_finish = first_submit;
  for (size_t i = 0; i < n; ++i) {
    if (finish[i] == absl::InfiniteFuture()) {
      ++r.never_started;
      continue;
    }
    ++r.completed;
    double c = absl::ToDoubleSeconds(finish[i] - trace[i].submit);
    jct.push_back(c);
    queue.push_back(absl::ToDoubleSeconds(first_start[i] - trace[i].submit));
    last_finish = std::max(last_finish, finish[i]);
    auto& pr = progress[trace[i].tenant];
    pr.first += std::min(1.0, absl::ToDoubleSeconds(trace[i].duration) / std::max(c, 1e-9));
    pr.second++;
  }
  r.jct_avg = Mean(jct);
  r.queue_avg = Mean(queue);
  r.jct_median = Percentile(jct, 0.5);
  r.jct_p99 = Percentile(jct, 0.99);
  r.queue_median = Percentile(queue, 0.5);
  r.queue_p99 = Percentile(queue, 0.99);
  r.makespan = absl::ToDoubleSeconds(last_finish - first_submit);
  int64_t devices = cluster.Devices();
  r.utilization = r.makespan > 0 && devices > 0
                      ? busy_device_seconds / (static_cast<double>(devices) * r.makespan)
                      : 0;
  double sum = 0, sum_sq = 0;
  for (const auto& [tenant, pr] : progress) {
    double x = pr.first / pr.second;
    sum += x;
    sum_sq += x * x;
  }
  r.jain = progress.empty() ? 0 : sum * sum / (static_cast<double>(progress.size()) * sum_sq);
  r.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return r;
}

}  // namespace hac::sim
