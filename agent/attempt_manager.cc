#include "agent/attempt_manager.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "google/protobuf/util/time_util.h"

namespace hac::agent {
namespace {

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* ts) {
  int64_t ns = absl::ToUnixNanos(t);
  ts->set_seconds(ns / 1'000'000'000);
  ts->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
}

std::string BootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

v1::DeviceHealth HealthToProto(device::Health h) {
  return h == device::Health::kHealthy ? v1::DEVICE_HEALTH_HEALTHY : v1::DEVICE_HEALTH_UNHEALTHY;
}

bool IsExecutable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }


// The UsageReport message of a batch of counters.
v1::AgentMessage UsageMessage(const UsageBatch& batch) {
  v1::AgentMessage m;
  v1::UsageReport* r = m.mutable_usage();
  r->set_sequence(batch.sequence);
  SetTimestamp(batch.time, r->mutable_time());
  for (const UsageCounterValue& c : batch.counters) {
    v1::UsageCounter* pc = r->add_counters();
    pc->set_attempt_id(c.attempt_id);
    pc->set_device_index(c.device_index);
    pc->set_allocated_ms(c.allocated_ms);
    pc->set_active_ms(c.active_ms);
    pc->set_final(c.final);
  }
  return m;
}

}  // namespace

std::vector<v1::Device> DescribeDevices(const NodeDevices& devices) {
  std::vector<v1::Device> out;
  for (int i = 0; i < devices.size(); ++i) {
    const device::DeviceProperties& p = devices.properties(i);
    device::DeviceStateSnapshot s = devices.Snapshot(i);
    v1::Device d;
    d.set_index(i);
    d.set_device_class(device::DeviceClassName(p.device_class));
    d.set_backend(p.backend_name());
    d.set_model(p.model_name());
    d.set_uuid(p.uuid_string());
    d.set_memory_bytes(p.memory_bytes);
    d.set_compute_units(p.compute_units);
    d.set_health(HealthToProto(s.health));
    out.push_back(std::move(d));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<AttemptManager>> AttemptManager::Create(Options options,
                                                                       NodeDevices* devices,
                                                                       SendFn send) {
  if (options.clock == nullptr) return absl::InvalidArgumentError("AttemptManager: clock required");
  if (devices == nullptr) return absl::InvalidArgumentError("AttemptManager: devices required");
  if (options.state_dir.empty()) return absl::InvalidArgumentError("--state-dir is required");
  if (options.work_dir.empty()) options.work_dir = options.state_dir + "/work";
  if (options.first_sequence == 0) {
    options.first_sequence = static_cast<uint64_t>(absl::ToUnixMillis(options.clock->Now()));
  }
  for (const std::string& dir :
       {options.state_dir, options.state_dir + "/logs", options.work_dir}) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create directory ", dir, ": ", ec.message()));
    }
  }
  std::unique_ptr<AttemptManager> manager(
      new AttemptManager(std::move(options), devices, std::move(send)));
  Supervisor::Options sup;
  sup.log_dir = manager->options_.state_dir + "/logs";
  sup.log_cap_bytes = manager->options_.log_cap_bytes;
  sup.clock = manager->options_.clock;
  AttemptManager* raw = manager.get();
  Supervisor::Callbacks callbacks;
  callbacks.on_output = [raw](const OutputChunk& chunk) { raw->OnOutput(chunk); };
  callbacks.on_exit = [raw](const std::string& id, const ExitInfo& info) { raw->OnExit(id, info); };
  ASSIGN_OR_RETURN(manager->finished_,
                   FinalStatusStore::Create(manager->options_.state_dir + "/finished"));
  manager->running_ = Journal::Open(manager->options_.state_dir + "/running");
  ASSIGN_OR_RETURN(manager->supervisor_, Supervisor::Create(sup, std::move(callbacks)));
  manager->KillLeftovers();
  devices->ResetAll();
  manager->LoadFinished();
  return manager;
}

AttemptManager::AttemptManager(Options options, NodeDevices* devices, SendFn send)
    : options_(std::move(options)),
      devices_(devices),
      send_(std::move(send)),
      boot_id_(BootId()),
      work_dirs_(options_.work_dir),
      meter_(*options_.clock, options_.first_sequence),
      reported_health_(devices->size(), device::Health::kHealthy) {}

AttemptManager::~AttemptManager() {
  // The Supervisor kills what runs; its exit callbacks still reset the devices.
  supervisor_.reset();
}

