// The ledger's monthly totals: blob format, folding intervals into totals, and the month stream
// that bills read. See usage_totals.h.
#include "server/store/usage_totals.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/status_macros.h"

namespace hac::server::store {
namespace {

constexpr char kFormat = 1;

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutString(std::string& out, absl::string_view s) {
  PutVarint(out, s.size());
  out.append(s.data(), s.size());
}

// Reads from a blob; any overrun or overlong varint sets ok = false.
struct Reader {
  const char* p;
  const char* end;
  bool ok = true;

  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p == end) break;
      const auto b = static_cast<uint8_t>(*p++);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    ok = false;
    return 0;
  }
  int64_t Int() {
    const uint64_t v = Varint();
    if (v > static_cast<uint64_t>(INT64_MAX)) ok = false;
    return static_cast<int64_t>(v);
  }
  void String(std::string& out) {
    const uint64_t n = Varint();
    if (!ok || n > static_cast<uint64_t>(end - p)) {
      ok = false;
      return;
    }
    out.assign(p, n);
    p += n;
  }
};

// One entry of a blob into the given fields (strings reuse their storage). false at the end of
// the blob; r.ok tells whether it was well formed.
bool ReadEntry(Reader& r, std::string& attempt_id, uint32_t& device_index, int64_t& epoch_s,
               std::string& device_class, std::string& device_model, int64_t& start_s,
               int64_t& end_s, int64_t& allocated_ms, int64_t& active_ms) {
  if (!r.ok || r.p == r.end) return false;
  r.String(attempt_id);
  const uint64_t index = r.Varint();
  if (index > UINT32_MAX) r.ok = false;
  device_index = static_cast<uint32_t>(index);
  epoch_s = r.Int();
  r.String(device_class);
  r.String(device_model);
  start_s = r.Int();
  end_s = start_s + r.Int();
  allocated_ms = r.Int();
  active_ms = r.Int();
  return r.ok;
}

absl::Status Malformed() { return absl::InternalError("usage_totals: malformed blob"); }

// year * 100 + month of the UTC month containing `unix_s`.
int64_t MonthOf(int64_t unix_s) {
  const absl::CivilMonth m =
      absl::ToCivilMonth(absl::FromUnixSeconds(unix_s), absl::UTCTimeZone());
  return m.year() * 100 + m.month();
}

int64_t EpochOf(const std::vector<int64_t>& epochs, int64_t s) {
  auto it = std::upper_bound(epochs.begin(), epochs.end(), s);
  return it == epochs.begin() ? 0 : *(it - 1);
}

// Adds `adds` (entries of one job, any months) to the job's totals rows.
absl::Status MergeIntoRows(Database& db, int64_t tenant_id, const std::string& job_id,
                           const std::vector<std::pair<int64_t, UsageTotal>>& adds) {
  ASSIGN_OR_RETURN(Statement * get,
                   db.Cached("SELECT usage FROM usage_totals WHERE tenant_id = ?1 AND month = ?2 "
                             "AND job_id = ?3"));
  ASSIGN_OR_RETURN(Statement * put,
                   db.Cached("INSERT OR REPLACE INTO usage_totals(tenant_id, month, job_id, usage) "
                             "VALUES(?1, ?2, ?3, ?4)"));
  std::vector<UsageTotal> totals;
  size_t i = 0;
  while (i < adds.size()) {
    const int64_t month = adds[i].first;
    get->Reset();
    get->BindInt64(1, tenant_id);
    get->BindInt64(2, month);
    get->BindTextNoCopy(3, job_id);
    ASSIGN_OR_RETURN(bool row, get->Step());
    totals.clear();
    if (row) RETURN_IF_ERROR(DecodeUsageTotals(get->ColumnView(0), totals));
    get->Reset();
    for (; i < adds.size() && adds[i].first == month; ++i) MergeUsageTotal(totals, adds[i].second);
    const std::string blob = EncodeUsageTotals(totals);
    put->Reset();
    put->BindInt64(1, tenant_id);
    put->BindInt64(2, month);
    put->BindTextNoCopy(3, job_id);
    put->BindBlob(4, blob);
    RETURN_IF_ERROR(put->Run());
  }
  return absl::OkStatus();
}

