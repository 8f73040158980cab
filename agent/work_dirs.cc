#include "agent/work_dirs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace hac::agent {
namespace {

// Whether the directory at `path` holds nothing but "." and "..". False when it cannot be read.
bool IsEmptyDir(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  // One getdents64 call: an empty directory's two entries fit in any buffer this size.
  alignas(8) char buf[1024];
  bool empty = true;
  for (;;) {
    const long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
    if (n < 0) {
      empty = false;
      break;
    }
    if (n == 0) break;
    for (long off = 0; off < n;) {
      const auto* d = reinterpret_cast<const struct dirent64*>(buf + off);
      const bool dot = strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0;
      if (!dot) empty = false;
      off += d->d_reclen;
    }
    if (!empty) break;
  }
  close(fd);
  return empty;
}

}  // namespace

absl::StatusOr<std::string> WorkDirs::Make(const std::string& attempt_id) {
  std::string path = absl::StrCat(root_, "/", attempt_id);
  for (;;) {
    std::string spare;
    {
      absl::MutexLock lock(&mu_);
      if (spare_.empty()) break;
      spare = std::move(spare_.back());
      spare_.pop_back();
    }
    // Replaces an empty directory already at `path`; fails (ENOTEMPTY, EEXIST) on a full one,
    // which is then used as it is, as mkdir would.
    if (rename(spare.c_str(), path.c_str()) == 0) return path;
    if (errno == ENOTEMPTY || errno == EEXIST) {
      Release(spare);
      return path;
    }
    // The spare is gone or unusable: forget it and try the next.
  }
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", path, ": ", strerror(errno)));
  }
  return path;
}

void WorkDirs::Release(const std::string& path) {
  {
    absl::MutexLock lock(&mu_);
    if (spare_.size() >= kMaxSpare) return;
  }
  if (!IsEmptyDir(path)) return;
  absl::MutexLock lock(&mu_);
  if (spare_.size() < kMaxSpare) spare_.push_back(path);
}

size_t WorkDirs::spare() const {
  absl::MutexLock lock(&mu_);
  return spare_.size();
}

}  // namespace hac::agent
