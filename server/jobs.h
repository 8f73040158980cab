// JobManager: the gRPC-free logic behind JobService: validate and commit submissions (with
// idempotency keys), read jobs with tenant isolation, cancel, and watch for changes.
//
// Isolation: a tenant sees only its own jobs; another tenant's job is NOT_FOUND, exactly as a
// job that does not exist. Admins see every job.
//
// Thread-safe. Owned by hacd's composition root; holds references to the store and metrics.
#ifndef HAC_SERVER_JOBS_H_
#define HAC_SERVER_JOBS_H_

#include <cstdint>
#include <functional>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "hac/v1/jobs.pb.h"
#include "server/auth.h"
#include "server/logs.h"
#include "server/metrics.h"
#include "server/store/store.h"

namespace hac::server {

// Converts a stored job to its API form (attempts are added by the caller when needed).
hac::v1::Job JobToProto(const store::JobRecord& job);

// What JobManager tells the component that places jobs (hacd's ClusterManager).
class JobListener {
 public:
  virtual ~JobListener() = default;
  // After a new job was committed. Called on the thread that completes submissions: it must
  // not wait for a scheduling pass or the store.
  virtual void JobSubmitted(const store::JobRecord& job) = 0;
  // After a job was committed as CANCELLED (it may still be running).
  virtual void JobCancelled(const store::JobRecord& job) = 0;
  // Where a job would go now, without submitting it.
  virtual absl::StatusOr<hac::v1::DryRunResult> DryRun(const store::JobRecord& job) = 0;
};

// What JobManager asks before it commits a submission (hacd's BillingManager: budgets and cost
// estimates).
class SubmitPolicy {
 public:
  virtual ~SubmitPolicy() = default;
  // OK, or why the tenant may not submit now (RESOURCE_EXHAUSTED for an exhausted budget).
  virtual absl::Status AdmitSubmission(int64_t tenant_id) = 0;
  // Adds the estimated cost to a dry run's result.
  virtual void EstimateDryRun(const hac::v1::JobSpec& spec, hac::v1::DryRunResult& result) = 0;
};

class JobManager {
 public:
  JobManager(store::Store& store, Metrics& metrics, const common::Clock& clock)
      : store_(store), metrics_(metrics), clock_(clock) {}

  // Loads the job-state gauges from the store.
  absl::Status Init();
  // Set once at start-up, before serving. Without one, jobs stay pending.
  void SetListener(JobListener* listener) { listener_ = listener; }
  // Logs of attempts (GetJobLogs). Set once at start-up.
  void SetLogStore(LogStore* logs) { logs_ = logs; }
  // Budgets and estimates. Set once at start-up; without one, every submission is admitted.
  void SetSubmitPolicy(SubmitPolicy* policy) { policy_ = policy; }
  // A job changed state elsewhere (its attempts): updates metrics and wakes watchers.
  void JobChanged(const store::JobTransition& change);

  // Checks a submission, commits it and tells the listener. Blocks until the commit.
  absl::StatusOr<hac::v1::SubmitJobResponse> Submit(const Principal& caller,
                                                    const hac::v1::SubmitJobRequest& req);
  // Submit in two halves, for servers that do not park a thread per call. StartSubmit returns
  // the answer when there is nothing to commit (a rejection, a dry run); otherwise it queues the
  // write and `committed` gets its result on the store's writer thread, where it must not block
  // (the listener may wait for the store). Pass that result to FinishSubmit on another thread.
  using SubmitCommitted = std::function<void(absl::StatusOr<store::SubmitResult>)>;
  std::optional<absl::StatusOr<hac::v1::SubmitJobResponse>> StartSubmit(
      const Principal& caller, const hac::v1::SubmitJobRequest& req, SubmitCommitted committed);
  absl::StatusOr<hac::v1::SubmitJobResponse> FinishSubmit(
      const Principal& caller, absl::StatusOr<store::SubmitResult> result);
  absl::StatusOr<hac::v1::Job> Get(const Principal& caller, const hac::v1::GetJobRequest& req);
  absl::StatusOr<hac::v1::ListJobsResponse> List(const Principal& caller,
                                                 const hac::v1::ListJobsRequest& req);
  absl::StatusOr<hac::v1::Job> Cancel(const Principal& caller,
                                      const hac::v1::CancelJobRequest& req);

  // Sends the job as it is now, then after every change, until it ends (OK), `send` returns
  // false or `cancelled` returns true (CANCELLED). Blocks the calling thread.
  absl::Status Watch(const Principal& caller, const hac::v1::WatchJobRequest& req,
                     const std::function<bool(const hac::v1::JobEvent&)>& send,
                     const std::function<bool()>& cancelled);

  // Streams an attempt's output from `offset`; with follow, until the attempt ends.
  absl::Status Logs(const Principal& caller, const hac::v1::GetJobLogsRequest& req,
                    const std::function<bool(const hac::v1::LogChunk&)>& send,
                    const std::function<bool()>& cancelled);

  // Tells watchers that a job changed (called by whoever changed it).
  void NotifyChanged(int64_t job_id);

 private:
  // The job if `caller` may see it, else NOT_FOUND.
  absl::StatusOr<store::JobRecord> Visible(const Principal& caller, absl::string_view id);
  uint64_t Version(int64_t job_id);
  // Where a checked spec would go now, without submitting it.
  absl::StatusOr<hac::v1::SubmitJobResponse> DryRun(const Principal& caller,
                                                    const hac::v1::JobSpec& spec);

  store::Store& store_;
  Metrics& metrics_;
  const common::Clock& clock_;
  JobListener* listener_ = nullptr;
  LogStore* logs_ = nullptr;
  SubmitPolicy* policy_ = nullptr;

  // Change counters of watched jobs; waiters wait for theirs to move.
  absl::Mutex watch_mu_;
  absl::flat_hash_map<int64_t, uint64_t> versions_ ABSL_GUARDED_BY(watch_mu_);
};

bool IsFinalJobState(hac::v1::JobState s);

}  // namespace hac::server

#endif  // HAC_SERVER_JOBS_H_
