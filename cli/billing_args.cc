#include "cli/billing_args.h"

#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace hac::cli {
namespace {

constexpr int64_t kMicrosPerUnit = 1'000'000;
constexpr int kMaxDecimals = 6;

absl::string_view View(std::string_view s) { return absl::string_view(s.data(), s.size()); }

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// The value of a string of at most 9 decimal digits (checked by the caller).
int ShortNumber(std::string_view digits) {
  int v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

// The earliest and the latest (exclusive) time a flag may name: protobuf timestamps stop at
// year 9999, and nothing in OpenHAC happened before the Unix epoch.
constexpr absl::Time kEarliest = absl::UnixEpoch();
constexpr absl::Time kLatest = absl::FromUnixSeconds(253'402'300'800);  // 10000-01-01T00:00:00Z

std::string Shown(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

// `flag`'s value, or a usage error saying it is required.
absl::StatusOr<std::string> Required(const ParsedArgs& args, const std::string& flag,
                                     std::string_view example) {
  std::optional<std::string> v = args.Get(flag);
  if (!v.has_value() || v->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " is required (e.g. --", flag, " ", View(example), ")"));
  }
  return *v;
}

// OK when `t`, given as `text` by `flag`, is a whole UTC minute; otherwise says `why` it must be
// and suggests the next whole minute.
absl::Status CheckWholeMinute(absl::Time t, std::string_view flag, std::string_view text,
                              std::string_view why) {
  if (t == absl::FromUnixSeconds(absl::ToUnixSeconds(t)) && absl::ToUnixSeconds(t) % 60 == 0) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(View(flag), " '", View(text), "': ", View(why),
                                                 ", e.g. ", Shown(NextWholeMinute(t))));
}

absl::Status CheckRange(absl::Time from, const std::string& from_name, absl::Time to,
                        const std::string& to_name) {
  if (from < to) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("empty range: ", from_name, " ", Shown(from),
                                                 " is not before ", to_name, " ", Shown(to)));
}

}  // namespace

absl::StatusOr<absl::Time> ParseTimeFlag(std::string_view text, std::string_view flag) {
  const absl::Status bad = absl::InvalidArgumentError(
      absl::StrCat(View(flag), " '", View(text),
                   "': expected an RFC 3339 time like 2026-11-01T00:00:00Z or a date like "
                   "2026-11-01 (UTC midnight)"));
  absl::Time t;
  if (text.size() == 10 && text[4] == '-' && text[7] == '-') {
    // A date: YYYY-MM-DD, which must name a real day (no 2026-02-30).
    const std::string_view y = text.substr(0, 4), m = text.substr(5, 2), d = text.substr(8, 2);
    if (!AllDigits(y) || !AllDigits(m) || !AllDigits(d)) return bad;
    const absl::CivilDay day(ShortNumber(y), ShortNumber(m), ShortNumber(d));
    if (day.year() != ShortNumber(y) || day.month() != ShortNumber(m) ||
        day.day() != ShortNumber(d)) {
      return bad;
    }
    t = absl::FromCivil(day, absl::UTCTimeZone());
  } else {
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, View(text), &t, &error)) return bad;
  }
  if (t < kEarliest || t >= kLatest) {
    return absl::InvalidArgumentError(absl::StrCat(
        View(flag), " '", View(text), "': out of range (1970-01-01 to 9999-12-31)"));
  }
  return t;
}

absl::StatusOr<absl::CivilMonth> ParseMonthFlag(std::string_view text, std::string_view flag) {
  const absl::Status bad = absl::InvalidArgumentError(absl::StrCat(
      View(flag), " '", View(text), "': expected a month like 2026-11 (YYYY-MM, 01 to 12)"));
  if (text.size() != 7 || text[4] != '-') return bad;
  const std::string_view y = text.substr(0, 4), m = text.substr(5, 2);
  if (!AllDigits(y) || !AllDigits(m)) return bad;
  const int year = ShortNumber(y), month = ShortNumber(m);
  if (year < 1970 || month < 1 || month > 12) return bad;
  return absl::CivilMonth(year, month);
}