// Turns interval-shaped usage into totals entries by month; MergeUsageTotal sums the entries of
// one (attempt, device, epoch) when they are written.
class TotalsBuilder {
 public:
  TotalsBuilder(const std::vector<int64_t>& epochs, const std::string& attempt_id,
                uint32_t device_index, const CounterState& st)
      : epochs_(epochs), attempt_id_(attempt_id), device_index_(device_index), st_(st) {}

  void Add(int64_t start_s, int64_t length_s, int64_t allocated_ms, int64_t active_ms) {
    if (allocated_ms == 0 && active_ms == 0) return;
    UsageTotal t;
    t.attempt_id = attempt_id_;
    t.device_index = device_index_;
    t.epoch_s = EpochOf(epochs_, start_s);
    t.device_class = st_.device_class;
    t.device_model = st_.device_model;
    t.start_s = start_s;
    t.end_s = start_s + length_s;
    t.allocated_ms = allocated_ms;
    t.active_ms = active_ms;
    adds_.emplace_back(MonthOf(start_s), std::move(t));
  }

  absl::Status Write(Database& db) {
    std::stable_sort(adds_.begin(), adds_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    return MergeIntoRows(db, st_.tenant_id, st_.job_id, adds_);
  }

 private:
  const std::vector<int64_t>& epochs_;
  const std::string& attempt_id_;
  const uint32_t device_index_;
  const CounterState& st_;
  std::vector<std::pair<int64_t, UsageTotal>> adds_;
};

}  // namespace

std::string DeviceKey(uint32_t device_index) { return absl::StrCat(device_index); }

bool UsageTotalLess(const UsageTotal& a, const UsageTotal& b) {
  if (int c = a.attempt_id.compare(b.attempt_id)) return c < 0;
  if (a.device_index != b.device_index) {
    return DeviceKey(a.device_index) < DeviceKey(b.device_index);
  }
  return a.epoch_s < b.epoch_s;
}

std::string EncodeUsageTotals(absl::Span<const UsageTotal> totals) {
  std::string out(1, kFormat);
  for (const UsageTotal& t : totals) {
    PutString(out, t.attempt_id);
    PutVarint(out, t.device_index);
    PutVarint(out, static_cast<uint64_t>(t.epoch_s));
    PutString(out, t.device_class);
    PutString(out, t.device_model);
    PutVarint(out, static_cast<uint64_t>(t.start_s));
    PutVarint(out, static_cast<uint64_t>(t.end_s - t.start_s));
    PutVarint(out, static_cast<uint64_t>(t.allocated_ms));
    PutVarint(out, static_cast<uint64_t>(t.active_ms));
  }
  return out;
}

absl::Status DecodeUsageTotals(absl::string_view blob, std::vector<UsageTotal>& out) {
  if (blob.empty() || blob[0] != kFormat) {
    return absl::InternalError("usage_totals: unknown blob format");
  }
  Reader r{blob.data() + 1, blob.data() + blob.size()};
  size_t n = 0;
  for (;;) {
    if (n == out.size()) out.emplace_back();
    UsageTotal& t = out[n];
    if (!ReadEntry(r, t.attempt_id, t.device_index, t.epoch_s, t.device_class, t.device_model,
                   t.start_s, t.end_s, t.allocated_ms, t.active_ms)) {
      break;
    }
    ++n;
  }
  out.resize(n);
  if (!r.ok) return Malformed();
  return absl::OkStatus();
}

void MergeUsageTotal(std::vector<UsageTotal>& totals, const UsageTotal& t) {
  auto it = std::lower_bound(totals.begin(), totals.end(), t, UsageTotalLess);
  if (it != totals.end() && !UsageTotalLess(t, *it)) {
    it->start_s = std::min(it->start_s, t.start_s);
    it->end_s = std::max(it->end_s, t.end_s);
    it->allocated_ms += t.allocated_ms;
    it->active_ms += t.active_ms;
    return;
  }
  totals.insert(it, t);
}

absl::StatusOr<std::vector<int64_t>> PriceEpochs(Database& db) {
  ASSIGN_OR_RETURN(Statement * st,
                   db.Cached("SELECT DISTINCT effective_from_s FROM prices ORDER BY 1"));
  std::vector<int64_t> out;
  st->Reset();
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    out.push_back(st->ColumnInt64(0));
  }
  st->Reset();
  return out;
}

