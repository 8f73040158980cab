// WorkDirs: the fresh working directories of attempts whose spec names none,
// <root>/<attempt-id>/, made cheaply. A directory that an attempt left empty is kept when the
// attempt ends and renamed to the next attempt's name instead of a new one being made: on ext4,
// creating a directory allocates an inode, which after many recent deletions scans past each
// recently freed inode and was the largest single cost of starting a short job. Directories with
// anything in them stay where they are, for their owner.
//
//   WorkDirs dirs(options.work_dir);
//   ASSIGN_OR_RETURN(std::string cwd, dirs.Make("j-1.1"));   // <root>/j-1.1, empty
//   ... the attempt runs in it and its process group is gone ...
//   dirs.Release(cwd);                                       // kept for a later attempt if empty
//
// The kept directories are remembered in memory only: after a restart the empty ones are left
// where they are, as are all directories of attempts that wrote something.
//
// Owner: the AttemptManager. Thread-safe.
#ifndef HAC_AGENT_WORK_DIRS_H_
#define HAC_AGENT_WORK_DIRS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace hac::agent {

class WorkDirs {
 public:
  // At most this many empty directories are kept for reuse; more are left where they are.
  static constexpr size_t kMaxSpare = 64;

  // `root` must exist.
  explicit WorkDirs(std::string root) : root_(std::move(root)) {}

  // <root>/<attempt_id> exists when this returns OK: an empty directory renamed, a new one, or
  // the one already there. `attempt_id` must be a valid attempt id (IsValidAttemptId).
  // FAILED_PRECONDITION (naming the path) when it cannot be made.
  absl::StatusOr<std::string> Make(const std::string& attempt_id);

  // `path` (from Make) is no longer used by anybody: if it is empty it is kept for a later Make.
  void Release(const std::string& path);

  // Directories kept for reuse (for tests).
  size_t spare() const;

 private:
  const std::string root_;
  mutable absl::Mutex mu_;
  std::vector<std::string> spare_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hac::agent

#endif  // HAC_AGENT_WORK_DIRS_H_
