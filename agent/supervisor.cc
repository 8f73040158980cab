#include "agent/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

extern char** environ;

namespace hac::agent {
namespace {

// After the main process exits, how long the rest of its output may take to arrive (a
// grandchild that escaped the group could hold the pipes open forever).
constexpr absl::Duration kDrainTimeout = absl::Seconds(2);
// Upper bound on one poll(): deadlines are re-checked at least this often.
constexpr int kMaxPollMs = 100;

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

std::string Errno(int err) { return std::string(strerror(err)); }

std::string DurationText(absl::Duration d) { return absl::FormatDuration(d); }

}  // namespace

bool IsValidAttemptId(const std::string& id) {
  if (id.empty() || id.size() > 128 || id == "." || id == "..") return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string SignalName(int sig) {
  switch (sig) {
    case SIGTERM:
      return "SIGTERM";
    case SIGKILL:
      return "SIGKILL";
    case SIGINT:
      return "SIGINT";
    case SIGSEGV:
      return "SIGSEGV";
    case SIGABRT:
      return "SIGABRT";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGILL:
      return "SIGILL";
    case SIGHUP:
      return "SIGHUP";
    case SIGPIPE:
      return "SIGPIPE";
    case SIGQUIT:
      return "SIGQUIT";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGUSR2:
      return "SIGUSR2";
    default:
      return absl::StrCat("signal ", sig);
  }
}

// One running attempt. The fds belong to its monitor thread; the fields marked
// "mu_" are shared with Cancel() under Supervisor::mu_.
struct Supervisor::Child {
  std::string attempt_id;
  pid_t pid = -1;
  // Readable when the main process exits (pidfd_open); -1 where the kernel has none, and then
  // the exit is noticed by polling waitpid every 10 ms.
  int pid_fd = -1;
  int out_fd = -1;
  int err_fd = -1;
  int wake_read = -1;
  int wake_write = -1;  // mu_: written by Cancel() to interrupt poll()
  std::string log_base;  // <log_dir>/<attempt id>; + ".stdout" / ".stderr"
  int out_log = -1;
  int err_log = -1;
  absl::Time start;
  absl::Duration max_runtime;
  absl::Duration kill_grace;
  // mu_
  bool cancel_requested = false;
  absl::Duration cancel_grace = absl::InfiniteDuration();
};

absl::StatusOr<std::unique_ptr<Supervisor>> Supervisor::Create(Options options,
                                                               Callbacks callbacks) {
  if (options.clock == nullptr) return absl::InvalidArgumentError("Supervisor: clock is required");
  if (options.log_dir.empty()) return absl::InvalidArgumentError("Supervisor: log_dir is required");
  if (options.log_cap_bytes < 0) {
    return absl::InvalidArgumentError("Supervisor: log_cap_bytes must be >= 0");
  }
  std::error_code ec;
  std::filesystem::create_directories(options.log_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create log directory ", options.log_dir, ": ", ec.message()));
  }
  return std::unique_ptr<Supervisor>(new Supervisor(std::move(options), std::move(callbacks)));
}

Supervisor::Supervisor(Options options, Callbacks callbacks)
    : options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      devnull_(open("/dev/null", O_RDONLY | O_CLOEXEC)),
      devnull_errno_(devnull_ < 0 ? errno : 0) {}

Supervisor::~Supervisor() {
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, child] : children_) {
      child->cancel_requested = true;
      child->cancel_grace = absl::ZeroDuration();
      char b = 1;
      if (write(child->wake_write, &b, 1) < 0) {
        // The monitor re-checks at least every kMaxPollMs anyway.
      }
    }
    mu_.Await(absl::Condition(
        +[](std::map<std::string, std::unique_ptr<Child>>* c) { return c->empty(); }, &children_));
    closing_ = true;
  }
  std::vector<std::thread> monitors;
  {
    absl::MutexLock lock(&mu_);
    monitors.swap(monitors_);
  }
  for (std::thread& t : monitors) t.join();
  if (devnull_ >= 0) close(devnull_);
}