absl::Status FoldCounter(Database& db, const std::vector<int64_t>& epochs,
                         const std::string& attempt_id, uint32_t device_index,
                         const CounterState& st) {
  if (st.tenant_id == 0 || st.last_length == 0) return absl::OkStatus();  // no interval rows
  ASSIGN_OR_RETURN(
      Statement * rows,
      db.Cached("SELECT interval_start, interval_length, allocated_ms, active_ms FROM "
                "usage_intervals WHERE tenant_id = ?1 AND month = ?2 AND job_id = ?3 AND "
                "attempt_id = ?4 AND device_id = ?5"));
  // Interval rows lie between the interval before the assignment's and the latest one written.
  const absl::TimeZone utc = absl::UTCTimeZone();
  const int64_t lo = st.assign_s > 0 ? std::min(st.assign_s - 120, st.last_start) : st.last_start;
  const int64_t hi = std::max(st.last_start, st.assign_s);
  TotalsBuilder totals(epochs, attempt_id, device_index, st);
  for (absl::CivilMonth m = absl::ToCivilMonth(absl::FromUnixSeconds(lo), utc);
       m <= absl::ToCivilMonth(absl::FromUnixSeconds(hi), utc); ++m) {
    rows->Reset();
    rows->BindInt64(1, st.tenant_id);
    rows->BindInt64(2, m.year() * 100 + m.month());
    rows->BindTextNoCopy(3, st.job_id);
    rows->BindTextNoCopy(4, attempt_id);
    rows->BindTextNoCopy(5, st.device_id);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, rows->Step());
      if (!row) break;
      totals.Add(rows->ColumnInt64(0), rows->ColumnInt64(1), rows->ColumnInt64(2),
                 rows->ColumnInt64(3));
    }
    rows->Reset();
  }
  return totals.Write(db);
}

absl::Status AddToTotals(Database& db, const std::vector<int64_t>& epochs,
                         const std::string& attempt_id, uint32_t device_index,
                         const CounterState& st, absl::Span<const IntervalPut> puts) {
  TotalsBuilder totals(epochs, attempt_id, device_index, st);
  for (const IntervalPut& p : puts) {
    totals.Add(p.start_s, p.length_s, p.allocated_ms, p.active_ms);
  }
  return totals.Write(db);
}

absl::Status RebuildUsageTotals(Database& db) {
  RETURN_IF_ERROR(db.Exec("DELETE FROM usage_totals"));
  ASSIGN_OR_RETURN(std::vector<int64_t> epochs, PriceEpochs(db));
  ASSIGN_OR_RETURN(Statement * st,
                   db.Cached("SELECT attempt_id, device_index, tenant_id, job_id, device_id, "
                             "device_class, device_model, assign_s, last_start, last_length "
                             "FROM usage_counters WHERE final = 1 AND tenant_id != 0"));
  st->Reset();
  std::vector<std::pair<std::pair<std::string, uint32_t>, CounterState>> counters;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    CounterState c;
    c.tenant_id = st->ColumnInt64(2);
    c.job_id = st->ColumnText(3);
    c.device_id = st->ColumnText(4);
    c.device_class = st->ColumnText(5);
    c.device_model = st->ColumnText(6);
    c.assign_s = st->ColumnInt64(7);
    c.last_start = st->ColumnInt64(8);
    c.last_length = st->ColumnInt64(9);
    counters.push_back({{st->ColumnText(0), static_cast<uint32_t>(st->ColumnInt64(1))}, c});
  }
  st->Reset();
  for (const auto& [key, c] : counters) {
    RETURN_IF_ERROR(FoldCounter(db, epochs, key.first, key.second, c));
  }
  return absl::OkStatus();
}

