#include "tests/testing/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "absl/time/clock.h"

namespace hac::testing {
namespace {

absl::Time Now() { return absl::Now(); }

// Builds envp: the parent's environment with `env` overriding; an empty value unsets.
std::vector<std::string> MergedEnv(const std::map<std::string, std::string>& env) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    std::string key = kv.substr(0, kv.find('='));
    if (env.count(key) == 0) out.push_back(kv);
  }
  for (const auto& [k, v] : env) {
    if (!v.empty()) out.push_back(k + "=" + v);
  }
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (std::string& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Reads what is available on fd into *buf, waiting at most `timeout`. False at EOF.
bool ReadSome(int fd, std::string* buf, absl::Duration timeout) {
  pollfd p{fd, POLLIN, 0};
  int ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  int r = ::poll(&p, 1, ms < 0 ? 0 : ms);
  if (r <= 0) return true;
  char tmp[4096];
  ssize_t n = ::read(fd, tmp, sizeof tmp);
  if (n <= 0) return false;
  buf->append(tmp, static_cast<size_t>(n));
  return true;
}

}  // namespace

std::unique_ptr<Process> Process::Start(const std::vector<std::string>& argv,
                                        const std::map<std::string, std::string>& env,
                                        const std::string& stderr_path) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return nullptr;
  std::vector<std::string> args = argv;
  std::vector<std::string> envs = MergedEnv(env);
  std::vector<char*> cargs = CStrings(args);
  std::vector<char*> cenv = CStrings(envs);
  pid_t pid = ::fork();
  if (pid < 0) return nullptr;
  if (pid == 0) {
    ::dup2(pipefd[1], STDOUT_FILENO);
    if (!stderr_path.empty()) {
      int fd = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) ::dup2(fd, STDERR_FILENO);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execve(cargs[0], cargs.data(), cenv.data());
    _exit(127);
  }
  ::close(pipefd[1]);
  return std::unique_ptr<Process>(new Process(pid, pipefd[0]));
}

Process::~Process() {
  if (!exited_) {
    ::kill(pid_, SIGKILL);
    int st;
    ::waitpid(pid_, &st, 0);
  }
  ::close(out_fd_);
}

std::optional<std::string> Process::ReadLine(absl::Duration timeout) {
  const absl::Time deadline = Now() + timeout;
  for (;;) {
    size_t nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    absl::Duration left = deadline - Now();
    if (left <= absl::ZeroDuration()) return std::nullopt;
    if (!ReadSome(out_fd_, &buffer_, left)) {
      if (buffer_.empty()) return std::nullopt;
      std::string line = buffer_;
      buffer_.clear();
      return line;
    }
  }
}

std::optional<std::string> Process::WaitForLine(const std::string& prefix,
                                                absl::Duration timeout) {
  const absl::Time deadline = Now() + timeout;
  while (Now() < deadline) {
    auto line = ReadLine(deadline - Now());
    if (!line) return std::nullopt;
    if (line->rfind(prefix, 0) == 0) return line;
  }
  return std::nullopt;
}

void Process::Signal(int sig) {
  if (!exited_) ::kill(pid_, sig);
}

std::optional<int> Process::Wait(absl::Duration timeout) {
  std::optional<int> result;
  PollUntil(
      [&] {
        int st = 0;
        pid_t r = ::waitpid(pid_, &st, WNOHANG);
        if (r == pid_) {
          exited_ = true;
          result = st;
          return true;
        }
        return false;
      },
      timeout);
  return result;
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env, absl::Duration timeout,
                         const std::string& input) {
  CommandResult res;
  int out[2], err[2], in[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 ||
      ::pipe2(in, O_CLOEXEC) != 0) {
    return res;
  }
  std::vector<std::string> args = argv;
  std::vector<std::string> envs = MergedEnv(env);
  std::vector<char*> cargs = CStrings(args);
  std::vector<char*> cenv = CStrings(envs);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    ::execve(cargs[0], cargs.data(), cenv.data());
    _exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  ::close(in[0]);
  if (!input.empty()) {
    ssize_t ignored = ::write(in[1], input.data(), input.size());
    (void)ignored;
  }
  ::close(in[1]);
  const absl::Time deadline = Now() + timeout;
  bool out_open = true, err_open = true;
  while ((out_open || err_open) && Now() < deadline) {
    pollfd p[2] = {{out_open ? out[0] : -1, POLLIN, 0}, {err_open ? err[0] : -1, POLLIN, 0}};
    if (::poll(p, 2, 100) <= 0) continue;
    char buf[4096];
    if (out_open && (p[0].revents & (POLLIN | POLLHUP))) {
      ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) out_open = false; else res.out.append(buf, static_cast<size_t>(n));
    }
    if (err_open && (p[1].revents & (POLLIN | POLLHUP))) {
      ssize_t n = ::read(err[0], buf, sizeof buf);
      if (n <= 0) err_open = false; else res.err.append(buf, static_cast<size_t>(n));
    }
  }
  if (out_open || err_open) ::kill(pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
  ::close(out[0]);
  ::close(err[0]);
  res.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return res;
}

bool PollUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = Now() + timeout;
  for (;;) {
    if (done()) return true;
    if (Now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::optional<std::string> HttpGet(const std::string& host_port, const std::string& path) {
  size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = host_port.substr(0, colon);
  int port = std::stoi(host_port.substr(colon + 1));
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &addr.sin_addr);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + host_port + "\r\n\r\n";
  if (::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return std::nullopt;
  }
  std::string resp;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    resp.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  size_t body = resp.find("\r\n\r\n");
  if (resp.rfind("HTTP/1.", 0) != 0 || resp.size() < 12 || resp.substr(9, 3) != "200" ||
      body == std::string::npos) {
    return std::nullopt;
  }
  return resp.substr(body + 4);
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

}  // namespace hac::testing
