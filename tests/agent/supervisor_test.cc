#include "agent/supervisor.h"

#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <unistd.h>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

namespace hac::agent {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// True when the process is gone or a zombie (killed, not yet reaped by its new parent).
bool ProcessGone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  size_t close = line.rfind(')');
  return close == std::string::npos || line.size() < close + 3 || line[close + 2] == 'Z';
}

// A supervisor over a temp log directory that records every callback.
class Harness {
 public:
  explicit Harness(int64_t cap = int64_t{64} << 20) {
    Supervisor::Options options;
    options.log_dir = dir.File("logs");
    options.log_cap_bytes = cap;
    options.clock = &clock;
    Supervisor::Callbacks callbacks;
    callbacks.on_output = [this](const OutputChunk& c) {
      absl::MutexLock lock(&mu);
      chunks.push_back(c);
    };
    callbacks.on_exit = [this](const std::string& id, const ExitInfo& info) {
      absl::MutexLock lock(&mu);
      exits[id] = info;
    };
    auto s = Supervisor::Create(options, callbacks);
    REQUIRE(s.ok());
    supervisor = std::move(*s);
  }

  LaunchSpec Shell(const std::string& id, const std::string& script) {
    LaunchSpec spec;
    spec.attempt_id = id;
    spec.argv = {"/bin/sh", "-c", script};
    return spec;
  }

  std::optional<ExitInfo> WaitExit(const std::string& id,
                                   absl::Duration timeout = absl::Seconds(10)) {
    bool done = testing::PollUntil(
        [&] {
          absl::MutexLock lock(&mu);
          return exits.count(id) > 0;
        },
        timeout);
    if (!done) return std::nullopt;
    absl::MutexLock lock(&mu);
    return exits[id];
  }

  std::string Forwarded(const std::string& id, OutputStream stream) {
    absl::MutexLock lock(&mu);
    std::string out;
    for (const OutputChunk& c : chunks) {
      if (c.attempt_id == id && c.stream == stream) {
        REQUIRE(c.offset == static_cast<int64_t>(out.size()));
        REQUIRE(c.data.size() <= static_cast<size_t>(Supervisor::kMaxChunkBytes));
        out += c.data;
      }
    }
    return out;
  }

  testing::TempDir dir;
  common::RealClock clock;
  absl::Mutex mu;
  std::vector<OutputChunk> chunks;
  std::map<std::string, ExitInfo> exits;
  std::unique_ptr<Supervisor> supervisor;
};

TEST_CASE("Supervisor reports exit code 0 and a non-zero exit code") {
  Harness h;
  REQUIRE(h.supervisor->Start(h.Shell("ok", "exit 0")).ok());
  REQUIRE(h.supervisor->Start(h.Shell("bad", "exit 3")).ok());
  auto ok = h.WaitExit("ok");
  auto bad = h.WaitExit("bad");
  REQUIRE(ok.has_value());
  REQUIRE(bad.has_value());
  CHECK(ok->code == 0);
  CHECK(ok->signal == 0);
  CHECK(ok->reason == ExitInfo::Reason::kExited);
  CHECK(ok->message == "exited 0");
  CHECK(bad->code == 3);
  CHECK(bad->message == "exited 3");
  CHECK(testing::PollUntil([&] { return !h.supervisor->IsRunning("ok"); }, absl::Seconds(5)));
}

TEST_CASE("Supervisor reports the signal that killed the process") {
  Harness h;
  REQUIRE(h.supervisor->Start(h.Shell("segv", "kill -SEGV $$")).ok());
  auto info = h.WaitExit("segv");
  REQUIRE(info.has_value());
  CHECK(info->code == -1);
  CHECK(info->signal == SIGSEGV);
  CHECK(info->message == "killed by SIGSEGV");
}

TEST_CASE("Supervisor captures stdout and stderr to log files and forwards the same bytes") {
  Harness h;
  REQUIRE(h.supervisor->Start(h.Shell("io", "echo hi; echo oops >&2; printf 'x%.0s' 1 2 3")).ok());
  REQUIRE(h.WaitExit("io").has_value());
  CHECK(ReadAll(h.dir.File("logs/io.stdout")) == "hi\nxxx");
  CHECK(ReadAll(h.dir.File("logs/io.stderr")) == "oops\n");
  CHECK(h.Forwarded("io", OutputStream::kStdout) == "hi\nxxx");
  CHECK(h.Forwarded("io", OutputStream::kStderr) == "oops\n");
}