void Supervisor::MonitorLoop() {
  // Output is read through it, for every child this thread watches.
  std::string buffer(kMaxChunkBytes, '\0');
  for (;;) {
    Child* child = nullptr;
    {
      absl::MutexLock lock(&mu_);
      ++idle_monitors_;
      mu_.Await(absl::Condition(
          +[](Supervisor* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
            return !s->handoff_.empty() || s->closing_;
          },
          this));
      --idle_monitors_;
      if (handoff_.empty()) return;  // closing
      child = handoff_.front();
      handoff_.pop_front();
    }
    Monitor(child, buffer);
  }
}

absl::StatusOr<pid_t> Supervisor::Start(const LaunchSpec& spec) {
  if (!IsValidAttemptId(spec.attempt_id)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "attempt_id '", spec.attempt_id, "' must be 1..128 characters from [A-Za-z0-9._-]"));
  }
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return absl::InvalidArgumentError("argv must name a program");
  }
  {
    absl::MutexLock lock(&mu_);
    if (children_.count(spec.attempt_id) > 0) {
      return absl::AlreadyExistsError(absl::StrCat("attempt ", spec.attempt_id, " is running"));
    }
  }

  auto child = std::make_unique<Child>();
  child->attempt_id = spec.attempt_id;
  child->max_runtime = spec.max_runtime;
  child->kill_grace = spec.kill_grace;

  // Everything the child needs is prepared before it is spawned.
  std::vector<std::string> env_strings;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    std::string name = entry.substr(0, entry.find('='));
    if (absl::StartsWith(name, "HAC_") || spec.env.count(name) > 0) continue;
    env_strings.push_back(std::move(entry));
  }
  for (const auto& [name, value] : spec.env) env_strings.push_back(absl::StrCat(name, "=", value));
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = spec.argv;
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  const char* workdir = spec.working_dir.empty() ? nullptr : spec.working_dir.c_str();

  // Log files are created on the first byte of output (Monitor): a job that prints nothing
  // costs no files, and creating and deleting files is much of what starting a short job costs.
  child->log_base = absl::StrCat(options_.log_dir, "/", spec.attempt_id);
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, wake_pipe[2] = {-1, -1};
  auto close_all = [&] {
    CloseFd(child->out_log);
    CloseFd(child->err_log);
    for (int* p : {out_pipe, err_pipe, wake_pipe}) {
      CloseFd(p[0]);
      CloseFd(p[1]);
    }
  };
  if (devnull_ < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open /dev/null: ", Errno(devnull_errno_)));
  }
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 ||
      pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    int err = errno;
    close_all();
    return absl::ResourceExhaustedError(absl::StrCat("pipe: ", Errno(err)));
  }

  // posix_spawn (glibc: clone with CLONE_VM | CLONE_VFORK) rather than fork(): the agent's page
  // tables are not copied for every job, which on a busy node was most of the cost of a start.
  // The child gets its own process group (so the whole job can be signalled at once), default
  // signal dispositions and an empty mask, /dev/null on stdin, the pipes on stdout/stderr, the
  // working directory, and nothing else of the agent's (gRPC sockets, other attempts' pipes).
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_init(&actions);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  posix_spawn_file_actions_adddup2(&actions, devnull_, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  if (workdir != nullptr) posix_spawn_file_actions_addchdir_np(&actions, workdir);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  pid_t pid = -1;
  // posix_spawnp searches the agent's PATH, as execvpe did.
  const int spawn_err = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  CloseFd(out_pipe[1]);
  CloseFd(err_pipe[1]);
  if (spawn_err != 0) {
    close_all();
    if (workdir != nullptr && access(workdir, X_OK) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot enter working directory ", spec.working_dir, ": ", Errno(errno)));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("cannot execute ", spec.argv[0], ": ", Errno(spawn_err)));
  }

  child->pid = pid;
  // (glibc 2.36's <sys/pidfd.h> lacks C linkage for C++: the system call itself.)
  child->pid_fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  child->out_fd = out_pipe[0];
  child->err_fd = err_pipe[0];
  child->wake_read = wake_pipe[0];
  child->wake_write = wake_pipe[1];
  child->start = options_.clock->MonotonicNow();
  Child* raw = child.get();
  {
    absl::MutexLock lock(&mu_);
    children_[spec.attempt_id] = std::move(child);
    handoff_.push_back(raw);
    // An idle monitor takes it; otherwise one more monitor thread.
    if (idle_monitors_ < handoff_.size()) monitors_.emplace_back([this] { MonitorLoop(); });
  }
  HAC_LOG(INFO) << "attempt " << spec.attempt_id << ": started pid " << pid << " (" << spec.argv[0]
                << ")";
  return pid;
}

absl::Status Supervisor::Cancel(const std::string& attempt_id, absl::Duration grace) {
  absl::MutexLock lock(&mu_);
  auto it = children_.find(attempt_id);
  if (it == children_.end()) {
    return absl::NotFoundError(absl::StrCat("attempt ", attempt_id, " is not running"));
  }
  Child& child = *it->second;
  child.cancel_requested = true;
  child.cancel_grace = std::min(child.cancel_grace, std::max(grace, absl::ZeroDuration()));
  char b = 1;
  if (write(child.wake_write, &b, 1) < 0) {
    // Full pipe: the monitor is already due to wake.
  }
  return absl::OkStatus();
}

bool Supervisor::IsRunning(const std::string& attempt_id) const {
  absl::MutexLock lock(&mu_);
  return children_.count(attempt_id) > 0;
}

std::vector<std::string> Supervisor::Running() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> ids;
  for (const auto& [id, child] : children_) ids.push_back(id);
  return ids;
}

