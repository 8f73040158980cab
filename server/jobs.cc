#include "server/jobs.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "google/protobuf/util/time_util.h"
#include "server/limits.h"
#include "server/validation.h"

namespace hac::server {
namespace {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

constexpr char kNoNodesReason[] = "waiting: no node has joined the cluster yet";

}  // namespace

bool IsFinalJobState(hac::v1::JobState s) {
  return s == hac::v1::JOB_STATE_SUCCEEDED || s == hac::v1::JOB_STATE_FAILED ||
         s == hac::v1::JOB_STATE_CANCELLED;
}

hac::v1::Job JobToProto(const store::JobRecord& job) {
  hac::v1::Job out;
  out.set_id(store::JobIdString(job.id));
  out.set_tenant(job.tenant);
  *out.mutable_spec() = job.spec;
  out.set_state(job.state);
  out.set_reason(job.reason);
  *out.mutable_create_time() = ToProtoTime(job.create_time);
  *out.mutable_update_time() = ToProtoTime(job.update_time);
  if (job.end_time) *out.mutable_end_time() = ToProtoTime(*job.end_time);
  out.set_attempt_count(job.attempt_count);
  return out;
}

absl::Status JobManager::Init() {
  ASSIGN_OR_RETURN(auto counts, store_.CountJobsByState());
  metrics_.SetJobCounts(counts);
  return absl::OkStatus();
}

absl::StatusOr<hac::v1::SubmitJobResponse> JobManager::Submit(
    const Principal& caller, const hac::v1::SubmitJobRequest& req) {
  absl::Notification committed;
  absl::StatusOr<store::SubmitResult> result;
  std::optional<absl::StatusOr<hac::v1::SubmitJobResponse>> answered =
      StartSubmit(caller, req, [&](absl::StatusOr<store::SubmitResult> r) {
        result = std::move(r);
        committed.Notify();
      });
  if (answered) return *std::move(answered);
  committed.WaitForNotification();
  return FinishSubmit(caller, std::move(result));
}

std::optional<absl::StatusOr<hac::v1::SubmitJobResponse>> JobManager::StartSubmit(
    const Principal& caller, const hac::v1::SubmitJobRequest& req, SubmitCommitted committed) {
  if (caller.role != Role::kTenant) {
    return absl::PermissionDeniedError(
        "jobs are submitted with a tenant token (create one with: hacctl tenant token NAME)");
  }
  if (!req.has_spec()) return absl::InvalidArgumentError("spec: required");
  if (absl::Status s = ValidateJobSpec(req.spec()); !s.ok()) return s;
  if (req.dry_run()) return DryRun(caller, req.spec());
  if (policy_ != nullptr) {
    if (absl::Status s = policy_->AdmitSubmission(caller.tenant_id); !s.ok()) return s;
  }
  store::NewJob job;
  job.tenant_id = caller.tenant_id;
  job.tenant = caller.tenant;
  job.spec = req.spec();
  ApplyJobSpecDefaults(job.spec);
  job.reason = kNoNodesReason;
  store_.SubmitJobAsync(std::move(job), std::move(committed));
  return std::nullopt;
}

absl::StatusOr<hac::v1::SubmitJobResponse> JobManager::FinishSubmit(
    const Principal& caller, absl::StatusOr<store::SubmitResult> result) {
  if (!result.ok()) return result.status();
  if (!result->replay) {
    metrics_.JobSubmitted(caller.tenant);
    if (listener_ != nullptr) listener_->JobSubmitted(result->job);
  }
  hac::v1::SubmitJobResponse resp;
  *resp.mutable_job() = JobToProto(result->job);
  resp.set_idempotent_replay(result->replay);
  return resp;
}

absl::StatusOr<hac::v1::SubmitJobResponse> JobManager::DryRun(const Principal& caller,
                                                              const hac::v1::JobSpec& spec) {
  hac::v1::SubmitJobResponse resp;
  store::JobRecord probe;
  probe.tenant_id = caller.tenant_id;
  probe.tenant = caller.tenant;
  probe.spec = spec;
  ApplyJobSpecDefaults(probe.spec);
  probe.create_time = probe.update_time = clock_.Now();
  if (listener_ == nullptr) {
    resp.mutable_dry_run()->set_reason(kNoNodesReason);
  } else {
    ASSIGN_OR_RETURN(*resp.mutable_dry_run(), listener_->DryRun(probe));
  }
  if (policy_ != nullptr) policy_->EstimateDryRun(probe.spec, *resp.mutable_dry_run());
  return resp;
}

absl::StatusOr<store::JobRecord> JobManager::Visible(const Principal& caller,
                                                     absl::string_view id) {
  RETURN_IF_ERROR(RequireTenantOrAdmin(caller));
  absl::StatusOr<int64_t> n = store::ParseJobId(id);
  if (!n.ok()) return n.status();
  absl::StatusOr<store::JobRecord> job = store_.GetJob(*n);
  if (job.ok() && !caller.is_admin() && job->tenant_id != caller.tenant_id) {
    // Indistinguishable from a job that does not exist.
    return absl::NotFoundError(absl::StrCat("job ", id, " not found"));
  }
  return job;
}

absl::StatusOr<hac::v1::Job> JobManager::Get(const Principal& caller,
                                             const hac::v1::GetJobRequest& req) {
  ASSIGN_OR_RETURN(store::JobRecord job, Visible(caller, req.id()));
  hac::v1::Job out = JobToProto(job);
  ASSIGN_OR_RETURN(std::vector<hac::v1::Attempt> attempts, store_.ListAttempts(job.id));
  for (hac::v1::Attempt& a : attempts) {
    ASSIGN_OR_RETURN(std::vector<store::UsageCounterRecord> usage, store_.GetUsage(a.id()));
    for (const store::UsageCounterRecord& u : usage) {
      hac::v1::DeviceUsage* du = a.add_usage();
      for (const hac::v1::DeviceRef& d : a.devices()) {
        if (d.index() == u.device_index) *du->mutable_device() = d;
      }
      du->set_allocated_ms(u.allocated_ms);
      du->set_active_ms(u.active_ms);
    }
    *out.add_attempts() = std::move(a);
  }
  return out;
}

void JobManager::JobChanged(const store::JobTransition& change) {
  metrics_.JobStateChanged(change.before, change.after);
  NotifyChanged(change.job_id);
}

absl::Status JobManager::Logs(const Principal& caller, const hac::v1::GetJobLogsRequest& req,
                              const std::function<bool(const hac::v1::LogChunk&)>& send,
                              const std::function<bool()>& cancelled) {
  ASSIGN_OR_RETURN(store::JobRecord job, Visible(caller, req.id()));
  if (logs_ == nullptr) return absl::UnavailableError("logs are not kept by this hacd");
  if (req.offset() < 0) return absl::InvalidArgumentError("offset: must not be negative");
  constexpr int64_t kChunk = 64 * 1024;
  int64_t offset = req.offset();
  for (;;) {
    ASSIGN_OR_RETURN(std::vector<hac::v1::Attempt> attempts, store_.ListAttempts(job.id));
    if (attempts.empty()) {
      if (!req.follow()) return absl::NotFoundError(
          absl::StrCat("job ", req.id(), " has not started yet: no logs"));
    } else {
      const hac::v1::Attempt* a = &attempts.back();
      if (req.attempt() != 0) {
        a = nullptr;
        for (const auto& x : attempts) {
          if (x.number() == req.attempt()) a = &x;
        }
        if (a == nullptr) {
          return absl::NotFoundError(absl::StrCat("job ", req.id(), " has no attempt ",
                                                  req.attempt()));
        }
      }
      const bool ended = a->state() != hac::v1::ATTEMPT_STATE_ASSIGNED &&
                         a->state() != hac::v1::ATTEMPT_STATE_RUNNING;
      for (;;) {
        ASSIGN_OR_RETURN(std::string data, logs_->Read(a->id(), req.stream(), offset, kChunk));
        if (data.empty()) break;
        hac::v1::LogChunk chunk;
        chunk.set_offset(offset);
        chunk.set_attempt(a->number());
        offset += static_cast<int64_t>(data.size());
        chunk.set_data(std::move(data));
        if (!send(chunk)) return absl::CancelledError("reader went away");
      }
      if (ended || !req.follow()) {
        hac::v1::LogChunk last;
        last.set_offset(offset);
        last.set_attempt(a->number());
        last.set_eof(ended);
        last.set_truncated(logs_->Truncated(a->id()));
        send(last);
        return absl::OkStatus();
      }
    }
    // Following: wait for more output or the end of the attempt.
    for (int i = 0; i < 4; ++i) {
      if (cancelled()) return absl::CancelledError("reader went away");
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
}

absl::StatusOr<hac::v1::ListJobsResponse> JobManager::List(const Principal& caller,
                                                           const hac::v1::ListJobsRequest& req) {
  RETURN_IF_ERROR(RequireTenantOrAdmin(caller));
  store::JobFilter filter;
  if (caller.is_admin()) {
    if (!req.tenant().empty()) {
      ASSIGN_OR_RETURN(store::TenantRecord t, store_.FindTenant(req.tenant()));
      filter.tenant_id = t.id;
    }
  } else {
    if (!req.tenant().empty() && req.tenant() != caller.tenant) {
      return absl::PermissionDeniedError("tenant: a tenant token lists only its own jobs");
    }
    filter.tenant_id = caller.tenant_id;
  }
  for (int s : req.states()) {
    if (!hac::v1::JobState_IsValid(s) || s == hac::v1::JOB_STATE_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat("states: ", s, " is not a job state"));
    }
    filter.states.push_back(static_cast<hac::v1::JobState>(s));
  }
  if (req.page_size() > limits::kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat("page_size: ", req.page_size(),
                                                   " exceeds the limit of ", limits::kMaxPageSize));
  }
  filter.limit = static_cast<int>(req.page_size() == 0 ? limits::kDefaultPageSize
                                                       : req.page_size());
  if (!req.page_token().empty()) {
    if (!absl::SimpleAtoi(req.page_token(), &filter.before_id) || filter.before_id <= 0) {
      return absl::InvalidArgumentError(
          "page_token: not a token from a previous ListJobs response");
    }
  }
  ASSIGN_OR_RETURN(std::vector<store::JobRecord> jobs, store_.ListJobs(filter));
  hac::v1::ListJobsResponse resp;
  for (const store::JobRecord& j : jobs) *resp.add_jobs() = JobToProto(j);
  if (static_cast<int>(jobs.size()) == filter.limit) {
    resp.set_next_page_token(absl::StrCat(jobs.back().id));
  }
  return resp;
}

absl::StatusOr<hac::v1::Job> JobManager::Cancel(const Principal& caller,
                                                const hac::v1::CancelJobRequest& req) {
  ASSIGN_OR_RETURN(store::JobRecord job, Visible(caller, req.id()));
  if (req.reason().size() > limits::kMaxCancelReasonBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "reason: ", req.reason().size(), " bytes; the limit is ", limits::kMaxCancelReasonBytes));
  }
  std::string reason = caller.is_admin() ? "cancelled by an admin" : "cancelled by its tenant";
  if (!req.reason().empty()) absl::StrAppend(&reason, ": ", req.reason());
  ASSIGN_OR_RETURN(auto change, store_.CancelJob(job.id, reason));
  metrics_.JobStateChanged(change.first.state, change.second.state);
  NotifyChanged(job.id);
  if (listener_ != nullptr) listener_->JobCancelled(change.second);
  return JobToProto(change.second);
}

