#include "agent/final_status_store.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/supervisor.h"
#include "common/log.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/delimited_message_util.h"

namespace hac::agent {
namespace {

constexpr char kJournal[] = "journal";

// The journal value (and the content of a former-layout file): two delimited messages.
bool Serialize(const FinalStatus& f, std::string& out) {
  google::protobuf::io::StringOutputStream stream(&out);
  return google::protobuf::util::SerializeDelimitedToZeroCopyStream(f.status, &stream) &&
         google::protobuf::util::SerializeDelimitedToZeroCopyStream(f.final_usage, &stream);
}

bool Parse(const std::string& data, const std::string& attempt_id, FinalStatus& f) {
  google::protobuf::io::ArrayInputStream stream(data.data(), static_cast<int>(data.size()));
  bool clean_eof = false;
  return google::protobuf::util::ParseDelimitedFromZeroCopyStream(&f.status, &stream,
                                                                  &clean_eof) &&
         google::protobuf::util::ParseDelimitedFromZeroCopyStream(&f.final_usage, &stream,
                                                                  &clean_eof) &&
         f.status.attempt_id() == attempt_id;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FinalStatusStore>> FinalStatusStore::Create(std::string dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create directory ", dir, ": ", ec.message()));
  }
  std::unique_ptr<Journal> journal = Journal::Open(absl::StrCat(dir, "/", kJournal));
  return std::unique_ptr<FinalStatusStore>(
      new FinalStatusStore(std::move(dir), std::move(journal)));
}

absl::Status FinalStatusStore::Save(const FinalStatus& final_status) {
  const std::string& id = final_status.status.attempt_id();
  if (!IsValidAttemptId(id)) {
    return absl::InvalidArgumentError(absl::StrCat("attempt id '", id, "' is not valid"));
  }
  std::string value;
  if (!Serialize(final_status, value)) {
    return absl::InternalError(absl::StrCat("cannot serialize the final status of ", id));
  }
  return journal_->Put(id, std::move(value), /*sync=*/true);
}

void FinalStatusStore::Remove(const std::string& attempt_id) { journal_->Remove(attempt_id); }

std::vector<FinalStatus> FinalStatusStore::Load() {
  std::vector<FinalStatus> out;
  for (const auto& [id, value] : journal_->Load()) {
    FinalStatus f;
    if (IsValidAttemptId(id) && Parse(value, id, f)) {
      out.push_back(std::move(f));
      continue;
    }
    HAC_LOG(WARNING) << dir_ << ": dropping an unreadable final status record of " << id;
    journal_->Remove(id);
  }
  // Files of the one-file-per-attempt layout, and leftovers of an interrupted compaction.
  std::error_code ec;
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    if (entry.path().filename() != kJournal) paths.push_back(entry.path());
  }
  if (ec) HAC_LOG(ERROR) << "cannot list " << dir_ << ": " << ec.message();
  std::sort(paths.begin(), paths.end());
  for (const std::filesystem::path& path : paths) {
    const std::string name = path.filename().string();
    FinalStatus f;
    bool ok = false;
    if (IsValidAttemptId(name)) {
      std::ifstream in(path, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      std::string value;
      ok = in.is_open() && Parse(ss.str(), name, f) && Serialize(f, value) &&
           journal_->Put(name, std::move(value), /*sync=*/true).ok();
    }
    if (ok) {
      out.push_back(std::move(f));
    } else {
      HAC_LOG(WARNING) << "deleting " << path.string()
                       << ": not a final status record (an interrupted write or a stranger)";
    }
    std::filesystem::remove(path, ec);
  }
  std::sort(out.begin(), out.end(), [](const FinalStatus& a, const FinalStatus& b) {
    return a.status.attempt_id() < b.status.attempt_id();
  });
  return out;
}

std::vector<std::string> FinalStatusStore::ListSaved(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& [id, value] : Journal::Read(absl::StrCat(dir, "/", kJournal))) {
    out.push_back(id);
  }
  return out;
}

}  // namespace hac::agent
