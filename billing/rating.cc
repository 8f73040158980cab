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

absl::Status Overflow(const std::string& job_id, const std::string& attempt_id) {
  return absl::OutOfRangeError(absl::StrCat("amount overflow while rating job \"", job_id,
                                            "\" attempt \"", attempt_id,
                                            "\": exceeds the int64 micro-unit range"));
}

// -1, 0, 1 on std::string::compare's sign.
int Sign(int c) { return (c > 0) - (c < 0); }

bool WholeMinute(absl::Time t) {
  return t != absl::InfinitePast() && t != absl::InfiniteFuture() &&
         absl::FromUnixSeconds(absl::ToUnixSeconds(t)) == t && absl::ToUnixSeconds(t) % 60 == 0;
}

// A catalog lookup result remembered for the pass, as whole Unix seconds.
struct CachedPrice {
  std::string device_class;
  std::string device_model;
  const PriceEntry* entry = nullptr;
  int64_t from_s = 0;
  int64_t until_s = 0;
};

// The usage of one (attempt, device) under one price entry, both meters.
struct PeriodUse {
  const PriceEntry* entry = nullptr;
  std::array<int64_t, 2> ms = {0, 0};
};

// What a pass keeps of the current (attempt, device) group: its first row's names.
struct GroupKey {
  std::string job_id;
  std::string attempt_id;
  std::string device_id;
  std::string device_class;
  std::string device_model;
};

absl::Status ValidatePeriod(absl::Time from, absl::Time to) {
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
  return absl::OkStatus();
}

}  // namespace

// One rating pass. Rows arrive one at a time in (job, attempt, device, interval_start) order and
// need not outlive Add: each (attempt, device) group is rounded when it ends, each job's lines are
// sorted and appended to the bill when the job ends.
class RatingPass {
 public:
  RatingPass(std::string_view tenant_id, const PriceCatalog& catalog, absl::Time from,
             absl::Time to, const RatingOptions& options)
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

  // Rates one row. Returns false, changing nothing, when the row comes before the previous one
  // in rating order.
  absl::StatusOr<bool> Add(const UsageRow& r) {
    if (r.interval_length != length_) {
      if (absl::Status s = ValidateUsageLength(r.interval_length); !s.ok()) {
        return ValidateUsageRow(r);
      }
      length_ = r.interval_length;
      length_s_ = absl::ToInt64Seconds(length_);
    }
    const int64_t s = absl::ToUnixSeconds(r.interval_start);
    const int64_t end_s = s + length_s_;
    if (s < from_s_ || s >= to_s_) {
      if (s < from_s_ && end_s > from_s_) return Straddles(r, "the start of the bill period");
      return true;
    }
    if (end_s > to_s_) return Straddles(r, "the end of the bill period");
    RETURN_IF_ERROR(CheckRow(r, s));
    int job_cmp = 1;
    int group_cmp = 1;
    if (in_group_) {
      job_cmp = Sign(r.job_id.compare(group_.job_id));
      group_cmp = job_cmp;
      if (group_cmp == 0) group_cmp = Sign(r.attempt_id.compare(group_.attempt_id));
      if (group_cmp == 0) group_cmp = Sign(r.device_id.compare(group_.device_id));
      if (group_cmp < 0 || (group_cmp == 0 && s < prev_s_)) return false;
      if (group_cmp == 0 && s == prev_s_) {
        return absl::InvalidArgumentError(
            absl::StrCat("duplicate usage row: job \"", r.job_id, "\" attempt \"", r.attempt_id,
                         "\" device \"", r.device_id, "\" interval ",
                         absl::FormatTime(r.interval_start, absl::UTCTimeZone()),
                         " appears twice; the store keeps one row per interval"));
      }
      if (group_cmp == 0 && s < prev_end_s_) {
        return absl::InvalidArgumentError(absl::StrCat(
            "usage rows overlap: attempt \"", r.attempt_id, "\" device \"", r.device_id,
            "\" has a row starting at ", absl::FormatTime(r.interval_start, absl::UTCTimeZone()),
            " before the previous one ends"));
      }
    }
    if (group_cmp != 0) {
      if (in_group_) {
        RETURN_IF_ERROR(FinishGroup());
        if (job_cmp != 0) {
          RETURN_IF_ERROR(FlushJob());
        } else if (r.attempt_id != group_.attempt_id) {
          attempt_lines_begin_ = bill_.lines.size();
        }
      }
      // Copy only what changed: rows of one job, or one model, come together.
      if (job_cmp != 0) group_.job_id = r.job_id;
      if (r.attempt_id != group_.attempt_id) group_.attempt_id = r.attempt_id;
      group_.device_id = r.device_id;
      if (r.device_class != group_.device_class) group_.device_class = r.device_class;
      if (r.device_model != group_.device_model) group_.device_model = r.device_model;
      in_group_ = true;
    } else if (r.device_class != group_.device_class || r.device_model != group_.device_model) {
      return absl::InvalidArgumentError(absl::StrCat(
          "usage row: device \"", r.device_id, "\" of attempt \"", r.attempt_id, "\" is ",
          group_.device_class, "/", group_.device_model, " in one interval and ", r.device_class,
          "/", r.device_model, " in another; a device keeps its model"));
    }
    if (group_cmp != 0 || s < price_.from_s || s >= price_.until_s) {
      RETURN_IF_ERROR(FindPrice(r, s));
    }
    if (end_s > price_.until_s) {
      return absl::FailedPreconditionError(absl::StrCat(
          "usage row of attempt \"", r.attempt_id, "\" device \"", r.device_id, "\" from ",
          absl::FormatTime(r.interval_start, absl::UTCTimeZone()), " for ",
          absl::FormatDuration(r.interval_length), " spans the price change at ",
          absl::FormatTime(absl::FromUnixSeconds(price_.until_s), absl::UTCTimeZone()),
          "; rate its intervals instead"));
    }
    if (periods_.empty() || periods_.back().entry != price_.entry) {
      periods_.push_back(PeriodUse{price_.entry, {0, 0}});
    }
    // Cannot overflow: each row adds at most its length (a month at most) in ms.
    periods_.back().ms[kAllocated] += r.allocated_ms;
    periods_.back().ms[kActive] += r.active_ms;
    prev_s_ = s;
    prev_end_s_ = end_s;
    return true;
  }

