// A minimal leveled logger writing one line per call to stderr:
//   2026-11-28T19:00:00.123Z I hacd: listening on 127.0.0.1:7070
//
// Abseil 20220623 has no absl/log, and the project avoids another dependency for this.
// Thread-safe (each line is written with a single write(2)).
//
//   HAC_LOG(INFO) << "listening on " << addr;
#ifndef HAC_COMMON_LOG_H_
#define HAC_COMMON_LOG_H_

#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace hac::common {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Lines below this level are dropped. Default kInfo; HAC_LOG_LEVEL=debug|info|warning|error
// in the environment overrides it at first use.
void SetMinLogLevel(LogLevel level);
LogLevel MinLogLevel();
// A short program name printed on every line ("hacd", "hac-agent").
void SetLogTag(std::string_view tag);

// One log line; written when destroyed.
// `t` as a log line starts it: "2026-11-29T05:41:24.123Z" (UTC, milliseconds truncated).
std::string FormatLogTime(absl::Time t);

class LogLine {
 public:
  LogLine(LogLevel level, const char* file, int line);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;
  std::ostream& stream() { return *out_; }

 private:
  LogLevel level_;
  // The thread's reused stream (constructing an ostringstream, with its locale, was most of
  // what a short line cost), or `own_` for a line begun while another is open on this thread.
  std::ostringstream* out_;
  std::unique_ptr<std::ostringstream> own_;
};

}  // namespace hac::common

#define HAC_LOG_LEVEL_DEBUG ::hac::common::LogLevel::kDebug
#define HAC_LOG_LEVEL_INFO ::hac::common::LogLevel::kInfo
#define HAC_LOG_LEVEL_WARNING ::hac::common::LogLevel::kWarning
#define HAC_LOG_LEVEL_ERROR ::hac::common::LogLevel::kError

// A one-pass loop rather than `if`, so `if (x) HAC_LOG(INFO) << ...; else ...` stays unambiguous.
#define HAC_LOG(level)                                                                \
  for (bool hac_log_on_ = HAC_LOG_LEVEL_##level >= ::hac::common::MinLogLevel(); hac_log_on_; \
       hac_log_on_ = false)                                                          \
  ::hac::common::LogLine(HAC_LOG_LEVEL_##level, __FILE__, __LINE__).stream()

#endif  // HAC_COMMON_LOG_H_