void Supervisor::Monitor(Child* child, std::string& buffer) {
  const common::Clock& clock = *options_.clock;
  const pid_t pid = child->pid;
  struct Stream {
    int* fd;
    int* log;  // -1 until the first byte
    const char* suffix;
    OutputStream which;
    int64_t written = 0;
    bool truncated = false;
  };
  Stream streams[2] = {{&child->out_fd, &child->out_log, ".stdout", OutputStream::kStdout},
                       {&child->err_fd, &child->err_log, ".stderr", OutputStream::kStderr}};
  ExitInfo info;
  bool main_exited = false;
  bool term_sent = false;
  bool kill_sent = false;
  int wait_status = 0;
  absl::Time kill_deadline = absl::InfiniteFuture();
  absl::Time drain_deadline = absl::InfiniteFuture();
  const absl::Time runtime_deadline = child->max_runtime == absl::InfiniteDuration()
                                          ? absl::InfiniteFuture()
                                          : child->start + child->max_runtime;

  auto read_stream = [&](Stream& s) {
    ssize_t n = read(*s.fd, buffer.data(), buffer.size());
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
      CloseFd(*s.fd);
      return;
    }
    int64_t room = std::max<int64_t>(0, options_.log_cap_bytes - s.written);
    int64_t keep = std::min<int64_t>(room, n);
    if (keep > 0 && *s.log < 0) {
      const std::string path = child->log_base + s.suffix;
      *s.log = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
      if (*s.log < 0) {
        HAC_LOG(WARNING) << "attempt " << child->attempt_id << ": cannot create " << path << ": "
                         << Errno(errno) << " (its output is still forwarded)";
      }
    }
    if (keep > 0) {
      int64_t done = 0;
      while (*s.log >= 0 && done < keep) {
        ssize_t w = write(*s.log, buffer.data() + done, keep - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;  // disk full: the chunk is still forwarded
        done += w;
      }
      OutputChunk chunk{child->attempt_id, s.which, s.written, std::string(buffer.data(), keep),
                        false};
      s.written += keep;
      if (keep < n) {
        s.truncated = true;
        chunk.truncated = true;
      }
      if (callbacks_.on_output) callbacks_.on_output(chunk);
    } else if (!s.truncated) {
      s.truncated = true;
      if (callbacks_.on_output) {
        callbacks_.on_output(OutputChunk{child->attempt_id, s.which, s.written, "", true});
      }
    }
  };

  while (true) {
    absl::Time now = clock.MonotonicNow();
    bool cancel_requested;
    absl::Duration cancel_grace;
    {
      absl::MutexLock lock(&mu_);
      cancel_requested = child->cancel_requested;
      cancel_grace = child->cancel_grace;
    }
    if (!main_exited) {
      if (cancel_requested) {
        if (!term_sent) {
          term_sent = true;
          info.reason = ExitInfo::Reason::kCancelled;
          kill(-pid, SIGTERM);
        }
        // A later, shorter grace (agent shutdown) still applies.
        kill_deadline = std::min(kill_deadline, now + cancel_grace);
      } else if (now >= runtime_deadline && !term_sent) {
        term_sent = true;
        info.reason = ExitInfo::Reason::kMaxRuntime;
        kill(-pid, SIGTERM);
        kill_deadline = now + child->kill_grace;
      }
      if (now >= kill_deadline && !kill_sent) {
        kill_sent = true;
        kill(-pid, SIGKILL);
      }
      pid_t r = waitpid(pid, &wait_status, WNOHANG);
      if (r == pid || (r < 0 && errno == ECHILD)) {
        main_exited = true;
        info.runtime = clock.MonotonicNow() - child->start;
        // The job ends with its main process: nothing of its group outlives it.
        kill(-pid, SIGKILL);
        drain_deadline = clock.MonotonicNow() + kDrainTimeout;
      }
    }
    if (main_exited && ((child->out_fd < 0 && child->err_fd < 0) || now >= drain_deadline)) break;

    absl::Time next = std::min({kill_deadline, runtime_deadline, drain_deadline});
    int timeout_ms = kMaxPollMs;
    // The exit usually shows as the pipes' hang-up; once they are closed (or held by a process
    // that escaped the group, noticed at the latest kMaxPollMs later) the pidfd says it.
    const bool pipes_open = child->out_fd >= 0 || child->err_fd >= 0;
    const bool watch_pid = !main_exited && !pipes_open && child->pid_fd >= 0;
    if (!main_exited && child->pid_fd < 0) timeout_ms = 10;  // exit noticed by polling waitpid
    if (next != absl::InfiniteFuture()) {
      int64_t until = absl::ToInt64Milliseconds(next - now) + 1;
      timeout_ms = static_cast<int>(std::clamp<int64_t>(until, 0, timeout_ms));
    }
    pollfd fds[4];
    int nfds = 0;
    int index[2] = {-1, -1};
    for (int i = 0; i < 2; ++i) {
      if (*streams[i].fd >= 0) {
        index[i] = nfds;
        fds[nfds++] = pollfd{*streams[i].fd, POLLIN, 0};
      }
    }
    int wake_index = nfds;
    fds[nfds++] = pollfd{child->wake_read, POLLIN, 0};
    // Its readiness needs no handling: waitpid at the top of the loop reaps the process.
    if (watch_pid) fds[nfds++] = pollfd{child->pid_fd, POLLIN, 0};
    int r = poll(fds, nfds, timeout_ms);
    if (r <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (index[i] >= 0 && (fds[index[i]].revents & (POLLIN | POLLHUP | POLLERR))) {
        read_stream(streams[i]);
      }
    }
    if (fds[wake_index].revents & POLLIN) {
      char drain[64];
      while (read(child->wake_read, drain, sizeof(drain)) > 0) {
      }
    }
  }

  if (WIFEXITED(wait_status)) {
    info.code = WEXITSTATUS(wait_status);
    info.signal = 0;
    info.message = absl::StrCat("exited ", info.code);
  } else if (WIFSIGNALED(wait_status)) {
    info.code = -1;
    info.signal = WTERMSIG(wait_status);
    info.message = absl::StrCat("killed by ", SignalName(info.signal));
  }
  if (info.reason == ExitInfo::Reason::kCancelled) {
    absl::StrAppend(&info.message, " after cancel");
  } else if (info.reason == ExitInfo::Reason::kMaxRuntime) {
    absl::StrAppend(&info.message, " after max runtime ", DurationText(child->max_runtime));
  }
  info.stdout_truncated = streams[0].truncated;
  info.stderr_truncated = streams[1].truncated;
  CloseFd(child->pid_fd);
  CloseFd(child->out_fd);
  CloseFd(child->err_fd);
  CloseFd(child->out_log);
  CloseFd(child->err_log);
  // The agent logs the attempt's end with its state (AttemptManager).
  HAC_LOG(DEBUG) << "attempt " << child->attempt_id << ": " << info.message;

  if (callbacks_.on_exit) callbacks_.on_exit(child->attempt_id, info);

  absl::MutexLock lock(&mu_);
  CloseFd(child->wake_read);
  CloseFd(child->wake_write);
  children_.erase(child->attempt_id);  // `child` is gone after this line
}

}  // namespace hac::agent
