#include "billing/price_catalog.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status_macros.h"

namespace hac::billing {
namespace {

absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

absl::Status ValidateName(std::string_view field, std::string_view value, bool allow_empty) {
  if (value.empty()) {
    if (allow_empty) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(Sv(field), " must not be empty"));
  }
  if (value.size() > kMaxDeviceNameLength) {
    return absl::InvalidArgumentError(absl::StrCat(Sv(field), " \"", Sv(value), "\" is ",
                                                   value.size(), " characters; the limit is ",
                                                   kMaxDeviceNameLength));
  }
  for (char c : value) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          Sv(field), " \"", Sv(value), "\" may contain only letters, digits, '-', '_' and '.'"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRate(std::string_view field, Money rate) {
  if (rate < Money::Zero()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Sv(field), " ", FormatAmount(rate), " must not be negative"));
  }
  if (rate > kMaxRatePerDeviceSecond) {
    return absl::InvalidArgumentError(
        absl::StrCat(Sv(field), " ", FormatAmount(rate), " exceeds the limit of ",
                     FormatAmount(kMaxRatePerDeviceSecond), " per device-second"));
  }
  return absl::OkStatus();
}

std::string ScopeName(const PriceEntry& e) {
  return e.device_model.empty() ? absl::StrCat(e.device_class, " (class-wide)")
                                : absl::StrCat(e.device_class, "/", e.device_model);
}

}  // namespace

absl::Status ValidatePriceEntry(const PriceEntry& entry) {
  RETURN_IF_ERROR(ValidateName("device_class", entry.device_class, false));
  RETURN_IF_ERROR(ValidateName("device_model", entry.device_model, true));
  RETURN_IF_ERROR(ValidateRate("allocated_rate", entry.allocated_rate));
  RETURN_IF_ERROR(ValidateRate("active_rate", entry.active_rate));
  if (entry.effective_from == absl::InfinitePast() ||
      entry.effective_from == absl::InfiniteFuture()) {
    return absl::InvalidArgumentError("effective_from must be a finite time");
  }
  if (entry.effective_from - absl::FromUnixSeconds(absl::ToUnixSeconds(entry.effective_from)) !=
          absl::ZeroDuration() ||
      absl::ToUnixSeconds(entry.effective_from) % 60 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "effective_from ", absl::FormatTime(entry.effective_from, absl::UTCTimeZone()),
        " must be on a whole UTC minute (so that no usage interval straddles a price change)"));
  }
  if (entry.minimum_billable < absl::ZeroDuration() ||
      entry.minimum_billable > kMaxMinimumBillable) {
    return absl::InvalidArgumentError(
        absl::StrCat("minimum_billable ", absl::FormatDuration(entry.minimum_billable),
                     " must be between 0 and ", absl::FormatDuration(kMaxMinimumBillable)));
  }
  if (absl::Trunc(entry.minimum_billable, absl::Seconds(1)) != entry.minimum_billable) {
    return absl::InvalidArgumentError(absl::StrCat("minimum_billable ",
                                                   absl::FormatDuration(entry.minimum_billable),
                                                   " must be a whole number of seconds"));
  }
  return absl::OkStatus();
}

PriceCatalog::PriceCatalog() : currency_(kDefaultCurrency) {}

absl::StatusOr<PriceCatalog> PriceCatalog::Create(std::string_view currency) {
  RETURN_IF_ERROR(ValidateCurrency(currency));
  PriceCatalog catalog;
  catalog.currency_ = std::string(currency);
  return catalog;
}

PriceCatalog::PriceCatalog(const PriceCatalog& other)
    : currency_(other.currency_), entries_(other.entries_) {
  Reindex();
}

PriceCatalog& PriceCatalog::operator=(const PriceCatalog& other) {
  if (this != &other) {
    currency_ = other.currency_;
    entries_ = other.entries_;
    Reindex();
  }
  return *this;
}

void PriceCatalog::Reindex() {
  index_.clear();
  for (const PriceEntry& e : entries_) {
    ClassIndex& ci = index_[e.device_class];
    Versions& v = e.device_model.empty() ? ci.class_wide : ci.models[e.device_model];
    v.push_back(&e);
  }
  auto by_time = [](const PriceEntry* a, const PriceEntry* b) {
    return a->effective_from < b->effective_from;
  };
  for (auto& [name, ci] : index_) {
    std::sort(ci.class_wide.begin(), ci.class_wide.end(), by_time);
    for (auto& [model, v] : ci.models) std::sort(v.begin(), v.end(), by_time);
  }
}

absl::Status PriceCatalog::Add(PriceEntry entry) {
  RETURN_IF_ERROR(ValidatePriceEntry(entry));
  ClassIndex& ci = index_[entry.device_class];
  Versions& v = entry.device_model.empty() ? ci.class_wide : ci.models[entry.device_model];
  auto pos =
      std::lower_bound(v.begin(), v.end(), entry.effective_from,
                       [](const PriceEntry* e, absl::Time t) { return e->effective_from < t; });
  if (pos != v.end() && (*pos)->effective_from == entry.effective_from) {
    return absl::InvalidArgumentError(
        absl::StrCat("duplicate price: ", ScopeName(entry), " already has a price effective from ",
                     absl::FormatTime(entry.effective_from, absl::UTCTimeZone()),
                     "; prices are never edited, add one with a later effective_from"));
  }
  entries_.push_back(std::move(entry));
  v.insert(pos, &entries_.back());
  return absl::OkStatus();
}

absl::StatusOr<PricePeriod> PriceCatalog::Lookup(std::string_view device_class,
                                                 std::string_view device_model,
                                                 absl::Time t) const {
  auto not_found = [&] {
    return absl::NotFoundError(absl::StrCat("no price for ", Sv(device_class), "/",
                                            Sv(device_model), " at ",
                                            absl::FormatTime(t, absl::UTCTimeZone())));
  };
  auto ci = index_.find(Sv(device_class));
  if (ci == index_.end()) return not_found();
  // First version strictly after t, i.e. one past the version in force.
  auto after = [t](const Versions& v) {
    return std::upper_bound(v.begin(), v.end(), t, [](absl::Time x, const PriceEntry* e) {
      return x < e->effective_from;
    });
  };
  absl::Time until = absl::InfiniteFuture();
  if (!device_model.empty()) {
    if (auto mi = ci->second.models.find(Sv(device_model)); mi != ci->second.models.end()) {
      const Versions& v = mi->second;
      auto next = after(v);
      if (next != v.end()) until = (*next)->effective_from;
      if (next != v.begin()) {
        const PriceEntry* e = *(next - 1);
        return PricePeriod{e, e->effective_from, until};
      }
    }
  }
  const Versions& v = ci->second.class_wide;
  auto next = after(v);
  if (next == v.begin()) return not_found();
  if (next != v.end()) until = std::min(until, (*next)->effective_from);
  const PriceEntry* e = *(next - 1);
  return PricePeriod{e, e->effective_from, until};
}

}  // namespace hac::billing
