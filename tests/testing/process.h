// Real child processes for integration tests: start a binary with arguments and environment,
// read its stdout line by line with a deadline, send signals, wait for its exit. Also
// RunCommand for one-shot commands (hacctl) capturing stdout, stderr and the exit code.
//
// Thread-compatible. For tests only.
#ifndef HAC_TESTS_TESTING_PROCESS_H_
#define HAC_TESTS_TESTING_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace hac::testing {

class Process {
 public:
  // Starts argv[0] (a path) with argv and the parent's environment plus `env` (an empty value
  // removes the variable). Its stdout is
  // a pipe read by ReadLine; its stderr goes to `stderr_path` (or is inherited when empty).
  static std::unique_ptr<Process> Start(const std::vector<std::string>& argv,
                                        const std::map<std::string, std::string>& env = {},
                                        const std::string& stderr_path = "");
  ~Process();  // SIGKILLs the process if it still runs

  pid_t pid() const { return pid_; }
  // The next line of stdout (without '\n'), or nullopt at EOF or after `timeout`.
  std::optional<std::string> ReadLine(absl::Duration timeout);
  // Reads lines until one starts with `prefix`; returns it, or nullopt.
  std::optional<std::string> WaitForLine(const std::string& prefix, absl::Duration timeout);
  void Signal(int sig);
  // Waits for exit; returns the wait status, or nullopt after `timeout`.
  std::optional<int> Wait(absl::Duration timeout);

 private:
  Process(pid_t pid, int out_fd) : pid_(pid), out_fd_(out_fd) {}
  pid_t pid_;
  int out_fd_;
  std::string buffer_;
  bool exited_ = false;
};

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  std::string out;
  std::string err;
};

// Runs a command to completion (killed after `timeout`), with extra environment variables (an
// empty value removes the variable) and
// optional standard input.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {},
                         absl::Duration timeout = absl::Seconds(60), const std::string& input = "");

// Polls `done` every few milliseconds until it returns true or `timeout` passes.
bool PollUntil(const std::function<bool()>& done, absl::Duration timeout);

// A minimal HTTP/1.0 GET against host:port (loopback test servers). Returns the body, or
// nullopt when the server cannot be reached or answers non-200.
std::optional<std::string> HttpGet(const std::string& host_port, const std::string& path);

// A TCP port that was free a moment ago on 127.0.0.1 (for servers that cannot report theirs).
int FreePort();

}  // namespace hac::testing

#endif  // HAC_TESTS_TESTING_PROCESS_H_
