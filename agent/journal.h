// Journal: a small map from keys to values kept in one append-only file, for what the agent must
// remember across a crash without creating and deleting a file per attempt (on ext4, inode
// allocation after many recent deletions is slow, and each file costs several syscalls).
//
//   ASSIGN_OR_RETURN(auto j, Journal::Open(state_dir + "/running"));
//   for (const auto& [key, value] : j->Load()) ...        // on start: what the last run left
//   RETURN_IF_ERROR(j->Put("j-1.1", "4242 boot-id", /*sync=*/false));
//   j->Remove("j-1.1");
//
// Records: payload length (4 bytes), FNV-1a 64 of the payload (8 bytes), payload; integers
// little-endian. Payload: kind (1 put, 2 remove), key length (2 bytes), key, value (put). A record
// torn by a crash fails its checksum and ends the journal there. Put with sync fdatasyncs before
// returning; Remove never syncs. Load replays the file and rewrites it with the live entries
// (temporary file, fsync, rename, directory fsync); so does Remove once the file has passed
// kCompactBytes and is mostly records no longer needed.
//
// Owner: whoever opened it. Thread-safe; Load must not overlap Put or Remove.
#ifndef HAC_AGENT_JOURNAL_H_
#define HAC_AGENT_JOURNAL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace hac::agent {

class Journal {
 public:
  static constexpr int64_t kCompactBytes = 1 << 20;
  static constexpr size_t kMaxKeyBytes = 4096;

  // The journal at `path` (created on first write); its directory must exist.
  static std::unique_ptr<Journal> Open(std::string path);
  ~Journal();

  // The live entries, ordered by key; the file is rewritten with them. A torn or corrupt tail is
  // logged and dropped.
  std::map<std::string, std::string> Load();
  // Sets `key` (1..kMaxKeyBytes bytes) to `value`. With `sync`, durable when OK is returned.
  // UNAVAILABLE when the disk fails (the entry may then be lost); INVALID_ARGUMENT for a bad key.
  absl::Status Put(const std::string& key, std::string value, bool sync);
  // Forgets `key`, without syncing; nothing if it is not set.
  void Remove(const std::string& key);

  // The file's size in bytes (for tests).
  int64_t bytes() const;
  // The live entries of the file at `path` as a Load would find them, changing nothing.
  static std::map<std::string, std::string> Read(const std::string& path);

 private:
  explicit Journal(std::string path) : path_(std::move(path)) {}
  absl::Status Append(const std::string& payload, bool sync) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Compact() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status OpenForAppend() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  mutable absl::Mutex mu_;
  int fd_ ABSL_GUARDED_BY(mu_) = -1;
  int64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, std::string> live_ ABSL_GUARDED_BY(mu_);
  int64_t live_bytes_ ABSL_GUARDED_BY(mu_) = 0;  // what a compacted file would hold
};

}  // namespace hac::agent

#endif  // HAC_AGENT_JOURNAL_H_
