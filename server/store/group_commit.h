// GroupCommitter: one writer thread that owns the write connection and commits the writes of
// many callers together, one transaction (and one fsync) per batch.
//
// A write is a function run on the writer's connection. One that fails rolls back alone while
// the rest of its batch commits: a batch runs without savepoints first, and when a write in it
// fails it rolls back and runs again with each write in its own SAVEPOINT. So a write function
// may run twice and must not rely on having run before: it sets its outputs, never appends to
// them, and what it keeps outside the database is undone by the rollback hook. Write() blocks its caller until the batch holding its
// write has committed (or failed): a write that returned OK is durable. A write nobody waits for
// may be queued as deferrable: it starts no transaction of its own until defer_delay has passed,
// and joins the next batch of another write before that (fewer commits, same order).
//
// Thread-safe. Writes run on the writer thread, in submission order.
#ifndef HAC_SERVER_STORE_GROUP_COMMIT_H_
#define HAC_SERVER_STORE_GROUP_COMMIT_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/store/sqlite.h"

namespace hac::server::store {

class GroupCommitter {
 public:
  using WriteFn = std::function<absl::Status(Database&)>;

  // Longest wait of a deferrable write for another write's batch, by default.
  static constexpr absl::Duration kDeferDelay = absl::Milliseconds(10);

  // Takes the write connection. `max_batch` bounds how many writes share one transaction;
  // `defer_delay` is how long a deferrable write may wait (kDeferDelay but in tests).
  // `on_rollback` runs on the writer thread after any write's changes were rolled back (a
  // transaction or a savepoint), before anything else runs: it drops what writes remembered
  // outside the database.
  explicit GroupCommitter(std::unique_ptr<Database> db, int max_batch = 512,
                          absl::Duration defer_delay = kDeferDelay,
                          std::function<void()> on_rollback = nullptr);
  // Commits what is queued, then stops the writer thread.
  ~GroupCommitter();

  // Runs `fn` on the writer connection inside a transaction shared with other writers and
  // returns once that transaction committed: OK means durable.
  absl::Status Write(WriteFn fn);
  // Queues `fn` like Write but returns at once; `done` runs on the writer thread once the batch
  // committed (or failed), after the synchronous writers of that batch were released. `done`
  // must not block on anything that waits for this committer.
  // With `deferrable`, it may wait up to defer_delay for a batch that another write starts.
  void WriteAsync(WriteFn fn, std::function<void(const absl::Status&)> done,
                  bool deferrable = false);

  // Batches committed so far (for tests and metrics).
  int64_t batches() const;
  int64_t writes() const;

 private:
  // Longest wait for more writers before a transaction starts (only under concurrent load).
  // About two fsyncs of a local SSD: on slower disks writers pile up during each commit anyway,
  // and a longer wait only adds to every writer's latency.
  static constexpr absl::Duration kGatherDelay = absl::Microseconds(150);
  struct Op;
  void Loop();
  // Runs one cached transaction-control statement (BEGIN, SAVEPOINT, COMMIT, ...).
  absl::Status Step(const char* sql);
  // Runs `batch` in one transaction and sets each write's status. Without `savepoints`, the
  // first write that fails rolls everything back and false is returned.
  bool RunBatch(const std::vector<Op*>& batch, bool savepoints);
  void RolledBack();

  std::unique_ptr<Database> db_;
  const int max_batch_;
  const absl::Duration defer_delay_;
  const std::function<void()> on_rollback_;
  mutable absl::Mutex mu_;
  std::deque<Op*> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t batches_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t writes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t last_batch_ ABSL_GUARDED_BY(mu_) = 0;  // writes in the last transaction
  // Queued writes that are not deferrable.
  size_t prompt_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace hac::server::store

#endif  // HAC_SERVER_STORE_GROUP_COMMIT_H_
