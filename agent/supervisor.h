// Supervisor: runs attempts as child processes, each in its own process group, and watches them
// until they exit. It owns everything about a process and nothing about the network, devices or
// usage: the agent tells it what to start and learns, through callbacks, what the process wrote
// and how it ended.
//
//   Supervisor::Options options{.log_dir = state_dir + "/logs", .clock = &clock};
//   ASSIGN_OR_RETURN(auto supervisor, Supervisor::Create(options, callbacks));
//   LaunchSpec spec{.attempt_id = "j-1.1", .argv = {"/bin/sh", "-c", "echo hi"}};
//   ASSIGN_OR_RETURN(pid_t pgid, supervisor->Start(spec));
//   supervisor->Cancel("j-1.1", absl::Seconds(10));  // SIGTERM, 10 s, then SIGKILL to the group
//
// Per attempt: stdout and stderr are pipes read by a monitor thread, which sleeps in poll() on
// them and on a pidfd of the process until output, the exit or a deadline (monitor threads are
// kept and reused: a node starting many short jobs does not create a thread for each), written to
// <log_dir>/<attempt-id>.stdout / .stderr up to `log_cap_bytes` each and forwarded to on_output in
// chunks of at most kMaxChunkBytes as they arrive. When the main process exits, whatever is left of
// its group is SIGKILLed (a job ends with its main process), the pipes are drained and on_exit is
// called exactly once, from the monitor thread, after the last on_output of that attempt.
// Cancel() and max runtime send SIGTERM to the group, wait the grace period, then SIGKILL it.
//
// Owner: the agent (one per process). Thread-safety: all methods are thread-safe; callbacks are
// never called with an internal lock held, so they may call back into the Supervisor.
// Invariants: at most one running process per attempt id; the destructor SIGKILLs every group
// still running and joins every monitor thread (their on_exit callbacks still run).
#ifndef HAC_AGENT_SUPERVISOR_H_
#define HAC_AGENT_SUPERVISOR_H_

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace hac::agent {

// What to run for one attempt. Value type.
struct LaunchSpec {
  // Names the log files and identifies the process in every call and callback. Must be a valid
  // attempt id (see IsValidAttemptId).
  std::string attempt_id;
  // Program and arguments; argv[0] without a '/' is looked up in PATH.
  std::vector<std::string> argv;
  // Environment on top of the agent's own (from which HAC_* variables are removed).
  std::map<std::string, std::string> env;
  // Working directory; must exist. Empty: the agent's.
  std::string working_dir;
  // Stopped (SIGTERM, kill_grace, SIGKILL) when it runs longer than this.
  absl::Duration max_runtime = absl::InfiniteDuration();
  // Grace between SIGTERM and SIGKILL when max_runtime is reached.
  absl::Duration kill_grace = absl::Seconds(10);
};

// Which of an attempt's output streams.
enum class OutputStream { kStdout = 0, kStderr = 1 };

// A piece of an attempt's output, as written to its log file. Value type.
struct OutputChunk {
  std::string attempt_id;
  OutputStream stream = OutputStream::kStdout;
  int64_t offset = 0;      // offset of `data` in the stream's log file
  std::string data;        // at most kMaxChunkBytes
  bool truncated = false;  // the cap was reached; later output of this stream is dropped
};

// How an attempt's process ended. Value type.
struct ExitInfo {
  // Why it ended.
  enum class Reason {
    kExited,      // the process exited or was killed by someone else
    kCancelled,   // Cancel() stopped it
    kMaxRuntime,  // it ran past LaunchSpec::max_runtime
  };
  Reason reason = Reason::kExited;
  int code = -1;        // exit code, or -1 when killed by a signal
  int signal = 0;       // the signal that killed it, or 0
  std::string message;  // "exited 0", "killed by SIGKILL after max runtime 1s", ...
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  absl::Duration runtime;  // from start to exit, on the monotonic clock
};

// True for 1..128 characters from [A-Za-z0-9._-], not "." or "..": safe as a file name.
bool IsValidAttemptId(const std::string& id);

// "SIGKILL", "SIGTERM", ... or "signal N".
std::string SignalName(int sig);

class Supervisor {
 public:
  static constexpr int64_t kMaxChunkBytes = 64 * 1024;

  struct Options {
    // Where the per-attempt log files go; created if missing.
    std::string log_dir;
    // Per stream and attempt; output past it is read and dropped.
    int64_t log_cap_bytes = int64_t{64} << 20;
    // Deadlines (grace, max runtime) use its monotonic time. Not owned; must outlive this.
    const common::Clock* clock = nullptr;
  };
  struct Callbacks {
    // Output as it is written to the log files. May be empty.
    std::function<void(const OutputChunk&)> on_output;
    // Called once per started attempt, after its last on_output.
    std::function<void(const std::string& attempt_id, const ExitInfo&)> on_exit;
  };

  // INVALID_ARGUMENT without a clock or a log directory; the log directory's mkdir error.
  static absl::StatusOr<std::unique_ptr<Supervisor>> Create(Options options, Callbacks callbacks);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts the process and returns its process group id (= its pid). ALREADY_EXISTS if the
  // attempt runs; INVALID_ARGUMENT for a bad id or empty argv; FAILED_PRECONDITION when the
  // program cannot be executed or the working directory entered (the message says which). On
  // error nothing runs and on_exit is not called.
  absl::StatusOr<pid_t> Start(const LaunchSpec& spec);

  // SIGTERM to the attempt's group now, SIGKILL after `grace` if its main process still runs.
  // A second Cancel can only shorten the grace. NOT_FOUND if the attempt is not running.
  absl::Status Cancel(const std::string& attempt_id, absl::Duration grace);

  // Whether the attempt's monitor is still running (its on_exit has not returned).
  bool IsRunning(const std::string& attempt_id) const;
  // Ids of attempts whose on_exit has not returned yet.
  std::vector<std::string> Running() const;

 private:
  struct Child;
  Supervisor(Options options, Callbacks callbacks);
  // A monitor thread: watches the children handed to it, one at a time, until closing_.
  void MonitorLoop();
  // Watches `child` until it ended and on_exit returned; reads its output through `buffer`
  // (kMaxChunkBytes).
  void Monitor(Child* child, std::string& buffer);

  const Options options_;
  const Callbacks callbacks_;
  // Every child's stdin (opened once; -1 and the error when it could not be).
  const int devnull_;
  const int devnull_errno_;

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Child>> children_ ABSL_GUARDED_BY(mu_);
  // Started children waiting for a monitor thread, and the monitor threads waiting for one.
  // There are never more monitor threads than the most children that ran at once.
  std::deque<Child*> handoff_ ABSL_GUARDED_BY(mu_);
  size_t idle_monitors_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::thread> monitors_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace hac::agent

#endif  // HAC_AGENT_SUPERVISOR_H_
