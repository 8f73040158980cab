#include "server/billing_manager.h"

#include <algorithm>
#include <array>
#include <deque>
#include <thread>
#include <vector>
#include <utility>

#include "absl/strings/str_cat.h"
#include "billing/estimate.h"
#include "billing/invoice.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "google/protobuf/util/time_util.h"

namespace hac::server {
namespace {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}
absl::Time FromProtoTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(t));
}
std::string FormatUtc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

absl::Status CheckRange(absl::Time from, absl::Time to) {
  if (from >= to) {
    return absl::InvalidArgumentError(absl::StrCat("to: must be after from (from ", FormatUtc(from),
                                                   ", to ", FormatUtc(to), ")"));
  }
  if (to - from > kMaxBillingRange) {
    return absl::InvalidArgumentError(
        "from/to: the range is longer than the limit of 366 days; ask for several ranges");
  }
  return absl::OkStatus();
}

absl::Status WholeMinute(absl::string_view field, absl::Time t) {
  if (absl::ToUnixMicros(t) % 60'000'000 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", FormatUtc(t), " is not a whole UTC minute (bills are rated per "
                     "whole minute: give a time with zero seconds)"));
  }
  return absl::OkStatus();
}

hac::v1::BillLine LineToProto(const billing::BillLine& l) {
  hac::v1::BillLine out;
  out.set_job_id(l.job_id);
  out.set_device_class(l.device_class);
  out.set_model(l.device_model);
  out.set_allocated_ms(l.allocated.used_ms);
  out.set_allocated_seconds(l.allocated.billed_seconds);
  out.set_allocated_rate_micros(l.allocated.rate.micros());
  out.set_allocated_amount_micros(l.allocated.amount.micros());
  out.set_active_ms(l.active.used_ms);
  out.set_active_seconds(l.active.billed_seconds);
  out.set_active_rate_micros(l.active.rate.micros());
  out.set_active_amount_micros(l.active.amount.micros());
  out.set_amount_micros(l.amount.micros());
  *out.mutable_rate_effective_from() = ToProtoTime(l.price_from);
  if (l.kind == billing::LineKind::kAdjustment) {
    out.set_adjustment(true);
    if (l.adjusts.has_value()) out.set_adjusts_month(l.adjusts->ToString());
  }
  return out;
}

billing::BillLine LineFromProto(const hac::v1::BillLine& l) {
  billing::BillLine out;
  out.job_id = l.job_id();
  out.device_class = l.device_class();
  out.device_model = l.model();
  out.allocated = {l.allocated_ms(), l.allocated_seconds(),
                   billing::Money::FromMicros(l.allocated_rate_micros()),
                   billing::Money::FromMicros(l.allocated_amount_micros())};
  out.active = {l.active_ms(), l.active_seconds(),
                billing::Money::FromMicros(l.active_rate_micros()),
                billing::Money::FromMicros(l.active_amount_micros())};
  out.amount = billing::Money::FromMicros(l.amount_micros());
  out.price_from = FromProtoTime(l.rate_effective_from());
  if (l.adjustment()) {
    out.kind = billing::LineKind::kAdjustment;
    absl::StatusOr<billing::Month> m = billing::Month::Parse(l.adjusts_month());
    if (m.ok()) out.adjusts = *m;
  }
  return out;
}

hac::v1::Price PriceToProto(const billing::PriceEntry& p, const std::string& currency) {
  hac::v1::Price out;
  out.set_device_class(p.device_class);
  out.set_model(p.device_model);
  out.set_allocated_rate_micros(p.allocated_rate.micros());
  out.set_active_rate_micros(p.active_rate.micros());
  *out.mutable_effective_from() = ToProtoTime(p.effective_from);
  out.set_minimum_seconds(absl::ToInt64Seconds(p.minimum_billable));
  out.set_currency(currency);
  return out;
}

absl::StatusOr<hac::v1::Invoice> InvoiceFromRecord(const store::InvoiceRecord& r) {
  hac::v1::Invoice out;
  out.set_tenant(r.tenant);
  out.set_month(r.month);
  if (!out.mutable_bill()->ParseFromString(r.bill)) {
    return absl::DataLossError(absl::StrCat("invoice ", r.month, " of \"", r.tenant,
                                            "\" is unreadable in the store"));
  }
  *out.mutable_close_time() = ToProtoTime(r.close_time);
  return out;
}

}  // namespace