std::string MonthText(absl::CivilMonth month) { return absl::FormatCivilTime(month); }

absl::CivilMonth UtcMonthOf(absl::Time t) {
  return absl::CivilMonth(absl::ToCivilSecond(t, absl::UTCTimeZone()));
}

absl::StatusOr<int64_t> ParseAmountMicros(std::string_view text, std::string_view flag) {
  const size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (!AllDigits(whole) || (dot != std::string_view::npos && !AllDigits(fraction))) {
    return absl::InvalidArgumentError(
        absl::StrCat(View(flag), " '", View(text),
                     "': expected a non-negative amount like 12 or 1.5 (at most 6 decimals)"));
  }
  if (fraction.size() > static_cast<size_t>(kMaxDecimals)) {
    return absl::InvalidArgumentError(
        absl::StrCat(View(flag), " '", View(text), "': at most 6 decimals (amounts are exact in ",
                     "micro-units, 0.000001)"));
  }
  const absl::Status too_large = absl::InvalidArgumentError(absl::StrCat(
      View(flag), " '", View(text), "': too large (at most 9,223,372,036,854.775807)"));
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t units = 0;
  for (char c : whole) {
    const int digit = c - '0';
    if (units > (kMax - digit) / 10) return too_large;
    units = units * 10 + digit;
  }
  int64_t fraction_micros = 0;
  for (size_t i = 0; i < static_cast<size_t>(kMaxDecimals); ++i) {
    fraction_micros = fraction_micros * 10 + (i < fraction.size() ? fraction[i] - '0' : 0);
  }
  if (units > (kMax - fraction_micros) / kMicrosPerUnit) return too_large;
  return units * kMicrosPerUnit + fraction_micros;
}

absl::Time NextWholeMinute(absl::Time now) {
  int64_t minutes = absl::ToUnixSeconds(now) / 60;  // ToUnixSeconds rounds down.
  if (absl::ToUnixSeconds(now) % 60 < 0) --minutes;  // Floor division before the epoch.
  return absl::FromUnixSeconds((minutes + 1) * 60);
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
  return ts;
}

absl::StatusOr<hac::v1::UsageGrouping> ParseUsageGrouping(std::string_view text) {
  if (text == "job") return hac::v1::USAGE_GROUPING_JOB;
  if (text == "class") return hac::v1::USAGE_GROUPING_DEVICE_CLASS;
  if (text == "model") return hac::v1::USAGE_GROUPING_DEVICE_MODEL;
  if (text == "day") return hac::v1::USAGE_GROUPING_DAY;
  return absl::InvalidArgumentError(
      absl::StrCat("--by '", View(text), "': expected job, class, model or day"));
}

std::vector<FlagSpec> TenantFlag() {
  return {{.name = "tenant", .value_name = "NAME",
           .help = "whose (admins; a tenant always gets its own)"}};
}

std::vector<FlagSpec> UsageFlags() {
  std::vector<FlagSpec> flags = {
      {.name = "from", .value_name = "TIME",
       .help = "start, inclusive: 2026-11-01T00:00:00Z or 2026-11-01 (default: this UTC month)"},
      {.name = "to", .value_name = "TIME", .help = "end, exclusive (default: now)"},
      {.name = "by", .value_name = "job|class|model|day", .help = "one row per (default job)"},
  };
  for (FlagSpec& f : TenantFlag()) flags.push_back(std::move(f));
  return flags;
}

std::vector<FlagSpec> BillFlags() {
  std::vector<FlagSpec> flags = {
      {.name = "month", .value_name = "YYYY-MM",
       .help = "a calendar month in UTC (default: this month)"},
      {.name = "from", .value_name = "TIME",
       .help = "start of a range, inclusive (with --to, instead of --month)"},
      {.name = "to", .value_name = "TIME", .help = "end of a range, exclusive (with --from)"},
  };
  for (FlagSpec& f : TenantFlag()) flags.push_back(std::move(f));
  return flags;
}

