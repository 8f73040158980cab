#include "server/grpc/async_submit.h"

#include <utility>

namespace hac::server::grpc_glue {

struct AsyncSubmitServer::Call {
  enum class Step { kRequested, kFinished };

  explicit Call(grpc::ServerCompletionQueue* q) : cq(q), responder(&ctx) {}

  grpc::ServerCompletionQueue* const cq;
  grpc::ServerContext ctx;
  hac::v1::SubmitJobRequest req;
  grpc::ServerAsyncResponseWriter<hac::v1::SubmitJobResponse> responder;
  Step step = Step::kRequested;
  absl::Time start;
  Principal caller;
  absl::StatusOr<store::SubmitResult> result;  // set on the writer thread
};

AsyncSubmitServer::AsyncSubmitServer(grpc::ServerBuilder& builder, JobServiceImpl& service,
                                     Rpc& rpc, JobManager& jobs, int threads)
    : service_(service), rpc_(rpc), jobs_(jobs) {
  for (int i = 0; i < std::max(1, threads); ++i) queues_.push_back(builder.AddCompletionQueue());
}

AsyncSubmitServer::~AsyncSubmitServer() { Stop(); }

void AsyncSubmitServer::Start() {
  finisher_ = std::thread([this] { FinishCommitted(); });
  for (auto& cq : queues_) threads_.emplace_back([this, q = cq.get()] { Serve(q); });
}

void AsyncSubmitServer::Stop() {
  if (threads_.empty()) return;
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](AsyncSubmitServer* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
          return s->committing_ == 0;
        },
        this));
    stopping_ = true;
  }
  finisher_.join();
  for (auto& cq : queues_) cq->Shutdown();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void AsyncSubmitServer::Serve(grpc::ServerCompletionQueue* cq) {
  for (int i = 0; i < kRequestsPerQueue; ++i) Request(cq);
  void* tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok)) Proceed(static_cast<Call*>(tag), ok);
}

void AsyncSubmitServer::Request(grpc::ServerCompletionQueue* cq) {
  auto* call = new Call(cq);
  service_.RequestSubmitJob(&call->ctx, &call->req, &call->responder, cq, cq, call);
}

void AsyncSubmitServer::Proceed(Call* call, bool ok) {
  if (call->step == Call::Step::kFinished || !ok) {  // answered, or the server is shutting down
    delete call;
    return;
  }
  Request(call->cq);
  call->start = rpc_.Start();
  absl::StatusOr<Principal> caller = rpc_.Authenticate(&call->ctx);
  if (!caller.ok()) {
    Finish(call, caller.status());
    return;
  }
  call->caller = *std::move(caller);
  {
    absl::MutexLock lock(&mu_);
    ++committing_;
  }
  std::optional<absl::StatusOr<hac::v1::SubmitJobResponse>> answered = jobs_.StartSubmit(
      call->caller, call->req, [this, call](absl::StatusOr<store::SubmitResult> r) {
        call->result = std::move(r);
        absl::MutexLock lock(&mu_);
        committed_.push_back(call);
      });
  if (answered) {
    {
      absl::MutexLock lock(&mu_);
      --committing_;
    }
    Finish(call, *answered);
  }
}

void AsyncSubmitServer::FinishCommitted() {
  std::vector<Call*> calls;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](AsyncSubmitServer* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
            return !s->committed_.empty() || s->stopping_;
          },
          this));
      if (committed_.empty()) return;  // stopping, and every commit was answered
      calls.swap(committed_);
    }
    for (Call* call : calls) {
      Finish(call, jobs_.FinishSubmit(call->caller, std::move(call->result)));
    }
    absl::MutexLock lock(&mu_);
    committing_ -= static_cast<int>(calls.size());
    calls.clear();
  }
}

void AsyncSubmitServer::Finish(Call* call,
                               const absl::StatusOr<hac::v1::SubmitJobResponse>& result) {
  rpc_.Record("SubmitJob", result.status().code(), call->start);
  call->step = Call::Step::kFinished;
  if (result.ok()) {
    call->responder.Finish(*result, grpc::Status::OK, call);
  } else {
    call->responder.FinishWithError(ToGrpcStatus(result.status()), call);
  }
}

}  // namespace hac::server::grpc_glue