hac::v1::Bill BillToProto(const billing::Bill& bill, const std::string& tenant) {
  hac::v1::Bill out;
  out.set_tenant(tenant);
  *out.mutable_from() = ToProtoTime(bill.from);
  *out.mutable_to() = ToProtoTime(bill.to);
  out.set_currency(bill.currency);
  for (const billing::BillLine& l : bill.lines) *out.add_lines() = LineToProto(l);
  out.set_total_micros(bill.total.micros());
  return out;
}

billing::Bill BillFromProto(const hac::v1::Bill& bill, const std::string& tenant_label) {
  billing::Bill out;
  out.tenant_id = tenant_label;
  out.from = FromProtoTime(bill.from());
  out.to = FromProtoTime(bill.to());
  out.currency = bill.currency();
  for (const hac::v1::BillLine& l : bill.lines()) out.lines.push_back(LineFromProto(l));
  out.total = billing::Money::FromMicros(bill.total_micros());
  return out;
}

BillingManager::BillingManager(store::Store& store, JobManager& jobs, Metrics& metrics,
                               const common::Clock& clock, Options options)
    : store_(store), jobs_(jobs), metrics_(metrics), clock_(clock), options_(std::move(options)) {}

BillingManager::~BillingManager() { Stop(); }

absl::Status BillingManager::Start() {
  ASSIGN_OR_RETURN(billing::PriceCatalog catalog, billing::PriceCatalog::Create(options_.currency));
  ASSIGN_OR_RETURN(std::vector<billing::PriceEntry> prices, store_.ListPrices());
  for (billing::PriceEntry& p : prices) RETURN_IF_ERROR(catalog.Add(std::move(p)));
  {
    absl::MutexLock lock(&mu_);
    catalog_ = std::make_shared<const billing::PriceCatalog>(std::move(catalog));
  }
  if (absl::Status s = Pass(std::nullopt); !s.ok()) {
    HAC_LOG(WARNING) << "billing pass: " << s.message();
  }
  loop_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void BillingManager::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (loop_.joinable()) loop_.join();
}

void BillingManager::Loop() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto woken = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return wake_ || stopping_; };
      mu_.AwaitWithTimeout(absl::Condition(&woken), options_.check_interval);
      if (stopping_) return;
      wake_ = false;
    }
    if (absl::Status s = Pass(std::nullopt); !s.ok()) {
      HAC_LOG(WARNING) << "billing pass: " << s.message();
    }
  }
}

std::shared_ptr<const billing::PriceCatalog> BillingManager::Catalog() const {
  absl::MutexLock lock(&mu_);
  return catalog_;
}

absl::StatusOr<BillingManager::Subject> BillingManager::ResolveTenant(const Principal& caller,
                                                                      const std::string& requested,
                                                                      bool admin_may_omit) {
  if (caller.role == Role::kTenant) {
    if (!requested.empty() && requested != caller.tenant) {
      return absl::PermissionDeniedError(
          "tenant: a tenant's token sees only its own usage, bills and budget");
    }
    return Subject{caller.tenant_id, caller.tenant};
  }
  if (!caller.is_admin()) {
    return absl::PermissionDeniedError("billing needs a tenant's or an admin's token");
  }
  if (requested.empty()) {
    if (admin_may_omit) return Subject{};
    return absl::InvalidArgumentError("tenant: required for admins (name the tenant)");
  }
  absl::StatusOr<store::TenantRecord> t = store_.FindTenant(requested);
  if (absl::IsNotFound(t.status())) {
    return absl::NotFoundError(absl::StrCat("tenant \"", requested, "\" not found"));
  }
  RETURN_IF_ERROR(t.status());
  return Subject{t->id, t->name};
}

namespace {

// Hands rows from the thread that reads them to the thread that rates them, in batches that are
// reused (their strings keep their storage). Thread-safe.
class RowPipe {
 public:
  static constexpr size_t kBatchRows = 2048;
  struct Batch {
    std::vector<billing::UsageRow> rows = std::vector<billing::UsageRow>(kBatchRows);
    size_t size = 0;
  };

  RowPipe() {
    for (Batch& b : batches_) free_.push_back(&b);
  }