void AttemptManager::KillLeftovers() {
  const std::string& boot = boot_id_;
  auto kill_group = [&](const std::string& attempt_id, const std::string& record) {
    std::istringstream in(record);
    std::string pgid_text, boot_id;
    in >> pgid_text >> boot_id;
    int pgid = 0;
    // A record from another boot names a process group that no longer exists (or a stranger's).
    if (absl::SimpleAtoi(pgid_text, &pgid) && pgid > 1 && boot_id == boot) {
      if (kill(-pgid, SIGKILL) == 0) {
        HAC_LOG(WARNING) << "killed process group " << pgid << " of attempt " << attempt_id
                         << " left by a previous agent";
      }
    }
  };
  for (const auto& [id, record] : running_->Load()) {
    kill_group(id, record);
    running_->Remove(id);
  }
  // Records of the former layout, a file per running attempt.
  std::error_code ec;
  const std::string legacy = options_.state_dir + "/attempts";
  for (const auto& entry : std::filesystem::directory_iterator(legacy, ec)) {
    std::ifstream in(entry.path());
    std::stringstream ss;
    ss << in.rdbuf();
    kill_group(entry.path().filename().string(), ss.str());
    std::filesystem::remove(entry.path(), ec);
  }
  std::filesystem::remove(legacy, ec);
}

void AttemptManager::LoadFinished() {
  absl::MutexLock lock(&mu_);
  for (FinalStatus& f : finished_->Load()) {
    const std::string id = f.status.attempt_id();
    HAC_LOG(INFO) << "attempt " << id << " ended " << v1::AttemptState_Name(f.status.state())
                  << " before a previous agent's status was acknowledged: reporting it again";
    Attempt& attempt = attempts_[id];
    attempt.id = id;
    attempt.final_status = std::move(f.status);
    attempt.final_usage = std::move(f.final_usage);
  }
}

UsageMeter::BusyFn AttemptManager::BusyFn() const {
  NodeDevices* devices = devices_;
  return [devices](uint32_t index) {
    if (static_cast<int>(index) >= devices->size()) return absl::ZeroDuration();
    return devices->Snapshot(static_cast<int>(index)).busy;
  };
}

absl::StatusOr<LaunchSpec> AttemptManager::BuildLaunch(const v1::Assignment& a,
                                                       Attempt& attempt) {
  LaunchSpec spec;
  spec.attempt_id = a.attempt_id();
  const v1::JobSpec& job = a.spec();
  if (job.has_command()) {
    for (const std::string& arg : job.command().argv()) spec.argv.push_back(arg);
    for (const auto& [name, value] : job.command().env()) spec.env[name] = value;
    spec.working_dir = job.command().working_dir();
  } else if (job.has_workload()) {
    const std::string& name = job.workload().name();
    if (name != "gemm" && name != "train-mlp" && name != "infer") {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown workload '", name, "' (expected gemm, train-mlp or infer)"));
    }
    std::string binary = "hac-" + name;
    std::string program = binary;  // PATH lookup when no directory has it
    for (const std::string& dir : options_.workload_dirs) {
      if (IsExecutable(dir + "/" + binary)) {
        program = dir + "/" + binary;
        break;
      }
    }
    spec.argv.push_back(program);
    for (const std::string& arg : job.workload().args()) spec.argv.push_back(arg);
  }
  if (spec.argv.empty()) {
    return absl::InvalidArgumentError("spec has neither a command nor a workload");
  }
  if (spec.working_dir.empty()) {
    ASSIGN_OR_RETURN(spec.working_dir, work_dirs_.Make(a.attempt_id()));
    attempt.work_dir = spec.working_dir;
  }
  std::vector<uint32_t> indices(a.device_indices().begin(), a.device_indices().end());
  // The runtime's variables win over anything the spec says (HAC_ names are reserved).
  spec.env["HAC_VISIBLE_DEVICES"] = devices_->VisibleDevices(indices);
  spec.env["HAC_DEVICE_COUNT"] = absl::StrCat(indices.size());
  spec.env["HAC_ATTEMPT_ID"] = a.attempt_id();
  spec.env["HAC_ATTEMPT_NUMBER"] = absl::StrCat(a.attempt_number());
  spec.env["HAC_JOB_ID"] = a.job_id();
  spec.env["HAC_TENANT"] = a.tenant();
  spec.env["HAC_NODE"] = options_.node;
  spec.env["HAC_WORK_DIR"] = spec.working_dir;
  spec.max_runtime = options_.default_max_runtime;
  if (job.has_max_runtime()) {
    absl::Duration d =
        absl::Seconds(job.max_runtime().seconds()) + absl::Nanoseconds(job.max_runtime().nanos());
    if (d > absl::ZeroDuration()) spec.max_runtime = d;
  }
  spec.kill_grace = options_.kill_grace;
  return spec;
}

