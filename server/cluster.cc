#include "server/cluster.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "google/protobuf/util/time_util.h"
#include "scheduler/config.h"
#include "server/validation.h"

namespace hac::server {
namespace {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

bool IsFinalAttempt(hac::v1::AttemptState s) {
  return s != hac::v1::ATTEMPT_STATE_ASSIGNED && s != hac::v1::ATTEMPT_STATE_RUNNING &&
         s != hac::v1::ATTEMPT_STATE_UNSPECIFIED;
}

std::string AttemptStateName(hac::v1::AttemptState s) {
  std::string n = hac::v1::AttemptState_Name(s);
  return n.substr(std::string("ATTEMPT_STATE_").size());
}

}  // namespace

// One agent session: its outbound queue and the writer thread draining it.
struct ClusterManager::Session {
  explicit Session(SessionStream& s) : stream(s) {
    writer = std::thread([this] {
      std::deque<hac::v1::ServerMessage> batch;
      for (;;) {
        {
          absl::MutexLock lock(&mu);
          mu.Await(absl::Condition(
              +[](Session* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) {
                return s->closed || !s->outbox.empty();
              },
              this));
          if (outbox.empty()) return;
          batch.swap(outbox);
        }
        // What is queued goes out together: one transport write for all of it.
        for (size_t i = 0; i < batch.size(); ++i) {
          if (!stream.Write(batch[i], /*more=*/i + 1 < batch.size())) {
            absl::MutexLock lock(&mu);
            closed = true;
            outbox.clear();
            return;
          }
        }
        batch.clear();
      }
    });
  }
  ~Session() { Finish(); }
  void Push(hac::v1::ServerMessage msg) {
    absl::MutexLock lock(&mu);
    if (!closed) outbox.push_back(std::move(msg));
  }
  // Lets the writer finish what is queued, then stop.
  void Close() {
    absl::MutexLock lock(&mu);
    closed = true;
  }
  // Close, and wait for the writer: after this the stream is not touched again, though
  // callbacks that still hold the session (acks of commits in flight) may Push, to no effect.
  void Finish() {
    Close();
    absl::MutexLock lock(&join_mu);
    if (writer.joinable()) writer.join();
  }

  SessionStream& stream;
  absl::Mutex mu;
  std::deque<hac::v1::ServerMessage> outbox ABSL_GUARDED_BY(mu);
  bool closed ABSL_GUARDED_BY(mu) = false;
  absl::Mutex join_mu;
  std::thread writer;
};

std::string AttemptIdString(int64_t job_id, uint32_t number) {
  return absl::StrCat(store::JobIdString(job_id), ".", number);
}

absl::StatusOr<std::unique_ptr<ClusterManager>> ClusterManager::Create(
    store::Store& store, Authenticator& auth, JobManager& jobs, LogStore& logs,
    const common::Clock& clock, Options options) {
  ASSIGN_OR_RETURN(scheduler::SchedulerConfig config,
                   BuildConfig(store, options.scheduler_config));
  ASSIGN_OR_RETURN(std::unique_ptr<scheduler::Scheduler> sched,
                   scheduler::Scheduler::Create(config));
  auto out = std::unique_ptr<ClusterManager>(
      new ClusterManager(store, auth, jobs, logs, clock, std::move(options), std::move(sched)));
  absl::MutexLock lock(&out->mu_);
  out->config_text_ = out->options_.scheduler_config;
  return out;
}

absl::StatusOr<scheduler::SchedulerConfig> ClusterManager::BuildConfig(store::Store& store,
                                                                      const std::string& text) {
  ASSIGN_OR_RETURN(std::vector<store::QuotaRecord> quotas, store.ListQuotas(0));
  std::string full = text;
  if (!full.empty() && full.back() != '\n') full += '\n';
  for (const store::QuotaRecord& q : quotas) {
    absl::StrAppend(&full, "quota.", q.tenant, ".", q.device_class, " = ", q.max_devices,
                    q.borrowable ? " borrowable" : "", "\n");
  }
  return scheduler::ParseSchedulerConfig(full);
}

ClusterManager::ClusterManager(store::Store& store, Authenticator& auth, JobManager& jobs,
                               LogStore& logs, const common::Clock& clock, Options options,
                               std::unique_ptr<scheduler::Scheduler> sched)
    : store_(store),
      auth_(auth),
      jobs_(jobs),
      logs_(logs),
      clock_(clock),
      options_(std::move(options)),
      sched_(std::move(sched)) {}

ClusterManager::~ClusterManager() { Stop(); }

scheduler::JobRequest ClusterManager::ToRequest(const store::JobRecord& job) const {
  scheduler::JobRequest r;
  r.id = scheduler::JobId{store::JobIdString(job.id)};
  r.tenant = job.tenant;
  r.priority = job.spec.priority();
  r.submit_time = job.create_time;
  for (const hac::v1::DeviceRequest& d : job.spec.devices()) {
    scheduler::DeviceRequest a;
    a.device_class = d.device_class();
    if (!d.model().empty()) a.model = d.model();
    a.count = static_cast<int>(d.count());
    a.nodes = static_cast<int>(std::max<uint32_t>(1, d.nodes()));
    a.memory_bytes = static_cast<int64_t>(d.memory_bytes());
    a.relative_speed =
        static_cast<double>(d.relative_speed_permille() == 0 ? 1000 : d.relative_speed_permille()) /
        1000.0;
    r.alternatives.push_back(std::move(a));
  }
  r.max_runtime = absl::Seconds(job.spec.max_runtime().seconds());
  r.optimize_for = job.spec.optimize() == hac::v1::OPTIMIZE_COST ? scheduler::OptimizeFor::kCost
                                                                 : scheduler::OptimizeFor::kTime;
  r.grace_period = options_.grace;
  return r;
}

namespace {

scheduler::NodeSpec ToNodeSpec(const hac::v1::Node& n) {
  scheduler::NodeSpec spec;
  spec.id = scheduler::NodeId{n.name()};
  spec.pool = n.pool();
  for (const hac::v1::Device& d : n.devices()) {
    if (d.health() == hac::v1::DEVICE_HEALTH_UNHEALTHY) continue;
    spec.devices.push_back({static_cast<int>(d.index()), d.device_class(), d.model(),
                            static_cast<int64_t>(d.memory_bytes())});
  }
  return spec;
}

}  // namespace

absl::Status ClusterManager::Start() {
  ASSIGN_OR_RETURN(std::vector<hac::v1::Node> nodes, store_.ListNodes());
  ASSIGN_OR_RETURN(std::vector<store::JobRecord> jobs, store_.ListUnfinishedJobs());
  ASSIGN_OR_RETURN(auto active, store_.ListActiveAttempts(""));
  const absl::Time mono = clock_.MonotonicNow();
  {
    absl::MutexLock lock(&mu_);
    for (hac::v1::Node& n : nodes) {
      if (n.state() == hac::v1::NODE_STATE_LOST) continue;
      NodeInfo& info = nodes_[n.name()];
      info.admin_state = n.state();
      info.node = std::move(n);
      info.last_heard = mono;  // it has heartbeat_timeout to reconnect
      scheduler::NodeSpec spec = ToNodeSpec(info.node);
      spec.state = scheduler::NodeState::kCordoned;  // no new work until its agent is back
      if (absl::Status s = sched_->AddNode(spec); !s.ok()) {
        HAC_LOG(WARNING) << "node " << info.node.name() << ": " << s.message();
      }
    }
    absl::flat_hash_map<int64_t, const hac::v1::Attempt*> running;
    for (const auto& [job_id, a] : active) running[job_id] = &a;
    for (const store::JobRecord& job : jobs) {
      if (absl::Status s = sched_->Submit(ToRequest(job)); !s.ok()) {
        HAC_LOG(WARNING) << "job " << job.id << ": " << s.message();
        continue;
      }
      auto it = running.find(job.id);
      if (it == running.end()) {
        pending_[job.id] = job;
        continue;
      }
      const hac::v1::Attempt& a = *it->second;
      scheduler::Placement placement;
      for (const hac::v1::DeviceRef& d : a.devices()) {
        if (placement.empty() || placement.back().node.value != d.node()) {
          placement.push_back({scheduler::NodeId{d.node()}, {}});
        }
        placement.back().device_indices.push_back(static_cast<int>(d.index()));
      }
      AttemptInfo info;
      info.job_id = job.id;
      info.attempt = a;
      info.node = a.nodes_size() > 0 ? a.nodes(0) : "";
      info.sched_id = scheduler::AttemptId{a.id()};
      info.max_retries = job.spec.max_retries();
      info.job = job;
      const absl::Time started = absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(
          a.has_start_time() ? a.start_time() : a.assign_time()));
      absl::Status s = sched_->RestoreAttempt(scheduler::JobId{store::JobIdString(job.id)},
                                              info.sched_id, static_cast<int>(a.alternative()),
                                              placement, started);
      if (!s.ok()) HAC_LOG(WARNING) << "attempt " << a.id() << ": " << s.message();
      by_sched_id_[a.id()] = a.id();
      attempts_[a.id()] = std::move(info);
    }
  }
  loop_ = std::thread([this] { Loop(); });
  Wake();
  return absl::OkStatus();
}

