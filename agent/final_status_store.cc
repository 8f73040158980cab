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
#include "common/status_macros.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/delimited_message_util.h"

namespace hac::agent {
namespace {

constexpr char kJournal[] = "journal";
// Attempt ids never contain '~', so a temporary file cannot be mistaken for anything else.
constexpr char kTempSuffix[] = ".tmp~";
constexpr char kSaved = 1;
constexpr char kRemoved = 2;
// A record: payload length (4 bytes), FNV-1a 64 of the payload (8 bytes), payload; integers
// little-endian. Payload: kind byte, then the two messages (saved) or the attempt id (removed).
constexpr size_t kHeader = 12;
// Larger than any record this store writes: a length beyond it is corruption.
constexpr uint32_t kMaxPayload = 64 << 20;

absl::Status Unavailable(const std::string& what, const std::string& path, int err) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ", std::strerror(err)));
}

uint64_t Fnv1a(const char* p, size_t n) {
  uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<uint8_t>(p[i]);
    h *= 1099511628211ull;
  }
  return h;
}

void PutLe(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetLe(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

std::string Frame(const std::string& payload) {
  std::string out;
  out.reserve(kHeader + payload.size());
  PutLe(out, payload.size(), 4);
  PutLe(out, Fnv1a(payload.data(), payload.size()), 8);
  out += payload;
  return out;
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

// The "saved" payload of `f`; empty if it cannot be serialized.
std::string SavedPayload(const FinalStatus& f) {
  std::string data(1, kSaved);
  google::protobuf::io::StringOutputStream out(&data);
  if (!google::protobuf::util::SerializeDelimitedToZeroCopyStream(f.status, &out) ||
      !google::protobuf::util::SerializeDelimitedToZeroCopyStream(f.final_usage, &out)) {
    return "";
  }
  return data;
}

// Parses two length-delimited messages from `data` (after its kind byte).
bool ParseSaved(const std::string& data, size_t offset, FinalStatus& f) {
  google::protobuf::io::ArrayInputStream stream(data.data() + offset,
                                                static_cast<int>(data.size() - offset));
  bool clean_eof = false;
  return google::protobuf::util::ParseDelimitedFromZeroCopyStream(&f.status, &stream,
                                                                  &clean_eof) &&
         google::protobuf::util::ParseDelimitedFromZeroCopyStream(&f.final_usage, &stream,
                                                                  &clean_eof) &&
         IsValidAttemptId(f.status.attempt_id());
}

// Replays a journal's records into `live` (attempt id -> "saved" payload); returns how many bytes
// of `data` are whole records.
size_t Replay(const std::string& data, const std::string& journal,
              absl::flat_hash_map<std::string, std::string>& live) {
  size_t pos = 0;
  while (pos + kHeader <= data.size()) {
    const auto len = static_cast<uint32_t>(GetLe(data.data() + pos, 4));
    const uint64_t sum = GetLe(data.data() + pos + 4, 8);
    if (len == 0 || len > kMaxPayload || pos + kHeader + len > data.size() ||
        Fnv1a(data.data() + pos + kHeader, len) != sum) {
      break;
    }
    std::string payload = data.substr(pos + kHeader, len);
    pos += kHeader + len;
    FinalStatus f;
    if (payload[0] == kSaved && ParseSaved(payload, 1, f)) {
      live[f.status.attempt_id()] = std::move(payload);
    } else if (payload[0] == kRemoved) {
      live.erase(payload.substr(1));
    } else {
      HAC_LOG(WARNING) << journal << ": skipping a record of unknown kind";
    }
  }
  return pos;
}

std::string ReadFile(const std::string& path, bool* ok) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  *ok = in.is_open();
  return ss.str();
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

FinalStatusStore::FinalStatusStore(std::string dir)
    : dir_(std::move(dir)), journal_(absl::StrCat(dir_, "/", kJournal)) {}

FinalStatusStore::~FinalStatusStore() {
  absl::MutexLock lock(&mu_);
  if (fd_ >= 0) close(fd_);
}

int64_t FinalStatusStore::journal_bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

absl::Status FinalStatusStore::OpenForAppend() {
  if (fd_ >= 0) return absl::OkStatus();
  fd_ = open(journal_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) return Unavailable("cannot open", journal_, errno);
  const off_t end = lseek(fd_, 0, SEEK_END);
  bytes_ = end < 0 ? 0 : end;
  return absl::OkStatus();
}

absl::Status FinalStatusStore::Append(const std::string& payload, bool sync) {
  RETURN_IF_ERROR(OpenForAppend());
  const std::string record = Frame(payload);
  if (!WriteAll(fd_, record) || (sync && fdatasync(fd_) != 0)) {
    const int err = errno;
    // Whatever part of the record reached the file fails its checksum and ends the journal
    // there on the next Load; start a fresh file so that later records are not lost behind it.
    close(fd_);
    fd_ = -1;
    (void)Compact();
    return Unavailable("cannot append to", journal_, err);
  }
  bytes_ += static_cast<int64_t>(record.size());
  return absl::OkStatus();
}

absl::Status FinalStatusStore::Save(const FinalStatus& final_status) {
  const std::string& id = final_status.status.attempt_id();
  if (!IsValidAttemptId(id)) {
    return absl::InvalidArgumentError(absl::StrCat("attempt id '", id, "' is not valid"));
  }
  std::string payload = SavedPayload(final_status);
  if (payload.empty()) {
    return absl::InternalError(absl::StrCat("cannot serialize the final status of ", id));
  }
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(Append(payload, /*sync=*/true));
  auto [it, inserted] = live_.try_emplace(id);
  if (!inserted) live_bytes_ -= static_cast<int64_t>(it->second.size() + kHeader);
  live_bytes_ += static_cast<int64_t>(payload.size() + kHeader);
  it->second = std::move(payload);
  return absl::OkStatus();
}

void FinalStatusStore::Remove(const std::string& attempt_id) {
  absl::MutexLock lock(&mu_);
  auto it = live_.find(attempt_id);
  if (it == live_.end()) return;
  live_bytes_ -= static_cast<int64_t>(it->second.size() + kHeader);
  live_.erase(it);
  if (absl::Status s = Append(absl::StrCat(std::string(1, kRemoved), attempt_id), false);
      !s.ok()) {
    HAC_LOG(WARNING) << "cannot record that " << attempt_id << " was acknowledged: "
                     << s.message();
  }
  if (bytes_ > kCompactBytes && live_bytes_ * 4 < bytes_) {
    if (absl::Status s = Compact(); !s.ok()) {
      HAC_LOG(WARNING) << "cannot compact " << journal_ << ": " << s.message();
    }
  }
}

absl::Status FinalStatusStore::Compact() {
  const std::string tmp = journal_ + kTempSuffix;
  std::vector<const std::string*> ids;
  for (const auto& [id, payload] : live_) ids.push_back(&id);
  std::sort(ids.begin(), ids.end(), [](const auto* a, const auto* b) { return *a < *b; });
  std::string data;
  for (const std::string* id : ids) data += Frame(live_.at(*id));
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("cannot create", tmp, errno);
  bool ok = WriteAll(fd, data) && fsync(fd) == 0;
  int err = errno;
  close(fd);
  if (!ok) {
    unlink(tmp.c_str());
    return Unavailable("cannot write", tmp, err);
  }
  if (rename(tmp.c_str(), journal_.c_str()) != 0) {
    err = errno;
    unlink(tmp.c_str());
    return Unavailable("cannot rename to", journal_, err);
  }
  // The rename itself is durable only once the directory is.
  int dir_fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return Unavailable("cannot open", dir_, errno);
  ok = fsync(dir_fd) == 0;
  err = errno;
  close(dir_fd);
  if (!ok) return Unavailable("cannot fsync", dir_, err);
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  return OpenForAppend();
}

std::vector<FinalStatus> FinalStatusStore::Load() {
  absl::MutexLock lock(&mu_);
  live_.clear();
  live_bytes_ = 0;
  if (fd_ >= 0) close(fd_);
  fd_ = -1;

  // The journal, up to its first torn or corrupt record.
  bool opened = false;
  const std::string data = ReadFile(journal_, &opened);
  const size_t pos = Replay(data, journal_, live_);
  if (pos < data.size()) {
    HAC_LOG(WARNING) << journal_ << ": dropping " << data.size() - pos
                     << " bytes after the last whole record (an interrupted write)";
  }

  // Files of the one-file-per-attempt layout, and leftovers of an interrupted compaction.
  std::error_code ec;
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    if (entry.path().filename() != kJournal) paths.push_back(entry.path());
  }
  if (ec) HAC_LOG(ERROR) << "cannot list " << dir_ << ": " << ec.message();
  std::sort(paths.begin(), paths.end());
  std::vector<std::filesystem::path> taken;
  for (const std::filesystem::path& path : paths) {
    const std::string name = path.filename().string();
    bool ok = false;
    FinalStatus f;
    if (IsValidAttemptId(name)) {
      const std::string file = ReadFile(path.string(), &ok);
      ok = ok && ParseSaved(file, 0, f) && f.status.attempt_id() == name;
    }
    if (ok) {
      live_[name] = SavedPayload(f);
      taken.push_back(path);
      continue;
    }
    HAC_LOG(WARNING) << "deleting " << path.string()
                     << ": not a final status record (an interrupted write or a stranger)";
    std::filesystem::remove(path, ec);
  }

  std::vector<FinalStatus> out;
  for (const auto& [id, payload] : live_) {
    live_bytes_ += static_cast<int64_t>(payload.size() + kHeader);
    FinalStatus& f = out.emplace_back();
    (void)ParseSaved(payload, 1, f);
  }
  std::sort(out.begin(), out.end(), [](const FinalStatus& a, const FinalStatus& b) {
    return a.status.attempt_id() < b.status.attempt_id();
  });
  // The journal now says exactly what is live; the old files can go once it is durable.
  if (absl::Status s = Compact(); !s.ok()) {
    HAC_LOG(ERROR) << "cannot rewrite " << journal_ << ": " << s.message();
    return out;
  }
  for (const std::filesystem::path& path : taken) std::filesystem::remove(path, ec);
  return out;
}

std::vector<std::string> FinalStatusStore::ListSaved(const std::string& dir) {
  const std::string journal = absl::StrCat(dir, "/", kJournal);
  bool opened = false;
  absl::flat_hash_map<std::string, std::string> live;
  Replay(ReadFile(journal, &opened), journal, live);
  std::vector<std::string> out;
  for (const auto& [id, payload] : live) out.push_back(id);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace hac::agent
