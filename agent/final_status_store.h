// FinalStatusStore: the final statuses of attempts that hacd has not acknowledged yet, kept on
// disk so that an agent that dies (kill -9, power loss) before the StatusAck still tells hacd how
// its attempts ended when it comes back, instead of hacd marking them LOST.
//
//   ASSIGN_OR_RETURN(auto store, FinalStatusStore::Create(state_dir + "/finished"));
//   RETURN_IF_ERROR(store->Save({status, final_usage}));   // before the status is sent
//   store->Remove(attempt_id);                              // when its StatusAck arrives
//   for (FinalStatus& f : store->Load()) ...                // on agent start
//
// One append-only journal, `<dir>/journal`, of checksummed records: "saved" (the AttemptStatus
// and the attempt's final UsageReport as two length-delimited protobuf messages) and "removed"
// (an attempt id). Save appends and fdatasyncs: a record is durable when Save returns, and a
// record torn by a crash fails its checksum and ends the journal there. Remove appends without
// syncing: a removal lost in a crash only makes the agent report a status again, which hacd
// acknowledges again. So an attempt costs two appends and one fdatasync, and no file is created
// or deleted per attempt. When the journal has grown past kCompactBytes and holds mostly removed
// records, it is rewritten with the live ones (a temporary file, fsync, rename, directory fsync);
// Load does the same on start. Files of the former one-file-per-attempt layout found by Load are
// taken into the journal and deleted.
//
// Owner: AttemptManager. Thread-safe: Save and Remove may run concurrently; Load must not overlap
// anything else.
#ifndef HAC_AGENT_FINAL_STATUS_STORE_H_
#define HAC_AGENT_FINAL_STATUS_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "hac/v1/nodes.pb.h"

namespace hac::agent {

// How an attempt ended, as last sent to hacd.
struct FinalStatus {
  v1::AttemptStatus status;
  // The counters with final = true; empty when the attempt held no devices.
  v1::UsageReport final_usage;
};

class FinalStatusStore {
 public:
  // The journal is rewritten with its live records once it is larger than this and at least
  // three quarters of it are records no longer needed.
  static constexpr int64_t kCompactBytes = 1 << 20;

  // Creates `dir` if needed. FAILED_PRECONDITION when it cannot.
  static absl::StatusOr<std::unique_ptr<FinalStatusStore>> Create(std::string dir);
  ~FinalStatusStore();

  // Records the final status of status.attempt_id() durably (see above), replacing an older one.
  // INVALID_ARGUMENT for an attempt id that is not a valid attempt id; UNAVAILABLE when the disk
  // fails (the record may then be lost).
  absl::Status Save(const FinalStatus& final_status);
  // Forgets an attempt's record; nothing when there is none.
  void Remove(const std::string& attempt_id);
  // Every record, ordered by attempt id; rewrites the journal with them. A torn or corrupt tail
  // is logged and dropped, and so are unreadable files: nothing better can be done with them.
  std::vector<FinalStatus> Load();

  // The attempts whose final status the journal in `dir` holds durably (what a restarted agent
  // would report), ordered, without changing anything: for tests and operators. Files of the
  // former layout are not counted.
  static std::vector<std::string> ListSaved(const std::string& dir);

  const std::string& dir() const { return dir_; }
  // The journal's size in bytes (for tests).
  int64_t journal_bytes() const;

 private:
  explicit FinalStatusStore(std::string dir);
  // Appends one framed record; syncs when asked.
  absl::Status Append(const std::string& payload, bool sync) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Rewrites the journal with the live records only.
  absl::Status Compact() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status OpenForAppend() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string dir_;
  const std::string journal_;
  mutable absl::Mutex mu_;
  int fd_ ABSL_GUARDED_BY(mu_) = -1;
  int64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // attempt id -> its "saved" record's payload.
  absl::flat_hash_map<std::string, std::string> live_ ABSL_GUARDED_BY(mu_);
  int64_t live_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace hac::agent

#endif  // HAC_AGENT_FINAL_STATUS_STORE_H_
