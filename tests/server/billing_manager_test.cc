// The usage ledger (store) and BillingManager on a real SQLite file with a fake clock: interval
// rows from cumulative counters, and bills, invoices, budgets and estimates with amounts computed
// by hand.
#include "server/billing_manager.h"

#include <catch2/catch.hpp>

#include "common/clock.h"
#include "google/protobuf/util/time_util.h"
#include "tests/testing/temp_dir.h"

namespace hac::server {
namespace {

using google::protobuf::util::TimeUtil;

absl::Time At(const std::string& rfc3339) {
  absl::Time t;
  std::string err;
  REQUIRE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err));
  return t;
}

google::protobuf::Timestamp Proto(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

constexpr int64_t kUnit = 1'000'000;  // micros per KRW

struct Fixture {
  testing::TempDir dir;
  common::FakeClock clock{At("2026-11-10T10:00:00Z")};
  std::unique_ptr<store::Store> store = *store::Store::Open(dir.File("hac.db"), clock);
  Metrics metrics;
  JobManager jobs{*store, metrics, clock};
  BillingManager billing{*store, jobs, metrics, clock, {.check_interval = absl::Hours(1)}};
  Principal admin;

  Fixture() {
    admin.role = Role::kAdmin;
    jobs.SetSubmitPolicy(&billing);
    REQUIRE(billing.Start().ok());
  }
  Principal Tenant(const std::string& name) {
    auto t = *store->CreateTenant(name);
    Principal p;
    p.role = Role::kTenant;
    p.tenant_id = t.id;
    p.tenant = t.name;
    return p;
  }
  void Price(const std::string& cls, const std::string& model, int64_t alloc, int64_t active,
             absl::Time from) {
    hac::v1::SetPriceRequest req;
    req.mutable_price()->set_device_class(cls);
    req.mutable_price()->set_model(model);
    req.mutable_price()->set_allocated_rate_micros(alloc);
    req.mutable_price()->set_active_rate_micros(active);
    *req.mutable_price()->mutable_effective_from() = Proto(from);
    auto r = billing.SetPrice(admin, req);
    INFO(r.status().message());
    REQUIRE(r.ok());
  }
  // An agent's report of one device's cumulative counters, received now.
  store::UsageRecordResult Report(const Principal& tenant, const std::string& attempt,
                                  const std::string& device, const std::string& cls,
                                  const std::string& model, int64_t alloc, int64_t active,
                                  absl::Time assigned, uint32_t index = 0) {
    store::UsageCounterRecord c;
    c.attempt_id = attempt;
    c.device_index = index;
    c.allocated_ms = alloc;
    c.active_ms = active;
    c.tenant_id = tenant.tenant_id;
    c.job_id = attempt.substr(0, attempt.find('.'));
    c.device_id = device;
    c.device_class = cls;
    c.device_model = model;
    c.assign_time = assigned;
    auto r = store->RecordUsage({c}, clock.Now(), absl::Seconds(60));
    INFO(r.status().message());
    REQUIRE(r.ok());
    return *r;
  }
  std::vector<billing::UsageRow> Rows(const Principal& t) {
    return *store->ListUsageRows(t.tenant_id, t.tenant, absl::UnixEpoch(),
                                 At("2030-01-01T00:00:00Z"));
  }
  hac::v1::Bill Bill(const Principal& caller, const std::string& month) {
    hac::v1::GetBillRequest req;
    req.set_month(month);
    auto r = billing.GetBill(caller, req);
    INFO(r.status().message());
    REQUIRE(r.ok());
    return *r;
  }
};

struct RowView {
  std::string start;
  int64_t allocated_ms;
  int64_t active_ms;
  bool operator==(const RowView&) const = default;
};
std::vector<RowView> View(const std::vector<billing::UsageRow>& rows) {
  std::vector<RowView> out;
  for (const auto& r : rows) {
    out.push_back({absl::FormatTime("%H:%M", r.interval_start, absl::UTCTimeZone()),
                   r.allocated_ms, r.active_ms});
  }
  return out;
}

TEST_CASE("The ledger turns cumulative counters into interval rows; replays change nothing") {
  Fixture f;
  Principal acme = f.Tenant("acme");
  const absl::Time t0 = f.clock.Now();  // 10:00:00
  auto report = [&](int64_t alloc, int64_t active) {
    return f.Report(acme, "j-1.1", "gpu-0", "gpu", "emu-a100", alloc, active, t0);
  };
  f.clock.Set(t0 + absl::Seconds(20));
  report(20'000, 10'000);
  f.clock.Set(t0 + absl::Seconds(40));
  report(40'000, 20'000);
  // 10 s into 10:01: 10 s of the increase fit there, the rest belongs to 10:00.
  f.clock.Set(t0 + absl::Seconds(70));
  report(70'000, 30'000);
  const std::vector<RowView> expected = {{"10:00", 60'000, 20'000}, {"10:01", 10'000, 10'000}};
  CHECK(View(f.Rows(acme)) == expected);

  // A replay, a duplicate and an older report change nothing; only the older one is backwards.
  f.clock.Set(t0 + absl::Seconds(75));
  CHECK(report(70'000, 30'000).backwards.empty());
  CHECK(report(40'000, 20'000).backwards.size() == 1);
  CHECK(report(70'000, 30'000).backwards.empty());
  CHECK(View(f.Rows(acme)) == expected);
  auto counters = *f.store->GetUsage("j-1.1");
  REQUIRE(counters.size() == 1);
  CHECK(counters[0].allocated_ms == 70'000);
  CHECK(counters[0].active_ms == 30'000);

  // An agent that was away reports a large increase: it is spread back over the intervals it
  // covers, none above its length.
  f.clock.Set(t0 + absl::Seconds(300));  // 10:05:00
  CHECK(report(300'000, 30'000).excess.empty());
  CHECK(View(f.Rows(acme)) == std::vector<RowView>{{"10:00", 60'000, 20'000},
                                                   {"10:01", 60'000, 10'000},
                                                   {"10:02", 60'000, 0},
                                                   {"10:03", 60'000, 0},
                                                   {"10:04", 60'000, 0}});

  // A counter ahead of the time since assignment: the excess is kept in the counter, not billed.
  f.clock.Set(t0 + absl::Seconds(310));
  store::UsageRecordResult r = report(1'000'000'000, 30'000);
  REQUIRE(r.excess.size() == 1);
  // It fills 10:05 (10 s elapsed) and 09:59, the interval of slack before the assignment.
  CHECK(r.excess[0].allocated_ms == 1'000'000'000 - 300'000 - 10'000 - 60'000);
  int64_t billed = 0;
  for (const auto& row : f.Rows(acme)) billed += row.allocated_ms;
  CHECK(billed == 370'000);
  CHECK((*f.store->GetUsage("j-1.1"))[0].allocated_ms == 1'000'000'000);
}

TEST_CASE("Bills: fractions of seconds, two devices, both meters, a price change mid-attempt, "
          "a preempted attempt, exact to the micro-unit") {
  Fixture f;
  Principal acme = f.Tenant("acme");
  Principal other = f.Tenant("other");
  const absl::Time t0 = f.clock.Now();  // 2026-11-10T10:00:00Z
  // emu-a100: 1.0 KRW per device-second held, 0.5 busy. npu (any model): 0.3 / 0.2, then from
  // 10:01 0.6 / 0.4.
  f.Price("gpu", "emu-a100", 1 * kUnit, kUnit / 2, At("2026-11-01T00:00:00Z"));
  f.Price("npu", "", 300'000, 200'000, At("2026-11-01T00:00:00Z"));
  f.Price("npu", "", 600'000, 400'000, At("2026-11-10T10:01:00Z"));

  // j-1: two devices, 10.5 s held each, one busy 4.2 s: 11 + 11 s held, 5 s busy.
  f.clock.Set(t0 + absl::Milliseconds(10'500));
  f.Report(acme, "j-1.1", "g0", "gpu", "emu-a100", 10'500, 4'200, t0, 0);
  f.Report(acme, "j-1.1", "g1", "gpu", "emu-a100", 10'500, 0, t0, 1);
  // j-2: one npu across the price change at 10:01: rows 10:00 (60 s, 20 s) and 10:01 (30 s,
  // 30 s).
  f.clock.Set(t0 + absl::Seconds(40));
  f.Report(acme, "j-2.1", "n0", "npu", "sim-atom", 40'000, 20'000, t0);
  f.clock.Set(t0 + absl::Seconds(90));
  f.Report(acme, "j-2.1", "n0", "npu", "sim-atom", 90'000, 50'000, t0);
  // j-3: attempt 1 preempted after 5.3 s held (its counters stop), attempt 2 held and busy 2.1 s.
  f.Report(acme, "j-3.1", "g0", "gpu", "emu-a100", 5'300, 0, t0);
  f.Report(acme, "j-3.2", "g1", "gpu", "emu-a100", 2'100, 2'100, t0 + absl::Seconds(60), 1);

  hac::v1::Bill bill = f.Bill(acme, "2026-11");
  CHECK(bill.tenant() == "acme");
  CHECK(bill.currency() == "KRW");
  REQUIRE(bill.lines_size() == 4);
  const hac::v1::BillLine& j1 = bill.lines(0);
  CHECK(j1.job_id() == "j-1");
  CHECK(j1.model() == "emu-a100");
  CHECK(j1.allocated_ms() == 21'000);
  CHECK(j1.allocated_seconds() == 22);
  CHECK(j1.allocated_amount_micros() == 22 * kUnit);
  CHECK(j1.active_ms() == 4'200);
  CHECK(j1.active_seconds() == 5);
  CHECK(j1.active_amount_micros() == 2'500'000);
  CHECK(j1.amount_micros() == 24'500'000);
  // j-2 before 10:01: 60 s x 0.3 + 20 s x 0.2; from 10:01: (90 - 60) s x 0.6 + (50 - 20) s x 0.4.
  const hac::v1::BillLine& j2a = bill.lines(1);
  const hac::v1::BillLine& j2b = bill.lines(2);
  CHECK(j2a.job_id() == "j-2");
  CHECK(j2a.allocated_seconds() == 60);
  CHECK(j2a.active_seconds() == 20);
  CHECK(j2a.amount_micros() == 18 * kUnit + 4 * kUnit);
  CHECK(TimeUtil::TimestampToSeconds(j2b.rate_effective_from()) ==
        absl::ToUnixSeconds(At("2026-11-10T10:01:00Z")));
  CHECK(j2b.allocated_seconds() == 30);
  CHECK(j2b.allocated_amount_micros() == 18 * kUnit);
  CHECK(j2b.active_seconds() == 30);
  CHECK(j2b.active_amount_micros() == 12 * kUnit);
  // j-3: attempts rounded on their own: 6 s + 3 s held, 3 s busy.
  const hac::v1::BillLine& j3 = bill.lines(3);
  CHECK(j3.job_id() == "j-3");
  CHECK(j3.allocated_ms() == 7'400);
  CHECK(j3.allocated_seconds() == 9);
  CHECK(j3.active_seconds() == 3);
  CHECK(j3.amount_micros() == 10'500'000);
  int64_t sum = 0;
  for (const auto& l : bill.lines()) sum += l.amount_micros();
  CHECK(sum == bill.total_micros());
  CHECK(bill.total_micros() == 87 * kUnit);

  // Usage grouped by class; another tenant sees nothing of acme's and may not ask for it.
  hac::v1::GetUsageRequest by_class;
  by_class.set_group_by(hac::v1::USAGE_GROUPING_DEVICE_CLASS);
  auto usage = *f.billing.GetUsage(acme, by_class);
  REQUIRE(usage.rows_size() == 2);
  CHECK(usage.rows(0).key() == "gpu");
  CHECK(usage.rows(0).allocated_ms() == 28'400);
  CHECK(usage.rows(0).active_ms() == 6'300);
  CHECK(usage.rows(1).key() == "npu");
  CHECK(usage.rows(1).allocated_ms() == 90'000);
  CHECK(f.billing.GetUsage(other, by_class)->rows_size() == 0);
  CHECK(f.Bill(other, "2026-11").lines_size() == 0);
  hac::v1::GetBillRequest theirs;
  theirs.set_tenant("acme");
  CHECK(f.billing.GetBill(other, theirs).status().code() == absl::StatusCode::kPermissionDenied);
  by_class.set_tenant("acme");
  CHECK(f.billing.GetUsage(other, by_class).status().code() ==
        absl::StatusCode::kPermissionDenied);
  // An admin names the tenant.
  theirs.set_month("2026-11");
  CHECK(f.billing.GetBill(f.admin, theirs)->total_micros() == 87 * kUnit);
  CHECK(f.billing.GetBill(f.admin, hac::v1::GetBillRequest()).status().code() ==
        absl::StatusCode::kInvalidArgument);

  // The metrics count what the bills say.
  REQUIRE(f.billing.CheckNow().ok());
  double gpu_micros = -1;
  for (const auto& family : f.metrics.registry()->Collect()) {
    if (family.name != "hac_billed_micros_total") continue;
    for (const auto& m : family.metric) {
      bool acme_gpu = false;
      for (const auto& l : m.label) acme_gpu |= l.name == "device_class" && l.value == "gpu";
      if (acme_gpu) gpu_micros = m.counter.value;
    }
  }
  CHECK(gpu_micros == 35 * kUnit);  // j-1 24.5 + j-3 10.5
}

TEST_CASE("A closed invoice never changes; late usage becomes an adjustment on the next one") {
  Fixture f;
  f.clock.Set(At("2026-10-31T23:58:00Z"));
  Principal acme = f.Tenant("acme");
  f.Tenant("idle");  // no usage: closing a month for everyone gives it no invoice
  f.Price("gpu", "", 1 * kUnit, 0, At("2026-10-01T00:00:00Z"));
  const absl::Time assigned = f.clock.Now();
  f.clock.Set(At("2026-10-31T23:59:00Z"));
  f.Report(acme, "j-1.1", "g0", "gpu", "emu-a100", 60'000, 0, assigned);

  hac::v1::CloseInvoiceRequest close;
  close.set_month("2026-10");
  CHECK(f.billing.CloseInvoice(f.admin, close).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  f.clock.Set(At("2026-11-01T00:00:30Z"));
  CHECK(f.billing.CloseInvoice(acme, close).status().code() ==
        absl::StatusCode::kPermissionDenied);
  auto closed = f.billing.CloseInvoice(f.admin, close);
  REQUIRE(closed.ok());
  REQUIRE(closed->invoices_size() == 1);
  const hac::v1::Invoice october = closed->invoices(0);
  CHECK(october.bill().total_micros() == 60 * kUnit);

  // The agent was away over midnight and reports 150 s more at 00:01:30: 60 s of it belong to
  // October's last minute.
  f.clock.Set(At("2026-11-01T00:01:30Z"));
  f.Report(acme, "j-1.1", "g0", "gpu", "emu-a100", 210'000, 0, assigned);
  CHECK(f.Bill(acme, "2026-10").SerializeAsString() == october.bill().SerializeAsString());
  hac::v1::Bill november = f.Bill(acme, "2026-11");
  REQUIRE(november.lines_size() == 2);
  CHECK(!november.lines(0).adjustment());
  CHECK(november.lines(0).allocated_seconds() == 90);
  CHECK(november.lines(1).adjustment());
  CHECK(november.lines(1).adjusts_month() == "2026-10");
  CHECK(november.lines(1).allocated_seconds() == 60);
  CHECK(november.lines(1).amount_micros() == 60 * kUnit);
  CHECK(november.total_micros() == 150 * kUnit);

  // Closing again is refused; closing November carries the adjustment; October stays as it was.
  hac::v1::CloseInvoiceRequest again = close;
  again.set_tenant("acme");
  CHECK(f.billing.CloseInvoice(f.admin, again).status().code() ==
        absl::StatusCode::kAlreadyExists);
  f.clock.Set(At("2026-12-01T00:00:10Z"));
  hac::v1::CloseInvoiceRequest close_nov;
  close_nov.set_month("2026-11");
  auto nov = f.billing.CloseInvoice(f.admin, close_nov);
  REQUIRE(nov.ok());
  REQUIRE(nov->invoices_size() == 1);
  CHECK(nov->invoices(0).bill().total_micros() == 150 * kUnit);
  auto list = *f.billing.ListInvoices(acme, {});
  REQUIRE(list.invoices_size() == 2);
  CHECK(list.invoices(0).SerializeAsString() == october.SerializeAsString());
  CHECK(list.invoices(1).month() == "2026-11");
  // Nothing more to adjust: December's bill has no lines.
  CHECK(f.Bill(acme, "2026-12").lines_size() == 0);
}

TEST_CASE("Budgets refuse submissions once spent, and a hard stop cancels unfinished jobs") {
  Fixture f;
  Principal acme = f.Tenant("acme");
  f.Price("gpu", "", 1 * kUnit, 0, At("2026-11-01T00:00:00Z"));
  hac::v1::SubmitJobRequest submit;
  submit.mutable_spec()->set_name("train");
  submit.mutable_spec()->add_devices()->set_device_class("gpu");
  submit.mutable_spec()->mutable_devices(0)->set_count(2);
  submit.mutable_spec()->mutable_devices(0)->set_model("emu-a100");
  submit.mutable_spec()->mutable_max_runtime()->set_seconds(3600);
  submit.mutable_spec()->mutable_workload()->set_name("train-mlp");
  auto job = f.jobs.Submit(acme, submit);
  REQUIRE(job.ok());

  // A dry run shows the most the job can cost: 2 devices x 3600 s x 1.0.
  hac::v1::SubmitJobRequest dry = submit;
  dry.set_dry_run(true);
  auto estimate = f.jobs.Submit(acme, dry);
  REQUIRE(estimate.ok());
  CHECK(estimate->dry_run().estimated_cost_micros() == 7200 * kUnit);
  CHECK(estimate->dry_run().currency() == "KRW");

  const absl::Time t0 = f.clock.Now();
  f.clock.Set(t0 + absl::Seconds(30));
  f.Report(acme, "j-1.1", "g0", "gpu", "emu-a100", 30'000, 0, t0);

  hac::v1::SetBudgetRequest set;
  set.mutable_budget()->set_monthly_limit_micros(20 * kUnit);
  auto budget = f.billing.SetBudget(acme, set);
  REQUIRE(budget.ok());
  CHECK(budget->tenant() == "acme");
  CHECK(budget->spent_micros() == 30 * kUnit);
  auto refused = f.jobs.Submit(acme, submit);
  CHECK(refused.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(refused.status().message().find("budget exhausted: spent 30.000000 of 20.000000 KRW in "
                                        "2026-11") != std::string::npos);
  // Without a hard stop the running job goes on.
  hac::v1::GetJobRequest get;
  get.set_id(job->job().id());
  CHECK(f.jobs.Get(acme, get)->state() == hac::v1::JOB_STATE_PENDING);

  set.mutable_budget()->set_monthly_limit_micros(100 * kUnit);
  REQUIRE(f.billing.SetBudget(acme, set).ok());
  REQUIRE(f.jobs.Submit(acme, submit).ok());

  // Spending reaches the raised limit while jobs run; a hard stop cancels them.
  set.mutable_budget()->set_hard_stop(true);
  REQUIRE(f.billing.SetBudget(acme, set).ok());
  f.clock.Set(t0 + absl::Seconds(110));
  f.Report(acme, "j-1.1", "g0", "gpu", "emu-a100", 110'000, 0, t0);
  REQUIRE(f.billing.CheckNow().ok());
  CHECK(f.jobs.Get(acme, get)->state() == hac::v1::JOB_STATE_CANCELLED);
  CHECK(f.jobs.Get(acme, get)->reason().find("budget exhausted") != std::string::npos);
  const hac::v1::ListJobsResponse listed = *f.jobs.List(acme, hac::v1::ListJobsRequest());
  CHECK(listed.jobs_size() == 2);
  for (const auto& j : listed.jobs()) {
    CHECK(j.state() == hac::v1::JOB_STATE_CANCELLED);
  }
  // Another tenant cannot read or set acme's budget.
  Principal other = f.Tenant("other");
  hac::v1::GetBudgetRequest theirs;
  theirs.set_tenant("acme");
  CHECK(f.billing.GetBudget(other, theirs).status().code() ==
        absl::StatusCode::kPermissionDenied);
  CHECK(f.billing.GetBudget(f.admin, theirs)->monthly_limit_micros() == 100 * kUnit);
}

TEST_CASE("Prices are validated, never edited, and never start before the current month") {
  Fixture f;
  auto set = [&](const std::string& cls, int64_t rate, absl::Time from) {
    hac::v1::SetPriceRequest req;
    req.mutable_price()->set_device_class(cls);
    req.mutable_price()->set_allocated_rate_micros(rate);
    *req.mutable_price()->mutable_effective_from() = Proto(from);
    return f.billing.SetPrice(f.admin, req).status();
  };
  CHECK(set("gpu", kUnit, At("2026-11-10T10:00:00Z")).ok());
  absl::Status dup = set("gpu", 2 * kUnit, At("2026-11-10T10:00:00Z"));
  CHECK(dup.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(dup.message()).find("never edited") != std::string::npos);
  absl::Status past = set("gpu", kUnit, At("2026-10-31T00:00:00Z"));
  CHECK(past.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(past.message()).find("price.effective_from") != std::string::npos);
  absl::Status second = set("gpu", kUnit, At("2026-11-10T10:00:30Z"));
  CHECK(second.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(second.message()).find("minute") != std::string::npos);
  CHECK(set("", kUnit, At("2026-11-10T11:00:00Z")).code() == absl::StatusCode::kInvalidArgument);
  CHECK(set("gpu", -1, At("2026-11-10T11:00:00Z")).code() == absl::StatusCode::kInvalidArgument);
  Principal acme = f.Tenant("acme");
  hac::v1::SetPriceRequest req;
  CHECK(f.billing.SetPrice(acme, req).status().code() == absl::StatusCode::kPermissionDenied);
  auto prices = *f.billing.ListPrices(acme);
  REQUIRE(prices.prices_size() == 1);
  CHECK(prices.prices(0).allocated_rate_micros() == kUnit);
}

}  // namespace
}  // namespace hac::server
