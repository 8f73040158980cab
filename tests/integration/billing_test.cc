// Metering and billing end to end: a real hacd, real hac-agent processes running real jobs, the
// BillingService over gRPC and hacctl, Prometheus metrics over HTTP.
#include <catch2/catch.hpp>
#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"
#include "hac/v1/billing.grpc.pb.h"
#include "tests/integration/cluster.h"

namespace hac::testing {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int64_t kUnit = 1'000'000;

std::string Submit(const Hacd& hacd, const std::string& token,
                   const std::vector<std::string>& args) {
  std::vector<std::string> all = {"submit", "--name", "metered"};
  all.insert(all.end(), args.begin(), args.end());
  auto r = hacd.Hacctl(token, all);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return r.out.substr(0, r.out.find('\n'));
}

// Sets a price from the current whole minute on (prices take effect on whole minutes, and no
// earlier than the current month's start, which a whole minute of now always is).
void SetPrice(const Hacd& hacd, const std::string& device_class, int64_t allocated,
              int64_t active) {
  auto stub = hac::v1::BillingService::NewStub(hacd.Channel());
  hac::v1::SetPriceRequest req;
  req.mutable_price()->set_device_class(device_class);
  req.mutable_price()->set_allocated_rate_micros(allocated);
  req.mutable_price()->set_active_rate_micros(active);
  const int64_t now_s = absl::ToUnixSeconds(absl::Now());
  req.mutable_price()->mutable_effective_from()->set_seconds(now_s - now_s % 60);
  hac::v1::Price resp;
  auto ctx = AuthContext(hacd.admin_token());
  grpc::Status s = stub->SetPrice(ctx.get(), req, &resp);
  INFO(s.error_message());
  REQUIRE(s.ok());
}

// The tenant's usage in the current month, by job.
std::map<std::string, hac::v1::UsageRow> UsageByJob(const Hacd& hacd, const std::string& token) {
  auto stub = hac::v1::BillingService::NewStub(hacd.Channel());
  hac::v1::GetUsageRequest req;
  req.set_group_by(hac::v1::USAGE_GROUPING_JOB);
  hac::v1::GetUsageResponse resp;
  auto ctx = AuthContext(token);
  grpc::Status s = stub->GetUsage(ctx.get(), req, &resp);
  INFO(s.error_message());
  REQUIRE(s.ok());
  std::map<std::string, hac::v1::UsageRow> out;
  for (const auto& r : resp.rows()) out[r.key()] = r;
  return out;
}

grpc::Status GetBill(const Hacd& hacd, const std::string& token, const std::string& tenant,
                     hac::v1::Bill* bill) {
  auto stub = hac::v1::BillingService::NewStub(hacd.Channel());
  hac::v1::GetBillRequest req;
  req.set_tenant(tenant);
  auto ctx = AuthContext(token);
  return stub->GetBill(ctx.get(), req, bill);
}

// The job's usage as its agents last reported it (cumulative counters, summed over devices).
std::pair<int64_t, int64_t> Counters(const hac::v1::Job& job) {
  int64_t allocated = 0, active = 0;
  for (const auto& a : job.attempts()) {
    for (const auto& u : a.usage()) {
      allocated += u.allocated_ms();
      active += u.active_ms();
    }
  }
  return {allocated, active};
}

// The value of a sample line `name{labels} value` in a Prometheus text exposition.
std::optional<double> Sample(const std::string& text, const std::string& name,
                             const std::vector<std::string>& labels) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, name + "{")) continue;
    bool all = true;
    for (const auto& l : labels) all &= absl::StrContains(line, l);
    if (!all) continue;
    double v = 0;
    if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &v)) return v;
  }
  return std::nullopt;
}