absl::Status StreamMonthUsage(Database& db, int64_t tenant_id, absl::string_view tenant_label,
                              int64_t month, int64_t from_s, int64_t to_s,
                              const std::function<absl::Status(const billing::UsageRow&)>& fn) {
  // The interval rows of counters not yet final: few (running attempts, lost ones).
  std::vector<billing::UsageRow> open;
  {
    ASSIGN_OR_RETURN(Statement * counters,
                     db.Cached("SELECT attempt_id, job_id, device_id FROM usage_counters "
                               "INDEXED BY usage_counters_open WHERE tenant_id = ?1 AND "
                               "final = 0"));
    ASSIGN_OR_RETURN(
        Statement * rows,
        db.Cached("SELECT interval_start, interval_length, allocated_ms, active_ms, "
                  "device_class, device_model FROM usage_intervals WHERE tenant_id = ?1 AND "
                  "month = ?2 AND job_id = ?3 AND attempt_id = ?4 AND device_id = ?5 AND "
                  "interval_start >= ?6 AND interval_start < ?7"));
    counters->Reset();
    counters->BindInt64(1, tenant_id);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, counters->Step());
      if (!row) break;
      rows->Reset();
      rows->BindInt64(1, tenant_id);
      rows->BindInt64(2, month);
      rows->BindText(3, counters->ColumnView(1));
      rows->BindText(4, counters->ColumnView(0));
      rows->BindText(5, counters->ColumnView(2));
      rows->BindInt64(6, from_s);
      rows->BindInt64(7, to_s);
      for (;;) {
        ASSIGN_OR_RETURN(bool interval, rows->Step());
        if (!interval) break;
        billing::UsageRow& r = open.emplace_back();
        r.tenant_id = std::string(tenant_label);
        r.job_id = std::string(counters->ColumnView(1));
        r.attempt_id = std::string(counters->ColumnView(0));
        r.device_id = std::string(counters->ColumnView(2));
        r.interval_start = absl::FromUnixSeconds(rows->ColumnInt64(0));
        r.interval_length = absl::Seconds(rows->ColumnInt64(1));
        r.allocated_ms = rows->ColumnInt64(2);
        r.active_ms = rows->ColumnInt64(3);
        r.device_class = std::string(rows->ColumnView(4));
        r.device_model = std::string(rows->ColumnView(5));
      }
      rows->Reset();
    }
    counters->Reset();
  }
  auto less = [](const billing::UsageRow& a, const billing::UsageRow& b) {
    if (int c = a.job_id.compare(b.job_id)) return c < 0;
    if (int c = a.attempt_id.compare(b.attempt_id)) return c < 0;
    if (int c = a.device_id.compare(b.device_id)) return c < 0;
    return a.interval_start < b.interval_start;
  };
  std::sort(open.begin(), open.end(), less);
  size_t next_open = 0;

  // The totals of final counters, one row per job in job order, merged with the open rows.
  ASSIGN_OR_RETURN(Statement * jobs,
                   db.Cached("SELECT job_id, usage FROM usage_totals WHERE tenant_id = ?1 AND "
                             "month = ?2 ORDER BY job_id"));
  jobs->Reset();
  jobs->BindInt64(1, tenant_id);
  jobs->BindInt64(2, month);
  billing::UsageRow row;
  row.tenant_id = std::string(tenant_label);
  uint32_t device_index = 0;
  int64_t epoch_s = 0, start_s = 0, end_s = 0;
  for (;;) {
    ASSIGN_OR_RETURN(bool found, jobs->Step());
    if (!found) break;
    const absl::string_view job = jobs->ColumnView(0);
    const absl::string_view blob = jobs->ColumnView(1);
    if (blob.empty() || blob[0] != kFormat) return Malformed();
    row.job_id.assign(job.data(), job.size());
    Reader r{blob.data() + 1, blob.data() + blob.size()};
    while (ReadEntry(r, row.attempt_id, device_index, epoch_s, row.device_class, row.device_model,
                     start_s, end_s, row.allocated_ms, row.active_ms)) {
      if (start_s < from_s || start_s >= to_s) continue;
      if (device_index < 10) {
        row.device_id.assign(1, static_cast<char>('0' + device_index));
      } else {
        row.device_id = DeviceKey(device_index);
      }
      row.interval_start = absl::FromUnixSeconds(start_s);
      row.interval_length = absl::Seconds(end_s - start_s);
      while (next_open < open.size() && less(open[next_open], row)) {
        RETURN_IF_ERROR(fn(open[next_open++]));
      }
      RETURN_IF_ERROR(fn(row));
    }
    if (!r.ok) return Malformed();
  }
  jobs->Reset();
  while (next_open < open.size()) RETURN_IF_ERROR(fn(open[next_open++]));
  return absl::OkStatus();
}

}  // namespace hac::server::store
