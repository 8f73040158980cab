#include "billing/rating.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace hac::billing {
namespace {

constexpr int kAllocated = 0;
constexpr int kActive = 1;

absl::Status Overflow(const UsageRow& row) {
  return absl::OutOfRangeError(absl::StrCat("amount overflow while rating job \"", row.job_id,
                                            "\" attempt \"", row.attempt_id,
                                            "\": exceeds the int64 micro-unit range"));
}

// -1, 0, 1 on std::string::compare's sign.
int Sign(int c) { return (c > 0) - (c < 0); }

bool WholeMinute(absl::Time t) {
  return t != absl::InfinitePast() && t != absl::InfiniteFuture() &&
         absl::FromUnixSeconds(absl::ToUnixSeconds(t)) == t && absl::ToUnixSeconds(t) % 60 == 0;
}

// A catalog lookup result remembered for the sweep, as whole Unix seconds.
struct CachedPrice {
  const std::string* device_class = nullptr;  // points into a row that outlives the rating
  const std::string* device_model = nullptr;
  const PriceEntry* entry = nullptr;
  int64_t from_s = 0;
  int64_t until_s = 0;
};

// The usage of one (attempt, device) under one price entry, both meters.
struct PeriodUse {
  const PriceEntry* entry = nullptr;
  std::array<int64_t, 2> ms = {0, 0};
};

// One rating pass. Rows arrive in (job, attempt, device, interval_start) order; each
// (attempt, device) group is rounded when it ends, each job's lines are sorted and appended to
// the bill when the job ends.
class Rater {
 public:
  Rater(std::string_view tenant_id, const PriceCatalog& catalog, absl::Time from, absl::Time to,
        const RatingOptions& options)
      : tenant_(tenant_id),
        catalog_(catalog),
        options_(options),
        from_s_(absl::ToUnixSeconds(from)),
        to_s_(absl::ToUnixSeconds(to)) {
    bill_.tenant_id = std::string(tenant_id);
    bill_.from = from;
    bill_.to = to;
    bill_.currency = catalog.currency();
  }

  // Room for the expected number of lines, so that a large bill is not copied while it grows.
  void Reserve(size_t lines) { bill_.lines.reserve(lines); }

  // Rates rows at(0..n-1). When `stop_if_unsorted`, returns false as soon as two rows are out of
  // order (the caller then sorts and starts a fresh Rater); otherwise rows must be sorted.
  template <typename RowAt>
  absl::StatusOr<bool> Sweep(size_t n, const RowAt& at, bool stop_if_unsorted) {
    const UsageRow* prev = nullptr;
    int64_t prev_s = 0;
    for (size_t k = 0; k < n; ++k) {
      const UsageRow& r = at(k);
      const int64_t s = absl::ToUnixSeconds(r.interval_start);
      if (s < from_s_ || s >= to_s_) continue;
      RETURN_IF_ERROR(CheckRow(r, s));
      int job_cmp = 1;
      int group_cmp = 1;
      if (prev != nullptr) {
        job_cmp = Sign(r.job_id.compare(prev->job_id));
        group_cmp = job_cmp;
        if (group_cmp == 0) group_cmp = Sign(r.attempt_id.compare(prev->attempt_id));
        if (group_cmp == 0) group_cmp = Sign(r.device_id.compare(prev->device_id));
        if (group_cmp < 0 || (group_cmp == 0 && s < prev_s)) {
          if (stop_if_unsorted) return false;
          return absl::InternalError("rating: rows not in order after sorting");
        }
        if (group_cmp == 0 && s == prev_s) {
          return absl::InvalidArgumentError(
              absl::StrCat("duplicate usage row: job \"", r.job_id, "\" attempt \"", r.attempt_id,
                           "\" device \"", r.device_id, "\" interval ",
                           absl::FormatTime(r.interval_start, absl::UTCTimeZone()),
                           " appears twice; the store keeps one row per interval"));
        }
      }
      if (group_cmp != 0) {
        if (prev != nullptr) {
          RETURN_IF_ERROR(FinishGroup());
          if (job_cmp != 0) {
            RETURN_IF_ERROR(FlushJob());
          } else if (Sign(r.attempt_id.compare(prev->attempt_id)) != 0) {
            attempt_lines_begin_ = bill_.lines.size();
          }
        }
        group_ = &r;
      } else if (r.device_class != group_->device_class || r.device_model != group_->device_model) {
        return absl::InvalidArgumentError(absl::StrCat(
            "usage row: device \"", r.device_id, "\" of attempt \"", r.attempt_id, "\" is ",
            group_->device_class, "/", group_->device_model, " in one interval and ",
            r.device_class, "/", r.device_model, " in another; a device keeps its model"));
      }
      if (group_cmp != 0 || s < price_.from_s || s >= price_.until_s) {
        RETURN_IF_ERROR(FindPrice(r, s));
      }
      if (periods_.empty() || periods_.back().entry != price_.entry) {
        periods_.push_back(PeriodUse{price_.entry, {0, 0}});
      }
      // Cannot overflow: each row adds at most 60,000 ms.
      periods_.back().ms[kAllocated] += r.allocated_ms;
      periods_.back().ms[kActive] += r.active_ms;
      prev = &r;
      prev_s = s;
    }
    if (prev != nullptr) {
      RETURN_IF_ERROR(FinishGroup());
      RETURN_IF_ERROR(FlushJob());
    }
    return true;
  }