TEST_CASE("kill -9 of hacd while agents report and jobs run: usage and bills match the agents' "
          "last counters, to the millisecond") {
  Hacd hacd({"--schedule-tick=50ms", "--heartbeat-timeout=30s", "--ledger-interval=1s",
             "--billing-check-interval=200ms"});
  REQUIRE(hacd.Start());
  SetPrice(hacd, "npu", 1 * kUnit, kUnit / 2);   // 1 KRW per device-second held, 0.5 busy
  SetPrice(hacd, "gpu", 2 * kUnit, 1 * kUnit);
  Agent n1(hacd, "n1", "npu", "sim-npu:2");
  Agent g1(hacd, "g1", "gpu", "emu-gpu:1");
  REQUIRE((n1.Start() && g1.Start()));
  const std::string acme = hacd.CreateTenant("acme");
  const std::string other = hacd.CreateTenant("other");

  std::vector<std::string> jobs = {
      Submit(hacd, acme, {"--device", "npu:1", "--", "sh", "-c", "sleep 6"}),
      Submit(hacd, acme, {"--device", "npu:1", "--workload", "train-mlp", "--", "--steps=4000",
                          "--log_every=1000"}),
      Submit(hacd, acme, {"--device", "gpu:1", "--", "sh", "-c", "sleep 5"}),
  };
  // Every job runs and has reported some usage; then hacd dies mid-run.
  std::string seen;
  const bool running = PollUntil([&] {
    seen.clear();
    bool all = true;
    for (const auto& id : jobs) {
      hac::v1::Job j = GetJob(hacd, acme, id);
      absl::StrAppend(&seen, id, " ", hac::v1::JobState_Name(j.state()), " ", j.reason(), " ",
                      Counters(j).first, " ms; ");
      all &= j.state() == hac::v1::JOB_STATE_RUNNING && Counters(j).first >= 500;
    }
    return all;
  }, absl::Seconds(60));
  INFO(seen);
  REQUIRE(running);
  hacd.Kill9();
  REQUIRE(hacd.Start());
  for (const auto& id : jobs) {
    INFO(id << ": " << GetJob(hacd, acme, id).reason());
    REQUIRE(PollUntil([&] { return GetJob(hacd, acme, id).state() == hac::v1::JOB_STATE_SUCCEEDED; },
                      absl::Seconds(120)));
  }
  // The ledger's interval rows add up to exactly what the agents reported last: no millisecond
  // lost across the crash, none counted twice. (The last counters may arrive just after the
  // final status, so wait for them to settle.)
  std::map<std::string, std::pair<int64_t, int64_t>> counters;
  REQUIRE(PollUntil([&] {
    auto usage = UsageByJob(hacd, acme);
    for (const auto& id : jobs) {
      hac::v1::Job job = GetJob(hacd, acme, id);
      bool final = true;
      for (const auto& a : job.attempts()) final &= a.usage_size() > 0;
      counters[id] = Counters(job);
      if (!final || usage.count(id) == 0 || usage[id].allocated_ms() != counters[id].first ||
          usage[id].active_ms() != counters[id].second) {
        return false;
      }
    }
    return true;
  }, absl::Seconds(30)));
  CHECK(counters[jobs[0]].first >= 6000);
  CHECK(counters[jobs[2]].first >= 5000);
  CHECK(counters[jobs[1]].second > 0);  // the training job kept its device busy
  CHECK(counters[jobs[1]].second <= counters[jobs[1]].first);

  // The bill: one line per job, each meter's seconds the milliseconds rounded up, amounts exact.
  hac::v1::Bill bill;
  grpc::Status s = GetBill(hacd, acme, "", &bill);
  INFO(s.error_message());
  REQUIRE(s.ok());
  REQUIRE(bill.lines_size() == 3);
  int64_t total = 0;
  for (const auto& line : bill.lines()) {
    const auto [alloc_ms, active_ms] = counters[line.job_id()];
    const int64_t alloc_rate = line.device_class() == "gpu" ? 2 * kUnit : kUnit;
    CHECK(line.allocated_ms() == alloc_ms);
    CHECK(line.allocated_seconds() == (alloc_ms + 999) / 1000);
    CHECK(line.allocated_amount_micros() == line.allocated_seconds() * alloc_rate);
    CHECK(line.active_seconds() == (active_ms + 999) / 1000);
    CHECK(line.amount_micros() ==
          line.allocated_amount_micros() + line.active_amount_micros());
    total += line.amount_micros();
  }
  CHECK(bill.total_micros() == total);

  // hacctl shows the same bill; its csv has raw integers for spreadsheets.
  auto csv = hacd.Hacctl(acme, {"bill", "-o", "csv"});
  INFO(csv.err);
  REQUIRE(csv.exit_code == 0);
  std::vector<std::string> lines = absl::StrSplit(csv.out, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() == 5);  // header, three lines, total
  std::vector<std::string> header = absl::StrSplit(lines[0], ',');
  const size_t amount_col =
      std::find(header.begin(), header.end(), "amount_micros") - header.begin();
  REQUIRE(amount_col < header.size());
  std::vector<std::string> total_row = absl::StrSplit(lines[4], ',');
  CHECK(total_row[0] == "total");
  CHECK(total_row[amount_col] == std::to_string(bill.total_micros()));

  // Tenants are isolated: another tenant's usage and bill are empty, and acme's are refused.
  CHECK(UsageByJob(hacd, other).empty());
  hac::v1::Bill theirs;
  CHECK(GetBill(hacd, other, "acme", &theirs).error_code() == grpc::StatusCode::PERMISSION_DENIED);
  hac::v1::Bill own;
  REQUIRE(GetBill(hacd, other, "", &own).ok());
  CHECK(own.lines_size() == 0);

}

