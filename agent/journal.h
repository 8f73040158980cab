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
// torn by a crash fails its checksum and ends the journal there. Put with sync returns once an
// fdatasync that began after its record was written has succeeded: concurrent Puts share one
// (group commit), and no lock is held during it, so Put and Remove of other threads go on
// meanwhile. Remove never syncs. Load replays the file and rewrites it with the live entries
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
  // fdatasync calls made for Puts with sync (for tests).
  int64_t syncs() const;
  // The live entries of the file at `path` as a Load would find them, changing nothing.
  static std::map<std::string, std::string> Read(const std::string& path);

 private:
  explicit Journal(std::string path) : path_(std::move(path)) {}
  // Writes a record (no sync).
  absl::Status Append(const std::string& payload) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Returns once records 1..`seq` are durable: an fdatasync by this thread or one in progress
  // in another that began after them.
  absl::Status SyncThrough(uint64_t seq) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waits for a sync in progress, then rewrites the file (which makes every record durable).
  absl::Status Compact() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status OpenForAppend() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  mutable absl::Mutex mu_;
  int fd_ ABSL_GUARDED_BY(mu_) = -1;
  int64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, std::string> live_ ABSL_GUARDED_BY(mu_);
  int64_t live_bytes_ ABSL_GUARDED_BY(mu_) = 0;  // what a compacted file would hold
  // Records written (appended_) and known durable (synced_) by this object; an fdatasync of
  // fd_ is running outside the lock while syncing_ (fd_ is then neither closed nor replaced).
  uint64_t appended_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t synced_ ABSL_GUARDED_BY(mu_) = 0;
  bool syncing_ ABSL_GUARDED_BY(mu_) = false;
  int64_t syncs_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace hac::agent

#endif  // HAC_AGENT_JOURNAL_H_
