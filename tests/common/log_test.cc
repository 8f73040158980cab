// HAC_LOG: the line format (UTC timestamp to the millisecond, level letter, tag, message), the
// timestamp's agreement with the clock, the thread's reused stream (no formatting state carried
// from line to line, a line logged while another is open), and FormatLogTime across seconds
// (its prefix cache).
#include "common/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <iomanip>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/testing/temp_dir.h"

namespace hac::common {
namespace {

// What `fn` writes to stderr.
template <typename Fn>
std::string CaptureStderr(const std::string& path, Fn fn) {
  const int file = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  REQUIRE(file >= 0);
  const int saved = dup(STDERR_FILENO);
  REQUIRE(dup2(file, STDERR_FILENO) == STDERR_FILENO);
  fn();
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::string out(1 << 16, '\0');
  const ssize_t n = pread(file, out.data(), out.size(), 0);
  close(file);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

absl::Time ParseStamp(const std::string& line) {
  absl::Time t;
  std::string err;
  REQUIRE(absl::ParseTime("%Y-%m-%dT%H:%M:%E3SZ", line.substr(0, 24), absl::UTCTimeZone(), &t,
                          &err));
  return t;
}

TEST_CASE("HAC_LOG writes one line: UTC time to the millisecond, level, tag, message") {
  testing::TempDir dir;
  const absl::Time before = absl::Now();
  std::string out = CaptureStderr(dir.File("err"), [] {
    HAC_LOG(INFO) << "attempt " << 42 << " started";
    HAC_LOG(WARNING) << "disk slow";
  });
  const absl::Time after = absl::Now();
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() == 2);
  const std::regex info(
      R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z I [a-z-]+: attempt 42 started$)");
  CHECK(std::regex_match(lines[0], info));
  const std::regex warn(
      R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z W [a-z-]+: \[log_test\.cc:\d+\] disk slow$)");
  CHECK(std::regex_match(lines[1], warn));
  for (const std::string& line : lines) {
    const absl::Time t = ParseStamp(line);
    CHECK(t >= absl::FromUnixMillis(absl::ToUnixMillis(before)));
    CHECK(t <= after);
  }
}

// A value whose printing logs a line of its own while the caller's line is still open.
struct Noisy {
  int n;
};
std::ostream& operator<<(std::ostream& os, const Noisy& v) {
  HAC_LOG(INFO) << "inner " << v.n;
  return os << "noisy" << v.n;
}

TEST_CASE("HAC_LOG lines on one thread share nothing but the buffer") {
  testing::TempDir dir;
  std::string out = CaptureStderr(dir.File("err"), [] {
    HAC_LOG(INFO) << "hex " << std::hex << std::showbase << 255 << " " << std::setw(6)
                  << std::setfill('*') << std::left << 7;
    HAC_LOG(INFO) << "plain " << 255 << " " << std::setw(4) << 7 << " " << 0.5;
    HAC_LOG(INFO) << "outer " << Noisy{3} << " done";
    HAC_LOG(INFO) << "after " << 12;
  });
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() == 5);
  auto message = [](const std::string& line) { return line.substr(line.find(": ") + 2); };
  CHECK(message(lines[0]) == "hex 0xff 0x7***");
  CHECK(message(lines[1]) == "plain 255    7 0.5");
  // The inner line is complete before the outer one, which still has all of its text.
  CHECK(message(lines[2]) == "inner 3");
  CHECK(message(lines[3]) == "outer noisy3 done");
  CHECK(message(lines[4]) == "after 12");
}

TEST_CASE("FormatLogTime is UTC to the millisecond, also across seconds and before 1970") {
  const absl::Time t = absl::FromCivil(absl::CivilSecond(2026, 11, 29, 5, 41, 24),
                                       absl::UTCTimeZone());
  CHECK(FormatLogTime(t + absl::Milliseconds(999)) == "2026-11-29T05:41:24.999Z");
  // The next second, then back to the previous one: the cached prefix follows.
  CHECK(FormatLogTime(t + absl::Milliseconds(1000)) == "2026-11-29T05:41:25.000Z");
  CHECK(FormatLogTime(t + absl::Microseconds(1001999)) == "2026-11-29T05:41:25.001Z");
  CHECK(FormatLogTime(t) == "2026-11-29T05:41:24.000Z");
  CHECK(FormatLogTime(t + absl::Hours(24 * 3)) == "2026-12-02T05:41:24.000Z");
  CHECK(FormatLogTime(absl::UnixEpoch() - absl::Milliseconds(1)) == "1969-12-31T23:59:59.999Z");
  CHECK(FormatLogTime(absl::UnixEpoch() - absl::Milliseconds(1001)) ==
        "1969-12-31T23:59:58.999Z");
  CHECK(FormatLogTime(absl::UnixEpoch()) == "1970-01-01T00:00:00.000Z");
}

}  // namespace
}  // namespace hac::common
