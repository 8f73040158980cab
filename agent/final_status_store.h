// FinalStatusStore: the final statuses of attempts that hacd has not acknowledged yet, kept on
// disk so that an agent that dies (kill -9, power loss) before the StatusAck still tells hacd how
// its attempts ended when it comes back, instead of hacd marking them LOST.
//
//   ASSIGN_OR_RETURN(auto store, FinalStatusStore::Create(state_dir + "/finished"));
//   RETURN_IF_ERROR(store->Save({status, final_usage}));   // before the status is sent
//   store->Remove(attempt_id);                              // when its StatusAck arrives
//   for (FinalStatus& f : store->Load()) ...                // on agent start
//
// One file per attempt, `<dir>/<attempt-id>`, holding the AttemptStatus and the attempt's final
// UsageReport as two length-delimited protobuf messages. Save writes `<attempt-id>.tmp`, fsyncs
// it, renames it over the final name and fsyncs the directory, so a file is either whole and
// durable or absent. Remove does not fsync: a removal lost in a crash only makes the agent
// report a status again, which hacd acknowledges again.
//
// Owner: AttemptManager. Thread-safety: Save and Remove may run concurrently for distinct
// attempt ids (each touches only its own files); Load must not overlap anything else.
// Invariant: every file in the directory whose name is a valid attempt id was written whole by
// Save.
#ifndef HAC_AGENT_FINAL_STATUS_STORE_H_
#define HAC_AGENT_FINAL_STATUS_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

  // Writes the record of status.attempt_id() durably (see above), replacing an older one.
  // INVALID_ARGUMENT for an attempt id that is not a file name; UNAVAILABLE when the disk fails.
  absl::Status Save(const FinalStatus& final_status);
  // Forgets an attempt's record; nothing when there is none.
  void Remove(const std::string& attempt_id);
  // Every record, ordered by attempt id. Unreadable files and leftovers of an interrupted Save
  // are logged and deleted: nothing better can be done with them.
  std::vector<FinalStatus> Load();

  const std::string& dir() const { return dir_; }

 private:
  explicit FinalStatusStore(std::string dir) : dir_(std::move(dir)) {}
  std::string Path(const std::string& attempt_id) const;

  const std::string dir_;
};

}  // namespace hac::agent

#endif  // HAC_AGENT_FINAL_STATUS_STORE_H_