  // Reader: an empty batch to fill; nullptr once the rater failed.
  Batch* TakeFree() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](RowPipe* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
          return !p->free_.empty() || p->failed_;
        },
        this));
    if (failed_) return nullptr;
    Batch* b = free_.back();
    free_.pop_back();
    return b;
  }
  void PutFull(Batch* b) {
    absl::MutexLock lock(&mu_);
    full_.push_back(b);
  }
  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }

  // Rater: the next filled batch, oldest first; nullptr once closed and drained.
  Batch* TakeFull() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](RowPipe* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
          return !p->full_.empty() || p->closed_;
        },
        this));
    if (full_.empty()) return nullptr;
    Batch* b = full_.front();
    full_.pop_front();
    return b;
  }
  void PutFree(Batch* b) {
    b->size = 0;
    absl::MutexLock lock(&mu_);
    free_.push_back(b);
  }
  void Fail() {
    absl::MutexLock lock(&mu_);
    failed_ = true;
  }

 private:
  std::array<Batch, 4> batches_;
  absl::Mutex mu_;
  std::vector<Batch*> free_ ABSL_GUARDED_BY(mu_);
  std::deque<Batch*> full_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool failed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

absl::StatusOr<billing::Bill> RateStoredMonth(store::Store& store, int64_t tenant_id,
                                              const std::string& tenant,
                                              const billing::PriceCatalog& catalog,
                                              billing::Month month) {
  billing::UsageRater rater(tenant, catalog, month.Start(), month.End());
  RowPipe pipe;
  // Rates the batches the reader hands over. Started with the first full batch: a month smaller
  // than one batch is rated on this thread, without a thread of its own.
  std::thread rating;
  auto rate_batches = [&] {
    bool ok = true;
    while (RowPipe::Batch* b = pipe.TakeFull()) {
      for (size_t i = 0; ok && i < b->size; ++i) {
        if (!rater.Add(b->rows[i]).ok()) {
          ok = false;
          pipe.Fail();
        }
      }
      pipe.PutFree(b);
    }
  };
  RowPipe::Batch* batch = nullptr;
  absl::Status read = store.ForEachMonthUsage(
      tenant_id, tenant, month.Start(), [&](const billing::UsageRow& row) -> absl::Status {
        if (batch == nullptr && (batch = pipe.TakeFree()) == nullptr) {
          return absl::AbortedError("rating failed");  // the rater's error is returned below
        }
        batch->rows[batch->size++] = row;
        if (batch->size == RowPipe::kBatchRows) {
          if (!rating.joinable()) rating = std::thread(rate_batches);
          pipe.PutFull(batch);
          batch = nullptr;
        }
        return absl::OkStatus();
      });
  if (batch != nullptr) pipe.PutFull(batch);
  pipe.Close();
  if (rating.joinable()) {
    rating.join();
  } else {
    rate_batches();
  }
  absl::StatusOr<billing::Bill> bill = rater.Finish();
  if (!read.ok() && bill.ok()) return read;  // the store failed, not the rating
  // A summed row over a price added later: rate the month's interval rows.
  if (!absl::IsFailedPrecondition(bill.status())) return bill;
  ASSIGN_OR_RETURN(std::vector<billing::UsageRow> rows,
                   store.ListUsageRows(tenant_id, tenant, month.Start(), month.End()));
  return billing::RateMonth(tenant, rows, catalog, month);
}

absl::StatusOr<billing::Bill> BillingManager::RateMonth(const Subject& tenant,
                                                        billing::Month month,
                                                        const billing::PriceCatalog& catalog) {
  return RateStoredMonth(store_, tenant.id, tenant.name, catalog, month);
}

absl::StatusOr<std::vector<billing::BillLine>> BillingManager::PendingAdjustments(
    const Subject& tenant, billing::Month month, const billing::PriceCatalog& catalog) {
  ASSIGN_OR_RETURN(std::vector<store::InvoiceRecord> records, store_.ListInvoices(tenant.id));
  std::vector<std::pair<billing::Month, billing::Invoice>> closed;
  for (const store::InvoiceRecord& r : records) {
    ASSIGN_OR_RETURN(billing::Month m, billing::Month::Parse(r.month));
    ASSIGN_OR_RETURN(hac::v1::Invoice inv, InvoiceFromRecord(r));
    closed.emplace_back(m, billing::Invoice(tenant.name, m, r.close_time,
                                            BillFromProto(inv.bill(), tenant.name)));
  }
  std::vector<billing::BillLine> out;
  for (const auto& [m, invoice] : closed) {
    if (!(m < month)) continue;
    std::vector<billing::BillLine> already;
    for (const auto& [later, later_invoice] : closed) {
      if (!(m < later)) continue;
      for (const billing::BillLine& l : later_invoice.bill().lines) {
        if (l.kind == billing::LineKind::kAdjustment && l.adjusts == m) already.push_back(l);
      }
    }
    ASSIGN_OR_RETURN(billing::Bill current, RateMonth(tenant, m, catalog));
    ASSIGN_OR_RETURN(std::vector<billing::BillLine> lines,
                     billing::AdjustmentLines(invoice, current, already));
    out.insert(out.end(), std::make_move_iterator(lines.begin()),
               std::make_move_iterator(lines.end()));
  }
  return out;
}

