// AsyncSubmitServer: JobService.SubmitJob without a thread parked per call.
//
// A submission waits about a millisecond for its group commit. On the sync server that wait
// parks a gRPC thread, and every call costs thread hand-offs on top of the work. Here
// SubmitJob is an asynchronous method served from a few completion queues: a call is checked
// and its write queued (JobManager::StartSubmit) on its queue's thread; the store's writer
// thread hands each committed write to one finisher thread, which wakes once per batch,
// completes the submissions (JobManager::FinishSubmit: metrics, the scheduler's inbox) and
// queues the answers. The other methods stay on the sync server.
//
//   AsyncSubmitServer submit(builder, job_service, rpc, jobs, threads);  // before BuildAndStart
//   auto server = builder.BuildAndStart();
//   submit.Start();
//   ...
//   server->Shutdown(deadline);
//   submit.Stop();
//
// Thread-safe.
#ifndef HAC_SERVER_GRPC_ASYNC_SUBMIT_H_
#define HAC_SERVER_GRPC_ASYNC_SUBMIT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/grpc/rpc.h"
#include "server/grpc/services.h"
#include "server/jobs.h"

namespace hac::server::grpc_glue {

class AsyncSubmitServer {
 public:
  // Adds `threads` completion queues to `builder`.
  AsyncSubmitServer(grpc::ServerBuilder& builder, JobServiceImpl& service, Rpc& rpc,
                    JobManager& jobs, int threads);
  // Stop() if it was not called.
  ~AsyncSubmitServer();

  // Accepts SubmitJob calls, once the server was built and started.
  void Start();
  // Call after grpc::Server::Shutdown returned: waits for the submissions still being committed,
  // then stops the threads.
  void Stop();

 private:
  struct Call;
  // Waiting for more SubmitJob calls on each queue (a new one replaces each that arrives).
  static constexpr int kRequestsPerQueue = 64;

  void Serve(grpc::ServerCompletionQueue* cq);
  void Request(grpc::ServerCompletionQueue* cq);
  void Proceed(Call* call, bool ok);
  // The finisher thread: answers the calls whose writes committed, a batch at a time.
  void FinishCommitted();
  void Finish(Call* call, const absl::StatusOr<hac::v1::SubmitJobResponse>& result);

  JobServiceImpl& service_;
  Rpc& rpc_;
  JobManager& jobs_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::thread> threads_;
  std::thread finisher_;
  absl::Mutex mu_;
  // Submissions queued for the store and not yet answered.
  int committing_ ABSL_GUARDED_BY(mu_) = 0;
  // Committed (or failed) writes, for the finisher.
  std::vector<Call*> committed_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace hac::server::grpc_glue

#endif  // HAC_SERVER_GRPC_ASYNC_SUBMIT_H_