  absl::StatusOr<Bill> Finish() {
    if (in_group_) {
      RETURN_IF_ERROR(FinishGroup());
      RETURN_IF_ERROR(FlushJob());
      in_group_ = false;
    }
    return std::move(bill_);
  }

 private:
  absl::Status Straddles(const UsageRow& r, const char* what) {
    return absl::InvalidArgumentError(absl::StrCat(
        "usage row of attempt \"", r.attempt_id, "\" device \"", r.device_id, "\" from ",
        absl::FormatTime(r.interval_start, absl::UTCTimeZone()), " for ",
        absl::FormatDuration(r.interval_length), " straddles ", what,
        "; a row must lie inside one period"));
  }

  // The cheap per-row checks; on failure ValidateUsageRow words the message.
  absl::Status CheckRow(const UsageRow& r, int64_t s) {
    if (r.tenant_id != tenant_) {
      return absl::InvalidArgumentError(
          absl::StrCat("usage row of attempt \"", r.attempt_id, "\" belongs to tenant \"",
                       r.tenant_id, "\", not to \"", bill_.tenant_id, "\" whose bill this is"));
    }
    const int64_t limit_ms = length_s_ * 1000;
    if (!r.job_id.empty() && !r.attempt_id.empty() && !r.device_class.empty() &&
        absl::FromUnixSeconds(s) == r.interval_start && r.allocated_ms >= 0 &&
        r.allocated_ms <= limit_ms && r.active_ms >= 0 && r.active_ms <= limit_ms) {
      return absl::OkStatus();
    }
    absl::Status st = ValidateUsageRow(r);
    return st.ok() ? absl::InvalidArgumentError("usage row failed validation") : st;
  }

  absl::Status FindPrice(const UsageRow& r, int64_t s) {
    for (const CachedPrice& c : cache_) {
      if (c.entry != nullptr && s >= c.from_s && s < c.until_s &&
          c.device_model == r.device_model && c.device_class == r.device_class) {
        price_ = c;
        return absl::OkStatus();
      }
    }
    absl::StatusOr<PricePeriod> p =
        catalog_.Lookup(r.device_class, r.device_model, r.interval_start);
    if (!p.ok()) return p.status();
    price_ = CachedPrice{r.device_class, r.device_model, p->entry, absl::ToUnixSeconds(p->from),
                         absl::ToUnixSeconds(p->until)};
    cache_[next_slot_] = price_;
    next_slot_ = (next_slot_ + 1) % cache_.size();
    return absl::OkStatus();
  }