  Bill TakeBill() { return std::move(bill_); }

 private:
  // The cheap per-row checks; on failure ValidateUsageRow words the message.
  absl::Status CheckRow(const UsageRow& r, int64_t s) {
    if (r.tenant_id != tenant_) {
      return absl::InvalidArgumentError(
          absl::StrCat("usage row of attempt \"", r.attempt_id, "\" belongs to tenant \"",
                       r.tenant_id, "\", not to \"", bill_.tenant_id, "\" whose bill this is"));
    }
    bool ok = !r.job_id.empty() && !r.attempt_id.empty() && !r.device_class.empty();
    if (ok && r.interval_length != interval_) {
      ok = ValidateUsageInterval(r.interval_length).ok();
      if (ok) {
        interval_ = r.interval_length;
        interval_s_ = absl::ToInt64Seconds(interval_);
      }
    }
    ok = ok && s % interval_s_ == 0 && absl::FromUnixSeconds(s) == r.interval_start &&
         r.allocated_ms >= 0 && r.allocated_ms <= interval_s_ * 1000 && r.active_ms >= 0 &&
         r.active_ms <= interval_s_ * 1000;
    if (ok) return absl::OkStatus();
    absl::Status st = ValidateUsageRow(r);
    return st.ok() ? absl::InvalidArgumentError("usage row failed validation") : st;
  }

  absl::Status FindPrice(const UsageRow& r, int64_t s) {
    for (const CachedPrice& c : cache_) {
      if (c.entry != nullptr && s >= c.from_s && s < c.until_s &&
          *c.device_model == r.device_model && *c.device_class == r.device_class) {
        price_ = c;
        return absl::OkStatus();
      }
    }
    absl::StatusOr<PricePeriod> p =
        catalog_.Lookup(r.device_class, r.device_model, r.interval_start);
    if (!p.ok()) return p.status();
    price_ = CachedPrice{&r.device_class, &r.device_model, p->entry, absl::ToUnixSeconds(p->from),
                         absl::ToUnixSeconds(p->until)};
    cache_[next_slot_] = price_;
    next_slot_ = (next_slot_ + 1) % cache_.size();
    return absl::OkStatus();
  }

  // Rounds the finished (attempt, device) group and adds it to the job's lines.
  absl::Status FinishGroup() {
    const UsageRow& g = *group_;
    const size_t n = periods_.size();
    std::array<int64_t, 2> billed_total = {0, 0};
    std::array<int64_t, 2> earlier = {0, 0};  // seconds billed to all periods but the last
    const int64_t minimum_s = absl::ToInt64Seconds(periods_.back().entry->minimum_billable);
    for (int m : {kAllocated, kActive}) {
      int64_t total_ms = 0;
      for (const PeriodUse& p : periods_) total_ms += p.ms[m];
      if (total_ms > 0) billed_total[m] = std::max((total_ms + 999) / 1000, minimum_s);
    }
    for (size_t i = 0; i < n; ++i) {
      const PeriodUse& p = periods_[i];
      std::array<int64_t, 2> seconds;
      for (int m : {kAllocated, kActive}) {
        if (i + 1 < n) {
          seconds[m] = p.ms[m] / 1000;
          earlier[m] += seconds[m];
        } else {
          seconds[m] = billed_total[m] - earlier[m];
        }
      }
      if (p.ms[0] == 0 && p.ms[1] == 0 && seconds[0] == 0 && seconds[1] == 0) continue;
      BillLine& line = LineFor(g, p.entry);
      const std::array<MeterCharge*, 2> charges = {&line.allocated, &line.active};
      for (int m : {kAllocated, kActive}) {
        MeterCharge& c = *charges[m];
        int64_t amount = 0;
        if (__builtin_mul_overflow(c.rate.micros(), seconds[m], &amount) ||
            __builtin_add_overflow(c.amount.micros(), amount, &amount)) {
          return Overflow(g);
        }
        c.amount = Money::FromMicros(amount);
        c.used_ms += p.ms[m];
        c.billed_seconds += seconds[m];
      }
      int64_t line_amount = 0;
      if (__builtin_add_overflow(line.allocated.amount.micros(), line.active.amount.micros(),
                                 &line_amount)) {
        return Overflow(g);
      }
      line.amount = Money::FromMicros(line_amount);
    }
    periods_.clear();
    return absl::OkStatus();
  }

