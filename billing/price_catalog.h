// PriceCatalog: the versioned per-second prices that usage is rated against.
//
// A price entry applies to one device model ("emu-a100") or to a whole device class ("gpu",
// "npu"); it gives a rate per device-second for each meter (allocated, active) and the time it
// takes effect. Entries are appended, never edited: a price change is a new entry with a later
// effective_from, so every past bill can be recomputed with the prices it was computed with.
//
// Lookup rule: for (class, model, t) the model's own entry in force at t wins (the one with the
// latest effective_from <= t); if the model has none in force at t, the class's entry in force at
// t applies; if neither exists, NOT_FOUND. "Model beats class" holds regardless of which of the
// two is more recent.
//
// Whole-minute rule: effective_from must lie on a whole UTC minute (Unix seconds divisible by 60,
// no sub-second part). Usage intervals are aligned to the Unix epoch and their length divides
// 60 s (see usage.h), so no usage interval ever straddles a price change and the split of a charge
// at a price change is exact without pro-rating any interval.
//
//   PriceCatalog catalog;  // KRW
//   RETURN_IF_ERROR(catalog.Add({.device_class = "gpu", .device_model = "emu-a100",
//                                .allocated_rate = Money::FromMicros(1'000'000),
//                                .active_rate = Money::FromMicros(500'000),
//                                .effective_from = absl::FromUnixSeconds(1'793'491'200)}));
//   ASSIGN_OR_RETURN(PricePeriod p, catalog.Lookup("gpu", "emu-a100", now));
#ifndef HAC_BILLING_PRICE_CATALOG_H_
#define HAC_BILLING_PRICE_CATALOG_H_

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "billing/money.h"

namespace hac::billing {

// Highest accepted rate per device-second for either meter: 1,000,000 currency units. With it,
// a device-second count up to 9.2e6 (106 days per line) cannot overflow; larger products are
// still checked and reported as OUT_OF_RANGE.
inline constexpr Money kMaxRatePerDeviceSecond = Money::FromMicros(1'000'000 * kMicrosPerUnit);
// Longest accepted minimum billable time.
inline constexpr absl::Duration kMaxMinimumBillable = absl::Hours(24);
// Longest accepted device class or model name.
inline constexpr size_t kMaxDeviceNameLength = 64;

// One version of a price. Plain value: owned by whoever holds it, not synchronized (share it
// read-only or copy it). Invariant once in a catalog: ValidatePriceEntry accepts it.
struct PriceEntry {
  // Device class, e.g. "gpu" or "npu". Required.
  std::string device_class{};
  // Device model, e.g. "emu-a100"; empty for a class-wide price (any model of the class that has
  // no price of its own).
  std::string device_model{};
  // Micro-units per device-second of the allocated meter (device held by an attempt).
  Money allocated_rate{};
  // Micro-units per device-second of the active meter (device busy).
  Money active_rate{};
  // When the price takes effect; a whole UTC minute.
  absl::Time effective_from{};
  // Each (attempt, device, meter) with any usage in a bill's period is billed at least this many
  // seconds (whole seconds, 0..24 h). Zero (the default) means no minimum.
  absl::Duration minimum_billable = absl::ZeroDuration();

  friend bool operator==(const PriceEntry&, const PriceEntry&) = default;
};

// OK if `entry` is acceptable on its own (names, rates, effective_from, minimum); otherwise
// INVALID_ARGUMENT naming the field and the limit.
absl::Status ValidatePriceEntry(const PriceEntry& entry);

// The entry in force for a (class, model) at some time, and the span [from, until) during which
// it stays the one in force for that (class, model) as the catalog stands. Plain value; `entry`
// points into the catalog that returned it and is valid as long as that catalog is.
struct PricePeriod {
  const PriceEntry* entry = nullptr;
  absl::Time from{};
  absl::Time until{};
};

// An append-only set of price entries in one currency.
// Owner: the caller (the server loads it from the store, tests build it inline); it is a value
// that can be copied. Thread-safety: const methods may run concurrently; Add must not run
// concurrently with anything else. Invariants: every entry passed ValidatePriceEntry; no two
// entries share (class, model, effective_from); entries are never modified or removed, and
// pointers returned by Lookup stay valid until the catalog is destroyed or assigned to.
class PriceCatalog {
 public:
  // A catalog in kDefaultCurrency.
  PriceCatalog();
  // A catalog in `currency` (3 upper-case letters); INVALID_ARGUMENT otherwise.
  static absl::StatusOr<PriceCatalog> Create(std::string_view currency);

  PriceCatalog(const PriceCatalog& other);
  PriceCatalog& operator=(const PriceCatalog& other);
  PriceCatalog(PriceCatalog&&) = default;
  PriceCatalog& operator=(PriceCatalog&&) = default;

  // Appends a price version. INVALID_ARGUMENT if ValidatePriceEntry fails or an entry with the
  // same (class, model, effective_from) exists. Entries may be added in any time order. (Whether a
  // new price may take effect in the past is the caller's policy; closed invoices are frozen
  // values, so they are not affected either way.)
  absl::Status Add(PriceEntry entry);

  // The entry in force for (device_class, device_model) at `t`; NOT_FOUND if none.
  absl::StatusOr<PricePeriod> Lookup(std::string_view device_class, std::string_view device_model,
                                     absl::Time t) const;

  // Every entry, in the order added.
  const std::deque<PriceEntry>& entries() const { return entries_; }
  const std::string& currency() const { return currency_; }

 private:
  // Entries of one scope, sorted by effective_from.
  using Versions = std::vector<const PriceEntry*>;
  struct ClassIndex {
    Versions class_wide;
    absl::flat_hash_map<std::string, Versions> models;
  };
  void Reindex();

  std::string currency_;
  std::deque<PriceEntry> entries_;  // deque: stable addresses on push_back
  absl::flat_hash_map<std::string, ClassIndex> index_;
};

}  // namespace hac::billing

#endif  // HAC_BILLING_PRICE_CATALOG_H_
