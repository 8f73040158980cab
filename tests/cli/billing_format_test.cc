// The output of hacctl's billing commands, from hand-built response messages. Money is int64
// micro-units and usage integer milliseconds; every figure below is formatted with integers.
#include "cli/billing_format.h"

#include <limits>

#include <catch2/catch.hpp>

#include "cli/format.h"

namespace hac::cli {
namespace {

google::protobuf::Timestamp Ts(int64_t seconds) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  return ts;
}

constexpr int64_t kOct1 = 1'790'812'800;      // 2026-10-01T00:00:00Z
constexpr int64_t kNov1 = 1'793'491'200;      // 2026-11-01T00:00:00Z
constexpr int64_t kNov1_0010 = 1'793'491'800;  // 2026-11-01T00:10:00Z
constexpr int64_t kDec1 = 1'796'083'200;      // 2026-12-01T00:00:00Z

hac::v1::BillLine Line(const std::string& job, const std::string& cls, const std::string& model,
                       int64_t rate_from, int64_t alloc_ms, int64_t alloc_s, int64_t alloc_rate,
                       int64_t active_ms, int64_t active_s, int64_t active_rate) {
  hac::v1::BillLine l;
  l.set_job_id(job);
  l.set_device_class(cls);
  l.set_model(model);
  *l.mutable_rate_effective_from() = Ts(rate_from);
  l.set_allocated_ms(alloc_ms);
  l.set_allocated_seconds(alloc_s);
  l.set_allocated_rate_micros(alloc_rate);
  l.set_allocated_amount_micros(alloc_s * alloc_rate);
  l.set_active_ms(active_ms);
  l.set_active_seconds(active_s);
  l.set_active_rate_micros(active_rate);
  l.set_active_amount_micros(active_s * active_rate);
  l.set_amount_micros(l.allocated_amount_micros() + l.active_amount_micros());
  return l;
}

// November 2026 for acme: the worked example of docs/billing.md (a price change at 00:10 splits
// j-1 into two lines), a long job at a four-digit rate, and a negative adjustment of October.
hac::v1::Bill SampleBill() {
  hac::v1::Bill bill;
  bill.set_tenant("acme");
  *bill.mutable_from() = Ts(kNov1);
  *bill.mutable_to() = Ts(kDec1);
  bill.set_currency("KRW");
  // 60 s x 1.000000 + 40 s x 0.500000 = 80.000000
  *bill.add_lines() = Line("j-1", "gpu", "emu-a100", kOct1, 60'000, 60, 1'000'000, 40'500, 40,
                           500'000);
  // 31 s x 2.000000 + 1 s x 1.000000 = 63.000000
  *bill.add_lines() = Line("j-1", "gpu", "emu-a100", kNov1_0010, 30'700, 31, 2'000'000, 0, 1,
                           1'000'000);
  // 3,600 s x 1,234.567890 = 4,444,444.404000
  *bill.add_lines() = Line("j-10", "npu", "sim-atom", kOct1, 3'600'000, 3'600, 1'234'567'890, 0,
                           0, 0);
  // -1 s x 0.500000 = -0.500000
  hac::v1::BillLine adj = Line("j-4", "gpu", "emu-a100", kOct1, -1'000, -1, 500'000, 0, 0, 250'000);
  adj.set_adjustment(true);
  adj.set_adjusts_month("2026-10");
  *bill.add_lines() = adj;
  // 80 + 63 + 4,444,444.404 - 0.5 = 4,444,586.904
  bill.set_total_micros(4'444'586'904'000);
  return bill;
}

TEST_CASE("FormatMillis prints device-seconds with three decimals using integers") {
  CHECK(FormatMillis(12'345) == "12.345");
  CHECK(FormatMillis(0) == "0.000");
  CHECK(FormatMillis(1) == "0.001");
  CHECK(FormatMillis(999) == "0.999");
  CHECK(FormatMillis(3'600'000) == "3,600.000");
  CHECK(FormatMillis(-1'500) == "-1.500");
  CHECK(FormatMillis(std::numeric_limits<int64_t>::max()) == "9,223,372,036,854,775.807");
  CHECK(FormatMillis(std::numeric_limits<int64_t>::min()) == "-9,223,372,036,854,775.808");
}

TEST_CASE("FormatInteger groups thousands and keeps the sign") {
  CHECK(FormatInteger(0) == "0");
  CHECK(FormatInteger(999) == "999");
  CHECK(FormatInteger(1'000) == "1,000");
  CHECK(FormatInteger(-1'234'567) == "-1,234,567");
  CHECK(FormatInteger(std::numeric_limits<int64_t>::min()) == "-9,223,372,036,854,775,808");
}

TEST_CASE("CsvField quotes only fields with a comma, a quote or a line break") {
  CHECK(CsvField("j-1") == "j-1");
  CHECK(CsvField("") == "");
  CHECK(CsvField("a b") == "a b");
  CHECK(CsvField("acme, inc") == "\"acme, inc\"");
  CHECK(CsvField("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(CsvField("two\nlines") == "\"two\nlines\"");
  CHECK(CsvField("cr\r") == "\"cr\r\"");
  CHECK(CsvRow({"a", "b,c", ""}) == "a,\"b,c\",\n");
}

TEST_CASE("UsageTable shows KEY, ALLOCATED and ACTIVE in device-seconds, right-aligned") {
  hac::v1::GetUsageResponse usage;
  auto* a = usage.add_rows();
  a->set_key("j-1");
  a->set_allocated_ms(12'345);
  a->set_active_ms(40'500);
  auto* b = usage.add_rows();
  b->set_key("j-10");
  b->set_allocated_ms(3'600'000);
  b->set_active_ms(1);
  CHECK(UsageTable(usage) ==
        "KEY     ALLOCATED    ACTIVE\n"
        "j-1      12.345 s  40.500 s\n"
        "j-10  3,600.000 s   0.001 s\n");
  CHECK(UsageTable(hac::v1::GetUsageResponse()) == "KEY  ALLOCATED  ACTIVE\n");
}

TEST_CASE("BillLineLabel marks adjustment lines with the month they adjust") {
  hac::v1::BillLine l;
  l.set_job_id("j-4");
  CHECK(BillLineLabel(l) == "j-4");
  l.set_adjustment(true);
  l.set_adjusts_month("2026-10");
  CHECK(BillLineLabel(l) == "j-4 (adj 2026-10)");
  l.clear_adjusts_month();
  CHECK(BillLineLabel(l) == "j-4 (adj)");
}

TEST_CASE("BillTable shows one row per line, then TOTAL with the currency") {
  CHECK(BillTable(SampleBill()) ==
        "tenant: acme\n"
        "period: 2026-11-01T00:00:00Z to 2026-12-01T00:00:00Z\n"
        "\n"
        "JOB                CLASS  MODEL     RATE FROM             ALLOC s    ALLOC RATE      "
        "ALLOC AMOUNT  ACTIVE s  ACTIVE RATE  ACTIVE AMOUNT            AMOUNT\n"
        "j-1                gpu    emu-a100  2026-10-01T00:00:00Z       60      1.000000         "
        "60.000000        40     0.500000      20.000000         80.000000\n"
        "j-1                gpu    emu-a100  2026-11-01T00:10:00Z       31      2.000000         "
        "62.000000         1     1.000000       1.000000         63.000000\n"
        "j-10               npu    sim-atom  2026-10-01T00:00:00Z    3,600  1,234.567890  "
        "4,444,444.404000         0     0.000000       0.000000  4,444,444.404000\n"
        "j-4 (adj 2026-10)  gpu    emu-a100  2026-10-01T00:00:00Z       -1      0.500000         "
        "-0.500000         0     0.250000       0.000000         -0.500000\n"
        "TOTAL                                                                                    "
        "                                                4,444,586.904000  KRW\n");
}

TEST_CASE("BillTable of an empty bill still has the header and a zero TOTAL") {
  hac::v1::Bill bill;
  bill.set_tenant("acme");
  *bill.mutable_from() = Ts(kNov1);
  *bill.mutable_to() = Ts(kDec1);
  bill.set_currency("KRW");
  CHECK(BillTable(bill) ==
        "tenant: acme\n"
        "period: 2026-11-01T00:00:00Z to 2026-12-01T00:00:00Z\n"
        "\n"
        "JOB    CLASS  MODEL  RATE FROM  ALLOC s  ALLOC RATE  ALLOC AMOUNT  ACTIVE s  ACTIVE RATE  "
        "ACTIVE AMOUNT    AMOUNT\n"
        "TOTAL" + std::string(100, ' ') + "0.000000  KRW\n");
}

TEST_CASE("BillCsv prints raw integers, one row per line and a total row, RFC 4180 quoted") {
  hac::v1::Bill bill = SampleBill();
  bill.set_tenant("acme, inc");
  CHECK(BillCsv(bill) ==
        "kind,tenant,job_id,device_class,model,rate_effective_from,adjusts_month,allocated_ms,"
        "allocated_seconds,allocated_rate_micros,allocated_amount_micros,active_ms,active_seconds,"
        "active_rate_micros,active_amount_micros,amount_micros,currency\n"
        "line,\"acme, inc\",j-1,gpu,emu-a100,2026-10-01T00:00:00Z,,60000,60,1000000,60000000,"
        "40500,40,500000,20000000,80000000,KRW\n"
        "line,\"acme, inc\",j-1,gpu,emu-a100,2026-11-01T00:10:00Z,,30700,31,2000000,62000000,0,1,"
        "1000000,1000000,63000000,KRW\n"
        "line,\"acme, inc\",j-10,npu,sim-atom,2026-10-01T00:00:00Z,,3600000,3600,1234567890,"
        "4444444404000,0,0,0,0,4444444404000,KRW\n"
        "adjustment,\"acme, inc\",j-4,gpu,emu-a100,2026-10-01T00:00:00Z,2026-10,-1000,-1,500000,"
        "-500000,0,0,250000,0,-500000,KRW\n"
        "total,\"acme, inc\",,,,,,,,,,,,,,4444586904000,KRW\n");
  CHECK(BillCsvColumns().size() == 17);
}

TEST_CASE("PricesTable shows '*' for a class-wide entry and '-' for no minimum") {
  hac::v1::Price gpu;
  gpu.set_device_class("gpu");
  gpu.set_model("emu-a100");
  gpu.set_allocated_rate_micros(1'500'000);
  gpu.set_active_rate_micros(250'000);
  *gpu.mutable_effective_from() = Ts(kNov1_0010);
  gpu.set_currency("KRW");
  hac::v1::Price npu;
  npu.set_device_class("npu");
  npu.set_allocated_rate_micros(1'000'000'000);
  npu.set_active_rate_micros(1);
  npu.set_minimum_seconds(60);
  *npu.mutable_effective_from() = Ts(kOct1);
  npu.set_currency("KRW");
  CHECK(PricesTable({gpu, npu}) ==
        "CLASS  MODEL     ALLOC RATE/s  ACTIVE RATE/s  MIN s  EFFECTIVE FROM        CURRENCY\n"
        "gpu    emu-a100      1.500000       0.250000      -  2026-11-01T00:10:00Z  KRW\n"
        "npu    *         1,000.000000       0.000001     60  2026-10-01T00:00:00Z  KRW\n");
}

TEST_CASE("InvoicesTable counts lines and adjustments and shows the total in its currency") {
  hac::v1::Invoice inv;
  inv.set_tenant("acme");
  inv.set_month("2026-11");
  *inv.mutable_bill() = SampleBill();
  *inv.mutable_close_time() = Ts(kDec1 + 60);
  hac::v1::Invoice empty;
  empty.set_tenant("beta");
  empty.set_month("2026-11");
  empty.mutable_bill()->set_currency("KRW");
  *empty.mutable_close_time() = Ts(kDec1 + 60);
  CHECK(InvoicesTable({inv, empty}) ==
        "TENANT  MONTH    LINES  ADJUSTMENTS                 TOTAL  CLOSED\n"
        "acme    2026-11      3            1  4,444,586.904000 KRW  2026-12-01T00:01:00Z\n"
        "beta    2026-11      0            0          0.000000 KRW  2026-12-01T00:01:00Z\n");
}

TEST_CASE("BudgetText shows the limit, what was spent this month and the hard stop") {
  hac::v1::Budget b;
  b.set_tenant("acme");
  b.set_monthly_limit_micros(100'000'000'000);
  b.set_spent_micros(120'000'000);
  b.set_hard_stop(true);
  CHECK(BudgetText(b) ==
        "tenant:           acme\n"
        "monthly limit:    100,000.000000\n"
        "spent this month: 120.000000\n"
        "hard stop:        yes\n");
  hac::v1::Budget none;
  none.set_tenant("acme");
  CHECK(BudgetText(none) ==
        "tenant:           acme\n"
        "monthly limit:    none\n"
        "spent this month: 0.000000\n"
        "hard stop:        no\n");
}

}  // namespace
}  // namespace hac::cli
