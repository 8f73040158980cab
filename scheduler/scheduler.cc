#include "scheduler/scheduler.h"

#include <algorithm>
#include <array>
#include <queue>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "scheduler/best_fit_policy.h"
#include "scheduler/fair_share_policy.h"
#include "scheduler/fifo_policy.h"
#include "scheduler/first_fit_policy.h"
#include "scheduler/heterogeneity_policy.h"
#include "scheduler/priority_policy.h"
#include "scheduler/quota_policy.h"
#include "scheduler/spread_policy.h"

namespace hac::scheduler {
namespace {

constexpr size_t kMaxOrderPolicies = 4;
constexpr int kMaxDevicesPerJob = 1'000'000;
constexpr size_t kMaxAlternatives = 16;

std::string Label(const DeviceRequest& alt) {
  return alt.model.has_value() ? absl::StrCat(alt.device_class, "/", *alt.model)
                               : alt.device_class;
}

absl::Status ValidateJob(const JobRequest& job) {
  if (job.id.value.empty()) return absl::InvalidArgumentError("job id: must not be empty");
  if (job.tenant.empty()) return absl::InvalidArgumentError("tenant: must not be empty");
  if (job.alternatives.empty() || job.alternatives.size() > kMaxAlternatives) {
    return absl::InvalidArgumentError(
        absl::StrCat("alternatives: between 1 and ", kMaxAlternatives, " device requests"));
  }
  if (job.max_runtime < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("max_runtime: must be >= 0");
  }
  for (size_t i = 0; i < job.alternatives.size(); ++i) {
    const DeviceRequest& a = job.alternatives[i];
    std::string field = absl::StrCat("alternatives[", i, "]");
    if (a.device_class.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".class: must not be empty"));
    }
    if (a.count < 1 || a.nodes < 1 ||
        static_cast<int64_t>(a.count) * a.nodes > kMaxDevicesPerJob) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".count x nodes: each >= 1 and at most ", kMaxDevicesPerJob, " devices"));
    }
    if (!(a.relative_speed > 0) || a.relative_speed > 1e6) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".relative_speed: must be in (0, 1e6]"));
    }
    if (a.memory_bytes < 0) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".memory_bytes: must be >= 0"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string FormatReasonTime(absl::Time t) {
  if (t == absl::InfiniteFuture()) return "never";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

Scheduler::Scheduler(const SchedulerConfig& config) : config_(config) { BuildPolicies(); }

absl::StatusOr<std::unique_ptr<Scheduler>> Scheduler::Create(const SchedulerConfig& config) {
  if (absl::Status s = Validate(config); !s.ok()) return s;
  if (config.order.size() > kMaxOrderPolicies) {
    return absl::InvalidArgumentError(
        absl::StrCat("order: at most ", kMaxOrderPolicies, " policies"));
  }
  return std::unique_ptr<Scheduler>(new Scheduler(config));
}

absl::Status Scheduler::Reconfigure(const SchedulerConfig& config) {
  if (absl::Status s = Validate(config); !s.ok()) return s;
  if (config.order.size() > kMaxOrderPolicies) {
    return absl::InvalidArgumentError(
        absl::StrCat("order: at most ", kMaxOrderPolicies, " policies"));
  }
  config_ = config;
  ++config_version_;
  BuildPolicies();
  return absl::OkStatus();
}

void Scheduler::BuildPolicies() {
  order_.clear();
  order_changes_in_pass_ = false;
  for (const std::string& name : config_.order) {
    if (name == "priority") {
      order_.push_back(std::make_unique<PriorityPolicy>());
    } else if (name == "fair_share") {
      order_.push_back(std::make_unique<FairSharePolicy>());
      order_changes_in_pass_ = true;
    } else {
      order_.push_back(std::make_unique<FifoPolicy>());
    }
  }
  admission_.reset();
  if (config_.quota) admission_ = std::make_unique<QuotaPolicy>();
  switch (config_.placement) {
    case PlacementKind::kBestFit: placement_ = std::make_unique<BestFitPolicy>(); break;
    case PlacementKind::kSpread: placement_ = std::make_unique<SpreadPolicy>(); break;
    case PlacementKind::kFirstFit: placement_ = std::make_unique<FirstFitPolicy>(); break;
  }
  if (config_.alternatives == AlternativeKind::kEarliestFinish) {
    alternatives_ = std::make_unique<EarliestFinishPolicy>();
  } else {
    alternatives_ = std::make_unique<FirstListedPolicy>();
  }
}

absl::Duration Scheduler::Runtime(const JobRequest& job, const DeviceRequest& alt) const {
  absl::Duration base =
      job.max_runtime > absl::ZeroDuration() ? job.max_runtime : config_.default_max_runtime;
  return base / alt.relative_speed;
}

// ---------------------------------------------------------------------------------------------
// Events

absl::Status Scheduler::AddNode(const NodeSpec& node) {
  ++key_version_;
  return cluster_.AddNode(node);
}

const std::vector<KeyIndex>& Scheduler::KeysFor(const Job& job, size_t alternative) const {
  if (job.keys_version != key_version_) {
    job.keys.resize(job.request.alternatives.size());
    for (size_t i = 0; i < job.request.alternatives.size(); ++i) {
      cluster_.MatchingKeys(job.request.alternatives[i], &job.keys[i]);
    }
    job.keys_version = key_version_;
  }
  return job.keys[alternative];
}

absl::Duration Scheduler::RuntimeFor(const Job& job, size_t alternative) const {
  if (job.runtimes_version != config_version_) {
    job.runtimes.resize(job.request.alternatives.size());
    for (size_t i = 0; i < job.request.alternatives.size(); ++i) {
      job.runtimes[i] = Runtime(job.request, job.request.alternatives[i]);
    }
    job.runtimes_version = config_version_;
  }
  return job.runtimes[alternative];
}

std::optional<Scheduler::Shape> Scheduler::ShapeOf(const std::vector<KeyIndex>& keys,
                                                   const DeviceRequest& alt,
                                                   const void* excluded) {
  uint64_t mask = 0;
  for (KeyIndex k : keys) {
    if (k >= 64) return std::nullopt;
    mask |= uint64_t{1} << k;
  }
  return Shape{mask, alt.count, alt.nodes, excluded};
}

absl::StatusOr<std::vector<AttemptId>> Scheduler::RemoveNode(const NodeId& node) {
  std::optional<NodeIndex> n = cluster_.Find(node);
  if (!n) return absl::NotFoundError(absl::StrCat("node ", node.value, " not found"));
  // The node's devices name their owners: O(devices per node), no scan over attempts.
  std::vector<AttemptSlot> on_node;
  for (const ClusterModel::Device& d : cluster_.node(*n).devices) {
    if (d.owner != kNoAttempt &&
        std::find(on_node.begin(), on_node.end(), d.owner) == on_node.end()) {
      on_node.push_back(d.owner);
    }
  }
  // Claims on the node lapse: its slot may be reused by another node.
  for (auto it = claimants_.begin(); it != claimants_.end();) {
    Job* job = *it;
    auto next = std::next(it);
    if (std::find(job->claim_nodes.begin(), job->claim_nodes.end(), *n) != job->claim_nodes.end()) {
      job->claim_nodes.clear();
      job->victims.clear();
      claimants_.erase(it);
    }
    it = next;
  }
  std::vector<AttemptId> lost;
  for (AttemptSlot slot : on_node) {
    lost.push_back(attempts_.Get(slot).id);
    if (absl::Status s = AttemptFinished(lost.back(), AttemptEnd::kRequeue); !s.ok()) return s;
  }
  if (absl::Status s = cluster_.RemoveNode(node); !s.ok()) return s;
  return lost;
}

absl::Status Scheduler::SetNodeState(const NodeId& node, NodeState state) {
  return cluster_.SetNodeState(node, state);
}

void Scheduler::Enqueue(Job& job) {
  queues_[{-job.request.priority, job.tenant}].insert(
      QueueEntry{job.request.submit_time, job.seq, &job});
  ++pending_;
}

void Scheduler::Dequeue(Job& job, bool erase_empty_queue) {
  auto it = queues_.find({-job.request.priority, job.tenant});
  if (it == queues_.end()) return;
  if (it->second.erase(QueueEntry{job.request.submit_time, job.seq, &job}) > 0) --pending_;
  if (erase_empty_queue && it->second.empty()) queues_.erase(it);
}

absl::Status Scheduler::Submit(const JobRequest& request) {
  if (absl::Status s = ValidateJob(request); !s.ok()) return s;
  auto [it, inserted] = jobs_.try_emplace(request.id);
  if (!inserted) {
    return absl::AlreadyExistsError(absl::StrCat("job ", request.id.value, " already exists"));
  }
  Job& job = it->second;
  job.request = request;
  job.tenant = ledger_.Intern(request.tenant);
  job.seq = next_seq_++;
  Enqueue(job);
  return absl::OkStatus();
}

absl::Status Scheduler::Cancel(const JobId& id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("job ", id.value, " not found"));
  Job& job = it->second;
  if (job.running != kNoAttempt) {
    job.cancelled = true;
    return absl::OkStatus();
  }
  Dequeue(job);
  claimants_.erase(&job);
  jobs_.erase(it);
  return absl::OkStatus();
}