absl::StatusOr<hac::v1::GetUsageResponse> BillingManager::GetUsage(
    const Principal& caller, const hac::v1::GetUsageRequest& req) {
  ASSIGN_OR_RETURN(Subject tenant, ResolveTenant(caller, req.tenant(), /*admin_may_omit=*/true));
  const absl::Time now = clock_.Now();
  const absl::Time from =
      req.has_from() ? FromProtoTime(req.from()) : billing::Month::Of(now).Start();
  const absl::Time to = req.has_to() ? FromProtoTime(req.to()) : now;
  RETURN_IF_ERROR(CheckRange(from, to));
  store::UsageKey key = store::UsageKey::kJob;
  switch (req.group_by()) {
    case hac::v1::USAGE_GROUPING_UNSPECIFIED:
    case hac::v1::USAGE_GROUPING_JOB:
      key = store::UsageKey::kJob;
      break;
    case hac::v1::USAGE_GROUPING_DEVICE_CLASS:
      key = store::UsageKey::kDeviceClass;
      break;
    case hac::v1::USAGE_GROUPING_DEVICE_MODEL:
      key = store::UsageKey::kDeviceModel;
      break;
    case hac::v1::USAGE_GROUPING_DAY:
      key = store::UsageKey::kDay;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("group_by: ", req.group_by(), " is not a known grouping"));
  }
  ASSIGN_OR_RETURN(std::vector<store::UsageSum> sums, store_.SumUsage(tenant.id, from, to, key));
  hac::v1::GetUsageResponse resp;
  for (const store::UsageSum& s : sums) {
    hac::v1::UsageRow* row = resp.add_rows();
    row->set_key(s.key);
    row->set_allocated_ms(s.allocated_ms);
    row->set_active_ms(s.active_ms);
  }
  return resp;
}

absl::StatusOr<hac::v1::Bill> BillingManager::GetBill(const Principal& caller,
                                                      const hac::v1::GetBillRequest& req) {
  ASSIGN_OR_RETURN(Subject tenant, ResolveTenant(caller, req.tenant(), /*admin_may_omit=*/false));
  const bool range = req.has_from() || req.has_to();
  if (range && !req.month().empty()) {
    return absl::InvalidArgumentError("month: give either month or from/to, not both");
  }
  std::shared_ptr<const billing::PriceCatalog> catalog = Catalog();
  if (range) {
    if (!req.has_from() || !req.has_to()) {
      return absl::InvalidArgumentError("from/to: a range needs both from and to");
    }
    const absl::Time from = FromProtoTime(req.from());
    const absl::Time to = FromProtoTime(req.to());
    RETURN_IF_ERROR(WholeMinute("from", from));
    RETURN_IF_ERROR(WholeMinute("to", to));
    RETURN_IF_ERROR(CheckRange(from, to));
    ASSIGN_OR_RETURN(std::vector<billing::UsageRow> rows,
                     store_.ListUsageRows(tenant.id, tenant.name, from, to));
    ASSIGN_OR_RETURN(billing::Bill bill,
                     billing::RateUsage(tenant.name, rows, *catalog, from, to));
    return BillToProto(bill, tenant.name);
  }
  billing::Month month = billing::Month::Of(clock_.Now());
  if (!req.month().empty()) {
    absl::StatusOr<billing::Month> parsed = billing::Month::Parse(req.month());
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("month: ", parsed.status().message()));
    }
    month = *parsed;
  }
  // A closed month is its invoice, exactly as frozen.
  ASSIGN_OR_RETURN(std::vector<store::InvoiceRecord> invoices, store_.ListInvoices(tenant.id));
  for (const store::InvoiceRecord& r : invoices) {
    if (r.month != month.ToString()) continue;
    ASSIGN_OR_RETURN(hac::v1::Invoice inv, InvoiceFromRecord(r));
    return inv.bill();
  }
  // An open month: its usage, plus the adjustments of earlier closed months that its invoice
  // will carry.
  ASSIGN_OR_RETURN(billing::Bill bill, RateMonth(tenant, month, *catalog));
  ASSIGN_OR_RETURN(std::vector<billing::BillLine> adjustments,
                   PendingAdjustments(tenant, month, *catalog));
  for (billing::BillLine& l : adjustments) {
    ASSIGN_OR_RETURN(bill.total, billing::CheckedAdd(bill.total, l.amount));
    bill.lines.push_back(std::move(l));
  }
  return BillToProto(bill, tenant.name);
}