void ClusterManager::Stop() {
  {
    absl::MutexLock lock(&wake_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (loop_.joinable()) loop_.join();
}

void ClusterManager::Wake() {
  absl::MutexLock lock(&wake_mu_);
  wake_ = true;
}

absl::Status ClusterManager::ApplySchedulerConfig(const std::string& text) {
  ASSIGN_OR_RETURN(scheduler::SchedulerConfig config, BuildConfig(store_, text));
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(sched_->Reconfigure(config));
  config_text_ = text;
  Wake();
  return absl::OkStatus();
}

absl::Status ClusterManager::ReloadQuotas() {
  std::string text;
  {
    absl::MutexLock lock(&mu_);
    text = config_text_;
  }
  return ApplySchedulerConfig(text);
}

int64_t ClusterManager::passes() const {
  absl::MutexLock lock(&mu_);
  return passes_;
}

void ClusterManager::Loop() {
  absl::Time last_pass = absl::InfinitePast();  // monotonic
  for (;;) {
    {
      absl::MutexLock lock(&wake_mu_);
      wake_mu_.AwaitWithTimeout(
          absl::Condition(
              +[](ClusterManager* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c->wake_mu_) {
                return c->wake_ || c->stopping_;
              },
              this),
          options_.tick);
      // Events closer together than min_pass_interval share the next pass.
      const absl::Duration since = clock_.MonotonicNow() - last_pass;
      if (since < options_.min_pass_interval) {
        wake_mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                                  options_.min_pass_interval - since);
      }
      if (stopping_) return;
      wake_ = false;
    }
    last_pass = clock_.MonotonicNow();
    Pass();
  }
}

void ClusterManager::Pass() {
  absl::MutexLock lock(&mu_);
  ++passes_;
  TakeSubmitted();
  CheckLiveness();
  std::vector<PendingPlacement> placements;
  for (const scheduler::Decision& d : sched_->Schedule(clock_.Now())) {
    if (const auto* place = std::get_if<scheduler::PlaceDecision>(&d)) {
      if (std::optional<PendingPlacement> p = Prepare(*place)) placements.push_back(std::move(*p));
    } else {
      Preempt(std::get<scheduler::PreemptDecision>(d));
    }
  }
  if (!placements.empty()) Place(std::move(placements));
  // Reasons cost a look at every pending job: at most once per tick, not on every event.
  const absl::Time mono = clock_.MonotonicNow();
  if (mono - reasons_updated_ >= options_.tick) {
    reasons_updated_ = mono;
    UpdateReasons();
  }
}

void ClusterManager::CheckLiveness() {
  const absl::Time mono = clock_.MonotonicNow();
  for (auto& [name, info] : nodes_) {
    if (info.node.state() == hac::v1::NODE_STATE_LOST) continue;
    if (info.session != nullptr || mono - info.last_heard < options_.heartbeat_timeout) continue;
    HAC_LOG(WARNING) << "node " << name << " lost: no heartbeat for "
                     << absl::FormatDuration(mono - info.last_heard);
    info.node.set_state(hac::v1::NODE_STATE_LOST);
    if (absl::Status s = store_.PutNode(info.node); !s.ok()) HAC_LOG(ERROR) << s.message();
    std::vector<std::string> lost;
    for (const auto& [id, a] : attempts_) {
      if (a.node == name) lost.push_back(id);
    }
    hac::v1::ExitStatus none;
    for (const std::string& id : lost) {
      EndAttempt(id, hac::v1::ATTEMPT_STATE_LOST, none, absl::StrCat("node ", name, " lost"));
    }
    absl::StatusOr<std::vector<scheduler::AttemptId>> left =
        sched_->RemoveNode(scheduler::NodeId{name});
    (void)left;  // every attempt on it was ended above
  }
}

std::optional<ClusterManager::PendingPlacement> ClusterManager::Prepare(
    const scheduler::PlaceDecision& d) {
  absl::StatusOr<int64_t> job_id = store::ParseJobId(d.job.value);
  auto pending = job_id.ok() ? pending_.find(*job_id) : pending_.end();
  if (pending == pending_.end()) {
    (void)sched_->AttemptFinished(d.attempt, scheduler::AttemptEnd::kDone);
    return std::nullopt;
  }
  const store::JobRecord& job = pending->second;
  const uint32_t number = job.attempt_count + 1;
  hac::v1::Attempt a;
  a.set_number(number);
  a.set_id(AttemptIdString(job.id, number));
  a.set_state(hac::v1::ATTEMPT_STATE_ASSIGNED);
  a.set_alternative(static_cast<uint32_t>(d.alternative));
  *a.mutable_assign_time() = ToProtoTime(clock_.Now());
  for (const scheduler::NodeDevices& nd : d.placement) {
    a.add_nodes(nd.node.value);
    const NodeInfo& n = nodes_[nd.node.value];
    for (int idx : nd.device_indices) {
      hac::v1::DeviceRef* ref = a.add_devices();
      ref->set_node(nd.node.value);
      ref->set_index(static_cast<uint32_t>(idx));
      for (const hac::v1::Device& dev : n.node.devices()) {
        if (static_cast<int>(dev.index()) != idx) continue;
        ref->set_device_class(dev.device_class());
        ref->set_model(dev.model());
        ref->set_uuid(dev.uuid());
      }
    }
  }
  PendingPlacement p;
  p.decision = d;
  p.change.job_id = job.id;
  p.change.attempt = a;
  p.change.node = d.placement.empty() ? "" : d.placement[0].node.value;
  p.change.job_state = hac::v1::JOB_STATE_ASSIGNED;
  p.change.job_reason = absl::StrCat("assigned to ", absl::StrJoin(a.nodes(), ","));
  p.change.new_attempt = true;
  p.info.job_id = job.id;
  p.info.attempt = a;
  p.info.node = p.change.node;
  p.info.sched_id = d.attempt;
  p.info.max_retries = job.spec.max_retries();
  p.info.job = job;
  p.info.job.attempt_count = number;
  reasons_.erase(p.info.job_id);
  pending_.erase(pending);  // `job` refers into it: last
  return p;
}

void ClusterManager::Place(std::vector<PendingPlacement> placements) {
  std::vector<store::AttemptChange> changes;
  for (const PendingPlacement& p : placements) changes.push_back(p.change);
  absl::StatusOr<std::vector<store::JobTransition>> committed =
      store_.ApplyAttemptChanges(changes);
  if (!committed.ok()) {
    HAC_LOG(ERROR) << "cannot commit " << placements.size()
                   << " placements: " << committed.status().message();
    for (PendingPlacement& p : placements) {
      (void)sched_->AttemptFinished(p.decision.attempt, scheduler::AttemptEnd::kRequeue);
      pending_[p.info.job_id] = p.info.job;
      pending_[p.info.job_id].attempt_count = p.info.attempt.number() - 1;
    }
    return;
  }
  for (size_t i = 0; i < placements.size(); ++i) {
    PendingPlacement& p = placements[i];
    jobs_.JobChanged((*committed)[i]);
    hac::v1::ServerMessage msg;
    hac::v1::Assignment* as = msg.mutable_assignment();
    as->set_attempt_id(p.info.attempt.id());
    as->set_job_id(store::JobIdString(p.info.job_id));
    as->set_tenant(p.info.job.tenant);
    *as->mutable_spec() = p.info.job.spec;
    as->set_attempt_number(p.info.attempt.number());
    for (const hac::v1::DeviceRef& ref : p.info.attempt.devices()) {
      as->add_device_indices(ref.index());
    }
    by_sched_id_[p.decision.attempt.value] = p.info.attempt.id();
    const std::string node = p.info.node;
    attempts_[p.info.attempt.id()] = std::move(p.info);
    Send(node, std::move(msg));
  }
}

void ClusterManager::Preempt(const scheduler::PreemptDecision& d) {
  auto id = by_sched_id_.find(d.attempt.value);
  if (id == by_sched_id_.end()) return;
  auto it = attempts_.find(id->second);
  if (it == attempts_.end()) return;
  hac::v1::ServerMessage msg;
  hac::v1::CancelAttempt* c = msg.mutable_cancel();
  c->set_attempt_id(it->first);
  c->mutable_grace()->set_seconds(absl::ToInt64Seconds(d.grace));
  c->set_reason(absl::StrCat("preempted by ", d.for_job.value));
  c->set_final_state(hac::v1::ATTEMPT_STATE_PREEMPTED);
  Send(it->second.node, std::move(msg));
}

void ClusterManager::UpdateReasons() {
  std::vector<std::pair<int64_t, std::string>> changed;
  auto refresh = [&](int64_t job_id, store::JobRecord& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::StatusOr<std::string> reason =
        sched_->PendingReason(scheduler::JobId{store::JobIdString(job_id)});
    if (!reason.ok() || reason->empty()) return;
    std::string& last = reasons_[job_id];
    if (last == *reason) return;
    last = *reason;
    job.reason = *reason;
    changed.emplace_back(job_id, *reason);
  };
  // New to the queue: what the store says of them is from before the scheduler saw them.
  for (int64_t id : std::exchange(fresh_reasons_, {})) {
    auto it = pending_.find(id);
    if (it != pending_.end()) refresh(it->first, it->second);
  }
  auto it = pending_.upper_bound(reasons_cursor_);
  for (size_t n = std::min(pending_.size(), kReasonsPerTick); n > 0; --n) {
    if (it == pending_.end()) it = pending_.begin();
    refresh(it->first, it->second);
    reasons_cursor_ = it->first;
    ++it;
  }
  if (!changed.empty()) store_.SetJobReasonsAsync(std::move(changed));
}

void ClusterManager::Send(const std::string& node, hac::v1::ServerMessage msg) {
  auto it = nodes_.find(node);
  if (it == nodes_.end() || it->second.session == nullptr) return;  // sent again on reconnect
  it->second.session->Push(std::move(msg));
}

void ClusterManager::CommitAsync(store::AttemptChange change, std::shared_ptr<Session> ack,
                                 bool deferrable) {
  const std::string attempt_id = change.attempt.id();
  const std::string node = change.node;
  store_.ApplyAttemptChangeAsync(
      change, [this, change, ack, attempt_id, node](
                  absl::StatusOr<store::AttemptChangeResult> committed) {
        // Runs on the store's writer thread: never takes mu_.
        if (!committed.ok()) {
          HAC_LOG(ERROR) << "attempt " << attempt_id << ": " << committed.status().message();
          if (ack != nullptr) {
            absl::MutexLock lock(&failed_mu_);
            failed_[attempt_id] = change;
          }
          return;
        }
        LogUsageResult(node, 0, committed->usage);
        jobs_.JobChanged(committed->job);
        if (ack != nullptr) {
          hac::v1::ServerMessage msg;
          msg.mutable_status_ack()->set_attempt_id(attempt_id);
          ack->Push(std::move(msg));
        }
      },
      deferrable);
}

void ClusterManager::EndAttempt(const std::string& attempt_id, hac::v1::AttemptState state,
                                const hac::v1::ExitStatus& exit, const std::string& message,
                                std::shared_ptr<Session> ack,
                                std::vector<store::UsageCounterRecord> final_usage) {
  auto it = attempts_.find(attempt_id);
  if (it == attempts_.end()) return;
  AttemptInfo info = std::move(it->second);
  attempts_.erase(it);
  by_sched_id_.erase(info.sched_id.value);

  hac::v1::Attempt& a = info.attempt;
  a.set_state(state);
  *a.mutable_end_time() = ToProtoTime(clock_.Now());
  *a.mutable_exit() = exit;
  a.set_message(message);

  store::AttemptChange change;
  change.job_id = info.job_id;
  change.attempt = a;
  change.node = info.node;
  change.final_usage = std::move(final_usage);
  change.usage_interval = options_.ledger_interval;
  bool requeue = false;
  switch (state) {
    case hac::v1::ATTEMPT_STATE_SUCCEEDED:
      change.job_state = hac::v1::JOB_STATE_SUCCEEDED;
      change.job_reason = exit.message().empty() ? "exited 0" : exit.message();
      break;
    case hac::v1::ATTEMPT_STATE_FAILED:
    case hac::v1::ATTEMPT_STATE_LOST:
      // Attempt n is retry n-1: requeue while retries remain.
      requeue = a.number() <= info.max_retries;
      change.job_state = requeue ? hac::v1::JOB_STATE_PENDING : hac::v1::JOB_STATE_FAILED;
      change.job_reason = requeue ? absl::StrCat("waiting: retrying after attempt ", a.number(),
                                                 " ", AttemptStateName(state), ": ", message)
                                  : absl::StrCat("attempt ", a.number(), " ",
                                                 AttemptStateName(state), ": ", message);
      break;
    case hac::v1::ATTEMPT_STATE_PREEMPTED:
      requeue = true;
      change.job_state = hac::v1::JOB_STATE_PENDING;
      change.job_reason = absl::StrCat("waiting: requeued after ", message);
      break;
    default:  // CANCELLED
      change.job_state = hac::v1::JOB_STATE_CANCELLED;
      change.job_reason = message;
      break;
  }
  // A job cancelled while running stays cancelled (the store keeps it so too).
  if (cancelled_.erase(info.job_id) > 0) requeue = false;
  (void)sched_->AttemptFinished(
      info.sched_id, requeue ? scheduler::AttemptEnd::kRequeue : scheduler::AttemptEnd::kDone);
  if (requeue) {
    store::JobRecord job = info.job;
    job.state = hac::v1::JOB_STATE_PENDING;
    job.reason = change.job_reason;
    job.attempt_count = a.number();
    pending_[info.job_id] = std::move(job);
    fresh_reasons_.push_back(info.job_id);
  }
  // Deferrable: nobody waits for it but the agent, whose final status stays in its journal
  // until the StatusAck, so a crash before the commit loses nothing it does not report again.
  // The devices are free in the scheduler already. Ends then share the commits of submissions
  // and placements (a third fewer commits per trivial job, 12% less hacd CPU per job).
  CommitAsync(std::move(change), std::move(ack), /*deferrable=*/true);
  Wake();
}

// ---- JobListener ----

void ClusterManager::JobSubmitted(const store::JobRecord& job) {
  absl::MutexLock lock(&wake_mu_);
  submitted_.push_back(job);
  wake_ = true;
}

void ClusterManager::TakeSubmitted() {
  std::vector<store::JobRecord> jobs;
  {
    absl::MutexLock lock(&wake_mu_);
    jobs.swap(submitted_);
  }
  for (store::JobRecord& job : jobs) {
    if (absl::Status s = sched_->Submit(ToRequest(job)); !s.ok()) {
      HAC_LOG(WARNING) << "scheduler refused job " << job.id << ": " << s.message();
      continue;
    }
    const int64_t id = job.id;
    pending_[id] = std::move(job);
    fresh_reasons_.push_back(id);
  }
}

void ClusterManager::JobCancelled(const store::JobRecord& job) {
  absl::MutexLock lock(&mu_);
  TakeSubmitted();  // a job cancelled right after its submission is in the scheduler to cancel
  (void)sched_->Cancel(scheduler::JobId{store::JobIdString(job.id)});
  pending_.erase(job.id);
  reasons_.erase(job.id);
  for (const auto& [id, a] : attempts_) {
    if (a.job_id != job.id) continue;
    cancelled_.insert(job.id);
    hac::v1::ServerMessage msg;
    hac::v1::CancelAttempt* c = msg.mutable_cancel();
    c->set_attempt_id(id);
    c->mutable_grace()->set_seconds(absl::ToInt64Seconds(options_.grace));
    c->set_reason(job.reason);
    c->set_final_state(hac::v1::ATTEMPT_STATE_CANCELLED);
    Send(a.node, std::move(msg));
  }
  Wake();
}

absl::StatusOr<hac::v1::DryRunResult> ClusterManager::DryRun(const store::JobRecord& job) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(scheduler::DryRunResult r, sched_->DryRun(ToRequest(job), clock_.Now()));
  hac::v1::DryRunResult out;
  out.set_placeable_now(r.placeable_now);
  out.set_reason(r.reason);
  if (r.estimated_start != absl::InfiniteFuture()) {
    *out.mutable_estimated_start() = ToProtoTime(r.estimated_start);
  }
  for (const scheduler::NodeDevices& nd : r.placement) {
    for (int idx : nd.device_indices) {
      hac::v1::DeviceRef* ref = out.add_devices();
      ref->set_node(nd.node.value);
      ref->set_index(static_cast<uint32_t>(idx));
      auto n = nodes_.find(nd.node.value);
      if (n == nodes_.end()) continue;
      for (const hac::v1::Device& dev : n->second.node.devices()) {
        if (static_cast<int>(dev.index()) != idx) continue;
        ref->set_device_class(dev.device_class());
        ref->set_model(dev.model());
        ref->set_uuid(dev.uuid());
      }
    }
  }
  return out;
}