absl::Status Scheduler::AttemptStarted(const AttemptId& attempt, absl::Time started) {
  AttemptSlot slot = attempts_.Find(attempt);
  if (slot == kNoAttempt) {
    return absl::NotFoundError(absl::StrCat("attempt ", attempt.value, " not found"));
  }
  const Attempt& a = attempts_.Get(slot);
  const Job& job = jobs_.at(a.job);
  attempts_.SetExpectedEnd(slot, started,
                           started + Runtime(job.request, job.request.alternatives[a.alternative]));
  return absl::OkStatus();
}

absl::Status Scheduler::RestoreAttempt(const JobId& id, const AttemptId& attempt, int alternative,
                                       const Placement& placement, absl::Time started) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("job ", id.value, " not found"));
  Job& job = it->second;
  if (job.running != kNoAttempt) {
    return absl::FailedPreconditionError(absl::StrCat("job ", id.value, " is already running"));
  }
  if (attempts_.Find(attempt) != kNoAttempt) {
    return absl::AlreadyExistsError(absl::StrCat("attempt ", attempt.value, " already exists"));
  }
  if (alternative < 0 || alternative >= static_cast<int>(job.request.alternatives.size())) {
    return absl::InvalidArgumentError("alternative: out of range");
  }
  const DeviceRequest& alt = job.request.alternatives[alternative];
  Attempt a;
  a.id = attempt;
  a.job = id;
  a.tenant = job.tenant;
  a.priority = job.request.priority;
  a.submit_time = job.request.submit_time;
  a.alternative = alternative;
  a.device_class = alt.device_class;
  a.start = started;
  a.expected_end = started + Runtime(job.request, alt);
  AttemptSlot slot = attempts_.Add(a);
  Attempt& stored = attempts_.Mutable(slot);
  for (const NodeDevices& nd : placement) {
    std::optional<NodeIndex> n = cluster_.Find(nd.node);
    absl::Status s = n ? cluster_.AllocateIndices(*n, nd.device_indices, slot, &stored.key)
                       : absl::InvalidArgumentError(absl::StrCat("node ", nd.node.value, " not found"));
    if (!s.ok()) {
      ReleaseAttempt(slot);  // undo what was allocated so far
      return s;
    }
    std::vector<int> positions;
    const auto& devices = cluster_.node(*n).devices;
    for (int index : nd.device_indices) {
      for (size_t p = 0; p < devices.size(); ++p)
        if (devices[p].index == index) positions.push_back(static_cast<int>(p));
    }
    stored.device_count += static_cast<int64_t>(positions.size());
    stored.devices.emplace_back(*n, std::move(positions));
  }
  ledger_.Add(job.tenant, alt.device_class, stored.device_count);
  Dequeue(job);
  job.running = slot;
  job.attempts = std::max(job.attempts, 1);
  return absl::OkStatus();
}

