#include "agent/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace hac::agent {
namespace {

constexpr char kPut = 1;
constexpr char kRemove = 2;
constexpr size_t kHeader = 12;  // length (4) + checksum (8)
// Larger than any record written: a length beyond it is corruption.
constexpr uint32_t kMaxPayload = 64 << 20;
// Never a key: attempt ids do not contain '~'.
constexpr char kTempSuffix[] = ".tmp~";

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

std::string Payload(char kind, const std::string& key, const std::string& value) {
  std::string p(1, kind);
  PutLe(p, key.size(), 2);
  p += key;
  p += value;
  return p;
}

std::string Frame(const std::string& payload) {
  std::string out;
  out.reserve(kHeader + payload.size());
  PutLe(out, payload.size(), 4);
  PutLe(out, Fnv1a(payload.data(), payload.size()), 8);
  out += payload;
  return out;
}

// The size of the record that sets key to value.
int64_t RecordBytes(const std::string& key, const std::string& value) {
  return static_cast<int64_t>(kHeader + 3 + key.size() + value.size());
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

// Replays the records of `data` into `live`; returns how many bytes are whole records.
size_t Replay(const std::string& data, absl::flat_hash_map<std::string, std::string>& live) {
  size_t pos = 0;
  while (pos + kHeader <= data.size()) {
    const auto len = static_cast<uint32_t>(GetLe(data.data() + pos, 4));
    const uint64_t sum = GetLe(data.data() + pos + 4, 8);
    const char* p = data.data() + pos + kHeader;
    if (len < 3 || len > kMaxPayload || pos + kHeader + len > data.size() ||
        Fnv1a(p, len) != sum) {
      break;
    }
    const size_t key_len = GetLe(p + 1, 2);
    if (3 + key_len > len || (p[0] != kPut && p[0] != kRemove)) break;
    std::string key(p + 3, key_len);
    if (p[0] == kPut) {
      live[std::move(key)] = std::string(p + 3 + key_len, len - 3 - key_len);
    } else {
      live.erase(key);
    }
    pos += kHeader + len;
  }
  return pos;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::unique_ptr<Journal> Journal::Open(std::string path) {
  return std::unique_ptr<Journal>(new Journal(std::move(path)));
}

Journal::~Journal() {
  absl::MutexLock lock(&mu_);
  if (fd_ >= 0) close(fd_);
}

int64_t Journal::bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

int64_t Journal::syncs() const {
  absl::MutexLock lock(&mu_);
  return syncs_;
}

std::map<std::string, std::string> Journal::Read(const std::string& path) {
  absl::flat_hash_map<std::string, std::string> live;
  Replay(ReadAll(path), live);
  return std::map<std::string, std::string>(live.begin(), live.end());
}

absl::Status Journal::OpenForAppend() {
  if (fd_ >= 0) return absl::OkStatus();
  fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) return Unavailable("cannot open", path_, errno);
  const off_t end = lseek(fd_, 0, SEEK_END);
  bytes_ = end < 0 ? 0 : end;
  return absl::OkStatus();
}

absl::Status Journal::Append(const std::string& payload) {
  RETURN_IF_ERROR(OpenForAppend());
  const std::string record = Frame(payload);
  if (!WriteAll(fd_, record)) {
    const int err = errno;
    // Whatever part of the record reached the file fails its checksum and would end the journal
    // there: start a fresh file so that later records are not lost behind it.
    (void)Compact();
    return Unavailable("cannot append to", path_, err);
  }
  bytes_ += static_cast<int64_t>(record.size());
  ++appended_;
  return absl::OkStatus();
}

absl::Status Journal::SyncThrough(uint64_t seq) {
  for (;;) {
    if (synced_ >= seq) return absl::OkStatus();
    if (!syncing_) break;
    // The sync in progress may have begun before record `seq`: wait, then look again.
    mu_.Await(absl::Condition(+[](bool* syncing) { return !*syncing; }, &syncing_));
  }
  syncing_ = true;
  ++syncs_;
  const uint64_t target = appended_;
  const int fd = fd_;
  mu_.Unlock();
  const bool ok = fdatasync(fd) == 0;
  const int err = errno;
  mu_.Lock();
  syncing_ = false;
  if (ok) {
    synced_ = std::max(synced_, target);
    return absl::OkStatus();
  }
  // A failed fdatasync may have dropped the dirty pages: rewrite the file from what is live
  // (Compact syncs it), or report the record as possibly lost.
  if (absl::Status s = Compact(); s.ok()) return absl::OkStatus();
  return Unavailable("cannot fdatasync", path_, err);
}

absl::Status Journal::Put(const std::string& key, std::string value, bool sync) {
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("journal key must be 1 to ", kMaxKeyBytes, " bytes"));
  }
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(Append(Payload(kPut, key, value)));
  const uint64_t seq = appended_;
  auto [it, inserted] = live_.try_emplace(key);
  if (!inserted) live_bytes_ -= RecordBytes(key, it->second);
  live_bytes_ += RecordBytes(key, value);
  it->second = std::move(value);
  return sync ? SyncThrough(seq) : absl::OkStatus();
}