absl::StatusOr<hac::v1::ListPricesResponse> BillingManager::ListPrices(const Principal& caller) {
  if (caller.role != Role::kTenant && !caller.is_admin()) {
    return absl::PermissionDeniedError("prices are read with a tenant's or an admin's token");
  }
  std::shared_ptr<const billing::PriceCatalog> catalog = Catalog();
  hac::v1::ListPricesResponse resp;
  for (const billing::PriceEntry& p : catalog->entries()) {
    *resp.add_prices() = PriceToProto(p, catalog->currency());
  }
  return resp;
}

absl::StatusOr<hac::v1::Price> BillingManager::SetPrice(const Principal& caller,
                                                        const hac::v1::SetPriceRequest& req) {
  if (!caller.is_admin()) return absl::PermissionDeniedError("setting prices needs an admin token");
  if (!req.has_price()) return absl::InvalidArgumentError("price: required");
  const hac::v1::Price& p = req.price();
  if (!p.currency().empty() && p.currency() != options_.currency) {
    return absl::InvalidArgumentError(absl::StrCat("price.currency: \"", p.currency().substr(0, 8),
                                                   "\"; this deployment bills in ",
                                                   options_.currency));
  }
  if (!p.has_effective_from()) {
    return absl::InvalidArgumentError("price.effective_from: required (a whole UTC minute)");
  }
  if (p.minimum_seconds() < 0 ||
      p.minimum_seconds() > absl::ToInt64Seconds(billing::kMaxMinimumBillable)) {
    return absl::InvalidArgumentError(
        absl::StrCat("price.minimum_seconds: ", p.minimum_seconds(), "; must be 0 to ",
                     absl::ToInt64Seconds(billing::kMaxMinimumBillable)));
  }
  billing::PriceEntry entry;
  entry.device_class = p.device_class();
  entry.device_model = p.model();
  entry.allocated_rate = billing::Money::FromMicros(p.allocated_rate_micros());
  entry.active_rate = billing::Money::FromMicros(p.active_rate_micros());
  entry.effective_from = FromProtoTime(p.effective_from());
  entry.minimum_billable = absl::Seconds(p.minimum_seconds());
  if (absl::Status s = billing::ValidatePriceEntry(entry); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("price.", s.message()));
  }
  // Usage of the current month may already be billed in a running total, and earlier months
  // may be invoiced: a price may start within the current month at the earliest.
  const billing::Month current = billing::Month::Of(clock_.Now());
  if (entry.effective_from < current.Start()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "price.effective_from: ", FormatUtc(entry.effective_from), " is before the current month (",
        current.ToString(), "); a price may take effect from ", FormatUtc(current.Start()),
        " on"));
  }
  absl::MutexLock set_lock(&price_mu_);
  billing::PriceCatalog next = *Catalog();
  if (absl::Status s = next.Add(entry); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("price: ", s.message()));
  }
  RETURN_IF_ERROR(store_.AddPrice(entry));
  {
    absl::MutexLock lock(&mu_);
    catalog_ = std::make_shared<const billing::PriceCatalog>(std::move(next));
    wake_ = true;
  }
  HAC_LOG(INFO) << "price added: " << entry.device_class << "/"
                << (entry.device_model.empty() ? "*" : entry.device_model) << " from "
                << FormatUtc(entry.effective_from);
  return PriceToProto(entry, options_.currency);
}