void Scheduler::ReleaseAttempt(AttemptSlot slot) {
  const Attempt& a = attempts_.Get(slot);
  for (const auto& [n, positions] : a.devices) cluster_.Release(n, positions);
  ledger_.Add(a.tenant, a.device_class, -a.device_count);
  attempts_.Remove(slot);
}

absl::Status Scheduler::AttemptFinished(const AttemptId& attempt, AttemptEnd end) {
  AttemptSlot slot = attempts_.Find(attempt);
  if (slot == kNoAttempt) {
    return absl::NotFoundError(absl::StrCat("attempt ", attempt.value, " not found"));
  }
  JobId job_id = attempts_.Get(slot).job;
  ReleaseAttempt(slot);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return absl::OkStatus();
  Job& job = it->second;
  job.running = kNoAttempt;
  if (end == AttemptEnd::kDone || job.cancelled) {
    claimants_.erase(&job);
    jobs_.erase(it);
    return absl::OkStatus();
  }
  job.reason = "waiting: requeued after its attempt ended";
  job.reason_pass = pass_;
  Enqueue(job);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Reasons

std::string Scheduler::CapacityReason(const DeviceRequest& alt,
                                      const std::vector<KeyIndex>& keys) const {
  std::string label = Label(alt);
  if (keys.empty()) {
    return absl::StrCat("infeasible: no ", label, " devices",
                        alt.memory_bytes > 0 ? absl::StrCat(" with ", alt.memory_bytes,
                                                            " bytes of memory")
                                             : "",
                        " in the cluster");
  }
  int max_per_node = 0;
  int largest_free = 0;
  int64_t nodes_fitting = 0;
  for (KeyIndex k : keys) {
    max_per_node = std::max(max_per_node, cluster_.keys()[k].max_per_node);
    largest_free = std::max(largest_free, cluster_.LargestFree(k));
    nodes_fitting = std::max(nodes_fitting, cluster_.NodesWithFree(k, alt.count));
  }
  if (alt.count > max_per_node) {
    return absl::StrCat("infeasible: no node has ", alt.count, " ", label,
                        " (largest: ", max_per_node, ")");
  }
  if (alt.nodes <= 1) {
    return absl::StrCat("waiting: no node with ", alt.count, " free ", label,
                        " (largest free: ", largest_free, ")");
  }
  return absl::StrCat("waiting: needs ", alt.nodes, " nodes with ", alt.count, " free ", label,
                      " (", nodes_fitting, " have them)");
}

std::string Scheduler::CombinedReason(const Job& job, const std::vector<Option>& options) const {
  if (options.size() == 1) return options[0].reason;
  std::vector<std::string> parts;
  for (const Option& o : options) {
    const DeviceRequest& alt = job.request.alternatives[o.alternative];
    std::string what = alt.nodes > 1 ? absl::StrCat(alt.nodes, "x", alt.count, " ", Label(alt))
                                     : absl::StrCat(alt.count, " ", Label(alt));
    parts.push_back(absl::StrCat(what, ": ", o.reason));
  }
  return absl::StrJoin(parts, "; ");
}

absl::StatusOr<std::string> Scheduler::PendingReason(const JobId& id) const {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("job ", id.value, " not found"));
  const Job& job = it->second;
  if (job.running != kNoAttempt) {
    return absl::FailedPreconditionError(absl::StrCat(
        "job ", id.value, " is running (attempt ", attempts_.Get(job.running).id.value, ")"));
  }
  if (job.reason_pass != pass_ && last_pass_stopped_full_) {
    // The last pass stopped early on a full cluster: say what this job needs, from now.
    PassContext ctx{last_pass_time_, cluster_, ledger_, attempts_, config_};
    std::vector<Option> options = Evaluate(job, ctx, last_holds_, nullptr);
    for (const Option& o : options) {
      if (o.choice) return std::string("waiting: devices freed since the last pass; the next pass places it");
    }
    return CombinedReason(job, options);
  }
  if (job.reason_pass == pass_ && !job.reason.empty()) return job.reason;
  if (!pass_default_reason_.empty()) return pass_default_reason_;
  if (!job.reason.empty()) return job.reason;
  return std::string("waiting: not yet considered by the scheduler");
}

