#include "cli/app.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/args.h"
#include "cli/billing_commands.h"
#include "cli/command.h"
#include "cli/exit_code.h"
#include "cli/format.h"
#include "cli/spec.h"
#include "grpcpp/client_context.h"
#include "hac/v1/admin.grpc.pb.h"
#include "hac/v1/jobs.grpc.pb.h"
#include "hac/v1/pools.grpc.pb.h"

namespace hac::cli {
namespace {

absl::StatusOr<uint32_t> ParseCount(const std::string& text, const std::string& what) {
  uint32_t v = 0;
  if (!absl::SimpleAtoi(text, &v)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " '", text, "': expected a non-negative integer"));
  }
  return v;
}

// How long a watch keeps reconnecting after hacd went away mid-stream (a restart, say).
constexpr absl::Duration kReconnectFor = absl::Seconds(60);

// Watches a job until its stream ends: 0 if it SUCCEEDED, 3 if it ended otherwise. A stream
// that breaks with UNAVAILABLE after it delivered events is reopened (its first event is the
// job as it is then), so `submit --wait` survives a restart of hacd.
int WatchUntilEnd(Session& s, const std::string& id) {
  auto stub = hac::v1::JobService::NewStub(s.channel());
  hac::v1::WatchJobRequest req;
  req.set_id(id);
  hac::v1::JobState last = hac::v1::JOB_STATE_UNSPECIFIED;
  bool ever_connected = false;
  absl::Time give_up = absl::InfiniteFuture();
  absl::Duration backoff = absl::Milliseconds(200);
  while (true) {
    grpc::ClientContext ctx;
    s.Prepare(ctx, /*with_deadline=*/false);
    std::unique_ptr<grpc::ClientReader<hac::v1::JobEvent>> reader = stub->WatchJob(&ctx, req);
    hac::v1::JobEvent event;
    bool got_event = false;
    while (reader->Read(&event)) {
      got_event = true;
      last = event.job().state();
      if (s.json()) {
        s.PrintJson(event);
      } else {
        s.out() << WatchLine(event.job()) << "\n";
        s.out().flush();
      }
    }
    grpc::Status status = reader->Finish();
    if (status.ok()) break;
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE || !(ever_connected || got_event)) {
      return s.ServerError(status);
    }
    if (got_event) {
      ever_connected = true;
      give_up = s.clock().MonotonicNow() + kReconnectFor;
      backoff = absl::Milliseconds(200);
    }
    if (s.clock().MonotonicNow() >= give_up) return s.ServerError(status);
    s.err() << "hacctl: lost the watch of " << id << " (" << status.error_message()
            << "); reconnecting in " << absl::FormatDuration(backoff) << "\n";
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
  switch (last) {
    case hac::v1::JOB_STATE_SUCCEEDED:
      return kExitOk;
    case hac::v1::JOB_STATE_FAILED:
    case hac::v1::JOB_STATE_CANCELLED:
      return kExitJobNotSucceeded;
    default:
      s.err() << "hacctl: the watch of " << id << " ended before the job did (last state "
              << JobStateName(last) << "); run 'hacctl watch " << id << "' again\n";
      return kExitServerError;
  }
}

int Submit(Session& s, const ParsedArgs& a) {
  absl::StatusOr<hac::v1::JobSpec> spec = BuildJobSpec(a);
  if (!spec.ok()) return s.UsageError(spec.status());
  const bool dry_run = a.IsSet("dry-run");
  if (dry_run && a.IsSet("wait")) {
    return s.UsageError(absl::InvalidArgumentError("--wait and --dry-run exclude each other"));
  }
  hac::v1::SubmitJobRequest req;
  *req.mutable_spec() = *std::move(spec);
  req.set_dry_run(dry_run);
  auto stub = hac::v1::JobService::NewStub(s.channel());
  grpc::ClientContext ctx;
  s.Prepare(ctx, true);
  hac::v1::SubmitJobResponse resp;
  grpc::Status status = stub->SubmitJob(&ctx, req, &resp);
  if (!status.ok()) return s.ServerError(status);
  if (s.json()) {
    if (int rc = s.PrintJson(resp); rc != kExitOk) return rc;
  } else if (dry_run) {
    s.out() << DryRunText(resp.dry_run());
  } else {
    s.out() << resp.job().id() << "\n";
    s.out().flush();
    if (resp.idempotent_replay()) {
      s.err() << "hacctl: the idempotency key matched job " << resp.job().id()
              << "; no new job was created\n";
    }
  }
  if (a.IsSet("wait")) return WatchUntilEnd(s, resp.job().id());
  return kExitOk;
}