// ---- NodeService ----

absl::StatusOr<hac::v1::RegisterNodeResponse> ClusterManager::RegisterNode(
    const Principal& caller, const hac::v1::RegisterNodeRequest& req) {
  if (caller.role != Role::kJoin) {
    return absl::PermissionDeniedError(
        "RegisterNode needs a join token (hacctl join-token create)");
  }
  RETURN_IF_ERROR(ValidateName63("name", req.name()));
  RETURN_IF_ERROR(ValidateName63("pool", req.pool()));
  if (!caller.pool.empty() && caller.pool != req.pool()) {
    return absl::PermissionDeniedError(
        absl::StrCat("pool: this join token is for pool \"", caller.pool, "\""));
  }
  if (req.devices_size() > 256) {
    return absl::InvalidArgumentError("devices: at most 256 devices per node");
  }
  for (int i = 0; i < req.devices_size(); ++i) {
    const hac::v1::Device& d = req.devices(i);
    if (d.device_class() != "gpu" && d.device_class() != "npu") {
      return absl::InvalidArgumentError(
          absl::StrCat("devices[", i, "].device_class: must be gpu or npu"));
    }
    for (int k = 0; k < i; ++k) {
      if (req.devices(k).index() == d.index()) {
        return absl::InvalidArgumentError(absl::StrCat("devices[", i, "].index: duplicate"));
      }
    }
  }
  hac::v1::Node node;
  node.set_name(req.name());
  node.set_pool(req.pool());
  node.set_state(hac::v1::NODE_STATE_READY);
  *node.mutable_devices() = req.devices();
  for (hac::v1::Device& d : *node.mutable_devices()) {
    d.clear_attempt_id();
    if (d.health() == hac::v1::DEVICE_HEALTH_UNSPECIFIED) d.set_health(hac::v1::DEVICE_HEALTH_HEALTHY);
  }
  *node.mutable_labels() = req.labels();
  node.set_agent_version(req.agent_version());
  *node.mutable_register_time() = ToProtoTime(clock_.Now());

  {
    // A node that rejoins under the same name with attempts still recorded keeps them until its
    // session reconciles; its devices are replaced.
    absl::MutexLock lock(&mu_);
    auto it = nodes_.find(req.name());
    bool busy = false;
    for (const auto& [id, a] : attempts_) busy |= a.node == req.name();
    if (it != nodes_.end() && busy && it->second.node.state() != hac::v1::NODE_STATE_LOST) {
      node.set_state(it->second.node.state());
    } else {
      if (it != nodes_.end()) (void)sched_->RemoveNode(scheduler::NodeId{req.name()});
      scheduler::NodeSpec spec = ToNodeSpec(node);
      spec.state = scheduler::NodeState::kCordoned;  // until its session starts
      RETURN_IF_ERROR(sched_->AddNode(spec));
    }
    RETURN_IF_ERROR(store_.PutNode(node));
    NodeInfo& info = nodes_[req.name()];
    info.node = node;
    if (info.admin_state == hac::v1::NODE_STATE_LOST ||
        info.admin_state == hac::v1::NODE_STATE_UNSPECIFIED) {
      info.admin_state = hac::v1::NODE_STATE_READY;
    }
    info.last_heard = clock_.MonotonicNow();
  }
  store::TokenRecord tok;
  tok.role = Role::kAgent;
  tok.node = req.name();
  ASSIGN_OR_RETURN(auto issued, auth_.Issue(tok));
  HAC_LOG(INFO) << "node " << req.name() << " joined pool " << req.pool() << " with "
                << req.devices_size() << " devices";
  hac::v1::RegisterNodeResponse resp;
  resp.set_node_token(issued.first);
  resp.mutable_heartbeat_interval()->set_seconds(absl::ToInt64Seconds(options_.heartbeat_interval));
  resp.mutable_usage_interval()->set_seconds(absl::ToInt64Seconds(options_.usage_interval));
  return resp;
}

