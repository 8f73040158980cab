#include "cli/billing_commands.h"

#include "absl/status/statusor.h"
#include "cli/billing_args.h"
#include "cli/billing_format.h"
#include "cli/exit_code.h"
#include "hac/v1/billing.grpc.pb.h"

namespace hac::cli {
namespace {

using Stub = hac::v1::BillingService::Stub;

// One unary BillingService call with the session's token and deadline. On failure prints the
// error and returns kExitServerError; on success returns kExitOk with `response` filled.
template <typename Request, typename Response>
int Call(Session& s, grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
         const Request& request, Response& response) {
  std::unique_ptr<Stub> stub = hac::v1::BillingService::NewStub(s.channel());
  grpc::ClientContext ctx;
  s.Prepare(ctx, /*with_deadline=*/true);
  grpc::Status status = ((*stub).*method)(&ctx, request, &response);
  if (!status.ok()) return s.ServerError(status);
  return kExitOk;
}

int Usage(Session& s, const ParsedArgs& a) {
  absl::StatusOr<hac::v1::GetUsageRequest> req = BuildUsageRequest(a, s.clock().Now());
  if (!req.ok()) return s.UsageError(req.status());
  hac::v1::GetUsageResponse resp;
  if (int rc = Call(s, &Stub::GetUsage, *req, resp); rc != kExitOk) return rc;
  if (s.json()) return s.PrintJson(resp);
  s.out() << UsageTable(resp);
  return kExitOk;
}

int Bill(Session& s, const ParsedArgs& a) {
  absl::StatusOr<hac::v1::GetBillRequest> req = BuildBillRequest(a, s.clock().Now());
  if (!req.ok()) return s.UsageError(req.status());
  hac::v1::Bill bill;
  if (int rc = Call(s, &Stub::GetBill, *req, bill); rc != kExitOk) return rc;
  switch (s.output()) {
    case OutputFormat::kJson:
      return s.PrintJson(bill);
    case OutputFormat::kCsv:
      s.out() << BillCsv(bill);
      return kExitOk;
    case OutputFormat::kTable:
      break;
  }
  s.out() << BillTable(bill);
  return kExitOk;
}

int Prices(Session& s, const ParsedArgs&) {
  hac::v1::ListPricesResponse resp;
  if (int rc = Call(s, &Stub::ListPrices, hac::v1::ListPricesRequest(), resp); rc != kExitOk) {
    return rc;
  }
  if (s.json()) return s.PrintJson(resp);
  s.out() << PricesTable({resp.prices().begin(), resp.prices().end()});
  return kExitOk;
}

int PriceSet(Session& s, const ParsedArgs& a) {
  absl::StatusOr<hac::v1::SetPriceRequest> req = BuildSetPriceRequest(a, s.clock().Now());
  if (!req.ok()) return s.UsageError(req.status());
  hac::v1::Price price;
  if (int rc = Call(s, &Stub::SetPrice, *req, price); rc != kExitOk) return rc;
  if (s.json()) return s.PrintJson(price);
  s.out() << PricesTable({price});
  return kExitOk;
}

int InvoiceClose(Session& s, const ParsedArgs& a) {
  absl::StatusOr<hac::v1::CloseInvoiceRequest> req = BuildCloseInvoiceRequest(a);
  if (!req.ok()) return s.UsageError(req.status());
  hac::v1::CloseInvoiceResponse resp;
  if (int rc = Call(s, &Stub::CloseInvoice, *req, resp); rc != kExitOk) return rc;
  if (s.json()) return s.PrintJson(resp);
  s.out() << InvoicesTable({resp.invoices().begin(), resp.invoices().end()});
  return kExitOk;
}

int Invoices(Session& s, const ParsedArgs& a) {
  hac::v1::ListInvoicesRequest req;
  req.set_tenant(a.Get("tenant").value_or(""));
  hac::v1::ListInvoicesResponse resp;
  if (int rc = Call(s, &Stub::ListInvoices, req, resp); rc != kExitOk) return rc;
  if (s.json()) return s.PrintJson(resp);
  s.out() << InvoicesTable({resp.invoices().begin(), resp.invoices().end()});
  return kExitOk;
}

int BudgetGet(Session& s, const ParsedArgs& a) {
  hac::v1::GetBudgetRequest req;
  req.set_tenant(a.Get("tenant").value_or(""));
  hac::v1::Budget budget;
  if (int rc = Call(s, &Stub::GetBudget, req, budget); rc != kExitOk) return rc;
  if (s.json()) return s.PrintJson(budget);
  s.out() << BudgetText(budget);
  return kExitOk;
}

int BudgetSet(Session& s, const ParsedArgs& a) {
  absl::StatusOr<hac::v1::SetBudgetRequest> req = BuildSetBudgetRequest(a);
  if (!req.ok()) return s.UsageError(req.status());
  hac::v1::Budget budget;
  if (int rc = Call(s, &Stub::SetBudget, *req, budget); rc != kExitOk) return rc;
  if (s.json()) return s.PrintJson(budget);
  s.out() << BudgetText(budget);
  return kExitOk;
}

}  // namespace

std::vector<Command> BillingCommands() {
  return {
      {.name = "usage",
       .summary = "device-seconds held and busy, per job, class, model or day",
       .flags = UsageFlags(), .handler = Usage},
      {.name = "bill",
       .summary = "a bill for a month or a range, line by line (-o csv for spreadsheets)",
       .flags = BillFlags(), .handler = Bill, .csv = true},
      {.name = "prices", .summary = "the price catalog", .handler = Prices},
      {.name = "price set",
       .summary = "add a price from a whole minute on (admins; prices are never edited)",
       .flags = PriceSetFlags(), .handler = PriceSet},
      {.name = "invoice close",
       .summary = "freeze a month's bills into invoices (admins; default every tenant)",
       .flags = InvoiceCloseFlags(), .handler = InvoiceClose},
      {.name = "invoices", .summary = "closed invoices, oldest first", .flags = TenantFlag(),
       .handler = Invoices},
      {.name = "budget", .summary = "the monthly budget and what was spent this month",
       .flags = TenantFlag(), .handler = BudgetGet},
      {.name = "budget set", .summary = "set the monthly budget (--limit 0 removes it)",
       .flags = BudgetSetFlags(), .handler = BudgetSet},
  };
}

}  // namespace hac::cli
