#include "cli/billing_format.h"

#include "absl/strings/str_cat.h"
#include "cli/format.h"

namespace hac::cli {
namespace {

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

// A timestamp for a csv cell: RFC 3339 in UTC, empty when unset.
std::string CsvTime(const google::protobuf::Timestamp& ts) {
  const std::string t = FormatTimestamp(ts);
  return t == "-" ? "" : t;
}

}  // namespace

std::string CsvField(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string CsvRow(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    out += CsvField(fields[i]);
  }
  out += '\n';
  return out;
}

std::string UsageTable(const hac::v1::GetUsageResponse& usage) {
  Table t({"KEY", "ALLOCATED", "ACTIVE"});
  t.RightAlign(1);
  t.RightAlign(2);
  for (const hac::v1::UsageRow& row : usage.rows()) {
    t.AddRow({OrDash(row.key()), FormatMillis(row.allocated_ms()) + " s",
              FormatMillis(row.active_ms()) + " s"});
  }
  return t.Render();
}

std::string BillLineLabel(const hac::v1::BillLine& line) {
  if (!line.adjustment()) return OrDash(line.job_id());
  return absl::StrCat(OrDash(line.job_id()), " (adj",
                      line.adjusts_month().empty() ? "" : " ", line.adjusts_month(), ")");
}

std::string BillTable(const hac::v1::Bill& bill) {
  Table t({"JOB", "CLASS", "MODEL", "RATE FROM", "ALLOC s", "ALLOC RATE", "ALLOC AMOUNT",
           "ACTIVE s", "ACTIVE RATE", "ACTIVE AMOUNT", "AMOUNT"});
  for (size_t column = 4; column <= 10; ++column) t.RightAlign(column);
  for (const hac::v1::BillLine& l : bill.lines()) {
    t.AddRow({BillLineLabel(l), OrDash(l.device_class()), OrDash(l.model()),
              FormatTimestamp(l.rate_effective_from()), FormatInteger(l.allocated_seconds()),
              FormatMicros(l.allocated_rate_micros(), ""),
              FormatMicros(l.allocated_amount_micros(), ""), FormatInteger(l.active_seconds()),
              FormatMicros(l.active_rate_micros(), ""),
              FormatMicros(l.active_amount_micros(), ""), FormatMicros(l.amount_micros(), "")});
  }
  t.AddRow({"TOTAL", "", "", "", "", "", "", "", "", "", FormatMicros(bill.total_micros(), ""),
            OrDash(bill.currency())});
  return absl::StrCat("tenant: ", OrDash(bill.tenant()), "\nperiod: ",
                      FormatTimestamp(bill.from()), " to ", FormatTimestamp(bill.to()), "\n\n",
                      t.Render());
}

const std::vector<std::string>& BillCsvColumns() {
  static const std::vector<std::string>* const kColumns = new std::vector<std::string>{
      "kind",
      "tenant",
      "job_id",
      "device_class",
      "model",
      "rate_effective_from",
      "adjusts_month",
      "allocated_ms",
      "allocated_seconds",
      "allocated_rate_micros",
      "allocated_amount_micros",
      "active_ms",
      "active_seconds",
      "active_rate_micros",
      "active_amount_micros",
      "amount_micros",
      "currency",
  };
  return *kColumns;
}

std::string BillCsv(const hac::v1::Bill& bill) {
  std::string out = CsvRow(BillCsvColumns());
  for (const hac::v1::BillLine& l : bill.lines()) {
    out += CsvRow({l.adjustment() ? "adjustment" : "line", bill.tenant(), l.job_id(),
                   l.device_class(), l.model(), CsvTime(l.rate_effective_from()),
                   l.adjusts_month(), absl::StrCat(l.allocated_ms()),
                   absl::StrCat(l.allocated_seconds()), absl::StrCat(l.allocated_rate_micros()),
                   absl::StrCat(l.allocated_amount_micros()), absl::StrCat(l.active_ms()),
                   absl::StrCat(l.active_seconds()), absl::StrCat(l.active_rate_micros()),
                   absl::StrCat(l.active_amount_micros()), absl::StrCat(l.amount_micros()),
                   bill.currency()});
  }
  out += CsvRow({"total", bill.tenant(), "", "", "", "", "", "", "", "", "", "", "", "", "",
                 absl::StrCat(bill.total_micros()), bill.currency()});
  return out;
}

std::string PricesTable(const std::vector<hac::v1::Price>& prices) {
  Table t({"CLASS", "MODEL", "ALLOC RATE/s", "ACTIVE RATE/s", "MIN s", "EFFECTIVE FROM",
           "CURRENCY"});
  t.RightAlign(2);
  t.RightAlign(3);
  t.RightAlign(4);
  for (const hac::v1::Price& p : prices) {
    t.AddRow({OrDash(p.device_class()), p.model().empty() ? "*" : p.model(),
              FormatMicros(p.allocated_rate_micros(), ""),
              FormatMicros(p.active_rate_micros(), ""),
              p.minimum_seconds() == 0 ? "-" : FormatInteger(p.minimum_seconds()),
              FormatTimestamp(p.effective_from()), OrDash(p.currency())});
  }
  return t.Render();
}

std::string InvoicesTable(const std::vector<hac::v1::Invoice>& invoices) {
  Table t({"TENANT", "MONTH", "LINES", "ADJUSTMENTS", "TOTAL", "CLOSED"});
  t.RightAlign(2);
  t.RightAlign(3);
  t.RightAlign(4);
  for (const hac::v1::Invoice& inv : invoices) {
    int adjustments = 0;
    for (const hac::v1::BillLine& l : inv.bill().lines()) adjustments += l.adjustment() ? 1 : 0;
    t.AddRow({OrDash(inv.tenant()), OrDash(inv.month()),
              absl::StrCat(inv.bill().lines_size() - adjustments), absl::StrCat(adjustments),
              FormatMicros(inv.bill().total_micros(), inv.bill().currency()),
              FormatTimestamp(inv.close_time())});
  }
  return t.Render();
}

std::string BudgetText(const hac::v1::Budget& b) {
  return absl::StrCat(
      "tenant:           ", OrDash(b.tenant()), "\n",
      "monthly limit:    ",
      b.monthly_limit_micros() == 0 ? "none" : FormatMicros(b.monthly_limit_micros(), ""), "\n",
      "spent this month: ", FormatMicros(b.spent_micros(), ""), "\n",
      "hard stop:        ", b.hard_stop() ? "yes" : "no", "\n");
}

}  // namespace hac::cli