void ClusterManager::SetSchedulerNodeState(const std::string& node) {
  NodeInfo& info = nodes_[node];
  scheduler::NodeState s = scheduler::NodeState::kReady;
  if (info.session == nullptr || info.admin_state == hac::v1::NODE_STATE_CORDONED) {
    s = scheduler::NodeState::kCordoned;
  } else if (info.admin_state == hac::v1::NODE_STATE_DRAINING) {
    s = scheduler::NodeState::kDraining;
  }
  (void)sched_->SetNodeState(scheduler::NodeId{node}, s);
}

void ClusterManager::HandleHello(const std::string& node, const std::shared_ptr<Session>& session,
                                 const hac::v1::AgentHello& hello) {
  NodeInfo& info = nodes_[node];
  if (info.session != nullptr) info.session->Close();  // a newer session replaces it
  info.session = session;
  info.last_heard = clock_.MonotonicNow();
  info.node.set_state(info.admin_state == hac::v1::NODE_STATE_UNSPECIFIED
                          ? hac::v1::NODE_STATE_READY
                          : info.admin_state);
  for (const hac::v1::Device& d : hello.devices()) {
    for (hac::v1::Device& mine : *info.node.mutable_devices()) {
      if (mine.index() == d.index() && d.health() != hac::v1::DEVICE_HEALTH_UNSPECIFIED) {
        mine.set_health(d.health());
      }
    }
  }
  SetSchedulerNodeState(node);

  hac::v1::ServerMessage reconcile;
  hac::v1::Reconcile* r = reconcile.mutable_reconcile();
  absl::flat_hash_map<std::string, bool> reported;
  std::vector<hac::v1::ServerMessage> acks;
  for (const hac::v1::RunningAttempt& ra : hello.attempts()) {
    reported[ra.attempt_id()] = true;
    auto it = attempts_.find(ra.attempt_id());
    const bool ours = it != attempts_.end() && it->second.node == node;
    if (IsFinalAttempt(ra.state())) {
      if (ours) {
        hac::v1::AttemptStatus st;
        st.set_attempt_id(ra.attempt_id());
        st.set_state(ra.state());
        *st.mutable_exit() = ra.exit();
        HandleStatus(node, st);
      } else {
        // Already recorded (or never ours): acknowledge so the agent forgets it.
        hac::v1::ServerMessage ack;
        ack.mutable_status_ack()->set_attempt_id(ra.attempt_id());
        acks.push_back(std::move(ack));
      }
      continue;
    }
    if (ours) {
      r->add_keep_attempt_ids(ra.attempt_id());
      if (ra.state() == hac::v1::ATTEMPT_STATE_RUNNING &&
          it->second.attempt.state() == hac::v1::ATTEMPT_STATE_ASSIGNED) {
        hac::v1::AttemptStatus st;
        st.set_attempt_id(ra.attempt_id());
        st.set_state(hac::v1::ATTEMPT_STATE_RUNNING);
        HandleStatus(node, st);
      }
    } else {
      r->add_kill_attempt_ids(ra.attempt_id());
    }
  }
  // Attempts the server expected on this node that the agent does not have.
  std::vector<std::string> vanished;
  std::vector<std::string> resend;
  for (const auto& [id, a] : attempts_) {
    if (a.node != node || reported.count(id)) continue;
    if (a.attempt.state() == hac::v1::ATTEMPT_STATE_ASSIGNED) {
      resend.push_back(id);  // assigned while the agent was away: send it now
    } else {
      vanished.push_back(id);
    }
  }
  hac::v1::ExitStatus none;
  for (const std::string& id : vanished) {
    EndAttempt(id, hac::v1::ATTEMPT_STATE_LOST, none,
               absl::StrCat("attempt no longer on node ", node, " after its agent reconnected"));
  }
  session->Push(std::move(reconcile));
  for (hac::v1::ServerMessage& ack : acks) session->Push(std::move(ack));
  for (const std::string& id : resend) {
    const AttemptInfo& a = attempts_[id];
    absl::StatusOr<store::JobRecord> job = store_.GetJob(a.job_id);
    if (!job.ok()) continue;
    hac::v1::ServerMessage msg;
    hac::v1::Assignment* as = msg.mutable_assignment();
    as->set_attempt_id(id);
    as->set_job_id(store::JobIdString(a.job_id));
    as->set_tenant(job->tenant);
    *as->mutable_spec() = job->spec;
    as->set_attempt_number(a.attempt.number());
    for (const hac::v1::DeviceRef& ref : a.attempt.devices()) as->add_device_indices(ref.index());
    session->Push(std::move(msg));
  }
  (void)store_.PutNode(info.node);
  Wake();
}