  // The line of the current job for (attempt if per-attempt, class, model, entry), created at
  // the end of the bill if new: a job's lines are built in place at the bill's tail.
  BillLine& LineFor(const UsageRow& g, const PriceEntry* entry) {
    // Lines of earlier attempts of this job never match in per-attempt mode.
    const size_t begin = options_.per_attempt_lines ? attempt_lines_begin_ : job_lines_begin_;
    for (size_t i = begin; i < bill_.lines.size(); ++i) {
      BillLine& l = bill_.lines[i];
      if (job_line_entries_[i - job_lines_begin_] == entry && l.device_model == g.device_model &&
          l.device_class == g.device_class) {
        return l;
      }
    }
    job_line_entries_.push_back(entry);
    BillLine& l = bill_.lines.emplace_back();
    l.kind = LineKind::kUsage;
    l.job_id = g.job_id;
    if (options_.per_attempt_lines) l.attempt_id = g.attempt_id;
    l.device_class = g.device_class;
    l.device_model = g.device_model;
    l.price_from = entry->effective_from;
    l.allocated.rate = entry->allocated_rate;
    l.active.rate = entry->active_rate;
    return l;
  }

  // Puts the finished job's lines in their documented order and adds them to the total.
  absl::Status FlushJob() {
    auto less = [](const BillLine& x, const BillLine& y) {
      if (int c = x.attempt_id.compare(y.attempt_id)) return c < 0;
      if (int c = x.device_class.compare(y.device_class)) return c < 0;
      if (int c = x.device_model.compare(y.device_model)) return c < 0;
      return x.price_from < y.price_from;
    };
    const auto begin = bill_.lines.begin() + static_cast<ptrdiff_t>(job_lines_begin_);
    if (!std::is_sorted(begin, bill_.lines.end(), less)) std::sort(begin, bill_.lines.end(), less);
    for (auto it = begin; it != bill_.lines.end(); ++it) {
      int64_t total = 0;
      if (__builtin_add_overflow(bill_.total.micros(), it->amount.micros(), &total)) {
        return absl::OutOfRangeError(absl::StrCat("bill total overflow at job \"", it->job_id,
                                                  "\": exceeds the int64 micro-unit range"));
      }
      bill_.total = Money::FromMicros(total);
    }
    job_lines_begin_ = bill_.lines.size();
    attempt_lines_begin_ = job_lines_begin_;
    job_line_entries_.clear();
    return absl::OkStatus();
  }

  const std::string_view tenant_;
  const PriceCatalog& catalog_;
  const RatingOptions options_;
  const int64_t from_s_;
  const int64_t to_s_;
  Bill bill_;

  absl::Duration interval_ = absl::ZeroDuration();  // last validated interval length
  int64_t interval_s_ = 1;

  std::array<CachedPrice, 8> cache_;
  size_t next_slot_ = 0;
  CachedPrice price_;  // price of the current row

  const UsageRow* group_ = nullptr;  // first row of the current (attempt, device)
  absl::InlinedVector<PeriodUse, 4> periods_;
  size_t job_lines_begin_ = 0;      // the current job's lines are bill_.lines[job_lines_begin_..]
  size_t attempt_lines_begin_ = 0;  // and the current attempt's from here
  std::vector<const PriceEntry*> job_line_entries_;  // entry of each of the job's lines
};

}  // namespace