std::optional<std::pair<JobId, absl::Time>> Scheduler::last_reservation() const {
  return last_reservation_;
}

// ---------------------------------------------------------------------------------------------
// One pass

const absl::flat_hash_set<NodeIndex>* Scheduler::Excluded(
    const std::deque<Hold>& holds, const Job* job, absl::Time now, absl::Duration runtime,
    absl::flat_hash_set<NodeIndex>* scratch) const {
  const absl::flat_hash_set<NodeIndex>* single = nullptr;
  int applicable = 0;
  for (const Hold& h : holds) {
    if (h.job == job || h.nodes.empty()) continue;
    if (now + runtime <= h.until && h.until > now) continue;  // ends before the hold starts
    ++applicable;
    single = &h.nodes;
  }
  if (applicable <= 1) return single;
  scratch->clear();
  for (const Hold& h : holds) {
    if (h.job == job || h.nodes.empty()) continue;
    if (now + runtime <= h.until && h.until > now) continue;
    scratch->insert(h.nodes.begin(), h.nodes.end());
  }
  return scratch;
}

std::vector<Scheduler::Option> Scheduler::Evaluate(const Job& job, const PassContext& ctx,
                                                   const std::deque<Hold>& holds,
                                                   PassMemo* memo) const {
  std::vector<Option> options;
  options.reserve(job.request.alternatives.size());
  absl::flat_hash_set<NodeIndex> scratch;
  for (size_t i = 0; i < job.request.alternatives.size(); ++i) {
    const DeviceRequest& alt = job.request.alternatives[i];
    Option o;
    o.alternative = static_cast<int>(i);
    o.keys = &KeysFor(job, i);
    if (admission_) o.admission = admission_->Admit(View(job), alt, ctx);
    if (!o.admission.admitted) {
      o.reason = o.admission.reason;
      options.push_back(std::move(o));
      continue;
    }
    const absl::flat_hash_set<NodeIndex>* excluded =
        Excluded(holds, &job, ctx.now, RuntimeFor(job, i), &scratch);
    // A miss without holds is a miss with any; a miss with one hold set only with that one.
    std::optional<Shape> plain, with_holds;
    if (memo != nullptr) {
      plain = ShapeOf(*o.keys, alt, nullptr);
      if (plain && excluded != &scratch) with_holds = ShapeOf(*o.keys, alt, excluded);
      for (const auto& shape : {plain, with_holds}) {
        if (!shape) continue;
        if (auto it = memo->misses.find(*shape); it != memo->misses.end()) {
          o.reason = it->second.reason;
          o.held_out = it->second.held_out;
          break;
        }
      }
      if (!o.reason.empty()) {
        options.push_back(std::move(o));
        continue;
      }
    }
    PlacementQuery query{&alt, *o.keys, excluded};
    o.choice = placement_->Choose(cluster_, query);
    if (!o.choice && excluded != nullptr) {
      query.excluded = nullptr;
      if (placement_->Choose(cluster_, query)) {
        o.held_out = true;
        for (const Hold& h : holds) {
          if (h.job == &job || h.nodes.empty()) continue;
          o.reason = h.until > ctx.now
                         ? absl::StrCat("waiting: free devices are reserved for job ",
                                        h.job_id.value, " from ", FormatReasonTime(h.until),
                                        " and this job's max runtime ends after that")
                         : absl::StrCat("waiting: free devices are held for job ",
                                        h.job_id.value, ", which is preempting lower priority work");
          break;
        }
      }
    }
    if (!o.choice && o.reason.empty()) o.reason = CapacityReason(alt, *o.keys);
    if (!o.choice && memo != nullptr) {
      const std::optional<Shape>& shape = o.held_out ? with_holds : (excluded ? with_holds : plain);
      if (shape) memo->misses.emplace(*shape, Miss{o.reason, o.held_out});
      if (!o.held_out && plain) memo->misses.emplace(*plain, Miss{o.reason, false});
    }
    options.push_back(std::move(o));
  }
  return options;
}