void ClusterManager::HandleStatus(const std::string& node, const hac::v1::AttemptStatus& st) {
  std::shared_ptr<Session> session = nodes_[node].session;
  auto it = attempts_.find(st.attempt_id());
  if (it == attempts_.end() || it->second.node != node) {
    if (it != attempts_.end()) {
      HAC_LOG(WARNING) << "node " << node << " reported attempt " << st.attempt_id()
                       << " of node " << it->second.node << ": refused";
      return;
    }
    // Already ended. If its commit failed, try again; else acknowledge so the agent forgets it.
    std::optional<store::AttemptChange> retry;
    {
      absl::MutexLock lock(&failed_mu_);
      auto f = failed_.find(st.attempt_id());
      if (f != failed_.end() && f->second.node == node) {
        retry = std::move(f->second);
        failed_.erase(f);
      }
    }
    if (retry) {
      CommitAsync(std::move(*retry), session);
      return;
    }
    hac::v1::ServerMessage ack;
    ack.mutable_status_ack()->set_attempt_id(st.attempt_id());
    Send(node, std::move(ack));
    return;
  }
  if (st.state() == hac::v1::ATTEMPT_STATE_RUNNING) {
    AttemptInfo& a = it->second;
    if (a.attempt.state() != hac::v1::ATTEMPT_STATE_ASSIGNED) return;
    a.attempt.set_state(hac::v1::ATTEMPT_STATE_RUNNING);
    const absl::Time started =
        st.has_time() ? absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(st.time()))
                      : clock_.Now();
    *a.attempt.mutable_start_time() = ToProtoTime(started);
    store::AttemptChange change;
    change.job_id = a.job_id;
    change.attempt = a.attempt;
    change.node = a.node;
    change.job_state = hac::v1::JOB_STATE_RUNNING;
    change.job_reason = absl::StrCat("running on ", absl::StrJoin(a.attempt.nodes(), ","));
    // Not waited for (so it may share a later commit): if it is lost in a crash, the agent's
    // next hello says RUNNING again.
    CommitAsync(std::move(change), nullptr, /*deferrable=*/true);
    (void)sched_->AttemptStarted(a.sched_id, started);
    return;
  }
  if (!IsFinalAttempt(st.state())) return;
  if (it->second.attempt.state() == hac::v1::ATTEMPT_STATE_ASSIGNED && st.has_start_time()) {
    // It ended before its RUNNING status was sent: the final status says when it started.
    AttemptInfo& a = it->second;
    const absl::Time started =
        absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(st.start_time()));
    *a.attempt.mutable_start_time() = ToProtoTime(started);
    (void)sched_->AttemptStarted(a.sched_id, started);
  }
  std::string message = st.message();
  if (message.empty()) message = st.exit().message();
  // The final counters commit with the final state; the StatusAck goes out once both are
  // durable.
  std::vector<store::UsageCounterRecord> final_usage;
  const AttemptInfo& info = it->second;
  const AttemptOwner owner = OwnerOfAttempt(node, info.job.tenant_id, info.job_id, info.attempt);
  for (const hac::v1::UsageCounter& c : st.final_usage()) {
    if (c.attempt_id() != st.attempt_id()) continue;  // a status speaks for its own attempt only
    if (std::optional<store::UsageCounterRecord> r = UsageRecord(node, owner, c)) {
      final_usage.push_back(std::move(*r));
    }
  }
  EndAttempt(st.attempt_id(), st.state(), st.exit(), message, session, std::move(final_usage));
}