void AttemptManager::OnAssignment(const v1::Assignment& a) {
  absl::MutexLock lock(&mu_);
  const std::string& id = a.attempt_id();
  if (auto it = attempts_.find(id); it != attempts_.end()) {
    // A repeated assignment: say again where the attempt is.
    v1::AgentMessage m;
    if (it->second.running) {
      v1::AttemptStatus* s = m.mutable_status();
      s->set_attempt_id(id);
      s->set_state(v1::ATTEMPT_STATE_RUNNING);
      SetTimestamp(options_.clock->Now(), s->mutable_time());
    } else {
      *m.mutable_status() = it->second.final_status;
    }
    send_(std::move(m));
    return;
  }
  if (!IsValidAttemptId(id)) {
    // Not a usable file name: it cannot be recorded, so it is refused without a trace.
    HAC_LOG(ERROR) << "refusing assignment with invalid attempt id '" << id << "'";
    return;
  }
  Attempt& attempt = attempts_[id];
  attempt.id = id;
  attempt.devices.assign(a.device_indices().begin(), a.device_indices().end());
  if (absl::Status claimed = devices_->Claim(id, attempt.devices); !claimed.ok()) {
    attempt.devices.clear();
    FinishLocked(attempt, v1::ATTEMPT_STATE_FAILED, -1, 0,
                 absl::StrCat("cannot claim devices: ", claimed.message()));
    return;
  }
  meter_.Start(id, attempt.devices, BusyFn());
  absl::StatusOr<LaunchSpec> spec = BuildLaunch(a, attempt);
  absl::StatusOr<pid_t> pgid =
      spec.ok() ? supervisor_->Start(*spec) : absl::StatusOr<pid_t>(spec.status());
  if (!pgid.ok()) {
    if (!attempt.work_dir.empty()) work_dirs_.Release(std::exchange(attempt.work_dir, {}));
    TakeFinalUsageLocked(attempt);
    devices_->Release(id);
    FinishLocked(attempt, v1::ATTEMPT_STATE_FAILED, -1, 0,
                 absl::StrCat("cannot start: ", pgid.status().message()));
    return;
  }
  attempt.running = true;
  // Not synced: after a power loss the process group is gone anyway.
  if (absl::Status s = running_->Put(id, absl::StrCat(*pgid, " ", boot_id_), /*sync=*/false);
      !s.ok()) {
    HAC_LOG(WARNING) << "attempt " << id << ": cannot record its process group: " << s.message();
  }
  v1::AgentMessage m;
  v1::AttemptStatus* s = m.mutable_status();
  s->set_attempt_id(id);
  s->set_state(v1::ATTEMPT_STATE_RUNNING);
  SetTimestamp(options_.clock->Now(), s->mutable_time());
  s->set_message(absl::StrCat("started pid ", *pgid));
  send_(std::move(m));
}

void AttemptManager::OnCancel(const v1::CancelAttempt& cancel) {
  absl::MutexLock lock(&mu_);
  const std::string& id = cancel.attempt_id();
  v1::AttemptState state = cancel.final_state() == v1::ATTEMPT_STATE_PREEMPTED
                               ? v1::ATTEMPT_STATE_PREEMPTED
                               : v1::ATTEMPT_STATE_CANCELLED;
  auto it = attempts_.find(id);
  if (it == attempts_.end()) {
    if (!IsValidAttemptId(id)) return;
    // Never seen here (its assignment was lost): it ends now, in the state asked for.
    Attempt& attempt = attempts_[id];
    attempt.id = id;
    FinishLocked(attempt, state, -1, 0,
                 absl::StrCat("not running on this node; ", cancel.reason()));
    return;
  }
  Attempt& attempt = it->second;
  if (!attempt.running) {
    v1::AgentMessage m;
    *m.mutable_status() = attempt.final_status;
    send_(std::move(m));
    return;
  }
  if (attempt.cancel_state == v1::ATTEMPT_STATE_UNSPECIFIED) {
    attempt.cancel_state = state;
    attempt.cancel_reason = cancel.reason();
  }
  absl::Duration grace = options_.kill_grace;
  if (cancel.has_grace()) {
    grace = absl::Seconds(cancel.grace().seconds()) + absl::Nanoseconds(cancel.grace().nanos());
  }
  if (absl::Status s = supervisor_->Cancel(id, grace); !s.ok()) {
    HAC_LOG(WARNING) << "cancel " << id << ": " << s.message();
  }
}