void JobManager::NotifyChanged(int64_t job_id) {
  absl::MutexLock lock(&watch_mu_);
  auto it = versions_.find(job_id);
  if (it != versions_.end()) ++it->second;
}

uint64_t JobManager::Version(int64_t job_id) {
  absl::MutexLock lock(&watch_mu_);
  return versions_[job_id];
}

absl::Status JobManager::Watch(const Principal& caller, const hac::v1::WatchJobRequest& req,
                               const std::function<bool(const hac::v1::JobEvent&)>& send,
                               const std::function<bool()>& cancelled) {
  ASSIGN_OR_RETURN(store::JobRecord job, Visible(caller, req.id()));
  uint64_t seen = Version(job.id);  // registers the job for notifications
  // Re-read after registering so a change between the first read and now is not missed.
  ASSIGN_OR_RETURN(job, store_.GetJob(job.id));
  absl::Status result = absl::OkStatus();
  bool sent_any = false;
  hac::v1::JobState last_state = hac::v1::JOB_STATE_UNSPECIFIED;
  std::string last_reason;
  for (;;) {
    if (!sent_any || job.state != last_state || job.reason != last_reason) {
      hac::v1::JobEvent ev;
      *ev.mutable_job() = JobToProto(job);
      if (!send(ev)) {
        result = absl::CancelledError("watcher went away");
        break;
      }
      sent_any = true;
      last_state = job.state;
      last_reason = job.reason;
    }
    if (IsFinalJobState(job.state)) break;
    // Wait for a change, waking periodically to notice a client that went away.
    bool changed = false;
    while (!changed) {
      if (cancelled()) {
        result = absl::CancelledError("watcher went away");
        break;
      }
      absl::MutexLock lock(&watch_mu_);
      auto moved = [this, id = job.id, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(watch_mu_) {
        return versions_[id] != seen;
      };
      changed = watch_mu_.AwaitWithTimeout(absl::Condition(&moved), absl::Milliseconds(500));
      if (changed) seen = versions_[job.id];
    }
    if (!changed) break;
    ASSIGN_OR_RETURN(job, store_.GetJob(job.id));
  }
  // Forget the counter when nobody else may be waiting on it; a later watch re-creates it.
  absl::MutexLock lock(&watch_mu_);
  if (IsFinalJobState(job.state)) versions_.erase(job.id);
  return result;
}

}  // namespace hac::server