TEST_CASE("Supervisor creates a log file only for a stream that printed something") {
  Harness h;
  REQUIRE(h.supervisor->Start(h.Shell("quiet", "true")).ok());
  REQUIRE(h.supervisor->Start(h.Shell("errs", "echo oops >&2")).ok());
  REQUIRE(h.WaitExit("quiet").has_value());
  REQUIRE(h.WaitExit("errs").has_value());
  CHECK(access(h.dir.File("logs/quiet.stdout").c_str(), F_OK) != 0);
  CHECK(access(h.dir.File("logs/quiet.stderr").c_str(), F_OK) != 0);
  CHECK(access(h.dir.File("logs/errs.stdout").c_str(), F_OK) != 0);
  CHECK(ReadAll(h.dir.File("logs/errs.stderr")) == "oops\n");
}

TEST_CASE("Supervisor stops a log file at the cap and flags it truncated") {
  Harness h(/*cap=*/1000);
  // 200 KiB on stdout: more than the cap and more than one 64 KiB chunk.
  REQUIRE(h.supervisor->Start(h.Shell("big", "head -c 204800 /dev/zero | tr '\\0' a; echo e >&2"))
              .ok());
  auto info = h.WaitExit("big");
  REQUIRE(info.has_value());
  CHECK(info->code == 0);
  CHECK(info->stdout_truncated);
  CHECK_FALSE(info->stderr_truncated);
  CHECK(ReadAll(h.dir.File("logs/big.stdout")) == std::string(1000, 'a'));
  CHECK(h.Forwarded("big", OutputStream::kStdout) == std::string(1000, 'a'));
  absl::MutexLock lock(&h.mu);
  bool flagged = false;
  for (const OutputChunk& c : h.chunks) flagged |= (c.attempt_id == "big" && c.truncated);
  CHECK(flagged);
}

TEST_CASE("Supervisor forwards large output in chunks of at most 64 KiB") {
  Harness h;
  REQUIRE(h.supervisor->Start(h.Shell("chunks", "head -c 300000 /dev/zero | tr '\\0' b")).ok());
  REQUIRE(h.WaitExit("chunks").has_value());
  CHECK(h.Forwarded("chunks", OutputStream::kStdout) == std::string(300000, 'b'));
  CHECK(ReadAll(h.dir.File("logs/chunks.stdout")).size() == 300000);
}

TEST_CASE("Supervisor cancel sends SIGTERM then SIGKILL to the whole group after the grace") {
  Harness h;
  // The child ignores SIGTERM and starts a grandchild that ignores it too; both write their pid.
  std::string script =
      "trap '' TERM; "
      "sh -c 'trap \"\" TERM; echo $$ > " +
      h.dir.File("grandchild.pid") +
      "; while true; do sleep 0.05; done' & "
      "echo $$ > " +
      h.dir.File("child.pid") + "; while true; do sleep 0.05; done";
  auto pgid = h.supervisor->Start(h.Shell("cancel", script));
  REQUIRE(pgid.ok());
  REQUIRE(testing::PollUntil(
      [&] {
        return !ReadAll(h.dir.File("grandchild.pid")).empty() &&
               !ReadAll(h.dir.File("child.pid")).empty();
      },
      absl::Seconds(10)));
  pid_t child = std::stoi(ReadAll(h.dir.File("child.pid")));
  pid_t grandchild = std::stoi(ReadAll(h.dir.File("grandchild.pid")));
  CHECK(child == *pgid);

  absl::Time cancelled = absl::Now();
  REQUIRE(h.supervisor->Cancel("cancel", absl::Milliseconds(300)).ok());
  auto info = h.WaitExit("cancel");
  REQUIRE(info.has_value());
  absl::Duration took = absl::Now() - cancelled;
  CHECK(took >= absl::Milliseconds(300));  // SIGTERM was ignored: it waited the whole grace
  CHECK(took < absl::Seconds(5));
  CHECK(info->reason == ExitInfo::Reason::kCancelled);
  CHECK(info->signal == SIGKILL);
  CHECK(info->message == "killed by SIGKILL after cancel");
  CHECK(testing::PollUntil([&] { return ProcessGone(child) && ProcessGone(grandchild); },
                           absl::Seconds(5)));
  CHECK(h.supervisor->Cancel("cancel", absl::Seconds(1)).code() == absl::StatusCode::kNotFound);
}