std::vector<FlagSpec> PriceSetFlags() {
  return {
      {.name = "class", .value_name = "CLASS", .help = "device class: gpu, npu (required)"},
      {.name = "model", .value_name = "MODEL",
       .help = "device model, e.g. emu-a100 (default: the whole class)"},
      {.name = "allocated", .value_name = "RATE",
       .help = "currency units per device-second held, e.g. 1.5 (required)"},
      {.name = "active", .value_name = "RATE",
       .help = "currency units per device-second busy, e.g. 0.5 (required)"},
      {.name = "from", .value_name = "TIME",
       .help = "when it takes effect, a whole UTC minute (default: the next whole minute)"},
      {.name = "minimum-seconds", .value_name = "N",
       .help = "minimum billable seconds per attempt and device (default 0: none)"},
  };
}

std::vector<FlagSpec> InvoiceCloseFlags() {
  std::vector<FlagSpec> flags = {
      {.name = "month", .value_name = "YYYY-MM", .help = "the month to close (required)"},
      {.name = "tenant", .value_name = "NAME", .help = "only this tenant (default: every tenant)"},
  };
  return flags;
}

std::vector<FlagSpec> BudgetSetFlags() {
  std::vector<FlagSpec> flags = {
      {.name = "limit", .value_name = "AMOUNT",
       .help = "spending limit per UTC month in currency units, e.g. 100000 (0: no budget)"},
      {.name = "hard-stop", .boolean = true,
       .help = "at the limit also cancel running attempts (not only refuse new jobs)"},
  };
  for (FlagSpec& f : TenantFlag()) flags.push_back(std::move(f));
  return flags;
}

absl::StatusOr<hac::v1::GetUsageRequest> BuildUsageRequest(const ParsedArgs& args,
                                                           absl::Time now) {
  hac::v1::GetUsageRequest req;
  req.set_tenant(args.Get("tenant").value_or(""));
  absl::Time from = absl::FromCivil(UtcMonthOf(now), absl::UTCTimeZone());
  std::string from_name = "--from (default: the start of this month)";
  if (std::optional<std::string> v = args.Get("from")) {
    ASSIGN_OR_RETURN(from, ParseTimeFlag(*v, "--from"));
    from_name = "--from";
  }
  absl::Time to = now;
  std::string to_name = "--to (default: now)";
  if (std::optional<std::string> v = args.Get("to")) {
    ASSIGN_OR_RETURN(to, ParseTimeFlag(*v, "--to"));
    to_name = "--to";
  }
  RETURN_IF_ERROR(CheckRange(from, from_name, to, to_name));
  *req.mutable_from() = ToTimestamp(from);
  *req.mutable_to() = ToTimestamp(to);
  hac::v1::UsageGrouping by = hac::v1::USAGE_GROUPING_JOB;
  if (std::optional<std::string> v = args.Get("by")) {
    ASSIGN_OR_RETURN(by, ParseUsageGrouping(*v));
  }
  req.set_group_by(by);
  return req;
}

