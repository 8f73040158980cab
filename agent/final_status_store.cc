#include "agent/final_status_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
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

// Attempt ids never contain '~', so a temporary file cannot be mistaken for a record.
constexpr char kTempSuffix[] = ".tmp~";

absl::Status Unavailable(const std::string& what, const std::string& path, int err) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ", std::strerror(err)));
}

// Writes all of `data` to `fd`; false on error (errno set).
bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FinalStatusStore>> FinalStatusStore::Create(std::string dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create directory ", dir, ": ", ec.message()));
  }
  return std::unique_ptr<FinalStatusStore>(new FinalStatusStore(std::move(dir)));
}

std::string FinalStatusStore::Path(const std::string& attempt_id) const {
  return absl::StrCat(dir_, "/", attempt_id);
}

absl::Status FinalStatusStore::Save(const FinalStatus& final_status) {
  const std::string& id = final_status.status.attempt_id();
  if (!IsValidAttemptId(id)) {
    return absl::InvalidArgumentError(absl::StrCat("attempt id '", id, "' is not a file name"));
  }
  std::string data;
  {
    google::protobuf::io::StringOutputStream out(&data);
    if (!google::protobuf::util::SerializeDelimitedToZeroCopyStream(final_status.status, &out) ||
        !google::protobuf::util::SerializeDelimitedToZeroCopyStream(final_status.final_usage,
                                                                    &out)) {
      return absl::InternalError(absl::StrCat("cannot serialize the final status of ", id));
    }
  }
  const std::string path = Path(id);
  const std::string tmp = path + kTempSuffix;
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("cannot create", tmp, errno);
  bool ok = WriteAll(fd, data) && fsync(fd) == 0;
  int err = errno;
  close(fd);
  if (!ok) {
    unlink(tmp.c_str());
    return Unavailable("cannot write", tmp, err);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    unlink(tmp.c_str());
    return Unavailable("cannot rename to", path, err);
  }
  // The rename itself is durable only once the directory is.
  int dir_fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return Unavailable("cannot open", dir_, errno);
  ok = fsync(dir_fd) == 0;
  err = errno;
  close(dir_fd);
  if (!ok) return Unavailable("cannot fsync", dir_, err);
  return absl::OkStatus();
}

void FinalStatusStore::Remove(const std::string& attempt_id) {
  if (!IsValidAttemptId(attempt_id)) return;
  if (unlink(Path(attempt_id).c_str()) != 0 && errno != ENOENT) {
    HAC_LOG(WARNING) << "cannot remove " << Path(attempt_id) << ": " << std::strerror(errno);
  }
}

std::vector<FinalStatus> FinalStatusStore::Load() {
  std::vector<FinalStatus> out;
  std::error_code ec;
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    paths.push_back(entry.path());
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
      const std::string data = ss.str();
      google::protobuf::io::ArrayInputStream stream(data.data(), static_cast<int>(data.size()));
      bool clean_eof = false;
      ok = in.is_open() &&
           google::protobuf::util::ParseDelimitedFromZeroCopyStream(&f.status, &stream,
                                                                    &clean_eof) &&
           google::protobuf::util::ParseDelimitedFromZeroCopyStream(&f.final_usage, &stream,
                                                                    &clean_eof) &&
           f.status.attempt_id() == name;
    }
    if (ok) {
      out.push_back(std::move(f));
      continue;
    }
    HAC_LOG(WARNING) << "deleting " << path.string()
                     << ": not a final status record (an interrupted write or a stranger)";
    std::filesystem::remove(path, ec);
  }
  return out;
}

}  // namespace hac::agent