ClusterManager::AttemptOwner ClusterManager::OwnerOfAttempt(const std::string& node,
                                                            int64_t tenant_id, int64_t job_id,
                                                            const hac::v1::Attempt& attempt) {
  AttemptOwner owner;
  owner.tenant_id = tenant_id;
  owner.job_id = store::JobIdString(job_id);
  owner.assign_time =
      absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(attempt.assign_time()));
  for (const hac::v1::DeviceRef& d : attempt.devices()) {
    if (d.node() == node) owner.devices.push_back(d);
  }
  return owner;
}

std::optional<store::UsageCounterRecord> ClusterManager::UsageRecord(
    const std::string& node, const AttemptOwner& owner, const hac::v1::UsageCounter& c) {
  const hac::v1::DeviceRef* device = nullptr;
  for (const hac::v1::DeviceRef& d : owner.devices) {
    if (d.index() == c.device_index()) device = &d;
  }
  if (device == nullptr || c.allocated_ms() < 0 || c.active_ms() < 0) {
    HAC_LOG(WARNING) << "node " << node << " reported usage of device " << c.device_index()
                     << " for attempt " << c.attempt_id()
                     << ", which does not hold it or with negative counters: refused";
    return std::nullopt;
  }
  store::UsageCounterRecord r;
  r.attempt_id = c.attempt_id();
  r.device_index = c.device_index();
  r.allocated_ms = c.allocated_ms();
  r.active_ms = c.active_ms();
  r.final = c.final();
  r.tenant_id = owner.tenant_id;
  r.job_id = owner.job_id;
  r.device_id = device->uuid();
  r.device_class = device->device_class();
  r.device_model = device->model();
  r.assign_time = owner.assign_time;
  return r;
}

