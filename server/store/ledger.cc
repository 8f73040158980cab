// The billing ledger's SQL: cumulative counters, per-interval usage rows, prices, invoices and
// budgets. See store.h for the contract of each method and docs/billing.md for the model.
#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "common/status_macros.h"
#include "server/store/counter_cache.h"
#include "server/store/store.h"
#include "server/store/usage_totals.h"

namespace hac::server::store {
namespace {

// usage_intervals.month: year * 100 + month of the UTC month containing `unix_s`. The last
// month seen is remembered per thread: almost every call asks about the same one.
int64_t MonthKey(int64_t unix_s) {
  thread_local int64_t from = 1, until = 0, key = 0;
  if (unix_s >= from && unix_s < until) return key;
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::CivilMonth m = absl::ToCivilMonth(absl::FromUnixSeconds(unix_s), utc);
  from = absl::ToUnixSeconds(absl::FromCivil(m, utc));
  until = absl::ToUnixSeconds(absl::FromCivil(m + 1, utc));
  key = m.year() * 100 + m.month();
  return key;
}

// The largest multiple of `len` that is <= s (also for negative s).
int64_t FloorTo(int64_t s, int64_t len) {
  int64_t q = s / len;
  if (s % len != 0 && s < 0) --q;
  return q * len;
}

// The first whole second at or after `t`.
int64_t CeilSeconds(absl::Time t) {
  int64_t s = absl::ToUnixSeconds(t);
  if (absl::FromUnixSeconds(s) < t) ++s;
  return s;
}

// RecordUsage's work, on the writer connection inside its transaction. Text is bound without
// copies: the strings (the counters', the cache's) outlive every step.
absl::Status RecordUsageOn(Database& db, CounterCache& cache,
                           const std::vector<UsageCounterRecord>& counters, absl::Time now,
                           int64_t len, UsageRecordResult& result) {
  const int64_t len_ms = len * 1000;
  const int64_t now_s = absl::ToUnixSeconds(now);
  const int64_t now_ms = absl::ToUnixMillis(now);
  result = {};
  ASSIGN_OR_RETURN(
      Statement * get,
      db.Cached("SELECT allocated_ms, active_ms, tenant_id, job_id, device_id, device_class, "
                "device_model, assign_s, last_start, last_length, last_allocated_ms, "
                "last_active_ms, final FROM usage_counters WHERE attempt_id = ?1 AND "
                "device_index = ?2"));
  ASSIGN_OR_RETURN(
      Statement * insert,
      db.Cached("INSERT INTO usage_counters(attempt_id, device_index, allocated_ms, active_ms, "
                "final, last_start, last_length, last_allocated_ms, last_active_ms, tenant_id, "
                "job_id, device_id, device_class, device_model, assign_s) VALUES(?1, ?2, ?3, ?4, "
                "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"));
  ASSIGN_OR_RETURN(Statement * update,
                   db.Cached("UPDATE usage_counters SET allocated_ms = ?3, active_ms = ?4, "
                             "final = max(final, ?5), last_start = ?6, last_length = ?7, "
                             "last_allocated_ms = ?8, last_active_ms = ?9 "
                             "WHERE attempt_id = ?1 AND device_index = ?2"));
  ASSIGN_OR_RETURN(
      Statement * grow_interval,
      db.Cached("UPDATE usage_intervals SET allocated_ms = allocated_ms + ?7, "
                "active_ms = active_ms + ?8 WHERE tenant_id = ?1 AND month = ?2 AND job_id = ?3 "
                "AND attempt_id = ?4 AND device_id = ?5 AND interval_start = ?6"));
  ASSIGN_OR_RETURN(
      Statement * get_interval,
      db.Cached("SELECT allocated_ms, active_ms, interval_length FROM usage_intervals WHERE "
                "tenant_id = ?1 AND month = ?2 AND job_id = ?3 AND attempt_id = ?4 AND "
                "device_id = ?5 AND interval_start = ?6"));
  ASSIGN_OR_RETURN(
      Statement * add_interval,
      db.Cached("INSERT INTO usage_intervals(tenant_id, month, job_id, attempt_id, device_id, "
                "interval_start, interval_length, device_class, device_model, allocated_ms, "
                "active_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
                "ON CONFLICT(tenant_id, month, job_id, attempt_id, device_id, interval_start) "
                "DO UPDATE SET allocated_ms = allocated_ms + excluded.allocated_ms, "
                "active_ms = active_ms + excluded.active_ms"));

  // Price epochs for usage_totals, read once per batch when a counter needs them.
  std::optional<std::vector<int64_t>> epochs;
  std::vector<IntervalPut> final_puts;
  for (const UsageCounterRecord& c : counters) {
    final_puts.clear();
    CounterState* cached = cache.Find(c.attempt_id, c.device_index);
    bool found = cached != nullptr;
    if (cached == nullptr) {
      get->Reset();
      get->BindTextNoCopy(1, c.attempt_id);
      get->BindInt64(2, c.device_index);
      ASSIGN_OR_RETURN(found, get->Step());
      CounterState loaded;
      if (found) {
        loaded = {get->ColumnInt64(0), get->ColumnInt64(1),  get->ColumnInt64(2),
                  get->ColumnText(3),  get->ColumnText(4),   get->ColumnText(5),
                  get->ColumnText(6),  get->ColumnInt64(7),  get->ColumnInt64(8),
                  get->ColumnInt64(9), get->ColumnInt64(10), get->ColumnInt64(11),
                  get->ColumnInt64(12) != 0};
      } else {
        loaded.tenant_id = c.tenant_id;
        loaded.job_id = c.job_id;
        loaded.device_id = c.device_id;
        loaded.device_class = c.device_class;
        loaded.device_model = c.device_model;
        loaded.assign_s = absl::ToUnixSeconds(c.assign_time);
      }
      get->Reset();
      cached = &cache.Put(c.attempt_id, c.device_index, std::move(loaded));
    }
    // Updated in place: if this write fails, the caller clears the cache.
    CounterState& st = *cached;
    if (found && (c.allocated_ms < st.allocated_ms || c.active_ms < st.active_ms)) {
      // A replay or a reordered report carries the same or older values; only values
      // strictly below what is stored are "backwards", and they change nothing.
      result.backwards.push_back(c);
    }
    int64_t add_alloc = std::max<int64_t>(0, c.allocated_ms - st.allocated_ms);
    int64_t add_active = std::max<int64_t>(0, c.active_ms - st.active_ms);
    const int64_t new_alloc = st.allocated_ms + add_alloc;
    const int64_t new_active = st.active_ms + add_active;

    if ((add_alloc > 0 || add_active > 0) && st.tenant_id != 0) {
      int64_t start = FloorTo(now_s, len);
      if (st.last_length == len && start < st.last_start) start = st.last_start;
      // One interval of slack before the assignment's, for the agent's and hacd's clocks.
      const int64_t floor = std::min(start, FloorTo(st.assign_s, len) - len);
      const bool same_last = st.last_length == len && st.last_start == start;
      int64_t in_start_alloc = same_last ? st.last_allocated_ms : 0;
      int64_t in_start_active = same_last ? st.last_active_ms : 0;
      // Fill the report's interval first, then earlier ones, each up to its length.
      for (int64_t cur = start; (add_alloc > 0 || add_active > 0) && cur >= floor; cur -= len) {
        const int64_t month = MonthKey(cur);
        int64_t used_alloc = 0;
        int64_t used_active = 0;
        // The report's own interval holds at most the time elapsed in it (the rest of the
        // increase happened earlier), unless the clock stepped back behind the last row.
        int64_t cap = len_ms;
        if (cur == start && start * 1000 <= now_ms) {
          cap = std::clamp<int64_t>(now_ms - start * 1000, 0, len_ms);
        }
        if (cur == start && (same_last || start > st.last_start)) {
          used_alloc = in_start_alloc;
          used_active = in_start_active;
        } else if (cur == st.last_start && st.last_length == len) {
          used_alloc = st.last_allocated_ms;
          used_active = st.last_active_ms;
        } else {
          get_interval->Reset();
          get_interval->BindInt64(1, st.tenant_id);
          get_interval->BindInt64(2, month);
          get_interval->BindTextNoCopy(3, st.job_id);
          get_interval->BindTextNoCopy(4, c.attempt_id);
          get_interval->BindTextNoCopy(5, st.device_id);
          get_interval->BindInt64(6, cur);
          ASSIGN_OR_RETURN(bool row, get_interval->Step());
          if (row) {
            used_alloc = get_interval->ColumnInt64(0);
            used_active = get_interval->ColumnInt64(1);
            cap = std::min(cap, get_interval->ColumnInt64(2) * 1000);
          }
          get_interval->Reset();
        }
        const int64_t put_alloc = std::clamp<int64_t>(cap - used_alloc, 0, add_alloc);
        const int64_t put_active = std::clamp<int64_t>(cap - used_active, 0, add_active);
        if (put_alloc == 0 && put_active == 0) continue;
        if (cur == st.last_start && st.last_length == len &&
            (st.last_allocated_ms > 0 || st.last_active_ms > 0)) {
          // The latest row of this counter exists: add to it.
          grow_interval->Reset();
          grow_interval->BindInt64(1, st.tenant_id);
          grow_interval->BindInt64(2, month);
          grow_interval->BindTextNoCopy(3, st.job_id);
          grow_interval->BindTextNoCopy(4, c.attempt_id);
          grow_interval->BindTextNoCopy(5, st.device_id);
          grow_interval->BindInt64(6, cur);
          grow_interval->BindInt64(7, put_alloc);
          grow_interval->BindInt64(8, put_active);
          RETURN_IF_ERROR(grow_interval->Run());
          if (db.Changes() != 1) {
            return absl::InternalError(absl::StrCat("usage row of ", c.attempt_id, " device ",
                                                    c.device_index, " at ", cur, " is missing"));
          }
        } else {
          add_interval->Reset();
          add_interval->BindInt64(1, st.tenant_id);
          add_interval->BindInt64(2, month);
          add_interval->BindTextNoCopy(3, st.job_id);
          add_interval->BindTextNoCopy(4, c.attempt_id);
          add_interval->BindTextNoCopy(5, st.device_id);
          add_interval->BindInt64(6, cur);
          add_interval->BindInt64(7, len);
          add_interval->BindTextNoCopy(8, st.device_class);
          add_interval->BindTextNoCopy(9, st.device_model);
          add_interval->BindInt64(10, put_alloc);
          add_interval->BindInt64(11, put_active);
          RETURN_IF_ERROR(add_interval->Run());
        }
        if (st.final) final_puts.push_back({cur, len, put_alloc, put_active});
        add_alloc -= put_alloc;
        add_active -= put_active;
        if (cur == start) {
          in_start_alloc += put_alloc;
          in_start_active += put_active;
        }
      }
      if (add_alloc > 0 || add_active > 0) {
        UsageCounterRecord excess;
        excess.attempt_id = c.attempt_id;
        excess.device_index = c.device_index;
        excess.allocated_ms = add_alloc;
        excess.active_ms = add_active;
        result.excess.push_back(std::move(excess));
      }
      st.last_start = start;
      st.last_length = len;
      st.last_allocated_ms = in_start_alloc;
      st.last_active_ms = in_start_active;
    }
    // A counter that just became final has its intervals summed into usage_totals; a final
    // one's later increases are added there too.
    if (st.tenant_id != 0 && (!final_puts.empty() || (c.final && !st.final))) {
      if (!epochs.has_value()) {
        ASSIGN_OR_RETURN(epochs, PriceEpochs(db));
      }
      if (st.final) {
        RETURN_IF_ERROR(AddToTotals(db, *epochs, c.attempt_id, c.device_index, st, final_puts));
      } else {
        RETURN_IF_ERROR(FoldCounter(db, *epochs, c.attempt_id, c.device_index, st));
      }
    }
    st.final = st.final || c.final;

    st.allocated_ms = new_alloc;
    st.active_ms = new_active;
    Statement* put = found ? update : insert;
    put->Reset();
    put->BindTextNoCopy(1, c.attempt_id);
    put->BindInt64(2, c.device_index);
    put->BindInt64(3, new_alloc);
    put->BindInt64(4, new_active);
    put->BindInt64(5, c.final ? 1 : 0);
    put->BindInt64(6, st.last_start);
    put->BindInt64(7, st.last_length);
    put->BindInt64(8, st.last_allocated_ms);
    put->BindInt64(9, st.last_active_ms);
    if (!found) {
      put->BindInt64(10, st.tenant_id);
      put->BindTextNoCopy(11, st.job_id);
      put->BindTextNoCopy(12, st.device_id);
      put->BindTextNoCopy(13, st.device_class);
      put->BindTextNoCopy(14, st.device_model);
      put->BindInt64(15, st.assign_s);
    }
    RETURN_IF_ERROR(put->Run());
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Store::RecordUsageIn(Database& db, const std::vector<UsageCounterRecord>& counters,
                                  absl::Time now, absl::Duration interval,
                                  UsageRecordResult& result) {
  // A failure rolls back and the writer's rollback hook clears the counter cache.
  return RecordUsageOn(db, *counter_cache_, counters, now, absl::ToInt64Seconds(interval),
                       result);
}

absl::StatusOr<UsageRecordResult> Store::RecordUsage(
    const std::vector<UsageCounterRecord>& counters, absl::Time now, absl::Duration interval) {
  RETURN_IF_ERROR(billing::ValidateUsageInterval(interval));
  absl::Notification done;
  absl::StatusOr<UsageRecordResult> out;
  RecordUsageAsync(counters, now, interval, [&](absl::StatusOr<UsageRecordResult> r) {
    out = std::move(r);
    done.Notify();
  });
  done.WaitForNotification();
  return out;
}

void Store::RecordUsageAsync(std::vector<UsageCounterRecord> counters, absl::Time now,
                             absl::Duration interval,
                             std::function<void(absl::StatusOr<UsageRecordResult>)> done) {
  if (absl::Status s = billing::ValidateUsageInterval(interval); !s.ok()) {
    done(s);
    return;
  }
  auto result = std::make_shared<UsageRecordResult>();
  writer_->WriteAsync(
      [this, counters = std::move(counters), now, interval, result](Database& db) {
        return RecordUsageIn(db, counters, now, interval, *result);
      },
      [result, done = std::move(done)](const absl::Status& s) {
        if (!s.ok()) {
          done(s);
          return;
        }
        done(std::move(*result));
      });
}

absl::StatusOr<std::vector<UsageCounterRecord>> Store::GetUsage(absl::string_view attempt_id) {
  std::vector<UsageCounterRecord> out;
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * st,
                     db.Cached("SELECT device_index, allocated_ms, active_ms, final FROM "
                               "usage_counters WHERE attempt_id = ? ORDER BY device_index"));
    st->BindText(1, attempt_id);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      UsageCounterRecord r;
      r.attempt_id = std::string(attempt_id);
      r.device_index = static_cast<uint32_t>(st->ColumnInt64(0));
      r.allocated_ms = st->ColumnInt64(1);
      r.active_ms = st->ColumnInt64(2);
      r.final = st->ColumnInt64(3) != 0;
      out.push_back(std::move(r));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<billing::UsageRow>> Store::ListUsageRows(int64_t tenant_id,
                                                                    absl::string_view tenant_label,
                                                                    absl::Time from,
                                                                    absl::Time to) {
  std::vector<billing::UsageRow> out;
  if (from >= to) return out;
  const int64_t from_s = CeilSeconds(from);
  const int64_t to_s = CeilSeconds(to);
  const int64_t first_month = MonthKey(from_s);
  const int64_t last_month = MonthKey(to_s - 1);
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    // One month is one range of the primary key, already in rating order; several need a sort.
    Statement* st = nullptr;
    if (first_month == last_month) {
      ASSIGN_OR_RETURN(
          st, db.Cached("SELECT job_id, attempt_id, device_id, device_class, device_model, "
                        "interval_start, interval_length, allocated_ms, active_ms FROM "
                        "usage_intervals WHERE tenant_id = ?1 AND month = ?2 AND "
                        "interval_start >= ?4 AND interval_start < ?5 "
                        "ORDER BY job_id, attempt_id, device_id, interval_start"));
    } else {
      ASSIGN_OR_RETURN(
          st, db.Cached("SELECT job_id, attempt_id, device_id, device_class, device_model, "
                        "interval_start, interval_length, allocated_ms, active_ms FROM "
                        "usage_intervals WHERE tenant_id = ?1 AND month >= ?2 AND month <= ?3 "
                        "AND interval_start >= ?4 AND interval_start < ?5 "
                        "ORDER BY job_id, attempt_id, device_id, interval_start"));
    }
    st->BindInt64(1, tenant_id);
    st->BindInt64(2, first_month);
    st->BindInt64(3, last_month);
    st->BindInt64(4, from_s);
    st->BindInt64(5, to_s);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      billing::UsageRow& r = out.emplace_back();
      r.tenant_id = std::string(tenant_label);
      r.job_id = st->ColumnText(0);
      r.attempt_id = st->ColumnText(1);
      r.device_id = st->ColumnText(2);
      r.device_class = st->ColumnText(3);
      r.device_model = st->ColumnText(4);
      r.interval_start = absl::FromUnixSeconds(st->ColumnInt64(5));
      r.interval_length = absl::Seconds(st->ColumnInt64(6));
      r.allocated_ms = st->ColumnInt64(7);
      r.active_ms = st->ColumnInt64(8);
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::Status Store::ForEachMonthUsage(
    int64_t tenant_id, absl::string_view tenant_label, absl::Time month_start,
    const std::function<absl::Status(const billing::UsageRow&)>& fn) {
  const int64_t from_s = CeilSeconds(month_start);
  const int64_t month = MonthKey(from_s);
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::CivilMonth m = absl::ToCivilMonth(absl::FromUnixSeconds(from_s), utc);
  if (absl::FromCivil(m, utc) != month_start) {
    return absl::InvalidArgumentError("month_start must be the start of a UTC month");
  }
  const int64_t to_s = absl::ToUnixSeconds(absl::FromCivil(m + 1, utc));
  return Read([&](Database& db) {
    return StreamMonthUsage(db, tenant_id, tenant_label, month, from_s, to_s, fn);
  });
}

namespace {

// SumUsage's statements: [key][all tenants]. String literals, as Database::Cached requires.
#define HAC_SUM_SQL(KEY, WHERE_TENANT)                                                \
  "SELECT " KEY                                                                       \
  " AS k, sum(allocated_ms), sum(active_ms) FROM usage_intervals WHERE " WHERE_TENANT \
  "month >= ?2 AND month <= ?3 AND interval_start >= ?4 AND "                         \
  "interval_start < ?5 GROUP BY k ORDER BY k"
#define HAC_SUM_PAIR(KEY) \
  { HAC_SUM_SQL(KEY, "tenant_id = ?1 AND "), HAC_SUM_SQL(KEY, "?1 = 0 AND ") }
constexpr const char* kSumSql[4][2] = {
    HAC_SUM_PAIR("job_id"),
    HAC_SUM_PAIR("device_class"),
    HAC_SUM_PAIR("device_model"),
    HAC_SUM_PAIR("strftime('%Y-%m-%d', interval_start, 'unixepoch')"),
};
#undef HAC_SUM_PAIR
#undef HAC_SUM_SQL

}  // namespace

absl::StatusOr<std::vector<UsageSum>> Store::SumUsage(int64_t tenant_id, absl::Time from,
                                                      absl::Time to, UsageKey key) {
  std::vector<UsageSum> out;
  if (from >= to) return out;
  const int64_t from_s = CeilSeconds(from);
  const int64_t to_s = CeilSeconds(to);
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * st,
                     db.Cached(kSumSql[static_cast<int>(key)][tenant_id == 0 ? 1 : 0]));
    st->BindInt64(1, tenant_id);
    st->BindInt64(2, MonthKey(from_s));
    st->BindInt64(3, MonthKey(to_s - 1));
    st->BindInt64(4, from_s);
    st->BindInt64(5, to_s);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      out.push_back({st->ColumnText(0), st->ColumnInt64(1), st->ColumnInt64(2)});
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<TenantRecord>> Store::TenantsWithUsage(absl::Time t) {
  std::vector<TenantRecord> out;
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * st,
                     db.Cached("SELECT id, name, create_time_us FROM tenants t WHERE EXISTS "
                               "(SELECT 1 FROM usage_intervals u WHERE u.tenant_id = t.id AND "
                               "u.month = ?1) ORDER BY id"));
    st->BindInt64(1, MonthKey(absl::ToUnixSeconds(t)));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      out.push_back(
          {st->ColumnInt64(0), st->ColumnText(1), absl::FromUnixMicros(st->ColumnInt64(2))});
    }
    return absl::OkStatus();
  }));
  return out;
}

