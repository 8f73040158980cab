// Output of hacctl: aligned tables, canonical JSON, money, times and the one-line summaries
// of jobs, attempts and nodes. Pure functions of their arguments (the current time is passed
// in), so every format is unit-tested without a server.
#ifndef HAC_CLI_FORMAT_H_
#define HAC_CLI_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "hac/v1/admin.pb.h"
#include "hac/v1/jobs.pb.h"
#include "hac/v1/nodes.pb.h"

namespace hac::cli {

// Rows of text printed as columns separated by two spaces, header first, no trailing spaces.
// Columns are left-aligned unless RightAlign() says otherwise (numbers). Cells are printed as
// given (callers put "-" for empty values). A value type.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  // A row; missing cells print empty, extra cells are kept.
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // Right-aligns column `column` (0-based), header included.
  void RightAlign(size_t column);
  size_t size() const { return rows_.size(); }
  // The whole table, each line ending in '\n'.
  std::string Render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<bool> right_;
};

// An integer with thousands separators: FormatInteger(-1234567) == "-1,234,567".
std::string FormatInteger(int64_t value);

// Milliseconds as seconds with exactly three decimals and thousands separators, using integer
// arithmetic only: FormatMillis(12345) == "12.345", FormatMillis(3600000) == "3,600.000".
std::string FormatMillis(int64_t ms);

// `micros` millionths of `currency` with thousands separators and all six decimals, using
// integer arithmetic only: FormatMicros(12345000000, "KRW") == "12,345.000000 KRW".
std::string FormatMicros(int64_t micros, std::string_view currency);

// The message in protobuf's canonical proto3 JSON form on one line (int64 as strings, enum
// names, default values omitted), as google::protobuf::util::MessageToJsonString prints it.
absl::StatusOr<std::string> ToCanonicalJson(const google::protobuf::Message& message);

// Enum values without their prefix: "RUNNING", "PREEMPTED", "READY", "TENANT".
std::string JobStateName(hac::v1::JobState state);
std::string AttemptStateName(hac::v1::AttemptState state);
std::string NodeStateName(hac::v1::NodeState state);
std::string RoleName(hac::v1::Role role);

// Parses "RUNNING" or "running" or "JOB_STATE_RUNNING"; INVALID_ARGUMENT naming --state.
absl::StatusOr<hac::v1::JobState> ParseJobState(std::string_view text);

// RFC 3339 in UTC to the second ("2026-11-28T19:00:00Z"); "-" when unset.
std::string FormatTimestamp(const google::protobuf::Timestamp& ts);
absl::Time ToTime(const google::protobuf::Timestamp& ts);
// A short age: "45s", "12m", "3h", "5d"; "0s" for negative durations.
std::string FormatAge(absl::Duration d);
// A duration as the user writes it ("1h30m", "90s"); "-" for zero.
std::string DurationText(absl::Duration d);

// The job's device alternatives in --device syntax joined by " | ":
// "npu:2 | gpu:1:emu-a100", with "x3 nodes" appended to an alternative that spans 3 nodes.
std::string DeviceRequestsSummary(const hac::v1::JobSpec& spec);
// A node's devices grouped by class and model: "4 npu sim-atom (free 3)". Free means healthy
// and not held by an attempt.
std::string NodeDevicesSummary(const hac::v1::Node& node);

// `hacctl jobs` table: ID, TENANT, NAME, STATE, DEVICES, AGE, REASON.
std::string JobsTable(const std::vector<hac::v1::Job>& jobs, absl::Time now);
// `hacctl job ID`: the spec summary, state, reason, times and every attempt with its usage.
std::string JobDetail(const hac::v1::Job& job);
// `hacctl watch` line: "TIME ID STATE REASON".
std::string WatchLine(const hac::v1::Job& job);
// `hacctl nodes` table: NAME, POOL, STATE, DEVICES, LAST HEARTBEAT.
std::string NodesTable(const std::vector<hac::v1::Node>& nodes, absl::Time now);
// `hacctl submit --dry-run` result: placement or the reason, devices, estimated start and,
// when the server priced it (currency set), "estimated cost:  at most 1,234.000000 KRW (all
// devices held and busy for the max runtime)"; "-" otherwise.
std::string DryRunText(const hac::v1::DryRunResult& result);

// The message a person sees for a failed call to hacd at `server`:
// "hacctl: UNAVAILABLE: <message>\n" plus a line with what to do, for the codes where the
// remedy is known (UNAVAILABLE, UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND, ...).
std::string FormatServerError(const absl::Status& status, std::string_view server);

}  // namespace hac::cli

#endif  // HAC_CLI_FORMAT_H_