absl::StatusOr<hac::v1::CloseInvoiceResponse> BillingManager::CloseInvoice(
    const Principal& caller, const hac::v1::CloseInvoiceRequest& req) {
  if (!caller.is_admin()) return absl::PermissionDeniedError("closing invoices needs an admin token");
  absl::StatusOr<billing::Month> month = billing::Month::Parse(req.month());
  if (!month.ok()) return absl::InvalidArgumentError(absl::StrCat("month: ", month.status().message()));
  const absl::Time now = clock_.Now();
  if (now < month->End()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "month: ", month->ToString(), " has not ended (it ends at ", FormatUtc(month->End()), ")"));
  }
  std::vector<Subject> tenants;
  if (req.tenant().empty()) {
    ASSIGN_OR_RETURN(std::vector<store::TenantRecord> all, store_.ListTenants());
    for (const store::TenantRecord& t : all) tenants.push_back({t.id, t.name});
  } else {
    ASSIGN_OR_RETURN(Subject t, ResolveTenant(caller, req.tenant(), false));
    tenants.push_back(std::move(t));
  }
  std::shared_ptr<const billing::PriceCatalog> catalog = Catalog();
  hac::v1::CloseInvoiceResponse resp;
  absl::MutexLock close_lock(&close_mu_);
  for (const Subject& tenant : tenants) {
    ASSIGN_OR_RETURN(std::vector<store::InvoiceRecord> existing, store_.ListInvoices(tenant.id));
    const bool closed = std::any_of(existing.begin(), existing.end(),
                                    [&](const auto& r) { return r.month == month->ToString(); });
    if (closed) {
      if (!req.tenant().empty()) {
        return absl::AlreadyExistsError(absl::StrCat(
            "month ", month->ToString(), " of tenant \"", tenant.name,
            "\" is already closed; a closed invoice never changes (late usage goes on the next "
            "one)"));
      }
      continue;
    }
    ASSIGN_OR_RETURN(std::vector<billing::BillLine> adjustments,
                     PendingAdjustments(tenant, *month, *catalog));
    ASSIGN_OR_RETURN(billing::Bill bill, RateMonth(tenant, *month, *catalog));
    // Closing a month for everyone skips tenants with nothing to bill: no empty invoices.
    if (req.tenant().empty() && bill.lines.empty() && adjustments.empty()) continue;
    ASSIGN_OR_RETURN(billing::Invoice invoice,
                     billing::CloseInvoice(*month, std::move(bill), adjustments, now));
    store::InvoiceRecord record;
    record.tenant_id = tenant.id;
    record.tenant = tenant.name;
    record.month = month->ToString();
    record.close_time = invoice.closed_at();
    record.bill = BillToProto(invoice.bill(), tenant.name).SerializeAsString();
    RETURN_IF_ERROR(store_.InsertInvoice(record));
    ASSIGN_OR_RETURN(*resp.add_invoices(), InvoiceFromRecord(record));
  }
  return resp;
}

absl::StatusOr<hac::v1::ListInvoicesResponse> BillingManager::ListInvoices(
    const Principal& caller, const hac::v1::ListInvoicesRequest& req) {
  ASSIGN_OR_RETURN(Subject tenant, ResolveTenant(caller, req.tenant(), /*admin_may_omit=*/true));
  ASSIGN_OR_RETURN(std::vector<store::InvoiceRecord> records, store_.ListInvoices(tenant.id));
  hac::v1::ListInvoicesResponse resp;
  for (const store::InvoiceRecord& r : records) {
    ASSIGN_OR_RETURN(*resp.add_invoices(), InvoiceFromRecord(r));
  }
  return resp;
}

absl::StatusOr<hac::v1::Budget> BillingManager::SetBudget(const Principal& caller,
                                                          const hac::v1::SetBudgetRequest& req) {
  ASSIGN_OR_RETURN(Subject tenant,
                   ResolveTenant(caller, req.budget().tenant(), /*admin_may_omit=*/false));
  const int64_t limit = req.budget().monthly_limit_micros();
  if (limit < 0) {
    return absl::InvalidArgumentError(absl::StrCat("budget.monthly_limit_micros: ", limit,
                                                   "; must be >= 0 (0 removes the budget)"));
  }
  store::BudgetRecord record{tenant.id, tenant.name, limit, req.budget().hard_stop()};
  RETURN_IF_ERROR(store_.SetBudget(record));
  if (absl::Status s = Pass(tenant.id); !s.ok()) {
    HAC_LOG(WARNING) << "billing pass: " << s.message();
  }
  hac::v1::GetBudgetRequest get;
  get.set_tenant(tenant.name);
  return GetBudget(caller, get);
}