size_t Scheduler::ChooseOption(const Job& job, const PassContext& ctx,
                               const std::vector<Option>& options, bool* placeable,
                               PassMemo* memo) const {
  if (options.size() == 1) {  // every alternative policy picks the only one
    *placeable = options[0].admission.admitted && options[0].choice.has_value();
    return options[0].admission.admitted ? 0 : 1;
  }
  std::vector<AlternativeOption> weighed;
  std::vector<size_t> index;
  bool any_now = false, any_later = false;
  for (size_t i = 0; i < options.size(); ++i) {
    if (!options[i].admission.admitted) continue;
    (options[i].choice ? any_now : any_later) = true;
  }
  // Starts of alternatives that do not fit now matter when another one does (run now or wait
  // for a faster one?) and when none does (which one to reserve for).
  const bool estimate = alternatives_->NeedsEstimates() && any_later;
  for (size_t i = 0; i < options.size(); ++i) {
    const Option& o = options[i];
    if (!o.admission.admitted) continue;
    const DeviceRequest& alt = job.request.alternatives[o.alternative];
    AlternativeOption w;
    w.alternative = o.alternative;
    w.placeable_now = o.choice.has_value();
    w.runtime = RuntimeFor(job, static_cast<size_t>(o.alternative));
    w.cost = config_.Price(alt.device_class) * alt.count * alt.nodes * absl::ToDoubleHours(w.runtime);
    if (w.placeable_now) {
      w.start = ctx.now;
    } else if (estimate && !o.admission.borrowing) {
      std::optional<Shape> shape = memo ? ShapeOf(*o.keys, alt, nullptr) : std::nullopt;
      if (shape && memo->estimates.contains(*shape)) {
        w.start = memo->estimates.at(*shape);
      } else {
        std::optional<Reservation> r = BackfillPolicy::EstimateStart(ctx, *o.keys, alt, nullptr);
        w.start = r ? r->start : absl::InfiniteFuture();
        if (shape) memo->estimates.emplace(*shape, w.start);
      }
    } else if (!any_now) {
      w.start = absl::InfiniteFuture() - absl::Hours(1);  // unknown; ties broken by the policy
    }
    weighed.push_back(w);
    index.push_back(i);
  }
  if (weighed.empty()) {
    *placeable = false;
    return options.size();
  }
  size_t c = alternatives_->Choose(job.request, weighed);
  *placeable = weighed[c].placeable_now;
  return index[c];
}

