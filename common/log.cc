#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace hac::common {
namespace {

LogLevel LevelFromEnv() {
  const char* v = std::getenv("HAC_LOG_LEVEL");
  if (v == nullptr) return LogLevel::kInfo;
  if (std::strcmp(v, "debug") == 0) return LogLevel::kDebug;
  if (std::strcmp(v, "warning") == 0) return LogLevel::kWarning;
  if (std::strcmp(v, "error") == 0) return LogLevel::kError;
  return LogLevel::kInfo;
}

std::atomic<int>& MinLevel() {
  static std::atomic<int> level{static_cast<int>(LevelFromEnv())};
  return level;
}

std::string& Tag() {
  static std::string* tag = new std::string("hac");
  return *tag;
}

}  // namespace

void SetMinLogLevel(LogLevel level) { MinLevel().store(static_cast<int>(level)); }
LogLevel MinLogLevel() { return static_cast<LogLevel>(MinLevel().load(std::memory_order_relaxed)); }
void SetLogTag(std::string_view tag) { Tag() = std::string(tag); }

LogLine::LogLine(LogLevel level, const char* file, int line) : level_(level) {
  static constexpr char kLetters[] = {'D', 'I', 'W', 'E'};
  out_ << absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()) << ' '
       << kLetters[static_cast<int>(level_)] << ' ' << Tag() << ": ";
  if (level_ >= LogLevel::kWarning) {
    const char* base = std::strrchr(file, '/');
    out_ << '[' << (base ? base + 1 : file) << ':' << line << "] ";
  }
}

LogLine::~LogLine() {
  out_ << '\n';
  std::string s = out_.str();
  // One write so concurrent lines do not interleave.
  ssize_t ignored = ::write(STDERR_FILENO, s.data(), s.size());
  (void)ignored;
}

}  // namespace hac::common