void AttemptManager::OnReconcile(const v1::Reconcile& reconcile) {
  for (const std::string& id : reconcile.kill_attempt_ids()) {
    bool running = false;
    {
      absl::MutexLock lock(&mu_);
      auto it = attempts_.find(id);
      if (it == attempts_.end()) continue;
      if (!it->second.running) {
        // The server does not know it: nobody will acknowledge it.
        attempts_.erase(it);
        finished_->Remove(id);
        continue;
      }
      running = true;
    }
    if (running) {
      v1::CancelAttempt cancel;
      cancel.set_attempt_id(id);
      cancel.set_reason("killed by reconciliation");
      cancel.set_final_state(v1::ATTEMPT_STATE_CANCELLED);
      OnCancel(cancel);
    }
  }
}

void AttemptManager::OnStatusAck(const v1::StatusAck& ack) {
  absl::MutexLock lock(&mu_);
  auto it = attempts_.find(ack.attempt_id());
  if (it != attempts_.end() && !it->second.running) {
    attempts_.erase(it);
    finished_->Remove(ack.attempt_id());
  }
}

void AttemptManager::OnDrain(const v1::Drain& drain) {
  absl::MutexLock lock(&mu_);
  if (!draining_) HAC_LOG(INFO) << "draining: " << drain.reason();
  draining_ = true;
}

void AttemptManager::OnOutput(const OutputChunk& chunk) {
  v1::AgentMessage m;
  v1::AttemptLog* log = m.mutable_log();
  log->set_attempt_id(chunk.attempt_id);
  log->set_stream(chunk.stream == OutputStream::kStdout ? v1::LOG_STREAM_STDOUT
                                                        : v1::LOG_STREAM_STDERR);
  log->set_offset(chunk.offset);
  log->set_data(chunk.data);
  log->set_truncated(chunk.truncated);
  absl::MutexLock lock(&mu_);
  send_(std::move(m));
}

void AttemptManager::TakeFinalUsageLocked(Attempt& attempt) {
  UsageBatch batch = meter_.Finish(attempt.id, BusyFn());
  if (batch.counters.empty()) return;
  attempt.final_usage = std::move(*UsageMessage(batch).mutable_usage());
}

v1::AttemptStatus AttemptManager::MakeFinalStatus(const Attempt& attempt,
                                                  v1::AttemptState state, int code, int signal,
                                                  const std::string& message) const {
  const std::string& attempt_id = attempt.id;
  v1::AttemptStatus s;
  s.set_attempt_id(attempt_id);
  // Sent with the status, not as a UsageReport of its own: hacd commits both together.
  *s.mutable_final_usage() = attempt.final_usage.counters();
  s.set_state(state);
  s.mutable_exit()->set_code(code);
  s.mutable_exit()->set_signal(signal);
  s.mutable_exit()->set_message(message);
  SetTimestamp(options_.clock->Now(), s.mutable_time());
  s.set_message(message);
  HAC_LOG(INFO) << "attempt " << attempt_id << ": " << v1::AttemptState_Name(state) << " ("
                << message << ")";
  return s;
}

void AttemptManager::SaveFinal(const FinalStatus& final_status) {
  if (absl::Status saved = finished_->Save(final_status); !saved.ok()) {
    HAC_LOG(ERROR) << "attempt " << final_status.status.attempt_id()
                   << ": final status kept in memory only: " << saved.message();
  }
}

void AttemptManager::PublishFinalLocked(Attempt& attempt, v1::AttemptStatus status) {
  attempt.running = false;
  attempt.final_status = std::move(status);
  v1::AgentMessage m;
  *m.mutable_status() = attempt.final_status;
  send_(std::move(m));
}

void AttemptManager::FinishLocked(Attempt& attempt, v1::AttemptState state, int code, int signal,
                                  const std::string& message) {
  v1::AttemptStatus s = MakeFinalStatus(attempt, state, code, signal, message);
  // Durable before it is sent: once hacd may have seen it, a restarted agent must still know it.
  SaveFinal({s, attempt.final_usage});
  PublishFinalLocked(attempt, std::move(s));
}