TEST_CASE("A budget refuses submissions once spent and its hard stop cancels running jobs") {
  Hacd hacd({"--schedule-tick=50ms", "--ledger-interval=1s", "--billing-check-interval=200ms",
             "--cancel-grace=2s"});
  REQUIRE(hacd.Start());
  SetPrice(hacd, "npu", 1 * kUnit, 0);
  Agent n1(hacd, "n1", "npu", "sim-npu:1");
  REQUIRE(n1.Start());
  const std::string acme = hacd.CreateTenant("acme");

  // 3 KRW at 1 KRW per second: exhausted after about 3 s of the running job.
  auto budget = hacd.Hacctl(acme, {"budget", "set", "--limit", "3", "--hard-stop"});
  INFO(budget.out << budget.err);
  REQUIRE(budget.exit_code == 0);
  const std::string job = Submit(hacd, acme, {"--device", "npu:1", "--", "sleep", "600"});
  REQUIRE(PollUntil([&] { return GetJob(hacd, acme, job).state() == hac::v1::JOB_STATE_CANCELLED; },
                    absl::Seconds(60)));
  CHECK(absl::StrContains(GetJob(hacd, acme, job).reason(), "budget exhausted"));
  // Its process is stopped and its device freed: the attempt ends.
  REQUIRE(PollUntil([&] {
    hac::v1::Job j = GetJob(hacd, acme, job);
    return j.attempts_size() == 1 && j.attempts(0).has_end_time();
  }, absl::Seconds(30)));

  auto refused = hacd.Hacctl(acme, {"submit", "--name", "more", "--device", "npu:1", "--", "true"});
  CHECK(refused.exit_code == 1);
  CHECK(absl::StrContains(refused.err, "RESOURCE_EXHAUSTED"));
  CHECK(absl::StrContains(refused.err, "budget exhausted: spent"));
  auto shown = hacd.Hacctl(acme, {"budget", "-o", "json"});
  REQUIRE(shown.exit_code == 0);
  CHECK(absl::StrContains(shown.out, "\"monthlyLimitMicros\":\"3000000\""));
  CHECK(absl::StrContains(shown.out, "\"hardStop\":true"));

  // The billing counters of this hacd (started fresh) add up to the bill, exactly.
  hac::v1::Bill bill;
  std::optional<double> micros, seconds;
  REQUIRE(PollUntil([&] {
    bill.Clear();
    if (!GetBill(hacd, acme, "", &bill).ok() || bill.lines_size() != 1) return false;
    auto m = HttpGet(hacd.metrics_address(), "/metrics");
    if (!m.has_value()) return false;
    micros = Sample(*m, "hac_billed_micros_total", {"tenant=\"acme\"", "device_class=\"npu\""});
    seconds = Sample(*m, "hac_billable_device_seconds_total",
                     {"tenant=\"acme\"", "device_class=\"npu\"", "meter=\"allocated\""});
    return micros.has_value() && seconds.has_value() &&
           *micros == static_cast<double>(bill.total_micros());
  }, absl::Seconds(30)));
  CHECK(bill.total_micros() >= 3 * kUnit);
  CHECK(*seconds == static_cast<double>(bill.lines(0).allocated_seconds()));
}

}  // namespace
}  // namespace hac::testing
