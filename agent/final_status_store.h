// FinalStatusStore: the final statuses of attempts that hacd has not acknowledged yet, kept on
// disk so that an agent that dies (kill -9, power loss) before the StatusAck still tells hacd how
// its attempts ended when it comes back, instead of hacd marking them LOST.
//
//   ASSIGN_OR_RETURN(auto store, FinalStatusStore::Create(state_dir + "/finished"));
//   RETURN_IF_ERROR(store->Save({status, final_usage}));   // before the status is sent
//   store->Remove(attempt_id);                              // when its StatusAck arrives
//   for (FinalStatus& f : store->Load()) ...                // on agent start
//
// The records live in a Journal (journal.h), `<dir>/journal`, keyed by attempt id, each value the
// AttemptStatus and the attempt's final UsageReport as two length-delimited protobuf messages.
// Save appends and fdatasyncs: a record is durable when Save returns. Remove appends without
// syncing: a removal lost in a crash only makes the agent report a status again, which hacd
// acknowledges again. So an attempt costs two appends and one fdatasync (shared by attempts that
// end together, see Journal::Put), and no file is created or deleted per attempt. Files of the
// former one-file-per-attempt layout found by Load are taken into the journal and deleted.
//
// Owner: AttemptManager. Thread-safe: Save and Remove may run concurrently; Load must not overlap
// anything else.
#ifndef HAC_AGENT_FINAL_STATUS_STORE_H_
#define HAC_AGENT_FINAL_STATUS_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/journal.h"
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
  // Creates `dir` if needed. FAILED_PRECONDITION when it cannot.
  static absl::StatusOr<std::unique_ptr<FinalStatusStore>> Create(std::string dir);

  // Records the final status of status.attempt_id() durably (see above), replacing an older one.
  // INVALID_ARGUMENT for an attempt id that is not a valid attempt id; UNAVAILABLE when the disk
  // fails (the record may then be lost).
  absl::Status Save(const FinalStatus& final_status);
  // Forgets an attempt's record; nothing when there is none.
  void Remove(const std::string& attempt_id);
  // Every record, ordered by attempt id (Journal::Load). Unreadable records and files are logged
  // and dropped: nothing better can be done with them.
  std::vector<FinalStatus> Load();

  // The attempts whose final status the journal in `dir` holds durably (what a restarted agent
  // would report), ordered, without changing anything: for tests and operators. Files of the
  // former layout are not counted.
  static std::vector<std::string> ListSaved(const std::string& dir);

  const std::string& dir() const { return dir_; }
  // The journal's size in bytes (for tests).
  int64_t journal_bytes() const { return journal_->bytes(); }

 private:
  FinalStatusStore(std::string dir, std::unique_ptr<Journal> journal)
      : dir_(std::move(dir)), journal_(std::move(journal)) {}

  const std::string dir_;
  const std::unique_ptr<Journal> journal_;
};

}  // namespace hac::agent

#endif  // HAC_AGENT_FINAL_STATUS_STORE_H_
