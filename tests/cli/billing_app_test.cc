// hacctl's billing commands end to end through App::Run against an in-process fake
// BillingService: what each command line sends, what it prints, and its exit code.
#include <catch2/catch.hpp>

#include "cli/app.h"
#include "tests/cli/fake_hacd.h"

namespace hac::cli {
namespace {

// 2026-11-15T10:30:15Z.
const absl::Time kNow = absl::FromUnixSeconds(1'794'738'615);

struct BillingHarness : Harness {
  BillingHarness() { clock.Set(kNow); }
  int calls() {
    absl::MutexLock lock(&billing.mu);
    return billing.calls;
  }
};

TEST_CASE("usage sends the range, grouping and tenant and prints device-seconds") {
  BillingHarness h;
  {
    absl::MutexLock lock(&h.billing.mu);
    auto* row = h.billing.usage.add_rows();
    row->set_key("emu-a100");
    row->set_allocated_ms(12'345);
    row->set_active_ms(2'000);
  }
  auto r = h.Run({"--token", "tok", "usage", "--by", "model", "--tenant", "acme"});
  CHECK(r.rc == 0);
  CHECK(r.err.empty());
  CHECK(r.out ==
        "KEY       ALLOCATED   ACTIVE\n"
        "emu-a100   12.345 s  2.000 s\n");
  absl::MutexLock lock(&h.billing.mu);
  CHECK(h.billing.last_bearer == "Bearer tok");
  CHECK(h.billing.usage_request.tenant() == "acme");
  CHECK(h.billing.usage_request.group_by() == hac::v1::USAGE_GROUPING_DEVICE_MODEL);
  CHECK(h.billing.usage_request.from().seconds() == 1'793'491'200);  // 2026-11-01T00:00:00Z
  CHECK(h.billing.usage_request.to().seconds() == 1'794'738'615);    // now
}

TEST_CASE("bill asks for this month by default and prints the table, csv or json") {
  BillingHarness h;
  {
    absl::MutexLock lock(&h.billing.mu);
    hac::v1::Bill& bill = h.billing.bill;
    bill.set_tenant("acme");
    bill.mutable_from()->set_seconds(1'793'491'200);
    bill.mutable_to()->set_seconds(1'796'083'200);
    bill.set_currency("KRW");
    hac::v1::BillLine* line = bill.add_lines();
    line->set_job_id("j-1");
    line->set_device_class("gpu");
    line->set_model("emu-a100");
    line->set_allocated_ms(2'500);
    line->set_allocated_seconds(3);
    line->set_allocated_rate_micros(1'000'000);
    line->set_allocated_amount_micros(3'000'000);
    line->set_amount_micros(3'000'000);
    bill.set_total_micros(3'000'000);
  }
  auto table = h.Run({"bill"});
  CHECK(table.rc == 0);
  CHECK(table.out.rfind("tenant: acme\nperiod: 2026-11-01T00:00:00Z to 2026-12-01T00:00:00Z\n\n"
                        "JOB    CLASS  MODEL     RATE FROM  ALLOC s  ALLOC RATE  ALLOC AMOUNT",
                        0) == 0);
  CHECK(table.out.find("\nTOTAL") != std::string::npos);
  CHECK(table.out.substr(table.out.size() - 16) == "  3.000000  KRW\n");
  {
    absl::MutexLock lock(&h.billing.mu);
    CHECK(h.billing.bill_request.month() == "2026-11");
    CHECK(h.billing.bill_request.tenant().empty());
  }

  auto csv = h.Run({"bill", "--month", "2026-10", "-o", "csv"});
  CHECK(csv.rc == 0);
  CHECK(csv.out ==
        "kind,tenant,job_id,device_class,model,rate_effective_from,adjusts_month,allocated_ms,"
        "allocated_seconds,allocated_rate_micros,allocated_amount_micros,active_ms,active_seconds,"
        "active_rate_micros,active_amount_micros,amount_micros,currency\n"
        "line,acme,j-1,gpu,emu-a100,,,2500,3,1000000,3000000,0,0,0,0,3000000,KRW\n"
        "total,acme,,,,,,,,,,,,,,3000000,KRW\n");
  {
    absl::MutexLock lock(&h.billing.mu);
    CHECK(h.billing.bill_request.month() == "2026-10");
  }

  auto json = h.Run({"-o", "json", "bill", "--from", "2026-11-01", "--to", "2026-11-02"});
  CHECK(json.rc == 0);
  CHECK(json.out ==
        R"({"tenant":"acme","from":"2026-11-01T00:00:00Z","to":"2026-12-01T00:00:00Z",)"
        R"("currency":"KRW","lines":[{"jobId":"j-1","deviceClass":"gpu","model":"emu-a100",)"
        R"("allocatedMs":"2500","allocatedSeconds":"3","allocatedRateMicros":"1000000",)"
        R"("allocatedAmountMicros":"3000000","amountMicros":"3000000"}],"totalMicros":"3000000"})"
        "\n");
  absl::MutexLock lock(&h.billing.mu);
  CHECK(h.billing.bill_request.month().empty());
  CHECK(h.billing.bill_request.from().seconds() == 1'793'491'200);
  CHECK(h.billing.bill_request.to().seconds() == 1'793'577'600);  // 2026-11-02T00:00:00Z
}

TEST_CASE("bill usage errors exit 2 and send nothing") {
  BillingHarness h;
  auto bad_month = h.Run({"bill", "--month", "2026-13"});
  CHECK(bad_month.rc == 2);
  CHECK(bad_month.out.empty());
  CHECK(bad_month.err ==
        "hacctl: --month '2026-13': expected a month like 2026-11 (YYYY-MM, 01 to 12)\n");

  auto both = h.Run({"bill", "--month", "2026-10", "--from", "2026-10-01"});
  CHECK(both.rc == 2);
  CHECK(both.err == "hacctl: --month and --from/--to exclude each other\n");

  auto half = h.Run({"bill", "--to", "2026-10-01"});
  CHECK(half.rc == 2);
  CHECK(half.err ==
        "hacctl: --from and --to go together (or use --month YYYY-MM for a calendar month)\n");
  CHECK(h.calls() == 0);
}

TEST_CASE("-o csv is refused by commands without a csv layout, before anything is sent") {
  BillingHarness h;
  auto r = h.Run({"usage", "-o", "csv"});
  CHECK(r.rc == 2);
  CHECK(r.err ==
        "hacctl: usage has no csv output (-o csv is for 'bill'); use -o table or -o json\n");
  CHECK(h.calls() == 0);
}

TEST_CASE("price set sends exact micros from the next whole minute and prints the entry") {
  BillingHarness h;
  auto r = h.Run({"price", "set", "--class", "gpu", "--model", "emu-a100", "--allocated", "1.5",
                  "--active", "0.000001", "--minimum-seconds", "60"});
  CHECK(r.rc == 0);
  CHECK(r.out ==
        "CLASS  MODEL     ALLOC RATE/s  ACTIVE RATE/s  MIN s  EFFECTIVE FROM        CURRENCY\n"
        "gpu    emu-a100      1.500000       0.000001     60  2026-11-15T10:31:00Z  KRW\n");
  absl::MutexLock lock(&h.billing.mu);
  const hac::v1::Price& p = h.billing.set_price_request.price();
  CHECK(p.device_class() == "gpu");
  CHECK(p.model() == "emu-a100");
  CHECK(p.allocated_rate_micros() == 1'500'000);
  CHECK(p.active_rate_micros() == 1);
  CHECK(p.minimum_seconds() == 60);
  CHECK(p.effective_from().seconds() == 1'794'738'660);  // 10:30:15 -> 10:31:00
}

TEST_CASE("price set with a rate of 7 decimals exits 2 naming the flag") {
  BillingHarness h;
  auto r = h.Run({"price", "set", "--class", "gpu", "--allocated", "1", "--active", "0.1234567"});
  CHECK(r.rc == 2);
  CHECK(r.err ==
        "hacctl: --active '0.1234567': at most 6 decimals (amounts are exact in micro-units, "
        "0.000001)\n");
  CHECK(h.calls() == 0);
}

TEST_CASE("prices lists the catalog; -o json prints the response") {
  BillingHarness h;
  {
    absl::MutexLock lock(&h.billing.mu);
    hac::v1::Price* p = h.billing.prices.add_prices();
    p->set_device_class("npu");
    p->set_allocated_rate_micros(2'000'000);
    p->set_active_rate_micros(1'000'000);
    p->mutable_effective_from()->set_seconds(1'790'812'800);
    p->set_currency("KRW");
  }
  auto r = h.Run({"prices"});
  CHECK(r.rc == 0);
  CHECK(r.out ==
        "CLASS  MODEL  ALLOC RATE/s  ACTIVE RATE/s  MIN s  EFFECTIVE FROM        CURRENCY\n"
        "npu    *          2.000000       1.000000      -  2026-10-01T00:00:00Z  KRW\n");
  auto json = h.Run({"prices", "-o", "json"});
  CHECK(json.out ==
        R"({"prices":[{"deviceClass":"npu","allocatedRateMicros":"2000000",)"
        R"("activeRateMicros":"1000000","effectiveFrom":"2026-10-01T00:00:00Z","currency":"KRW"}]})"
        "\n");
}

TEST_CASE("invoice close closes a month for every tenant or one; invoices lists them") {
  BillingHarness h;
  {
    absl::MutexLock lock(&h.billing.mu);
    hac::v1::Invoice inv;
    inv.set_tenant("acme");
    inv.set_month("2026-10");
    inv.mutable_bill()->set_currency("KRW");
    inv.mutable_bill()->set_total_micros(1'234'567'890);
    inv.mutable_bill()->add_lines()->set_job_id("j-1");
    inv.mutable_close_time()->set_seconds(1'793'491'260);
    *h.billing.closed.add_invoices() = inv;
    *h.billing.invoices.add_invoices() = inv;
  }
  const std::string table =
      "TENANT  MONTH    LINES  ADJUSTMENTS             TOTAL  CLOSED\n"
      "acme    2026-10      1            0  1,234.567890 KRW  2026-11-01T00:01:00Z\n";
  auto all = h.Run({"invoice", "close", "--month", "2026-10"});
  CHECK(all.rc == 0);
  CHECK(all.out == table);
  {
    absl::MutexLock lock(&h.billing.mu);
    CHECK(h.billing.close_request.month() == "2026-10");
    CHECK(h.billing.close_request.tenant().empty());
  }
  auto one = h.Run({"invoice", "close", "--month", "2026-10", "--tenant", "acme"});
  CHECK(one.rc == 0);
  {
    absl::MutexLock lock(&h.billing.mu);
    CHECK(h.billing.close_request.tenant() == "acme");
  }
  auto missing = h.Run({"invoice", "close"});
  CHECK(missing.rc == 2);
  CHECK(missing.err == "hacctl: --month is required (e.g. --month 2026-10)\n");

  auto list = h.Run({"invoices", "--tenant", "acme"});
  CHECK(list.rc == 0);
  CHECK(list.out == table);
  absl::MutexLock lock(&h.billing.mu);
  CHECK(h.billing.invoices_request.tenant() == "acme");
}

TEST_CASE("budget shows the budget; budget set sends an exact limit and the hard stop") {
  BillingHarness h;
  {
    absl::MutexLock lock(&h.billing.mu);
    h.billing.budget.set_tenant("acme");
    h.billing.budget.set_monthly_limit_micros(100'000'000);
    h.billing.budget.set_spent_micros(120'000'000);
  }
  // "budget" is a command and the group of "budget set": a tenant named "set" stays a value.
  auto get = h.Run({"budget", "--tenant", "set"});
  CHECK(get.rc == 0);
  CHECK(get.out ==
        "tenant:           acme\n"
        "monthly limit:    100.000000\n"
        "spent this month: 120.000000\n"
        "hard stop:        no\n");
  {
    absl::MutexLock lock(&h.billing.mu);
    CHECK(h.billing.get_budget_request.tenant() == "set");
  }

  auto set = h.Run({"budget", "set", "--limit", "100000.25", "--hard-stop", "--tenant", "acme"});
  CHECK(set.rc == 0);
  CHECK(set.out ==
        "tenant:           acme\n"
        "monthly limit:    100,000.250000\n"
        "spent this month: 0.000000\n"
        "hard stop:        yes\n");
  absl::MutexLock lock(&h.billing.mu);
  CHECK(h.billing.set_budget_request.budget().tenant() == "acme");
  CHECK(h.billing.set_budget_request.budget().monthly_limit_micros() == 100'000'250'000);
  CHECK(h.billing.set_budget_request.budget().hard_stop());
}

TEST_CASE("a billing call the server refuses exits 1 with the code, message and hint") {
  BillingHarness h;
  {
    absl::MutexLock lock(&h.billing.mu);
    h.billing.error = grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "admins only");
  }
  auto r = h.Run({"price", "set", "--class", "gpu", "--allocated", "1", "--active", "1"});
  CHECK(r.rc == 1);
  CHECK(r.out.empty());
  CHECK(r.err.rfind("hacctl: PERMISSION_DENIED: admins only\nhint: your token's role may not do "
                    "this",
                    0) == 0);
}

TEST_CASE("help lists the billing commands and budget --help names its subcommand") {
  BillingHarness h;
  auto general = h.Run({"help"});
  for (const char* line : {"\n  usage ", "\n  bill ", "\n  prices ", "\n  price set ",
                           "\n  invoice close ", "\n  invoices ", "\n  budget ",
                           "\n  budget set "}) {
    INFO(line);
    CHECK(general.out.find(line) != std::string::npos);
  }
  auto budget = h.Run({"budget", "--help"});
  CHECK(budget.rc == 0);
  CHECK(budget.out.rfind("usage: hacctl budget [flags]\n\nthe monthly budget and what was spent "
                         "this month\n\nsubcommands: set (e.g. 'hacctl budget set --help')\n",
                         0) == 0);
  auto invoice = h.Run({"invoice"});
  CHECK(invoice.rc == 2);
  CHECK(invoice.err.find("'invoice' needs a subcommand: close") != std::string::npos);
  auto bill = h.Run({"bill", "--help"});
  CHECK(bill.out.find("  --month YYYY-MM") != std::string::npos);
}

TEST_CASE("the client certificate and key reach the channel together or not at all") {
  BillingHarness h;
  h.env.vars["HAC_CLIENT_CERT"] = "/etc/hac/client.pem";
  h.env.vars["HAC_CLIENT_KEY"] = "/etc/hac/client.key";
  auto ok = h.Run({"--ca-cert", "/etc/hac/ca.pem", "prices"});
  CHECK(ok.rc == 0);
  REQUIRE(h.last_config.has_value());
  CHECK(h.last_config->ca_cert == "/etc/hac/ca.pem");
  CHECK(h.last_config->client_cert == "/etc/hac/client.pem");
  CHECK(h.last_config->client_key == "/etc/hac/client.key");

  h.env.vars.erase("HAC_CLIENT_KEY");
  h.last_config.reset();
  auto half = h.Run({"prices"});
  CHECK(half.rc == 2);
  CHECK(half.err ==
        "hacctl: --client-cert and --client-key go together (mutual TLS needs the certificate "
        "and its key); only the certificate is set, by HAC_CLIENT_CERT\n");
  CHECK_FALSE(h.last_config.has_value());
}

}  // namespace
}  // namespace hac::cli