TEST_CASE("Supervisor cancel of a process that exits on SIGTERM reports SIGTERM") {
  Harness h;
  auto pgid = h.supervisor->Start(h.Shell("term", "exec sleep 30"));
  REQUIRE(pgid.ok());
  REQUIRE(h.supervisor->Cancel("term", absl::Seconds(20)).ok());
  auto info = h.WaitExit("term", absl::Seconds(5));
  REQUIRE(info.has_value());
  CHECK(info->signal == SIGTERM);
  CHECK(info->reason == ExitInfo::Reason::kCancelled);
}

TEST_CASE("Supervisor enforces max runtime with SIGTERM then SIGKILL") {
  Harness h;
  LaunchSpec spec = h.Shell("slow", "trap '' TERM; while true; do sleep 0.05; done");
  spec.max_runtime = absl::Milliseconds(300);
  spec.kill_grace = absl::Milliseconds(200);
  REQUIRE(h.supervisor->Start(spec).ok());
  auto info = h.WaitExit("slow");
  REQUIRE(info.has_value());
  CHECK(info->reason == ExitInfo::Reason::kMaxRuntime);
  CHECK(info->signal == SIGKILL);
  CHECK(info->runtime >= absl::Milliseconds(500));
  CHECK(info->runtime < absl::Seconds(5));
  CHECK(info->message == "killed by SIGKILL after max runtime 300ms");
}

TEST_CASE("Supervisor applies the environment and the working directory") {
  Harness h;
  std::string work = h.dir.File("work");
  REQUIRE(mkdir(work.c_str(), 0755) == 0);
  LaunchSpec spec = h.Shell("env", "echo \"$GREETING|$HAC_VISIBLE_DEVICES|$(pwd)\"");
  spec.env = {{"GREETING", "hello"}, {"HAC_VISIBLE_DEVICES", "/x/a.state,/x/b.state"}};
  spec.working_dir = work;
  REQUIRE(h.supervisor->Start(spec).ok());
  REQUIRE(h.WaitExit("env").has_value());
  CHECK(ReadAll(h.dir.File("logs/env.stdout")) == "hello|/x/a.state,/x/b.state|" + work + "\n");
}

TEST_CASE("Supervisor does not pass the agent's own HAC_ variables to jobs") {
  Harness h;
  setenv("HAC_LOCAL_DEVICES", "emu-gpu:1", 1);
  REQUIRE(h.supervisor->Start(h.Shell("clean", "echo \"[$HAC_LOCAL_DEVICES]\"")).ok());
  unsetenv("HAC_LOCAL_DEVICES");
  REQUIRE(h.WaitExit("clean").has_value());
  CHECK(ReadAll(h.dir.File("logs/clean.stdout")) == "[]\n");
}

TEST_CASE("Supervisor rejects a missing program, a missing directory and a duplicate attempt") {
  Harness h;
  LaunchSpec missing;
  missing.attempt_id = "missing";
  missing.argv = {"/nonexistent/program"};
  auto r = h.supervisor->Start(missing);
  CHECK(r.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(r.status().message() == "cannot execute /nonexistent/program: No such file or directory");

  LaunchSpec nodir = h.Shell("nodir", "true");
  nodir.working_dir = h.dir.File("nope");
  CHECK(h.supervisor->Start(nodir).status().code() == absl::StatusCode::kFailedPrecondition);

  LaunchSpec bad_id = h.Shell("../x", "true");
  CHECK(h.supervisor->Start(bad_id).status().code() == absl::StatusCode::kInvalidArgument);

  REQUIRE(h.supervisor->Start(h.Shell("dup", "sleep 5")).ok());
  CHECK(h.supervisor->Start(h.Shell("dup", "true")).status().code() ==
        absl::StatusCode::kAlreadyExists);
  REQUIRE(h.supervisor->Cancel("dup", absl::ZeroDuration()).ok());
  REQUIRE(h.WaitExit("dup").has_value());
  absl::MutexLock lock(&h.mu);
  CHECK(h.exits.count("missing") == 0);
}

TEST_CASE("Supervisor kills what still runs when it is destroyed") {
  auto h = std::make_unique<Harness>();
  auto pgid = h->supervisor->Start(h->Shell("orphan", "sleep 30"));
  REQUIRE(pgid.ok());
  h->supervisor.reset();
  CHECK(h->exits.count("orphan") == 1);
  CHECK(testing::PollUntil([&] { return ProcessGone(*pgid); }, absl::Seconds(5)));
}

}  // namespace
}  // namespace hac::agent