// ---- prices ----

absl::Status Store::AddPrice(const billing::PriceEntry& price) {
  return writer_->Write([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(
        Statement * st,
        db.Cached("INSERT INTO prices(device_class, device_model, allocated_rate_micros, "
                  "active_rate_micros, effective_from_s, minimum_seconds) "
                  "VALUES(?, ?, ?, ?, ?, ?)"));
    st->BindText(1, price.device_class);
    st->BindText(2, price.device_model);
    st->BindInt64(3, price.allocated_rate.micros());
    st->BindInt64(4, price.active_rate.micros());
    st->BindInt64(5, absl::ToUnixSeconds(price.effective_from));
    st->BindInt64(6, absl::ToInt64Seconds(price.minimum_billable));
    absl::Status s = st->Run();
    if (absl::IsAlreadyExists(s)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "price: ", price.device_class, "/", price.device_model.empty() ? "*" : price.device_model,
          " already has a price from ",
          absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", price.effective_from, absl::UTCTimeZone()),
          "; prices are never edited, add one with a later effective_from"));
    }
    return s;
  });
}

absl::StatusOr<std::vector<billing::PriceEntry>> Store::ListPrices() {
  std::vector<billing::PriceEntry> out;
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(
        Statement * st,
        db.Cached("SELECT device_class, device_model, allocated_rate_micros, active_rate_micros, "
                  "effective_from_s, minimum_seconds FROM prices ORDER BY id"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      billing::PriceEntry& p = out.emplace_back();
      p.device_class = st->ColumnText(0);
      p.device_model = st->ColumnText(1);
      p.allocated_rate = billing::Money::FromMicros(st->ColumnInt64(2));
      p.active_rate = billing::Money::FromMicros(st->ColumnInt64(3));
      p.effective_from = absl::FromUnixSeconds(st->ColumnInt64(4));
      p.minimum_billable = absl::Seconds(st->ColumnInt64(5));
    }
    return absl::OkStatus();
  }));
  return out;
}