void ClusterManager::LogUsageResult(const std::string& node, uint64_t sequence,
                                    const store::UsageRecordResult& result) {
  for (const store::UsageCounterRecord& b : result.backwards) {
    HAC_LOG(WARNING) << "usage counter of " << b.attempt_id << " device " << b.device_index
                     << " from " << node << " went backwards (report " << sequence
                     << "): rejected, the stored counters stay";
  }
  for (const store::UsageCounterRecord& e : result.excess) {
    HAC_LOG(WARNING) << "usage counter of " << e.attempt_id << " device " << e.device_index
                     << " from " << node << " ran ahead of the time since its assignment by "
                     << e.allocated_ms << " ms held and " << e.active_ms << " ms busy (report "
                     << sequence << "): the excess is not billed";
  }
}

std::optional<ClusterManager::AttemptOwner> ClusterManager::OwnerOf(
    const std::string& node, const std::string& attempt_id) {
  {
    absl::MutexLock lock(&mu_);
    auto it = attempts_.find(attempt_id);
    if (it != attempts_.end()) {
      if (it->second.node != node) return std::nullopt;
      return OwnerOfAttempt(node, it->second.job.tenant_id, it->second.job_id,
                            it->second.attempt);
    }
  }
  absl::StatusOr<int64_t> job = store::ParseJobId(attempt_id.substr(0, attempt_id.find('.')));
  if (!job.ok()) return std::nullopt;
  absl::StatusOr<std::vector<hac::v1::Attempt>> list = store_.ListAttempts(*job);
  if (!list.ok()) return std::nullopt;
  for (const hac::v1::Attempt& a : *list) {
    if (a.id() != attempt_id) continue;
    if (a.nodes_size() == 0 || a.nodes(0) != node) return std::nullopt;
    absl::StatusOr<store::JobRecord> record = store_.GetJob(*job);
    if (!record.ok()) return std::nullopt;
    return OwnerOfAttempt(node, record->tenant_id, *job, a);
  }
  return std::nullopt;
}

void ClusterManager::HandleUsage(const std::string& node, const std::shared_ptr<Session>& session,
                                 const hac::v1::UsageReport& report) {
  {
    absl::MutexLock lock(&mu_);
    nodes_[node].last_heard = clock_.MonotonicNow();
  }
  const uint64_t sequence = report.sequence();
  StoreUsage(node, report.counters(), sequence, [session, sequence] {
    hac::v1::ServerMessage msg;
    msg.mutable_usage_ack()->set_sequence(sequence);
    session->Push(std::move(msg));
  });
}

void ClusterManager::StoreUsage(
    const std::string& node, const google::protobuf::RepeatedPtrField<hac::v1::UsageCounter>& in,
    uint64_t sequence, std::function<void()> durable) {
  std::vector<store::UsageCounterRecord> counters;
  absl::flat_hash_map<std::string, std::optional<AttemptOwner>> owners;
  for (const hac::v1::UsageCounter& c : in) {
    auto [it, fresh] = owners.try_emplace(c.attempt_id());
    if (fresh) it->second = OwnerOf(node, c.attempt_id());
    if (!it->second.has_value()) {
      HAC_LOG(WARNING) << "node " << node << " reported usage of attempt " << c.attempt_id()
                       << " it does not own: refused";
      continue;
    }
    if (std::optional<store::UsageCounterRecord> r = UsageRecord(node, *it->second, c)) {
      counters.push_back(std::move(*r));
    }
  }
  if (counters.empty()) {
    if (durable != nullptr) durable();
    return;
  }
  // Not waited for: the session goes on reading while the batch commits, and the ack goes out
  // once it is durable (writes commit in order, so acks do too).
  store_.RecordUsageAsync(
      std::move(counters), clock_.Now(), options_.ledger_interval,
      [node, sequence, durable = std::move(durable)](
          absl::StatusOr<store::UsageRecordResult> result) {
        // Runs on the store's writer thread: never takes mu_.
        if (!result.ok()) {
          // Not acknowledged: the agent sends its latest counters again.
          HAC_LOG(ERROR) << "usage from " << node << ": " << result.status().message();
          return;
        }
        LogUsageResult(node, sequence, *result);
        if (durable != nullptr) durable();
      });
}