Placement Scheduler::ToPlacement(const NodeChoice& choice, int count) const {
  Placement p;
  for (NodeIndex n : choice.nodes) {
    const ClusterModel::Node& node = cluster_.node(n);
    NodeDevices nd{node.id, {}};
    for (const auto& kf : node.keys) {
      if (kf.key != choice.key) continue;
      for (int i = 0; i < count && i < static_cast<int>(kf.free_positions.size()); ++i) {
        nd.device_indices.push_back(node.devices[kf.free_positions[i]].index);
      }
    }
    p.push_back(std::move(nd));
  }
  return p;
}

PlaceDecision Scheduler::Commit(Job& job, const Option& option, absl::Time now, bool borrowed) {
  const DeviceRequest& alt = job.request.alternatives[option.alternative];
  Dequeue(job, /*erase_empty_queue=*/false);  // the pass holds pointers to queues
  job.attempts++;
  Attempt a;
  a.id = AttemptId{absl::StrCat(job.request.id.value, "/", job.attempts)};
  a.job = job.request.id;
  a.tenant = job.tenant;
  a.priority = job.request.priority;
  a.submit_time = job.request.submit_time;
  a.alternative = option.alternative;
  a.key = option.choice->key;
  a.device_class = alt.device_class;
  a.device_count = static_cast<int64_t>(alt.count) * alt.nodes;
  a.start = now;
  a.expected_end = now + Runtime(job.request, alt);
  a.borrowed = borrowed;
  PlaceDecision d;
  d.job = job.request.id;
  d.attempt = a.id;
  d.alternative = option.alternative;
  d.expected_end = a.expected_end;
  AttemptSlot slot = attempts_.Add(std::move(a));
  Attempt& stored = attempts_.Mutable(slot);
  stored.devices.reserve(option.choice->nodes.size());
  d.placement.reserve(option.choice->nodes.size());
  for (NodeIndex n : option.choice->nodes) {
    std::vector<int> positions = cluster_.Allocate(n, option.choice->key, alt.count, slot);
    NodeDevices nd{cluster_.node(n).id, {}};
    nd.device_indices.reserve(positions.size());
    for (int p : positions) nd.device_indices.push_back(cluster_.node(n).devices[p].index);
    d.placement.push_back(std::move(nd));
    stored.devices.emplace_back(n, std::move(positions));
  }
  ledger_.Add(job.tenant, alt.device_class, stored.device_count);
  job.running = slot;
  job.victims.clear();
  job.claim_nodes.clear();
  claimants_.erase(&job);
  job.reason.clear();
  return d;
}