// ---- invoices ----

absl::Status Store::InsertInvoice(const InvoiceRecord& invoice) {
  return writer_->Write([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * st,
                     db.Cached("INSERT INTO invoices(tenant_id, month, close_time_us, bill) "
                               "VALUES(?, ?, ?, ?)"));
    st->BindInt64(1, invoice.tenant_id);
    st->BindText(2, invoice.month);
    st->BindInt64(3, absl::ToUnixMicros(invoice.close_time));
    st->BindBlob(4, invoice.bill);
    absl::Status s = st->Run();
    if (absl::IsAlreadyExists(s)) {
      return absl::AlreadyExistsError(absl::StrCat("month ", invoice.month, " of tenant \"",
                                                   invoice.tenant,
                                                   "\" is already closed; a closed invoice never "
                                                   "changes (late usage goes on the next one)"));
    }
    return s;
  });
}

absl::StatusOr<std::vector<InvoiceRecord>> Store::ListInvoices(int64_t tenant_id) {
  std::vector<InvoiceRecord> out;
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(
        Statement * st,
        db.Cached("SELECT i.tenant_id, t.name, i.month, i.close_time_us, i.bill FROM invoices i "
                  "JOIN tenants t ON t.id = i.tenant_id WHERE ?1 = 0 OR i.tenant_id = ?1 "
                  "ORDER BY i.month, t.name"));
    st->BindInt64(1, tenant_id);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      out.push_back({st->ColumnInt64(0), st->ColumnText(1), st->ColumnText(2),
                     absl::FromUnixMicros(st->ColumnInt64(3)), st->ColumnBlob(4)});
    }
    return absl::OkStatus();
  }));
  return out;
}