absl::StatusOr<hac::v1::GetBillRequest> BuildBillRequest(const ParsedArgs& args, absl::Time now) {
  hac::v1::GetBillRequest req;
  req.set_tenant(args.Get("tenant").value_or(""));
  const bool has_from = args.Has("from"), has_to = args.Has("to");
  if (args.Has("month") && (has_from || has_to)) {
    return absl::InvalidArgumentError("--month and --from/--to exclude each other");
  }
  if (has_from != has_to) {
    return absl::InvalidArgumentError(
        "--from and --to go together (or use --month YYYY-MM for a calendar month)");
  }
  if (has_from) {
    // hacd rates bills per whole minute (usage intervals never straddle one).
    constexpr std::string_view kWhy = "bills are rated per whole UTC minute";
    ASSIGN_OR_RETURN(absl::Time from, ParseTimeFlag(*args.Get("from"), "--from"));
    RETURN_IF_ERROR(CheckWholeMinute(from, "--from", *args.Get("from"), kWhy));
    ASSIGN_OR_RETURN(absl::Time to, ParseTimeFlag(*args.Get("to"), "--to"));
    RETURN_IF_ERROR(CheckWholeMinute(to, "--to", *args.Get("to"), kWhy));
    RETURN_IF_ERROR(CheckRange(from, "--from", to, "--to"));
    *req.mutable_from() = ToTimestamp(from);
    *req.mutable_to() = ToTimestamp(to);
    return req;
  }
  absl::CivilMonth month = UtcMonthOf(now);
  if (std::optional<std::string> v = args.Get("month")) {
    ASSIGN_OR_RETURN(month, ParseMonthFlag(*v, "--month"));
  }
  req.set_month(MonthText(month));
  return req;
}

absl::StatusOr<hac::v1::SetPriceRequest> BuildSetPriceRequest(const ParsedArgs& args,
                                                              absl::Time now) {
  hac::v1::SetPriceRequest req;
  hac::v1::Price& price = *req.mutable_price();
  ASSIGN_OR_RETURN(std::string device_class, Required(args, "class", "gpu"));
  price.set_device_class(device_class);
  // "*" is how `hacctl prices` shows a class-wide entry; accept it back.
  const std::string model = args.Get("model").value_or("");
  price.set_model(model == "*" ? "" : model);
  ASSIGN_OR_RETURN(std::string allocated, Required(args, "allocated", "1.5"));
  ASSIGN_OR_RETURN(int64_t allocated_micros, ParseAmountMicros(allocated, "--allocated"));
  price.set_allocated_rate_micros(allocated_micros);
  ASSIGN_OR_RETURN(std::string active, Required(args, "active", "0.5"));
  ASSIGN_OR_RETURN(int64_t active_micros, ParseAmountMicros(active, "--active"));
  price.set_active_rate_micros(active_micros);
  absl::Time from = NextWholeMinute(now);
  if (std::optional<std::string> v = args.Get("from")) {
    ASSIGN_OR_RETURN(from, ParseTimeFlag(*v, "--from"));
    RETURN_IF_ERROR(
        CheckWholeMinute(from, "--from", *v, "prices take effect on whole UTC minutes"));
  }
  *price.mutable_effective_from() = ToTimestamp(from);
  if (std::optional<std::string> v = args.Get("minimum-seconds")) {
    int64_t seconds = 0;
    if (!AllDigits(*v) || !absl::SimpleAtoi(*v, &seconds)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--minimum-seconds '", *v, "': expected a whole number of seconds like 60"));
    }
    price.set_minimum_seconds(seconds);
  }
  return req;
}

absl::StatusOr<hac::v1::CloseInvoiceRequest> BuildCloseInvoiceRequest(const ParsedArgs& args) {
  hac::v1::CloseInvoiceRequest req;
  ASSIGN_OR_RETURN(std::string text, Required(args, "month", "2026-10"));
  ASSIGN_OR_RETURN(absl::CivilMonth month, ParseMonthFlag(text, "--month"));
  req.set_month(MonthText(month));
  req.set_tenant(args.Get("tenant").value_or(""));
  return req;
}

absl::StatusOr<hac::v1::SetBudgetRequest> BuildSetBudgetRequest(const ParsedArgs& args) {
  hac::v1::SetBudgetRequest req;
  ASSIGN_OR_RETURN(std::string text, Required(args, "limit", "100000"));
  ASSIGN_OR_RETURN(int64_t limit, ParseAmountMicros(text, "--limit"));
  req.mutable_budget()->set_tenant(args.Get("tenant").value_or(""));
  req.mutable_budget()->set_monthly_limit_micros(limit);
  req.mutable_budget()->set_hard_stop(args.IsSet("hard-stop"));
  return req;
}

}  // namespace hac::cli
