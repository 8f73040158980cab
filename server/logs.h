// LogStore: attempts' output as forwarded by their agents, kept by hacd in files under one
// directory so logs outlive a lost node: <dir>/<attempt>.stdout, .stderr, and .all (both, in
// arrival order). Appends are idempotent by offset: bytes already stored are skipped, so a
// replayed chunk changes nothing.
//
// Thread-safe.
#ifndef HAC_SERVER_LOGS_H_
#define HAC_SERVER_LOGS_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "hac/v1/jobs.pb.h"

namespace hac::server {

class LogStore {
 public:
  // Creates `dir` if needed.
  static absl::StatusOr<std::unique_ptr<LogStore>> Create(const std::string& dir,
                                                          int64_t cap_bytes_per_stream);

  // Stores `data` at `offset` of the attempt's `stream` (STDOUT or STDERR).
  absl::Status Append(absl::string_view attempt_id, hac::v1::LogStream stream, int64_t offset,
                      absl::string_view data, bool truncated);
  // Up to `max_bytes` from `offset` of the stream (UNSPECIFIED: both, in arrival order).
  absl::StatusOr<std::string> Read(absl::string_view attempt_id, hac::v1::LogStream stream,
                                   int64_t offset, int64_t max_bytes) const;
  // Current size of a stream's log.
  int64_t Size(absl::string_view attempt_id, hac::v1::LogStream stream) const;
  bool Truncated(absl::string_view attempt_id) const;

 private:
  LogStore(std::string dir, int64_t cap) : dir_(std::move(dir)), cap_(cap) {}
  std::string Path(absl::string_view attempt_id, hac::v1::LogStream stream) const;

  const std::string dir_;
  const int64_t cap_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, bool> truncated_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hac::server

#endif  // HAC_SERVER_LOGS_H_
