#include "server/store/group_commit.h"

#include <algorithm>
#include <vector>

#include "absl/synchronization/notification.h"

namespace hac::server::store {

struct GroupCommitter::Op {
  WriteFn fn;
  absl::Status status;
  absl::Notification done;
  // Set for WriteAsync: called instead of notifying, and the op deletes itself.
  std::function<void(const absl::Status&)> callback;
  bool deferrable = false;
  absl::Time queued;  // when WriteAsync queued it (deferrable ones)
};

GroupCommitter::GroupCommitter(std::unique_ptr<Database> db, int max_batch,
                               absl::Duration defer_delay, std::function<void()> on_rollback)
    : db_(std::move(db)),
      max_batch_(max_batch),
      defer_delay_(defer_delay),
      on_rollback_(std::move(on_rollback)) {
  thread_ = std::thread([this] { Loop(); });
}

GroupCommitter::~GroupCommitter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

absl::Status GroupCommitter::Write(WriteFn fn) {
  Op op;
  op.fn = std::move(fn);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::UnavailableError("store is shutting down");
    queue_.push_back(&op);
    ++prompt_;
  }
  op.done.WaitForNotification();
  return op.status;
}

void GroupCommitter::WriteAsync(WriteFn fn, std::function<void(const absl::Status&)> done,
                                bool deferrable) {
  auto* op = new Op;
  op->fn = std::move(fn);
  op->callback = std::move(done);
  op->deferrable = deferrable;
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      if (deferrable) op->queued = absl::Now();
      queue_.push_back(op);
      if (!deferrable) ++prompt_;
      return;
    }
  }
  op->callback(absl::UnavailableError("store is shutting down"));
  delete op;
}

int64_t GroupCommitter::batches() const {
  absl::MutexLock lock(&mu_);
  return batches_;
}

int64_t GroupCommitter::writes() const {
  absl::MutexLock lock(&mu_);
  return writes_;
}

absl::Status GroupCommitter::Step(const char* sql) {
  absl::StatusOr<Statement*> st = db_->Cached(sql);
  if (!st.ok()) return st.status();
  absl::Status s = (*st)->Run();
  (*st)->Reset();
  return s;
}

void GroupCommitter::RolledBack() {
  if (on_rollback_) on_rollback_();
}

bool GroupCommitter::RunBatch(const std::vector<Op*>& batch, bool savepoints) {
  if (absl::Status begin = Step("BEGIN IMMEDIATE"); !begin.ok()) {
    for (Op* op : batch) op->status = begin;
    return true;  // nothing ran: running again would fail the same way
  }
  for (Op* op : batch) {
    if (!savepoints) {
      op->status = op->fn(*db_);
      db_->ResetAll();
      if (op->status.ok()) continue;
      // Its status stands if it was alone; otherwise the caller runs the batch again.
      (void)db_->Exec("ROLLBACK");
      RolledBack();
      return false;
    }
    absl::Status s = Step("SAVEPOINT w");
    if (s.ok()) {
      op->status = op->fn(*db_);
      db_->ResetAll();
      if (op->status.ok()) {
        s = Step("RELEASE w");
      } else {
        s = Step("ROLLBACK TO w");
        if (s.ok()) s = Step("RELEASE w");
        RolledBack();
      }
    }
    if (!s.ok() && op->status.ok()) op->status = s;
  }
  if (absl::Status commit = Step("COMMIT"); !commit.ok()) {
    (void)db_->Exec("ROLLBACK");
    RolledBack();
    for (Op* op : batch) op->status = commit;
  }
  return true;
}

void GroupCommitter::Loop() {
  std::vector<Op*> batch;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](GroupCommitter* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || !self->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stopping, nothing left
      // Only deferrable writes: they wait for another write, or until the oldest is due.
      if (prompt_ == 0 && !stopping_) {
        auto prompt_or_stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stopping_ || prompt_ > 0;
        };
        // With no prompt write queued, the front one is the oldest deferrable one.
        mu_.AwaitWithDeadline(absl::Condition(&prompt_or_stopping),
                              queue_.front()->queued + defer_delay_);
      }
      // Under concurrent load (the last batch had several writes) wait a moment for as many
      // writers as last time, so that one fsync serves them all: their callers are typically a
      // network round trip away from their next write. An idle store never waits.
      const size_t want = std::min<size_t>(last_batch_, static_cast<size_t>(max_batch_));
      if (want >= 2 && queue_.size() < want && !stopping_) {
        auto enough = [this, want]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stopping_ || queue_.size() >= want;
        };
        mu_.AwaitWithTimeout(absl::Condition(&enough), kGatherDelay);
      }
      while (!queue_.empty() && static_cast<int>(batch.size()) < max_batch_) {
        batch.push_back(queue_.front());
        queue_.pop_front();
        if (!batch.back()->deferrable) --prompt_;
      }
    }

    // First without savepoints: in a savepoint SQLite copies every page a write changes that
    // the batch changed before, about a quarter of a small insert's cost. A failed write (or
    // commit) rolls the whole transaction back; then, if others shared it, the batch runs again
    // with each write in its own savepoint, and the failed one rolls back alone.
    if (!RunBatch(batch, /*savepoints=*/false) && batch.size() > 1) {
      RunBatch(batch, /*savepoints=*/true);
    }
    {
      absl::MutexLock lock(&mu_);
      ++batches_;
      writes_ += static_cast<int64_t>(batch.size());
      last_batch_ = batch.size();
    }
    // A notified synchronous op belongs to its caller again (it lives on the caller's stack):
    // pick out the asynchronous ones before notifying anybody.
    std::vector<Op*> async;
    for (Op* op : batch) {
      if (op->callback) async.push_back(op);
    }
    for (Op* op : batch) {
      if (!op->callback) op->done.Notify();
    }
    for (Op* op : async) {
      op->callback(op->status);
      delete op;
    }
    batch.clear();
  }
}

}  // namespace hac::server::store