void AttemptManager::OnExit(const std::string& attempt_id, const ExitInfo& info) {
  FinalStatus final_status;
  bool record = true;
  std::string work_dir;
  {
    absl::MutexLock lock(&mu_);
    auto it = attempts_.find(attempt_id);
    if (it == attempts_.end()) return;
    work_dir = std::exchange(it->second.work_dir, {});
    // Killed because this agent is stopping (nobody asked to cancel it): not recorded, so the
    // next agent does not report it, exactly as after a crash, and hacd marks it lost (and
    // retries it) instead of taking the agent's restart for a cancel.
    record = !(info.reason == ExitInfo::Reason::kCancelled &&
               it->second.cancel_state == v1::ATTEMPT_STATE_UNSPECIFIED);
    final_status = ExitedLocked(it->second, info);
  }
  // The fsyncs take milliseconds: other attempts start, report and end meanwhile. Until the
  // status is published the attempt still counts as running, so a hello in between says RUNNING
  // and never a final state that is not on disk yet. Nothing erases a running attempt.
  if (record) SaveFinal(final_status);
  {
    absl::MutexLock lock(&mu_);
    auto it = attempts_.find(attempt_id);
    if (it != attempts_.end()) PublishFinalLocked(it->second, std::move(final_status.status));
  }
  // After the final status is on disk, so that no crash in between forgets the attempt.
  running_->Remove(attempt_id);
  // The process group is gone: nothing of the attempt writes there any more.
  if (!work_dir.empty()) work_dirs_.Release(work_dir);
}

FinalStatus AttemptManager::ExitedLocked(Attempt& attempt, const ExitInfo& info) {
  // Usage is read before the reset wipes the device counters.
  TakeFinalUsageLocked(attempt);
  devices_->Release(attempt.id);

  v1::AttemptState state;
  std::string message = info.message;
  if (info.reason == ExitInfo::Reason::kCancelled &&
      attempt.cancel_state != v1::ATTEMPT_STATE_UNSPECIFIED) {
    state = attempt.cancel_state;
    if (!attempt.cancel_reason.empty()) absl::StrAppend(&message, ": ", attempt.cancel_reason);
  } else if (info.reason == ExitInfo::Reason::kCancelled) {
    state = v1::ATTEMPT_STATE_CANCELLED;  // the agent shutting down
  } else if (info.reason == ExitInfo::Reason::kMaxRuntime) {
    state = v1::ATTEMPT_STATE_FAILED;
  } else {
    state = info.code == 0 ? v1::ATTEMPT_STATE_SUCCEEDED : v1::ATTEMPT_STATE_FAILED;
  }
  return {MakeFinalStatus(attempt, state, info.code, info.signal, message),
          attempt.final_usage};
}

v1::AgentHello AttemptManager::Hello() {
  absl::MutexLock lock(&mu_);
  v1::AgentHello hello;
  hello.set_node(options_.node);
  for (const auto& [id, attempt] : attempts_) {
    v1::RunningAttempt* r = hello.add_attempts();
    r->set_attempt_id(id);
    if (attempt.running) {
      r->set_state(v1::ATTEMPT_STATE_RUNNING);
    } else {
      r->set_state(attempt.final_status.state());
      *r->mutable_exit() = attempt.final_status.exit();
      // Cumulative counters stored as a maximum: a repeat is harmless, a gap is not. hacd
      // stores them before it acknowledges the final state.
      for (const v1::UsageCounter& c : attempt.final_usage.counters()) {
        *r->add_final_usage() = c;
      }
    }
  }
  for (v1::Device& d : DescribeDevices(*devices_)) {
    reported_health_[d.index()] = d.health() == v1::DEVICE_HEALTH_HEALTHY
                                      ? device::Health::kHealthy
                                      : device::Health::kUnhealthy;
    *hello.add_devices() = std::move(d);
  }
  return hello;
}

v1::Heartbeat AttemptManager::Heartbeat() {
  absl::MutexLock lock(&mu_);
  v1::Heartbeat hb;
  SetTimestamp(options_.clock->Now(), hb.mutable_agent_time());
  for (v1::Device& d : DescribeDevices(*devices_)) {
    device::Health h = d.health() == v1::DEVICE_HEALTH_HEALTHY ? device::Health::kHealthy
                                                               : device::Health::kUnhealthy;
    if (reported_health_[d.index()] != h) {
      reported_health_[d.index()] = h;
      *hb.add_devices() = std::move(d);
    }
  }
  return hb;
}

void AttemptManager::Tick() {
  absl::MutexLock lock(&mu_);
  if (meter_.size() == 0) return;
  UsageBatch batch = meter_.Report(BusyFn());
  if (batch.counters.empty()) return;  // only attempts without devices run
  v1::AgentMessage m = UsageMessage(batch);
  send_(std::move(m));
}

int AttemptManager::running() const {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (const auto& [id, attempt] : attempts_) n += attempt.running ? 1 : 0;
  return n;
}

bool AttemptManager::draining() const {
  absl::MutexLock lock(&mu_);
  return draining_;
}

std::vector<std::string> AttemptManager::Unacknowledged() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> ids;
  for (const auto& [id, attempt] : attempts_) {
    if (!attempt.running) ids.push_back(id);
  }
  return ids;
}

}  // namespace hac::agent