absl::StatusOr<hac::v1::Budget> BillingManager::GetBudget(const Principal& caller,
                                                          const hac::v1::GetBudgetRequest& req) {
  ASSIGN_OR_RETURN(Subject tenant, ResolveTenant(caller, req.tenant(), /*admin_may_omit=*/false));
  hac::v1::Budget out;
  out.set_tenant(tenant.name);
  ASSIGN_OR_RETURN(std::vector<store::BudgetRecord> budgets, store_.ListBudgets());
  for (const store::BudgetRecord& b : budgets) {
    if (b.tenant_id != tenant.id) continue;
    out.set_monthly_limit_micros(b.monthly_limit_micros);
    out.set_hard_stop(b.hard_stop);
  }
  std::shared_ptr<const billing::PriceCatalog> catalog = Catalog();
  ASSIGN_OR_RETURN(billing::Bill bill,
                   RateMonth(tenant, billing::Month::Of(clock_.Now()), *catalog));
  out.set_spent_micros(bill.total.micros());
  return out;
}

absl::Status BillingManager::AdmitSubmission(int64_t tenant_id) {
  const billing::Month month = billing::Month::Of(clock_.Now());
  absl::MutexLock lock(&mu_);
  auto it = budgets_.find(tenant_id);
  if (it == budgets_.end() || it->second.month != month ||
      it->second.decision.allow_submissions) {
    return absl::OkStatus();
  }
  return absl::ResourceExhaustedError(
      absl::StrCat(it->second.decision.message,
                   "; new jobs are refused until the budget is raised (hacctl budget set) or the "
                   "month ends"));
}

void BillingManager::EstimateDryRun(const hac::v1::JobSpec& spec, hac::v1::DryRunResult& result) {
  std::shared_ptr<const billing::PriceCatalog> catalog = Catalog();
  const absl::Time now = clock_.Now();
  const absl::Duration runtime = absl::Seconds(spec.max_runtime().seconds()) +
                                 absl::Nanoseconds(spec.max_runtime().nanos());
  std::vector<billing::EstimateRequest> requests;
  if (result.devices_size() > 0) {
    // Placeable now: the devices it would get.
    requests.push_back({result.devices(0).device_class(), result.devices(0).model(),
                        result.devices_size(), runtime});
  } else {
    // Any of its alternatives may run it: the most expensive one bounds the cost.
    for (const hac::v1::DeviceRequest& d : spec.devices()) {
      requests.push_back({d.device_class(), d.model(),
                          static_cast<int64_t>(d.count()) * std::max<int64_t>(1, d.nodes()),
                          runtime});
    }
  }
  std::optional<billing::Money> most;
  for (const billing::EstimateRequest& r : requests) {
    absl::StatusOr<billing::Estimate> e = billing::EstimateCost(*catalog, r, now);
    if (!e.ok()) continue;
    if (!most.has_value() || e->amount.micros() > most->micros()) most = e->amount;
  }
  if (!most.has_value()) return;  // no price in force: no estimate
  result.set_estimated_cost_micros(most->micros());
  result.set_currency(catalog->currency());
}

absl::Status BillingManager::CheckNow() { return Pass(std::nullopt); }

void BillingManager::CancelUnfinished(const store::BudgetRecord& budget, const std::string& why) {
  store::JobFilter filter;
  filter.tenant_id = budget.tenant_id;
  filter.states = {hac::v1::JOB_STATE_PENDING, hac::v1::JOB_STATE_ASSIGNED,
                   hac::v1::JOB_STATE_RUNNING};
  filter.limit = 1000;
  absl::StatusOr<std::vector<store::JobRecord>> jobs = store_.ListJobs(filter);
  if (!jobs.ok()) {
    HAC_LOG(WARNING) << "budget hard stop of " << budget.tenant << ": " << jobs.status().message();
    return;
  }
  Principal system;
  system.role = Role::kAdmin;
  for (const store::JobRecord& job : *jobs) {
    hac::v1::CancelJobRequest req;
    req.set_id(store::JobIdString(job.id));
    req.set_reason(why);
    absl::StatusOr<hac::v1::Job> cancelled = jobs_.Cancel(system, req);
    if (cancelled.ok()) {
      HAC_LOG(INFO) << "budget hard stop: cancelled " << req.id() << " of " << budget.tenant;
    }
  }
}