std::vector<Decision> Scheduler::Schedule(absl::Time now, size_t max_placements) {
  ++pass_;
  std::vector<Decision> decisions;
  const ShareWeights weights = ShareWeights::Compute(cluster_, config_, ledger_);
  std::vector<int> classes;  // queues_ is ordered by -priority: walk it backwards
  for (auto it = queues_.rbegin(); it != queues_.rend(); ++it) {
    if (!it->second.empty() && (classes.empty() || classes.back() != -it->first.first)) {
      classes.push_back(-it->first.first);
    }
  }
  PassContext ctx{now, cluster_, ledger_, attempts_, config_, &weights, &classes};
  std::deque<Hold> holds;
  PassMemo memo;
  last_reservation_.reset();
  pass_default_reason_.clear();
  last_pass_time_ = now;
  last_pass_stopped_full_ = false;

  // Preemption claims of earlier passes hold their nodes until the claimant runs.
  for (Job* job : claimants_) {
    holds.push_back(
        Hold{job, job->request.id, now, {job->claim_nodes.begin(), job->claim_nodes.end()}});
  }

  // The heap of queue heads. Keys: the order policies' keys, then submit time and arrival.
  struct Head {
    std::array<double, kMaxOrderPolicies> key;
    absl::Time submit;
    uint64_t seq;
    Queue* queue;
    Job* job;
  };
  auto worse = [](const Head& a, const Head& b) {
    if (a.key != b.key) return a.key > b.key;
    if (a.submit != b.submit) return a.submit > b.submit;
    return a.seq > b.seq;
  };
  auto keys_of = [&](const Job& job) {
    std::array<double, kMaxOrderPolicies> k{};
    PendingJob view = View(job);
    for (size_t i = 0; i < order_.size(); ++i) k[i] = order_[i]->Key(view, ctx);
    return k;
  };
  std::priority_queue<Head, std::vector<Head>, decltype(worse)> heap(worse);
  int max_pending_priority = std::numeric_limits<int>::min();
  for (auto& [qk, queue] : queues_) {
    if (queue.empty()) continue;
    max_pending_priority = std::max(max_pending_priority, -qk.first);
    Job* job = queue.begin()->job;
    heap.push(Head{keys_of(*job), job->request.submit_time, job->seq, &queue, job});
  }

  bool reserved = false;
  bool reservation_tried_full = false;
  size_t placed = 0;
  while (!heap.empty()) {
    Head head = heap.top();
    heap.pop();
    Job& job = *head.job;
    if (order_changes_in_pass_) {
      auto k = keys_of(job);
      if (k != head.key) {
        head.key = k;
        heap.push(head);
        continue;
      }
    }
    // Nothing left to place and nothing to preempt: the rest of the queue waits. With backfill,
    // one job is still evaluated for a reservation; when it gets none (no node could ever fit
    // it), trying the rest of a long queue on a full cluster would only cost time on every event
    // (their reasons are computed on demand, see PendingReason).
    const bool full = cluster_.TotalFree() == 0;
    if (full && (!config_.backfill || reserved || reservation_tried_full) &&
        (!config_.preemption || attempts_.size() == 0 ||
         (attempts_.by_priority().begin()->first >= max_pending_priority &&
          attempts_.borrowed() == 0))) {
      pass_default_reason_ = "waiting: no free devices in the cluster and jobs ahead of it";
      last_pass_stopped_full_ = true;
      break;
    }
    if (placed >= max_placements) {
      pass_default_reason_.clear();
      break;
    }

    reservation_tried_full = reservation_tried_full || full;
    Outcome outcome = Outcome::kBlocked;
    std::vector<Option> options = Evaluate(job, ctx, holds, &memo);
    bool placeable = false;
    size_t chosen = ChooseOption(job, ctx, options, &placeable, &memo);
    if (chosen == options.size()) {
      outcome = Outcome::kNotAdmitted;
      job.reason = CombinedReason(job, options);
    } else if (placeable) {
      const Option& o = options[chosen];
      decisions.push_back(Commit(job, o, now, o.admission.borrowing));
      ++placed;
      outcome = Outcome::kPlaced;
    } else {
      const Option& o = options[chosen];
      const DeviceRequest& alt = job.request.alternatives[o.alternative];
      job.reason = CombinedReason(job, options);
      bool victims_running = false;
      for (const AttemptId& v : job.victims)
        victims_running = victims_running || attempts_.Find(v) != kNoAttempt;
      if (victims_running) {
        job.reason = absl::StrCat("waiting: preempted ", job.victims.size(),
                                  " lower priority attempt(s) (",
                                  absl::StrJoin(job.victims, ", ",
                                                [](std::string* out, const AttemptId& a) {
                                                  out->append(a.value);
                                                }),
                                  "); starts when they exit");
      } else {
        if (!job.victims.empty()) {  // victims gone but still blocked: the claim lapses
          job.victims.clear();
          job.claim_nodes.clear();
          claimants_.erase(&job);
          for (Hold& h : holds) {
            if (h.job == &job) h.nodes.clear();  // addresses stay stable for the memo
          }
          memo.misses.clear();
        }
        std::optional<VictimChoice> victims;
        const bool may_preempt =
            config_.preemption && !o.admission.borrowing && !o.held_out && attempts_.size() > 0 &&
            (attempts_.by_priority().begin()->first < job.request.priority ||
             attempts_.borrowed() > 0);
        // A shape that found no victims at some priority finds none later in the pass either
        // (victims only get fewer); the tenant matters for borrowed victims.
        std::optional<Shape> shape = ShapeOf(*o.keys, alt, nullptr);
        std::tuple<Shape, int, TenantIndex> no_victims_key{
            shape.value_or(Shape{0, 0, 0, nullptr}), job.request.priority, job.tenant};
        if (may_preempt && !(shape && memo.no_victims.contains(no_victims_key))) {
          victims = preemption_.SelectVictims(ctx, View(job), true, alt, *o.keys, nullptr);
          if (!victims && shape) memo.no_victims.insert(no_victims_key);
        }
        if (victims) {
          absl::Duration grace = job.request.grace_period > absl::ZeroDuration()
                                     ? job.request.grace_period
                                     : config_.default_grace_period;
          for (AttemptSlot s : victims->victims) {
            Attempt& a = attempts_.Mutable(s);
            a.preempting = true;
            decisions.push_back(PreemptDecision{a.id, a.job, job.request.id, grace});
            job.victims.push_back(a.id);
          }
          job.claim_nodes = victims->nodes.nodes;
          claimants_.insert(&job);
          holds.push_back(Hold{&job, job.request.id, now,
                               {job.claim_nodes.begin(), job.claim_nodes.end()}});
          job.reason = absl::StrCat("waiting: preempting ", job.victims.size(),
                                    " lower priority attempt(s) (",
                                    absl::StrJoin(job.victims, ", ",
                                                  [](std::string* out, const AttemptId& a) {
                                                    out->append(a.value);
                                                  }),
                                    "); starts when they exit");
        } else if (config_.backfill && !reserved && !o.admission.borrowing && !o.held_out) {
          absl::flat_hash_set<NodeIndex> scratch;
          const absl::flat_hash_set<NodeIndex>* excluded =
              Excluded(holds, &job, now, absl::InfiniteDuration(), &scratch);
          std::optional<Reservation> r = BackfillPolicy::EstimateStart(ctx, *o.keys, alt, excluded);
          if (r) {
            reserved = true;
            last_reservation_ = {job.request.id, r->start};
            holds.push_back(Hold{&job, job.request.id, r->start, {r->nodes.begin(), r->nodes.end()}});
            std::vector<std::string> names;
            for (NodeIndex n : r->nodes) names.push_back(cluster_.node(n).id.value);
            job.reason = absl::StrCat(job.reason, "; next in line: reserved ",
                                      absl::StrJoin(names, ","), " from ",
                                      FormatReasonTime(r->start), " (estimated start)");
          }
        } else if (!config_.backfill && config_.on_blocked == OnBlocked::kStop) {
          job.reason_pass = pass_;
          pass_default_reason_ = absl::StrCat("waiting: higher priority jobs ahead (job ",
                                              job.request.id.value, " is first in line)");
          break;
        }
      }
    }
    if (outcome != Outcome::kPlaced) job.reason_pass = pass_;

    // Next job of the same queue.
    auto next = head.queue->upper_bound(QueueEntry{head.submit, head.seq, nullptr});
    if (next != head.queue->end()) {
      Job* nj = next->job;
      heap.push(Head{keys_of(*nj), nj->request.submit_time, nj->seq, head.queue, nj});
    }
  }
  // Queues emptied by this pass.
  for (auto it = queues_.begin(); it != queues_.end();) {
    it = it->second.empty() ? queues_.erase(it) : std::next(it);
  }
  last_holds_ = std::move(holds);
  return decisions;
}