absl::Status ClusterManager::RunSession(const Principal& caller, SessionStream& stream) {
  if (caller.role != Role::kAgent) {
    return absl::PermissionDeniedError("Session needs a node credential from RegisterNode");
  }
  hac::v1::AgentMessage first;
  if (!stream.Read(&first)) return absl::CancelledError("agent closed the session");
  if (!first.has_hello()) {
    return absl::FailedPreconditionError("the first message of a session must be a hello");
  }
  if (first.hello().node() != caller.node) {
    return absl::PermissionDeniedError(absl::StrCat("node: this credential is for node \"",
                                                    caller.node, "\""));
  }
  const std::string node = caller.node;
  auto session = std::make_shared<Session>(stream);
  // Final counters of attempts that ended while the agent was away are queued for the store
  // before their final states (HandleHello): writes commit in order, so no state is acknowledged
  // before its usage is durable.
  google::protobuf::RepeatedPtrField<hac::v1::UsageCounter> final_usage;
  for (const hac::v1::RunningAttempt& a : first.hello().attempts()) {
    for (const hac::v1::UsageCounter& c : a.final_usage()) {
      if (c.attempt_id() == a.attempt_id()) *final_usage.Add() = c;
    }
  }
  StoreUsage(node, final_usage, 0, nullptr);
  {
    absl::MutexLock lock(&mu_);
    if (nodes_.find(node) == nodes_.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("node ", node, " is not registered: register it again"));
    }
    if (nodes_[node].node.state() == hac::v1::NODE_STATE_LOST) {
      // A lost node comes back: it is a new node with nothing running.
      NodeInfo& info = nodes_[node];
      scheduler::NodeSpec spec = ToNodeSpec(info.node);
      spec.state = scheduler::NodeState::kCordoned;
      (void)sched_->AddNode(spec);
    }
    HAC_LOG(INFO) << "node " << node << " connected with " << first.hello().attempts_size()
                  << " attempts";
    HandleHello(node, session, first.hello());
  }
  hac::v1::AgentMessage msg;
  while (stream.Read(&msg)) {
    switch (msg.msg_case()) {
      case hac::v1::AgentMessage::kHeartbeat: {
        absl::MutexLock lock(&mu_);
        NodeInfo& info = nodes_[node];
        info.last_heard = clock_.MonotonicNow();
        bool changed = false;
        for (const hac::v1::Device& d : msg.heartbeat().devices()) {
          for (hac::v1::Device& mine : *info.node.mutable_devices()) {
            if (mine.index() == d.index() && mine.health() != d.health() &&
                d.health() != hac::v1::DEVICE_HEALTH_UNSPECIFIED) {
              mine.set_health(d.health());
              changed = true;
            }
          }
        }
        if (changed) (void)store_.PutNode(info.node);
        break;
      }
      case hac::v1::AgentMessage::kStatus: {
        absl::MutexLock lock(&mu_);
        nodes_[node].last_heard = clock_.MonotonicNow();
        HandleStatus(node, msg.status());
        break;
      }
      case hac::v1::AgentMessage::kUsage:
        HandleUsage(node, session, msg.usage());
        break;
      case hac::v1::AgentMessage::kLog: {
        const hac::v1::AttemptLog& l = msg.log();
        if (!OwnerOf(node, l.attempt_id()).has_value()) break;
        if (absl::Status s = logs_.Append(l.attempt_id(), l.stream(), l.offset(), l.data(),
                                          l.truncated());
            !s.ok()) {
          HAC_LOG(WARNING) << "log of " << l.attempt_id() << ": " << s.message();
        }
        break;
      }
      default:
        break;
    }
  }
  {
    absl::MutexLock lock(&mu_);
    NodeInfo& info = nodes_[node];
    if (info.session == session) {
      info.session = nullptr;
      info.last_heard = clock_.MonotonicNow();
      SetSchedulerNodeState(node);
      HAC_LOG(INFO) << "node " << node << " disconnected";
    }
  }
  // The stream belongs to this call: the writer must be done with it before returning.
  session->Finish();
  return absl::OkStatus();
}

// ---- PoolService (nodes) ----

hac::v1::Node ClusterManager::ViewFor(const Principal& caller, const NodeInfo& n) const {
  hac::v1::Node out = n.node;
  absl::flat_hash_map<uint32_t, std::string> holder;
  for (const auto& [id, a] : attempts_) {
    for (const hac::v1::DeviceRef& d : a.attempt.devices()) {
      if (d.node() == out.name()) holder[d.index()] = id;
    }
  }
  for (hac::v1::Device& d : *out.mutable_devices()) {
    auto h = holder.find(d.index());
    if (h == holder.end()) continue;
    // Tenants see that a device is used, not by whose attempt.
    d.set_attempt_id(caller.is_admin() ? h->second : "in use");
  }
  const absl::Duration ago = clock_.MonotonicNow() - n.last_heard;
  *out.mutable_last_heartbeat() = ToProtoTime(clock_.Now() - ago);
  return out;
}

absl::StatusOr<hac::v1::ListNodesResponse> ClusterManager::ListNodes(
    const Principal& caller, const hac::v1::ListNodesRequest& req) {
  RETURN_IF_ERROR(RequireTenantOrAdmin(caller));
  absl::MutexLock lock(&mu_);
  hac::v1::ListNodesResponse resp;
  for (const auto& [name, n] : nodes_) {
    if (!req.pool().empty() && n.node.pool() != req.pool()) continue;
    *resp.add_nodes() = ViewFor(caller, n);
  }
  return resp;
}

absl::StatusOr<hac::v1::Node> ClusterManager::GetNode(const Principal& caller,
                                                      absl::string_view name) {
  RETURN_IF_ERROR(RequireTenantOrAdmin(caller));
  absl::MutexLock lock(&mu_);
  auto it = nodes_.find(std::string(name));
  if (it == nodes_.end()) return absl::NotFoundError(absl::StrCat("node ", name, " not found"));
  return ViewFor(caller, it->second);
}

absl::StatusOr<hac::v1::Node> ClusterManager::SetNodeState(const Principal& caller,
                                                           absl::string_view name,
                                                           hac::v1::NodeState state) {
  RETURN_IF_ERROR(RequireAdmin(caller));
  absl::MutexLock lock(&mu_);
  auto it = nodes_.find(std::string(name));
  if (it == nodes_.end()) return absl::NotFoundError(absl::StrCat("node ", name, " not found"));
  if (it->second.node.state() == hac::v1::NODE_STATE_LOST) {
    return absl::FailedPreconditionError(absl::StrCat("node ", name, " is lost"));
  }
  it->second.admin_state = state;
  it->second.node.set_state(state);
  RETURN_IF_ERROR(store_.PutNode(it->second.node));
  SetSchedulerNodeState(std::string(name));
  if (state == hac::v1::NODE_STATE_DRAINING) {
    hac::v1::ServerMessage msg;
    msg.mutable_drain()->set_reason("drained by an operator");
    Send(std::string(name), std::move(msg));
  }
  Wake();
  return ViewFor(caller, it->second);
}

}  // namespace hac::server