absl::StatusOr<Bill> RateUsage(std::string_view tenant_id, absl::Span<const UsageRow> rows,
                               const PriceCatalog& catalog, absl::Time from, absl::Time to,
                               const RatingOptions& options) {
  if (!WholeMinute(from) || !WholeMinute(to)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bill period [", absl::FormatTime(from, absl::UTCTimeZone()), ", ",
        absl::FormatTime(to, absl::UTCTimeZone()), ") must start and end on whole UTC minutes"));
  }
  if (from >= to) {
    return absl::InvalidArgumentError(
        absl::StrCat("bill period [", absl::FormatTime(from, absl::UTCTimeZone()), ", ",
                     absl::FormatTime(to, absl::UTCTimeZone()), ") must not be empty"));
  }
  {
    Rater rater(tenant_id, catalog, from, to, options);
    // Typical store output has a few rows per (attempt, device); unused capacity costs nothing.
    rater.Reserve(rows.size() / 4 + 1);
    absl::StatusOr<bool> in_order = rater.Sweep(
        rows.size(), [&](size_t k) -> const UsageRow& { return rows[k]; }, true);
    if (!in_order.ok()) return in_order.status();
    if (*in_order) return rater.TakeBill();
  }
  // Not in store order: sort the period's row indices by (job, attempt, device, interval_start)
  // and sweep again. Comparing strings of randomly placed rows is cache-hostile, so jobs are
  // first ranked once (interned, then their distinct ids sorted) and most comparisons are
  // between two integers; only rows of the same job compare strings.
  struct SortKey {
    uint64_t job_rank;
    size_t row;
  };
  std::vector<SortKey> keys;
  std::vector<absl::string_view> job_ids;
  {
    absl::flat_hash_map<absl::string_view, uint64_t> job_index;
    const int64_t from_s = absl::ToUnixSeconds(from);
    const int64_t to_s = absl::ToUnixSeconds(to);
    for (size_t k = 0; k < rows.size(); ++k) {
      const int64_t t = absl::ToUnixSeconds(rows[k].interval_start);
      if (t < from_s || t >= to_s) continue;
      const absl::string_view job(rows[k].job_id.data(), rows[k].job_id.size());
      auto [it, inserted] = job_index.try_emplace(job, job_ids.size());
      if (inserted) job_ids.push_back(job);
      keys.push_back(SortKey{it->second, k});
    }
  }
  std::vector<uint64_t> by_id(job_ids.size());
  std::iota(by_id.begin(), by_id.end(), uint64_t{0});
  std::sort(by_id.begin(), by_id.end(),
            [&](uint64_t a, uint64_t b) { return job_ids[a] < job_ids[b]; });
  std::vector<uint64_t> rank(job_ids.size());
  for (uint64_t r = 0; r < by_id.size(); ++r) rank[by_id[r]] = r;
  for (SortKey& key : keys) key.job_rank = rank[key.job_rank];
  std::sort(keys.begin(), keys.end(), [&](const SortKey& a, const SortKey& b) {
    if (a.job_rank != b.job_rank) return a.job_rank < b.job_rank;
    const UsageRow& x = rows[a.row];
    const UsageRow& y = rows[b.row];
    if (int c = x.attempt_id.compare(y.attempt_id)) return c < 0;
    if (int c = x.device_id.compare(y.device_id)) return c < 0;
    return x.interval_start < y.interval_start;
  });
  Rater rater(tenant_id, catalog, from, to, options);
  rater.Reserve(rows.size() / 4 + 1);
  absl::StatusOr<bool> in_order = rater.Sweep(
      keys.size(), [&](size_t k) -> const UsageRow& { return rows[keys[k].row]; }, false);
  if (!in_order.ok()) return in_order.status();
  return rater.TakeBill();
}

absl::StatusOr<Bill> RateMonth(std::string_view tenant_id, absl::Span<const UsageRow> rows,
                               const PriceCatalog& catalog, Month month,
                               const RatingOptions& options) {
  return RateUsage(tenant_id, rows, catalog, month.Start(), month.End(), options);
}

absl::StatusOr<Money> SumLines(absl::Span<const BillLine> lines) {
  Money total;
  for (const BillLine& line : lines) {
    absl::StatusOr<Money> sum = CheckedAdd(total, line.amount);
    if (!sum.ok()) return sum.status();
    total = *sum;
  }
  return total;
}

}  // namespace hac::billing