void Journal::Remove(const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto it = live_.find(key);
  if (it == live_.end()) return;
  live_bytes_ -= RecordBytes(key, it->second);
  live_.erase(it);
  if (absl::Status s = Append(Payload(kRemove, key, "")); !s.ok()) {
    HAC_LOG(WARNING) << "cannot record the removal of " << key << ": " << s.message();
  }
  if (bytes_ > kCompactBytes && live_bytes_ * 4 < bytes_) {
    if (absl::Status s = Compact(); !s.ok()) {
      HAC_LOG(WARNING) << "cannot compact " << path_ << ": " << s.message();
    }
  }
}

absl::Status Journal::Compact() {
  // fd_ is not closed under an fdatasync in progress.
  mu_.Await(absl::Condition(+[](bool* syncing) { return !*syncing; }, &syncing_));
  const std::map<std::string, std::string> sorted(live_.begin(), live_.end());
  std::string data;
  for (const auto& [key, value] : sorted) data += Frame(Payload(kPut, key, value));
  const std::string tmp = path_ + kTempSuffix;
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("cannot create", tmp, errno);
  bool ok = WriteAll(fd, data) && fsync(fd) == 0;
  int err = errno;
  close(fd);
  if (!ok) {
    unlink(tmp.c_str());
    return Unavailable("cannot write", tmp, err);
  }
  if (rename(tmp.c_str(), path_.c_str()) != 0) {
    err = errno;
    unlink(tmp.c_str());
    return Unavailable("cannot rename to", path_, err);
  }
  // The rename itself is durable only once the directory is.
  const std::string dir = path_.substr(0, path_.find_last_of('/') + 1);
  int dir_fd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return Unavailable("cannot open", dir, errno);
  ok = fsync(dir_fd) == 0;
  err = errno;
  close(dir_fd);
  if (!ok) return Unavailable("cannot fsync", dir, err);
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  // Everything live is in the new file, synced.
  synced_ = appended_;
  return OpenForAppend();
}

std::map<std::string, std::string> Journal::Load() {
  absl::MutexLock lock(&mu_);
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  live_.clear();
  const std::string data = ReadAll(path_);
  const size_t whole = Replay(data, live_);
  if (whole < data.size()) {
    HAC_LOG(WARNING) << path_ << ": dropping " << data.size() - whole
                     << " bytes after the last whole record (an interrupted write)";
  }
  live_bytes_ = 0;
  for (const auto& [key, value] : live_) live_bytes_ += RecordBytes(key, value);
  if (absl::Status s = Compact(); !s.ok()) {
    HAC_LOG(ERROR) << "cannot rewrite " << path_ << ": " << s.message();
  }
  return std::map<std::string, std::string>(live_.begin(), live_.end());
}

}  // namespace hac::agent
