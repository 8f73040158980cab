#include "server/logs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace hac::server {
namespace {

int64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

absl::Status AppendFile(const std::string& path, absl::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return absl::InternalError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  ssize_t n = ::write(fd, data.data(), data.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(data.size())) {
    return absl::InternalError(absl::StrCat("write ", path, ": short write"));
  }
  return absl::OkStatus();
}

// Attempt ids are ours ("j-42.1"), but they arrive from agents: never let one name a path.
bool SafeId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  return id[0] != '.';
}

}  // namespace

absl::StatusOr<std::unique_ptr<LogStore>> LogStore::Create(const std::string& dir,
                                                           int64_t cap_bytes_per_stream) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  return std::unique_ptr<LogStore>(new LogStore(dir, cap_bytes_per_stream));
}

std::string LogStore::Path(absl::string_view attempt_id, hac::v1::LogStream stream) const {
  const char* ext = stream == hac::v1::LOG_STREAM_STDOUT   ? ".stdout"
                    : stream == hac::v1::LOG_STREAM_STDERR ? ".stderr"
                                                           : ".all";
  return absl::StrCat(dir_, "/", attempt_id, ext);
}

absl::Status LogStore::Append(absl::string_view attempt_id, hac::v1::LogStream stream,
                              int64_t offset, absl::string_view data, bool truncated) {
  if (!SafeId(attempt_id)) return absl::InvalidArgumentError("attempt_id: not an attempt id");
  if (stream != hac::v1::LOG_STREAM_STDOUT && stream != hac::v1::LOG_STREAM_STDERR) {
    return absl::InvalidArgumentError("stream: must be STDOUT or STDERR");
  }
  if (offset < 0) return absl::InvalidArgumentError("offset: must not be negative");
  absl::MutexLock lock(&mu_);
  if (truncated) truncated_[attempt_id] = true;
  const std::string path = Path(attempt_id, stream);
  const int64_t size = FileSize(path);
  // Skip what is already stored; keep within the cap.
  int64_t skip = size - offset;
  if (skip >= static_cast<int64_t>(data.size())) return absl::OkStatus();
  if (skip > 0) data.remove_prefix(static_cast<size_t>(skip));
  const int64_t room = cap_ - size;
  if (room <= 0) {
    truncated_[attempt_id] = true;
    return absl::OkStatus();
  }
  if (static_cast<int64_t>(data.size()) > room) {
    data = data.substr(0, static_cast<size_t>(room));
    truncated_[attempt_id] = true;
  }
  if (absl::Status s = AppendFile(path, data); !s.ok()) return s;
  return AppendFile(Path(attempt_id, hac::v1::LOG_STREAM_UNSPECIFIED), data);
}

absl::StatusOr<std::string> LogStore::Read(absl::string_view attempt_id,
                                           hac::v1::LogStream stream, int64_t offset,
                                           int64_t max_bytes) const {
  if (!SafeId(attempt_id)) return absl::InvalidArgumentError("attempt_id: not an attempt id");
  const std::string path = Path(attempt_id, stream);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::string();
  std::string out(static_cast<size_t>(max_bytes), '\0');
  ssize_t n = ::pread(fd, out.data(), out.size(), offset);
  ::close(fd);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

int64_t LogStore::Size(absl::string_view attempt_id, hac::v1::LogStream stream) const {
  if (!SafeId(attempt_id)) return 0;
  return FileSize(Path(attempt_id, stream));
}

bool LogStore::Truncated(absl::string_view attempt_id) const {
  absl::MutexLock lock(&mu_);
  auto it = truncated_.find(attempt_id);
  return it != truncated_.end() && it->second;
}

}  // namespace hac::server