// ---- budgets ----

absl::Status Store::SetBudget(const BudgetRecord& budget) {
  return writer_->Write([&](Database& db) -> absl::Status {
    if (budget.monthly_limit_micros == 0) {
      ASSIGN_OR_RETURN(Statement * del, db.Cached("DELETE FROM budgets WHERE tenant_id = ?"));
      del->BindInt64(1, budget.tenant_id);
      return del->Run();
    }
    ASSIGN_OR_RETURN(
        Statement * st,
        db.Cached("INSERT INTO budgets(tenant_id, monthly_limit_micros, hard_stop) VALUES(?, ?, ?) "
                  "ON CONFLICT(tenant_id) DO UPDATE SET "
                  "monthly_limit_micros = excluded.monthly_limit_micros, "
                  "hard_stop = excluded.hard_stop"));
    st->BindInt64(1, budget.tenant_id);
    st->BindInt64(2, budget.monthly_limit_micros);
    st->BindInt64(3, budget.hard_stop ? 1 : 0);
    return st->Run();
  });
}

absl::StatusOr<std::vector<BudgetRecord>> Store::ListBudgets() {
  std::vector<BudgetRecord> out;
  RETURN_IF_ERROR(Read([&](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(
        Statement * st,
        db.Cached("SELECT b.tenant_id, t.name, b.monthly_limit_micros, b.hard_stop "
                  "FROM budgets b JOIN tenants t ON t.id = b.tenant_id ORDER BY t.name"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      out.push_back(
          {st->ColumnInt64(0), st->ColumnText(1), st->ColumnInt64(2), st->ColumnInt64(3) != 0});
    }
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace hac::server::store