  // Rounds the finished (attempt, device) group and adds it to the job's lines.
  absl::Status FinishGroup() {
    const GroupKey& g = group_;
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
          return Overflow(g.job_id, g.attempt_id);
        }
        c.amount = Money::FromMicros(amount);
        c.used_ms += p.ms[m];
        c.billed_seconds += seconds[m];
      }
      int64_t line_amount = 0;
      if (__builtin_add_overflow(line.allocated.amount.micros(), line.active.amount.micros(),
                                 &line_amount)) {
        return Overflow(g.job_id, g.attempt_id);
      }
      line.amount = Money::FromMicros(line_amount);
    }
    periods_.clear();
    return absl::OkStatus();
  }

  // The line of the current job for (attempt if per-attempt, class, model, entry), created at
  // the end of the bill if new: a job's lines are built in place at the bill's tail.
  BillLine& LineFor(const GroupKey& g, const PriceEntry* entry) {
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

  absl::Duration length_ = absl::InfiniteDuration();  // last validated row length
  int64_t length_s_ = 1;

  std::array<CachedPrice, 8> cache_;
  size_t next_slot_ = 0;
  CachedPrice price_;  // price of the current row

  bool in_group_ = false;
  GroupKey group_;  // the current (attempt, device)
  int64_t prev_s_ = 0;      // start and end of the group's previous row
  int64_t prev_end_s_ = 0;
  absl::InlinedVector<PeriodUse, 4> periods_;
  size_t job_lines_begin_ = 0;      // the current job's lines are bill_.lines[job_lines_begin_..]
  size_t attempt_lines_begin_ = 0;  // and the current attempt's from here
  std::vector<const PriceEntry*> job_line_entries_;  // entry of each of the job's lines
};

UsageRater::UsageRater(std::string_view tenant_id, const PriceCatalog& catalog, absl::Time from,
                       absl::Time to, const RatingOptions& options)
    : status_(ValidatePeriod(from, to)) {
  if (status_.ok()) pass_ = std::make_unique<RatingPass>(tenant_id, catalog, from, to, options);
}

UsageRater::~UsageRater() = default;

void UsageRater::Reserve(size_t lines) {
  if (pass_ != nullptr) pass_->Reserve(lines);
}

absl::Status UsageRater::Add(const UsageRow& row) {
  if (!status_.ok()) return status_;
  absl::StatusOr<bool> in_order = pass_->Add(row);
  if (!in_order.ok()) {
    status_ = in_order.status();
  } else if (!*in_order) {
    status_ = absl::InvalidArgumentError(absl::StrCat(
        "usage rows out of order: job \"", row.job_id, "\" attempt \"", row.attempt_id,
        "\" device \"", row.device_id, "\" at ",
        absl::FormatTime(row.interval_start, absl::UTCTimeZone()),
        " comes after a later row; rows must be sorted by job, attempt, device and start"));
  }
  return status_;
}

absl::StatusOr<Bill> UsageRater::Finish() {
  if (!status_.ok()) return status_;
  status_ = absl::FailedPreconditionError("UsageRater::Finish was already called");
  return pass_->Finish();
}

absl::StatusOr<Bill> RateUsage(std::string_view tenant_id, absl::Span<const UsageRow> rows,
                               const PriceCatalog& catalog, absl::Time from, absl::Time to,
                               const RatingOptions& options) {
  RETURN_IF_ERROR(ValidatePeriod(from, to));
  {
    RatingPass pass(tenant_id, catalog, from, to, options);
    // Typical store output has a few rows per (attempt, device); unused capacity costs nothing.
    pass.Reserve(rows.size() / 4 + 1);
    bool in_order = true;
    for (const UsageRow& row : rows) {
      ASSIGN_OR_RETURN(in_order, pass.Add(row));
      if (!in_order) break;
    }
    if (in_order) return pass.Finish();
  }
  // Not in store order: sort the period's row indices by (job, attempt, device, interval_start)
  // and rate again. Comparing strings of randomly placed rows is cache-hostile, so jobs are
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
    for (size_t k = 0; k < rows.size(); ++k) {
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
  RatingPass pass(tenant_id, catalog, from, to, options);
  pass.Reserve(rows.size() / 4 + 1);
  for (const SortKey& key : keys) {
    ASSIGN_OR_RETURN(bool in_order, pass.Add(rows[key.row]));
    if (!in_order) return absl::InternalError("rating: rows not in order after sorting");
  }
  return pass.Finish();
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