// ---------------------------------------------------------------------------------------------
// Dry run

absl::StatusOr<DryRunResult> Scheduler::DryRun(const JobRequest& request, absl::Time now) const {
  if (absl::Status s = ValidateJob(request); !s.ok()) return s;
  Job job;
  job.request = request;
  job.tenant = 0;
  // A tenant the ledger has not seen holds nothing.
  TenantLedger scratch_ledger;
  const TenantLedger* ledger = &ledger_;
  bool known_tenant = false;
  for (TenantIndex t = 0; t < ledger_.size(); ++t) {
    if (ledger_.Name(t) == request.tenant) {
      job.tenant = t;
      known_tenant = true;
      break;
    }
  }
  if (!known_tenant) {
    job.tenant = scratch_ledger.Intern(request.tenant);
    ledger = &scratch_ledger;
  }
  PassContext ctx{now, cluster_, *ledger, attempts_, config_};
  std::vector<Option> options = Evaluate(job, ctx, last_holds_, nullptr);
  bool placeable = false;
  size_t chosen = ChooseOption(job, ctx, options, &placeable, nullptr);
  DryRunResult result;
  if (chosen == options.size()) {
    result.reason = CombinedReason(job, options);
    // Quota frees as the tenant's attempts end; estimate when the first alternative fits it.
    const DeviceRequest& alt = request.alternatives[0];
    const QuotaLimit* q = config_.Quota(request.tenant, alt.device_class);
    if (q != nullptr && known_tenant) {
      int64_t used = ledger_.Used(job.tenant, alt.device_class);
      int64_t want = static_cast<int64_t>(alt.count) * alt.nodes;
      if (want <= q->limit) {
        for (const auto& [end, slot] : attempts_.by_end()) {
          const Attempt& a = attempts_.Get(slot);
          if (a.tenant != job.tenant || a.device_class != alt.device_class) continue;
          used -= a.device_count;
          if (used + want <= q->limit) {
            result.estimated_start = std::max(end, now);
            break;
          }
        }
      }
    }
    return result;
  }
  const Option& o = options[chosen];
  result.alternative = o.alternative;
  if (placeable) {
    result.placeable_now = true;
    result.placement = ToPlacement(*o.choice, request.alternatives[o.alternative].count);
    result.estimated_start = now;
    return result;
  }
  result.reason = CombinedReason(job, options);
  std::optional<Reservation> r = BackfillPolicy::EstimateStart(
      ctx, *o.keys, request.alternatives[o.alternative], nullptr);
  if (r) result.estimated_start = r->start;
  return result;
}

}  // namespace hac::scheduler
