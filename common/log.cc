#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
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

std::string FormatLogTime(absl::Time t) {
  // The part up to the seconds is formatted once per second and thread: the calendar fields are
  // most of what a short log line costs.
  thread_local int64_t cached_second = INT64_MIN;
  thread_local std::string prefix;
  const int64_t ms = absl::ToUnixMillis(t);
  const int64_t second = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  if (second != cached_second) {
    prefix =
        absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(second), absl::UTCTimeZone());
    cached_second = second;
  }
  char millis[8];
  std::snprintf(millis, sizeof(millis), ".%03dZ", static_cast<int>(ms - second * 1000));
  return prefix + millis;
}

namespace {

// Set once the thread's stream is destroyed (at thread exit): a line logged by a destructor that
// runs later gets a stream of its own.
thread_local bool t_stream_gone = false;

// Each thread's stream for its log lines, kept from line to line.
struct ThreadStream {
  ~ThreadStream() { t_stream_gone = true; }
  std::ostringstream out;
  bool busy = false;
};
thread_local ThreadStream t_stream;

}  // namespace

LogLine::LogLine(LogLevel level, const char* file, int line) : level_(level) {
  if (!t_stream_gone && !t_stream.busy) {
    t_stream.busy = true;
    out_ = &t_stream.out;
  } else {
    own_ = std::make_unique<std::ostringstream>();
    out_ = own_.get();
  }
  static constexpr char kLetters[] = {'D', 'I', 'W', 'E'};
  *out_ << FormatLogTime(absl::Now());
  *out_ << ' ' << kLetters[static_cast<int>(level_)] << ' ' << Tag() << ": ";
  if (level_ >= LogLevel::kWarning) {
    const char* base = std::strrchr(file, '/');
    *out_ << '[' << (base ? base + 1 : file) << ':' << line << "] ";
  }
}

LogLine::~LogLine() {
  *out_ << '\n';
  std::string s = std::move(*out_).str();
  // One write so concurrent lines do not interleave.
  ssize_t ignored = ::write(STDERR_FILENO, s.data(), s.size());
  (void)ignored;
  if (own_ != nullptr) return;
  // Back to a fresh stream's state for the thread's next line, keeping the buffer.
  s.clear();
  out_->str(std::move(s));
  out_->clear();
  out_->flags(std::ios_base::skipws | std::ios_base::dec);
  out_->precision(6);
  out_->width(0);
  out_->fill(' ');
  t_stream.busy = false;
}

}  // namespace hac::common