int Jobs(Session& s, const ParsedArgs& a) {
  hac::v1::ListJobsRequest req;
  for (const std::string& st : a.GetAll("state")) {
    absl::StatusOr<hac::v1::JobState> state = ParseJobState(st);
    if (!state.ok()) return s.UsageError(state.status());
    req.add_states(*state);
  }
  if (auto t = a.Get("tenant")) req.set_tenant(*t);
  if (auto l = a.Get("limit")) {
    absl::StatusOr<uint32_t> limit = ParseCount(*l, "--limit");
    if (!limit.ok()) return s.UsageError(limit.status());
    req.set_page_size(*limit);
  }
  const bool all = a.IsSet("all");
  auto stub = hac::v1::JobService::NewStub(s.channel());
  hac::v1::ListJobsResponse merged;
  while (true) {
    grpc::ClientContext ctx;
    s.Prepare(ctx, true);
    hac::v1::ListJobsResponse resp;
    grpc::Status status = stub->ListJobs(&ctx, req, &resp);
    if (!status.ok()) return s.ServerError(status);
    for (auto& j : *resp.mutable_jobs()) *merged.add_jobs() = std::move(j);
    merged.set_next_page_token(resp.next_page_token());
    if (!all || resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  if (s.json()) return s.PrintJson(merged);
  s.out() << JobsTable({merged.jobs().begin(), merged.jobs().end()}, s.clock().Now());
  if (!merged.next_page_token().empty()) {
    s.err() << "(more jobs: use --all, or --limit N)\n";
  }
  return kExitOk;
}

int Job(Session& s, const ParsedArgs& a) {
  auto stub = hac::v1::JobService::NewStub(s.channel());
  grpc::ClientContext ctx;
  s.Prepare(ctx, true);
  hac::v1::GetJobRequest req;
  req.set_id(a.positionals()[0]);
  hac::v1::Job job;
  grpc::Status status = stub->GetJob(&ctx, req, &job);
  if (!status.ok()) return s.ServerError(status);
  if (s.json()) return s.PrintJson(job);
  s.out() << JobDetail(job);
  return kExitOk;
}

int Cancel(Session& s, const ParsedArgs& a) {
  auto stub = hac::v1::JobService::NewStub(s.channel());
  grpc::ClientContext ctx;
  s.Prepare(ctx, true);
  hac::v1::CancelJobRequest req;
  req.set_id(a.positionals()[0]);
  req.set_reason(a.Get("reason").value_or(""));
  hac::v1::Job job;
  grpc::Status status = stub->CancelJob(&ctx, req, &job);
  if (!status.ok()) return s.ServerError(status);
  if (s.json()) return s.PrintJson(job);
  s.out() << WatchLine(job) << "\n";
  return kExitOk;
}

int Watch(Session& s, const ParsedArgs& a) { return WatchUntilEnd(s, a.positionals()[0]); }

int Logs(Session& s, const ParsedArgs& a) {
  hac::v1::GetJobLogsRequest req;
  req.set_id(a.positionals()[0]);
  if (auto v = a.Get("attempt")) {
    absl::StatusOr<uint32_t> n = ParseCount(*v, "--attempt");
    if (!n.ok()) return s.UsageError(n.status());
    req.set_attempt(*n);
  }
  req.set_follow(a.IsSet("follow"));
  if (auto v = a.Get("stream")) {
    if (*v == "stdout") {
      req.set_stream(hac::v1::LOG_STREAM_STDOUT);
    } else if (*v == "stderr") {
      req.set_stream(hac::v1::LOG_STREAM_STDERR);
    } else if (*v != "both") {
      return s.UsageError(absl::InvalidArgumentError(
          absl::StrCat("--stream '", *v, "': expected stdout, stderr or both")));
    }
  }
  auto stub = hac::v1::JobService::NewStub(s.channel());
  grpc::ClientContext ctx;
  s.Prepare(ctx, /*with_deadline=*/!req.follow());
  std::unique_ptr<grpc::ClientReader<hac::v1::LogChunk>> reader = stub->GetJobLogs(&ctx, req);
  hac::v1::LogChunk chunk;
  bool truncated = false;
  while (reader->Read(&chunk)) {
    truncated = truncated || chunk.truncated();
    if (s.json()) {
      s.PrintJson(chunk);
    } else {
      s.out().write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
      s.out().flush();
    }
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return s.ServerError(status);
  if (truncated) s.err() << "hacctl: the log reached its size cap; later output was dropped\n";
  return kExitOk;
}

void PrintSecret(Session& s, const std::string& token, const std::string& token_id) {
  s.out() << "token: " << token << "\n";
  if (!token_id.empty()) s.out() << "token id: " << token_id << "\n";
  s.out() << "Store this token now: it is shown only once. Use it with --token or HAC_TOKEN.\n";
}

int TenantCreate(Session& s, const ParsedArgs& a) {
  auto stub = hac::v1::AdminService::NewStub(s.channel());
  grpc::ClientContext ctx;
  s.Prepare(ctx, true);
  hac::v1::CreateTenantRequest req;
  req.set_name(a.positionals()[0]);
  hac::v1::CreateTenantResponse resp;
  grpc::Status status = stub->CreateTenant(&ctx, req, &resp);
  if (!status.ok()) return s.ServerError(status);
  if (s.json()) return s.PrintJson(resp);
  s.out() << "tenant: " << resp.tenant().name() << "\n";
  PrintSecret(s, resp.token(), resp.token_info().id());
  return kExitOk;
}

int TenantToken(Session& s, const ParsedArgs& a) {
  auto stub = hac::v1::AdminService::NewStub(s.channel());
  grpc::ClientContext ctx;
  s.Prepare(ctx, true);
  hac::v1::CreateTokenRequest req;
  req.set_role(hac::v1::ROLE_TENANT);
  req.set_tenant(a.positionals()[0]);
  hac::v1::CreateTokenResponse resp;
  grpc::Status status = stub->CreateToken(&ctx, req, &resp);
  if (!status.ok()) return s.ServerError(status);
  if (s.json()) return s.PrintJson(resp);
  s.out() << "tenant: " << resp.info().tenant() << "\n";
  PrintSecret(s, resp.token(), resp.info().id());
  return kExitOk;
}

int TenantList(Session& s, const ParsedArgs&) {
  auto stub = hac::v1::AdminService::NewStub(s.channel());
  grpc::ClientContext ctx;
  s.Prepare(ctx, true);
  hac::v1::ListTenantsResponse resp;
  grpc::Status status = stub->ListTenants(&ctx, hac::v1::ListTenantsRequest(), &resp);
  if (!status.ok()) return s.ServerError(status);
  if (s.json()) return s.PrintJson(resp);
  Table t({"NAME", "CREATED"});
  for (const auto& tenant : resp.tenants()) {
    t.AddRow({tenant.name(), FormatTimestamp(tenant.create_time())});
  }
  s.out() << t.Render();
  return kExitOk;
}

int TokenList(Session& s, const ParsedArgs& a) {
  auto stub = hac::v1::AdminService::NewStub(s.channel());
  grpc::ClientContext ctx;
  s.Prepare(ctx, true);
  hac::v1::ListTokensRequest req;
  req.set_tenant(a.Get("tenant").value_or(""));
  hac::v1::ListTokensResponse resp;
  grpc::Status status = stub->ListTokens(&ctx, req, &resp);
  if (!status.ok()) return s.ServerError(status);
  if (s.json()) return s.PrintJson(resp);
  Table t({"ID", "ROLE", "TENANT", "CREATED", "REVOKED"});
  for (const auto& tok : resp.tokens()) {
    t.AddRow({tok.id(), RoleName(tok.role()), tok.tenant().empty() ? "-" : tok.tenant(),
              FormatTimestamp(tok.create_time()), tok.revoked() ? "yes" : "no"});
  }
  s.out() << t.Render();
  return kExitOk;
}

int TokenRevoke(Session& s, const ParsedArgs& a) {
  auto stub = hac::v1::AdminService::NewStub(s.channel());
  grpc::ClientContext ctx;
  s.Prepare(ctx, true);
  hac::v1::RevokeTokenRequest req;
  req.set_id(a.positionals()[0]);
  hac::v1::TokenInfo info;
  grpc::Status status = stub->RevokeToken(&ctx, req, &info);
  if (!status.ok()) return s.ServerError(status);
  if (s.json()) return s.PrintJson(info);
  s.out() << "revoked token " << info.id() << "\n";
  return kExitOk;
}

int QuotaSet(Session& s, const ParsedArgs& a) {
  absl::StatusOr<uint32_t> max = ParseCount(a.positionals()[2], "MAX");
  if (!max.ok()) return s.UsageError(max.status());
  hac::v1::SetQuotaRequest req;
  req.mutable_quota()->set_tenant(a.positionals()[0]);
  req.mutable_quota()->set_device_class(a.positionals()[1]);
  req.mutable_quota()->set_max_devices(*max);
  req.mutable_quota()->set_borrowable(a.IsSet("borrowable"));
  auto stub = hac::v1::AdminService::NewStub(s.channel());
  grpc::ClientContext ctx;
  s.Prepare(ctx, true);
  hac::v1::Quota quota;
  grpc::Status status = stub->SetQuota(&ctx, req, &quota);
  if (!status.ok()) return s.ServerError(status);
  if (s.json()) return s.PrintJson(quota);
  s.out() << "quota " << quota.tenant() << " " << quota.device_class() << ": max "
          << quota.max_devices() << (quota.borrowable() ? " (borrowable)" : "") << "\n";
  return kExitOk;
}

int QuotaList(Session& s, const ParsedArgs& a) {
  auto stub = hac::v1::AdminService::NewStub(s.channel());
  grpc::ClientContext ctx;
  s.Prepare(ctx, true);
  hac::v1::ListQuotasRequest req;
  req.set_tenant(a.Get("tenant").value_or(""));
  hac::v1::ListQuotasResponse resp;
  grpc::Status status = stub->ListQuotas(&ctx, req, &resp);
  if (!status.ok()) return s.ServerError(status);
  if (s.json()) return s.PrintJson(resp);
  Table t({"TENANT", "CLASS", "MAX", "BORROWABLE"});
  for (const auto& q : resp.quotas()) {
    t.AddRow({q.tenant(), q.device_class(), absl::StrCat(q.max_devices()),
              q.borrowable() ? "yes" : "no"});
  }
  s.out() << t.Render();
  return kExitOk;
}

int JoinTokenCreate(Session& s, const ParsedArgs& a) {
  hac::v1::CreateJoinTokenRequest req;
  if (auto v = a.Get("ttl")) {
    absl::Duration d;
    if (!absl::ParseDuration(*v, &d) || d <= absl::ZeroDuration() ||
        d == absl::InfiniteDuration()) {
      return s.UsageError(absl::InvalidArgumentError(
          absl::StrCat("--ttl '", *v, "': expected a positive duration like 1h or 30m")));
    }
    req.mutable_ttl()->set_seconds(absl::ToInt64Seconds(d));
  }
  req.set_pool(a.Get("pool").value_or(""));
  auto stub = hac::v1::AdminService::NewStub(s.channel());
  grpc::ClientContext ctx;
  s.Prepare(ctx, true);
  hac::v1::CreateJoinTokenResponse resp;
  grpc::Status status = stub->CreateJoinToken(&ctx, req, &resp);
  if (!status.ok()) return s.ServerError(status);
  if (s.json()) return s.PrintJson(resp);
  s.out() << "token: " << resp.token() << "\n"
          << "expires: " << FormatTimestamp(resp.expire_time()) << "\n"
          << "Store this join token now: it is shown only once. Give it to hac-agent.\n";
  return kExitOk;
}

int WhoAmI(Session& s, const ParsedArgs&) {
  auto stub = hac::v1::AdminService::NewStub(s.channel());
  grpc::ClientContext ctx;
  s.Prepare(ctx, true);
  hac::v1::WhoAmIResponse resp;
  grpc::Status status = stub->WhoAmI(&ctx, hac::v1::WhoAmIRequest(), &resp);
  if (!status.ok()) return s.ServerError(status);
  if (s.json()) return s.PrintJson(resp);
  s.out() << "token id: " << resp.token().id() << "\n"
          << "role:     " << RoleName(resp.token().role()) << "\n"
          << "tenant:   " << (resp.token().tenant().empty() ? "-" : resp.token().tenant()) << "\n";
  return kExitOk;
}

int Nodes(Session& s, const ParsedArgs& a) {
  auto stub = hac::v1::PoolService::NewStub(s.channel());
  grpc::ClientContext ctx;
  s.Prepare(ctx, true);
  hac::v1::ListNodesRequest req;
  req.set_pool(a.Get("pool").value_or(""));
  hac::v1::ListNodesResponse resp;
  grpc::Status status = stub->ListNodes(&ctx, req, &resp);
  if (!status.ok()) return s.ServerError(status);
  if (s.json()) return s.PrintJson(resp);
  s.out() << NodesTable({resp.nodes().begin(), resp.nodes().end()}, s.clock().Now());
  return kExitOk;
}

// node cordon|uncordon|drain NAME
int NodeAction(Session& s, const ParsedArgs& a, hac::v1::NodeState target) {
  auto stub = hac::v1::PoolService::NewStub(s.channel());
  grpc::ClientContext ctx;
  s.Prepare(ctx, true);
  hac::v1::NodeActionRequest req;
  req.set_name(a.positionals()[0]);
  req.set_reason(a.Get("reason").value_or(""));
  hac::v1::Node resp;
  grpc::Status status = target == hac::v1::NODE_STATE_CORDONED  ? stub->CordonNode(&ctx, req, &resp)
                        : target == hac::v1::NODE_STATE_READY ? stub->UncordonNode(&ctx, req, &resp)
                                                              : stub->DrainNode(&ctx, req, &resp);
  if (!status.ok()) return s.ServerError(status);
  if (s.json()) return s.PrintJson(resp);
  s.out() << NodesTable({resp}, s.clock().Now());
  return kExitOk;
}
int NodeCordon(Session& s, const ParsedArgs& a) {
  return NodeAction(s, a, hac::v1::NODE_STATE_CORDONED);
}
int NodeUncordon(Session& s, const ParsedArgs& a) {
  return NodeAction(s, a, hac::v1::NODE_STATE_READY);
}
int NodeDrain(Session& s, const ParsedArgs& a) {
  return NodeAction(s, a, hac::v1::NODE_STATE_DRAINING);
}

int SchedulerConfigGet(Session& s, const ParsedArgs&) {
  auto stub = hac::v1::AdminService::NewStub(s.channel());
  grpc::ClientContext ctx;
  s.Prepare(ctx, true);
  hac::v1::SchedulerConfig resp;
  grpc::Status status =
      stub->GetSchedulerConfig(&ctx, hac::v1::GetSchedulerConfigRequest(), &resp);
  if (!status.ok()) return s.ServerError(status);
  if (s.json()) return s.PrintJson(resp);
  s.out() << resp.text();
  if (!resp.text().empty() && resp.text().back() != '\n') s.out() << "\n";
  return kExitOk;
}

// scheduler config set FILE ("-" reads standard input)
int SchedulerConfigSet(Session& s, const ParsedArgs& a) {
  const std::string& path = a.positionals()[0];
  std::ostringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream in(path);
    if (!in) {
      s.err() << "hacctl: cannot read " << path << "\n";
      return kExitUsage;
    }
    text << in.rdbuf();
  }
  auto stub = hac::v1::AdminService::NewStub(s.channel());
  grpc::ClientContext ctx;
  s.Prepare(ctx, true);
  hac::v1::SchedulerConfig req;
  req.set_text(text.str());
  hac::v1::SchedulerConfig resp;
  grpc::Status status = stub->SetSchedulerConfig(&ctx, req, &resp);
  if (!status.ok()) return s.ServerError(status);
  if (s.json()) return s.PrintJson(resp);
  s.out() << "scheduler configuration applied\n";
  return kExitOk;
}

int Version(Session& s, const ParsedArgs&) {
  if (s.json()) {
    s.out() << "{\"version\":\"" << kVersion << "\"}\n";
  } else {
    s.out() << "hacctl " << kVersion << "\n";
  }
  return kExitOk;
}

std::vector<Command> MakeCommands() {
  std::vector<Command> commands{
      {.name = "submit", .args = "[-- ARGV...]",
       .summary = "submit a job (prints its id; --wait to follow it to the end)",
       .flags = SubmitFlags(), .handler = Submit},
      {.name = "jobs", .summary = "list jobs, newest first",
       .flags = {{.name = "state", .repeatable = true, .value_name = "STATE",
                  .help = "only jobs in this state (pending, running, succeeded, ...)"},
                 {.name = "tenant", .value_name = "T", .help = "only this tenant's (admins)"},
                 {.name = "limit", .value_name = "N", .help = "jobs per page (default 100)"},
                 {.name = "all", .boolean = true, .help = "every page, not only the first"}},
       .handler = Jobs},
      {.name = "job", .args = "ID", .summary = "a job's details and attempts", .min_args = 1,
       .max_args = 1, .handler = Job},
      {.name = "cancel", .args = "ID", .summary = "cancel a job",
       .flags = {{.name = "reason", .value_name = "TEXT", .help = "why, for the record"}},
       .min_args = 1, .max_args = 1, .handler = Cancel},
      {.name = "watch", .args = "ID",
       .summary = "follow a job's state until it ends (exit 0 if SUCCEEDED, 3 otherwise)",
       .min_args = 1, .max_args = 1, .handler = Watch},
      {.name = "logs", .args = "ID", .summary = "a job's output, raw",
       .flags = {{.name = "attempt", .value_name = "N", .help = "attempt number (default latest)"},
                 {.name = "follow", .short_name = "f", .boolean = true,
                  .help = "keep printing output until the attempt ends"},
                 {.name = "stream", .value_name = "stdout|stderr|both",
                  .help = "which output (default both)"}},
       .min_args = 1, .max_args = 1, .handler = Logs},
      {.name = "tenant create", .args = "NAME",
       .summary = "create a tenant and print its first token (admins)", .min_args = 1,
       .max_args = 1, .handler = TenantCreate},
      {.name = "tenant token", .args = "NAME", .summary = "create a further token for a tenant",
       .min_args = 1, .max_args = 1, .handler = TenantToken},
      {.name = "tenant list", .summary = "list tenants", .handler = TenantList},
      {.name = "token list", .summary = "list tokens (never their secrets)",
       .flags = {{.name = "tenant", .value_name = "T", .help = "only this tenant's"}},
       .handler = TokenList},
      {.name = "token revoke", .args = "ID", .summary = "revoke a token", .min_args = 1,
       .max_args = 1, .handler = TokenRevoke},
      {.name = "quota set", .args = "TENANT CLASS MAX",
       .summary = "set a tenant's most devices of a class",
       .flags = {{.name = "borrowable", .boolean = true,
                  .help = "may exceed MAX on capacity nobody else waits for"}},
       .min_args = 3, .max_args = 3, .handler = QuotaSet},
      {.name = "quota list", .summary = "list quotas",
       .flags = {{.name = "tenant", .value_name = "T", .help = "only this tenant's"}},
       .handler = QuotaList},
      {.name = "join-token create", .summary = "mint a join token for hac-agent",
       .flags = {{.name = "ttl", .value_name = "DURATION", .help = "validity (default 24h)"},
                 {.name = "pool", .value_name = "P", .help = "the pool the node must join"}},
       .handler = JoinTokenCreate},
      {.name = "whoami", .summary = "your token's id, role and tenant", .handler = WhoAmI},
      {.name = "nodes", .summary = "list nodes and their free devices",
       .flags = {{.name = "pool", .value_name = "P", .help = "only this pool's nodes"}},
       .handler = Nodes},
      {.name = "node cordon", .args = "NAME", .summary = "stop new work going to a node (admins)",
       .flags = {{.name = "reason", .value_name = "TEXT", .help = "why, for the record"}},
       .min_args = 1, .max_args = 1, .handler = NodeCordon},
      {.name = "node uncordon", .args = "NAME", .summary = "let new work go to a node again",
       .flags = {{.name = "reason", .value_name = "TEXT", .help = "why, for the record"}},
       .min_args = 1, .max_args = 1, .handler = NodeUncordon},
      {.name = "node drain", .args = "NAME",
       .summary = "take no new work on a node; its attempts finish (admins)",
       .flags = {{.name = "reason", .value_name = "TEXT", .help = "why, for the record"}},
       .min_args = 1, .max_args = 1, .handler = NodeDrain},
      {.name = "scheduler config", .summary = "print the scheduler's configuration (admins)",
       .handler = SchedulerConfigGet},
      {.name = "scheduler set", .args = "FILE",
       .summary = "replace the scheduler's configuration, no restart (FILE or - for stdin)",
       .min_args = 1, .max_args = 1, .handler = SchedulerConfigSet},
      {.name = "version", .summary = "hacctl's version", .handler = Version,
       .needs_server = false},
  };
  // Billing right after the job commands, before administration.
  std::vector<Command> billing = BillingCommands();
  auto after_jobs = std::find_if(commands.begin(), commands.end(),
                                 [](const Command& c) { return c.name == "logs"; });
  commands.insert(after_jobs + 1, billing.begin(), billing.end());
  return commands;
}

const std::vector<Command>& Commands() {
  static const std::vector<Command>* const kCommands = new std::vector<Command>(MakeCommands());
  return *kCommands;
}

bool IsGroup(const std::string& word) {
  for (const Command& c : Commands()) {
    if (c.name.rfind(word + " ", 0) == 0) return true;
  }
  return false;
}

std::vector<std::string> Subcommands(const std::string& group) {
  std::vector<std::string> out;
  for (const Command& c : Commands()) {
    if (c.name.rfind(group + " ", 0) == 0) out.push_back(c.name.substr(group.size() + 1));
  }
  return out;
}

const Command* FindCommand(const std::string& name) {
  for (const Command& c : Commands()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string UsageLine(const Command& c) {
  std::string line = absl::StrCat("hacctl ", c.name);
  if (!c.flags.empty()) absl::StrAppend(&line, " [flags]");
  if (!c.args.empty()) absl::StrAppend(&line, " ", c.args);
  return line;
}

std::string CommandHelp(const Command& c) {
  std::string out = absl::StrCat("usage: ", UsageLine(c), "\n\n", c.summary, "\n");
  if (IsGroup(c.name)) {
    // A command that is also a group ("budget", "budget set"): name its subcommands too.
    absl::StrAppend(&out, "\nsubcommands: ", absl::StrJoin(Subcommands(c.name), ", "),
                    " (e.g. 'hacctl ", c.name, " ", Subcommands(c.name).front(), " --help')\n");
  }
  if (!c.flags.empty()) absl::StrAppend(&out, "\nflags:\n", FlagHelp(c.flags));
  absl::StrAppend(&out, "\nglobal flags:\n", FlagHelp(GlobalFlags()),
                  "\nexit codes: 0 ok, 1 server error, 2 usage error, 3 job did not succeed\n");
  return out;
}

std::string GroupHelp(const std::string& group) {
  Table t({"", ""});
  for (const Command& c : Commands()) {
    if (c.name.rfind(group + " ", 0) == 0) {
      t.AddRow({"  " + c.name + (c.args.empty() ? "" : " " + c.args), c.summary});
    }
  }
  const std::string rows = t.Render();
  return absl::StrCat("usage: hacctl ", group, " SUBCOMMAND [flags] [args]\n\nsubcommands:\n",
                      rows.substr(rows.find('\n') + 1), "\nrun 'hacctl ", group,
                      " SUBCOMMAND --help' for its flags\n");
}

bool IsGlobalFlagWithValue(const std::string& arg) {
  if (arg.find('=') != std::string::npos) return false;
  for (const FlagSpec& f : GlobalFlags()) {
    if (f.boolean) continue;
    if (arg == "--" + f.name || (!f.short_name.empty() && arg == "-" + f.short_name)) return true;
  }
  return false;
}

}  // namespace

std::string GeneralHelp() {
  std::string out =
      "hacctl: the command-line client of OpenHAC (hacd).\n\n"
      "usage: hacctl [global flags] COMMAND [flags] [args]\n\ncommands:\n";
  Table t({"", ""});
  for (const Command& c : Commands()) t.AddRow({"  " + c.name + (c.args.empty() ? "" : " " + c.args), c.summary});
  t.AddRow({"  help [COMMAND]", "this help, or a command's"});
  std::string rows = t.Render();
  absl::StrAppend(&out, rows.substr(rows.find('\n') + 1));
  absl::StrAppend(
      &out, "\nglobal flags (before or after the command):\n", FlagHelp(GlobalFlags()),
      "\nsettings come from flags, then the environment (HAC_SERVER, HAC_TOKEN, HAC_TOKEN_FILE,\n"
      "HAC_CA_CERT, HAC_CLIENT_CERT, HAC_CLIENT_KEY), then the config file ($HAC_CONFIG, else\n"
      "~/.config/hac/config: `key = value` lines with keys server, token, token_file, ca_cert,\n"
      "client_cert, client_key, timeout, output), then defaults.\n",
      "\nexit codes:\n"
      "  0  success\n"
      "  1  the server returned an error (or could not be reached)\n"
      "  2  usage error: unknown command or flag, bad value, unreadable file\n"
      "  3  a watched or waited-for job ended in a state other than SUCCEEDED\n");
  return out;
}

int App::Run(const std::vector<std::string>& args) {
  // Split the command words from the rest; before the command only global flags may appear.
  std::vector<std::string> words;
  std::vector<std::string> rest;
  bool complete = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    if (complete || (arg.size() > 1 && arg[0] == '-')) {
      rest.push_back(arg);
      if (!complete && IsGlobalFlagWithValue(arg) && i + 1 < args.size()) {
        rest.push_back(args[++i]);
      }
      continue;
    }
    words.push_back(arg);
    complete = !(words.size() == 1 && IsGroup(arg));
    if (!complete && FindCommand(arg) != nullptr) {
      // A group that is a command as well ("budget" and "budget set"): only one of its
      // subcommands right after it continues the name, so `budget --tenant set` stays `budget`.
      const std::vector<std::string> subs = Subcommands(arg);
      if (i + 1 < args.size() && std::find(subs.begin(), subs.end(), args[i + 1]) != subs.end()) {
        words.push_back(args[++i]);
      }
      complete = true;
    }
  }

  if (words.empty()) {
    // Only flags: `hacctl --help`, or nothing at all.
    absl::StatusOr<ParsedArgs> parsed = ParseArgs(GlobalFlags(), rest, "hacctl");
    if (parsed.ok() && parsed->IsSet("help")) {
      out_ << GeneralHelp();
      return kExitOk;
    }
    err_ << "hacctl: " << (parsed.ok() ? "no command given" : parsed.status().message())
         << "\n\n" << GeneralHelp();
    return kExitUsage;
  }
  if (words[0] == "help") {
    std::vector<std::string> topic(words.begin() + 1, words.end());
    for (const std::string& r : rest) {
      if (!r.empty() && r[0] != '-') topic.push_back(r);
    }
    if (topic.empty()) {
      out_ << GeneralHelp();
      return kExitOk;
    }
    if (const Command* c = FindCommand(absl::StrJoin(topic, " "))) {
      out_ << CommandHelp(*c);
      return kExitOk;
    }
    if (topic.size() == 1 && IsGroup(topic[0])) {
      out_ << GroupHelp(topic[0]);
      return kExitOk;
    }
    err_ << "hacctl: no command '" << absl::StrJoin(topic, " ")
         << "' (run 'hacctl help' for the list)\n";
    return kExitUsage;
  }
  if (words.size() == 1 && IsGroup(words[0]) && FindCommand(words[0]) == nullptr) {
    for (const std::string& r : rest) {
      if (r == "--help" || r == "-h") {
        out_ << GroupHelp(words[0]);
        return kExitOk;
      }
    }
    err_ << "hacctl: '" << words[0] << "' needs a subcommand: "
         << absl::StrJoin(Subcommands(words[0]), ", ") << " (e.g. 'hacctl " << words[0] << " "
         << Subcommands(words[0]).front() << " --help')\n";
    return kExitUsage;
  }
  const std::string name = absl::StrJoin(words, " ");
  const Command* command = FindCommand(name);
  if (command == nullptr) {
    err_ << "hacctl: unknown command '" << (IsGroup(words[0]) ? name : words[0])
         << "' (run 'hacctl help' for the list)\n";
    return kExitUsage;
  }

  std::vector<FlagSpec> flags = GlobalFlags();
  flags.insert(flags.end(), command->flags.begin(), command->flags.end());
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(flags, rest, command->name);
  if (!parsed.ok()) {
    err_ << "hacctl: " << parsed.status().message() << "\nusage: " << UsageLine(*command) << "\n";
    return kExitUsage;
  }
  if (parsed->IsSet("help")) {
    out_ << CommandHelp(*command);
    return kExitOk;
  }
  const size_t n = parsed->positionals().size();
  if (n < command->min_args || n > command->max_args) {
    err_ << "hacctl: " << command->name << ": "
         << (n < command->min_args ? "missing argument"
                                   : "unexpected argument '" + parsed->positionals()[command->max_args] + "'")
         << (command->name == "submit" ? " (a command to run goes after --)" : "")
         << "\nusage: " << UsageLine(*command) << "\n";
    return kExitUsage;
  }
  if (parsed->has_rest() && command->name != "submit") {
    err_ << "hacctl: " << command->name << " takes no arguments after --\nusage: "
         << UsageLine(*command) << "\n";
    return kExitUsage;
  }

  absl::StatusOr<ClientConfig> config = ResolveConfig(*parsed, env_);
  if (!config.ok()) {
    err_ << "hacctl: " << config.status().message() << "\n";
    return kExitUsage;
  }
  if (config->output == OutputFormat::kCsv && !command->csv) {
    err_ << "hacctl: " << command->name
         << " has no csv output (-o csv is for 'bill'); use -o table or -o json\n";
    return kExitUsage;
  }
  std::shared_ptr<grpc::Channel> channel;
  if (command->needs_server) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> made = channel_factory_(*config);
    if (!made.ok()) {
      err_ << "hacctl: " << made.status().message() << "\n";
      return kExitUsage;
    }
    channel = *std::move(made);
  }
  Session session(*std::move(config), std::move(channel), clock_, out_, err_);
  const int rc = command->handler(session, *parsed);
  out_.flush();
  return rc;
}

}  // namespace hac::cli