absl::Status BillingManager::Pass(std::optional<int64_t> only) {
  absl::MutexLock pass_lock(&pass_mu_);
  const absl::Time now = clock_.Now();
  const billing::Month month = billing::Month::Of(now);
  ASSIGN_OR_RETURN(std::vector<store::BudgetRecord> budgets, store_.ListBudgets());
  std::vector<Subject> tenants;
  if (only.has_value()) {
    for (const store::BudgetRecord& b : budgets) {
      if (b.tenant_id == *only) tenants.push_back({b.tenant_id, b.tenant});
    }
  } else {
    ASSIGN_OR_RETURN(std::vector<store::TenantRecord> with_usage, store_.TenantsWithUsage(now));
    for (const store::TenantRecord& t : with_usage) tenants.push_back({t.id, t.name});
    for (const store::BudgetRecord& b : budgets) {
      if (std::none_of(tenants.begin(), tenants.end(),
                       [&](const Subject& s) { return s.id == b.tenant_id; })) {
        tenants.push_back({b.tenant_id, b.tenant});
      }
    }
  }
  {
    // Budgets removed since the last pass.
    absl::MutexLock lock(&mu_);
    for (auto it = budgets_.begin(); it != budgets_.end();) {
      const bool kept = std::any_of(budgets.begin(), budgets.end(), [&](const auto& b) {
        return b.tenant_id == it->first;
      });
      if (!kept) {
        metrics_.SetBudget(it->second.budget.tenant, 0, 0);
        budgets_.erase(it++);
      } else {
        ++it;
      }
    }
  }
  std::shared_ptr<const billing::PriceCatalog> catalog = Catalog();
  absl::Status first_error;
  for (const Subject& tenant : tenants) {
    absl::StatusOr<billing::Bill> bill = RateMonth(tenant, month, *catalog);
    if (!bill.ok()) {
      // Usage that cannot be rated (a device model without a price) leaves the tenant's
      // budget decision and metrics as they were.
      if (first_error.ok()) {
        first_error = absl::Status(bill.status().code(),
                                   absl::StrCat("tenant \"", tenant.name, "\": ",
                                                bill.status().message()));
      }
      continue;
    }
    Spending now_seen;
    now_seen.month = month;
    now_seen.total_micros = bill->total.micros();
    for (const billing::BillLine& l : bill->lines) {
      std::array<int64_t, 3>& c = now_seen.by_class[l.device_class];
      c[0] += l.allocated.billed_seconds;
      c[1] += l.active.billed_seconds;
      c[2] += l.amount.micros();
    }
    if (baseline_taken_) {
      auto prev = seen_.find(tenant.id);
      for (const auto& [device_class, c] : now_seen.by_class) {
        std::array<int64_t, 3> before{0, 0, 0};
        if (prev != seen_.end() && prev->second.month == month) {
          auto p = prev->second.by_class.find(device_class);
          if (p != prev->second.by_class.end()) before = p->second;
        }
        metrics_.AddBilled(tenant.name, device_class, std::max<int64_t>(0, c[0] - before[0]),
                           std::max<int64_t>(0, c[1] - before[1]),
                           std::max<int64_t>(0, c[2] - before[2]));
      }
    }
    seen_[tenant.id] = now_seen;

    auto budget = std::find_if(budgets.begin(), budgets.end(),
                               [&](const auto& b) { return b.tenant_id == tenant.id; });
    if (budget == budgets.end()) continue;
    absl::StatusOr<billing::BudgetDecision> decision = billing::CheckBudget(
        {billing::Money::FromMicros(budget->monthly_limit_micros), budget->hard_stop}, bill->total,
        month, catalog->currency());
    if (!decision.ok()) continue;
    metrics_.SetBudget(tenant.name, budget->monthly_limit_micros, bill->total.micros());
    {
      absl::MutexLock lock(&mu_);
      budgets_[tenant.id] = {*budget, *decision, bill->total.micros(), month};
    }
    if (decision->cancel_running) CancelUnfinished(*budget, decision->message);
  }
  if (!only.has_value()) baseline_taken_ = true;
  return first_error;
}

}  // namespace hac::server
