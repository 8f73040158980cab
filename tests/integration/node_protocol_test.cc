// hacd's side of the agent protocol, driven by a test client that speaks NodeService the way
// hac-agent does: a real hacd process, real gRPC streams.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <thread>


#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"
#include "hac/v1/billing.grpc.pb.h"
#include "hac/v1/nodes.grpc.pb.h"
#include "hac/v1/pools.grpc.pb.h"
#include "tests/integration/cluster.h"

namespace hac::testing {
namespace {

using google::protobuf::util::TimeUtil;
using Stream = grpc::ClientReaderWriter<hac::v1::AgentMessage, hac::v1::ServerMessage>;

// A node as hac-agent presents it: registered with a join token, then one session.
struct FakeAgent {
  std::string name;
  std::string token;
  std::unique_ptr<hac::v1::NodeService::Stub> stub;
  std::unique_ptr<grpc::ClientContext> ctx;
  std::unique_ptr<Stream> stream;

  FakeAgent(const Hacd& hacd, const std::string& join, const std::string& node, int npus)
      : name(node), stub(hac::v1::NodeService::NewStub(hacd.Channel())) {
    hac::v1::RegisterNodeRequest req;
    req.set_name(node);
    req.set_pool("npu-pool");
    for (int i = 0; i < npus; ++i) {
      hac::v1::Device* d = req.add_devices();
      d->set_index(static_cast<uint32_t>(i));
      d->set_device_class("npu");
      d->set_backend("sim-npu");
      d->set_model("sim-atom");
      d->set_uuid(absl::StrCat(node, "-", i));
      d->set_memory_bytes(uint64_t{16} << 30);
    }
    hac::v1::RegisterNodeResponse resp;
    auto c = AuthContext(join);
    grpc::Status s = stub->RegisterNode(c.get(), req, &resp);
    INFO(s.error_message());
    REQUIRE(s.ok());
    token = resp.node_token();
  }

  // Opens the session and sends the hello; returns the server's Reconcile.
  hac::v1::Reconcile Connect(const std::vector<hac::v1::RunningAttempt>& attempts = {}) {
    ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", "Bearer " + token);
    stream = stub->Session(ctx.get());
    hac::v1::AgentMessage hello;
    hello.mutable_hello()->set_node(name);
    for (const auto& a : attempts) *hello.mutable_hello()->add_attempts() = a;
    REQUIRE(stream->Write(hello));
    hac::v1::ServerMessage m = Next();
    REQUIRE(m.has_reconcile());
    return m.reconcile();
  }
  hac::v1::ServerMessage Next() {
    hac::v1::ServerMessage m;
    REQUIRE(stream->Read(&m));
    return m;
  }
  // The next message that is not a usage ack.
  hac::v1::ServerMessage NextControl() {
    for (;;) {
      hac::v1::ServerMessage m = Next();
      if (!m.has_usage_ack()) return m;
    }
  }
  void Status(const std::string& attempt, hac::v1::AttemptState state, int code = 0) {
    hac::v1::AgentMessage m;
    m.mutable_status()->set_attempt_id(attempt);
    m.mutable_status()->set_state(state);
    m.mutable_status()->mutable_exit()->set_code(code);
    REQUIRE(stream->Write(m));
  }
  void Usage(uint64_t seq, const std::string& attempt, int64_t alloc, int64_t active) {
    hac::v1::AgentMessage m;
    m.mutable_usage()->set_sequence(seq);
    hac::v1::UsageCounter* c = m.mutable_usage()->add_counters();
    c->set_attempt_id(attempt);
    c->set_device_index(0);
    c->set_allocated_ms(alloc);
    c->set_active_ms(active);
    REQUIRE(stream->Write(m));
  }
  void Close() {
    stream->WritesDone();
    ctx->TryCancel();
    stream.reset();
  }
};

// A join token minted by the admin with hacctl.
std::string NewJoinToken(const Hacd& hacd) {
  auto r = hacd.Hacctl(hacd.admin_token(), {"join-token", "create"});
  REQUIRE(r.exit_code == 0);
  return LineValue(r.out, "token: ");
}

std::string Submit(const Hacd& hacd, const std::string& token, int retries = 0) {
  auto r = hacd.Hacctl(token, {"submit", "--name", "t", "--device", "npu:1", "--max-retries",
                               std::to_string(retries), "--", "true"});
  REQUIRE(r.exit_code == 0);
  return r.out.substr(0, r.out.find('\n'));
}

TEST_CASE("An agent joins, runs an assignment and its reports drive the job to the end") {
  Hacd hacd({"--heartbeat-timeout=3s", "--schedule-tick=100ms"});
  REQUIRE(hacd.Start());
  const std::string join_token = NewJoinToken(hacd);
  const std::string tenant = hacd.CreateTenant("acme");

  FakeAgent agent(hacd, join_token, "n1", 2);
  hac::v1::Reconcile rec = agent.Connect();
  CHECK(rec.keep_attempt_ids_size() == 0);
  CHECK(rec.kill_attempt_ids_size() == 0);

  const std::string job = Submit(hacd, tenant);
  hac::v1::ServerMessage m = agent.NextControl();
  REQUIRE(m.has_assignment());
  const std::string attempt = m.assignment().attempt_id();
  CHECK(attempt == job + ".1");
  CHECK(m.assignment().device_indices_size() == 1);
  CHECK(m.assignment().spec().command().argv(0) == "true");
  CHECK(GetJob(hacd, tenant, job).state() == hac::v1::JOB_STATE_ASSIGNED);

  agent.Status(attempt, hac::v1::ATTEMPT_STATE_RUNNING);
  REQUIRE(PollUntil([&] { return GetJob(hacd, tenant, job).state() == hac::v1::JOB_STATE_RUNNING; },
                    absl::Seconds(10)));

  // Cumulative counters: duplicates and an older, reordered report change nothing.
  agent.Usage(1, attempt, 1000, 400);
  agent.Usage(3, attempt, 3000, 1200);
  agent.Usage(2, attempt, 2000, 800);
  agent.Usage(3, attempt, 3000, 1200);
  REQUIRE(PollUntil([&] {
    auto j = GetJob(hacd, tenant, job);
    return j.attempts_size() == 1 && j.attempts(0).usage_size() == 1 &&
           j.attempts(0).usage(0).allocated_ms() == 3000;
  }, absl::Seconds(10)));
  CHECK(GetJob(hacd, tenant, job).attempts(0).usage(0).active_ms() == 1200);
  // The ledger's rows hold the increases once: 3000 ms held, 1200 ms busy in all.
  {
    auto billing = hac::v1::BillingService::NewStub(hacd.Channel());
    hac::v1::GetUsageRequest req;
    hac::v1::GetUsageResponse usage;
    auto ctx = AuthContext(tenant);
    REQUIRE(billing->GetUsage(ctx.get(), req, &usage).ok());
    REQUIRE(usage.rows_size() == 1);
    CHECK(usage.rows(0).key() == job);
    CHECK(usage.rows(0).allocated_ms() == 3000);
    CHECK(usage.rows(0).active_ms() == 1200);
  }

  hac::v1::AgentMessage log;
  log.mutable_log()->set_attempt_id(attempt);
  log.mutable_log()->set_stream(hac::v1::LOG_STREAM_STDOUT);
  log.mutable_log()->set_offset(0);
  log.mutable_log()->set_data("hello from the job\n");
  REQUIRE(agent.stream->Write(log));
  REQUIRE(agent.stream->Write(log));  // a replay is stored once

  // The final status carries the final counters; they commit with it, before its ack. A counter
  // of a device the attempt does not hold is refused, one of another attempt ignored.
  {
    hac::v1::AgentMessage fin;
    hac::v1::AttemptStatus* st = fin.mutable_status();
    st->set_attempt_id(attempt);
    st->set_state(hac::v1::ATTEMPT_STATE_SUCCEEDED);
    st->mutable_exit()->set_code(0);
    auto add = [st](const std::string& id, uint32_t device, int64_t alloc, int64_t active) {
      hac::v1::UsageCounter* c = st->add_final_usage();
      c->set_attempt_id(id);
      c->set_device_index(device);
      c->set_allocated_ms(alloc);
      c->set_active_ms(active);
      c->set_final(true);
    };
    add(attempt, 0, 3500, 1500);
    add(attempt, 1, 9000, 9000);
    add(job + ".7", 0, 9000, 9000);
    REQUIRE(agent.stream->Write(fin));
  }
  m = agent.NextControl();
  REQUIRE(m.has_status_ack());
  CHECK(m.status_ack().attempt_id() == attempt);
  hac::v1::Job done = GetJob(hacd, tenant, job);
  CHECK(done.state() == hac::v1::JOB_STATE_SUCCEEDED);
  REQUIRE(done.attempts_size() == 1);
  CHECK(done.attempts(0).state() == hac::v1::ATTEMPT_STATE_SUCCEEDED);
  CHECK(done.attempts(0).nodes(0) == "n1");
  REQUIRE(done.attempts(0).usage_size() == 1);
  CHECK(done.attempts(0).usage(0).allocated_ms() == 3500);
  CHECK(done.attempts(0).usage(0).active_ms() == 1500);
  {
    auto billing = hac::v1::BillingService::NewStub(hacd.Channel());
    hac::v1::GetUsageRequest req;
    hac::v1::GetUsageResponse usage;
    auto ctx = AuthContext(tenant);
    REQUIRE(billing->GetUsage(ctx.get(), req, &usage).ok());
    REQUIRE(usage.rows_size() == 1);
    CHECK(usage.rows(0).allocated_ms() == 3500);
    CHECK(usage.rows(0).active_ms() == 1500);
  }

  auto logs = hacd.Hacctl(tenant, {"logs", job});
  CHECK(logs.exit_code == 0);
  CHECK(logs.out == "hello from the job\n");
  // Another tenant cannot read them.
  const std::string other = hacd.CreateTenant("other");
  auto peek = hacd.Hacctl(other, {"logs", job});
  CHECK(peek.exit_code == 1);
  CHECK(absl::StrContains(peek.err, "NOT_FOUND"));

  auto nodes = hacd.Hacctl(hacd.admin_token(), {"-o", "json", "nodes"});
  hac::v1::ListNodesResponse list;
  REQUIRE(google::protobuf::util::JsonStringToMessage(nodes.out, &list).ok());
  REQUIRE(list.nodes_size() == 1);
  CHECK(list.nodes(0).name() == "n1");
  CHECK(list.nodes(0).state() == hac::v1::NODE_STATE_READY);
  CHECK(list.nodes(0).devices_size() == 2);
}

TEST_CASE("A final status without a RUNNING one before it carries the attempt's start time") {
  Hacd hacd({"--schedule-tick=100ms"});
  REQUIRE(hacd.Start());
  const std::string join = NewJoinToken(hacd);
  const std::string tenant = hacd.CreateTenant("acme");
  FakeAgent n1(hacd, join, "n1", 1);
  n1.Connect();
  const std::string job = Submit(hacd, tenant);
  hac::v1::ServerMessage m = n1.NextControl();
  REQUIRE(m.has_assignment());
  const std::string attempt = m.assignment().attempt_id();
  hac::v1::Job assigned = GetJob(hacd, tenant, job);
  REQUIRE(assigned.state() == hac::v1::JOB_STATE_ASSIGNED);
  const int64_t assign_us = TimeUtil::TimestampToMicroseconds(assigned.attempts(0).assign_time());

  // What the agent sends when the job ended before its RUNNING status went out.
  hac::v1::AgentMessage fin;
  fin.mutable_status()->set_attempt_id(attempt);
  fin.mutable_status()->set_state(hac::v1::ATTEMPT_STATE_SUCCEEDED);
  fin.mutable_status()->mutable_exit()->set_message("exited 0");
  *fin.mutable_status()->mutable_start_time() = TimeUtil::MicrosecondsToTimestamp(assign_us + 1234);
  REQUIRE(n1.stream->Write(fin));
  m = n1.NextControl();
  REQUIRE(m.has_status_ack());
  hac::v1::Job done = GetJob(hacd, tenant, job);
  CHECK(done.state() == hac::v1::JOB_STATE_SUCCEEDED);
  REQUIRE(done.attempts_size() == 1);
  CHECK(done.attempts(0).state() == hac::v1::ATTEMPT_STATE_SUCCEEDED);
  CHECK(TimeUtil::TimestampToMicroseconds(done.attempts(0).start_time()) == assign_us + 1234);
}

TEST_CASE("A node acts only for itself: reports about another node's attempt are refused") {
  Hacd hacd({"--schedule-tick=100ms"});
  REQUIRE(hacd.Start());
  const std::string join = NewJoinToken(hacd);
  const std::string tenant = hacd.CreateTenant("acme");
  FakeAgent n1(hacd, join, "n1", 1);
  n1.Connect();
  const std::string job = Submit(hacd, tenant);
  hac::v1::ServerMessage m = n1.NextControl();
  REQUIRE(m.has_assignment());
  const std::string attempt = m.assignment().attempt_id();
  n1.Usage(1, attempt, 500, 100);

  FakeAgent n2(hacd, join, "n2", 1);
  n2.Connect();
  n2.Usage(1, attempt, 999999, 999999);        // not n2's attempt
  n2.Status(attempt, hac::v1::ATTEMPT_STATE_FAILED, 1);
  n1.Usage(2, attempt, 700, 150);               // n1's own, later
  REQUIRE(PollUntil([&] {
    auto j = GetJob(hacd, tenant, job);
    return j.attempts_size() == 1 && j.attempts(0).usage_size() == 1 &&
           j.attempts(0).usage(0).allocated_ms() == 700;
  }, absl::Seconds(10)));
  auto j = GetJob(hacd, tenant, job);
  CHECK(j.attempts(0).usage(0).active_ms() == 150);
  CHECK(j.state() == hac::v1::JOB_STATE_ASSIGNED);  // n2's FAILED changed nothing

  // A node credential cannot open another node's session.
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + n2.token);
  auto stream = n2.stub->Session(&ctx);
  hac::v1::AgentMessage hello;
  hello.mutable_hello()->set_node("n1");
  stream->Write(hello);
  stream->WritesDone();
  hac::v1::ServerMessage ignored;
  while (stream->Read(&ignored)) {
  }
  grpc::Status s = stream->Finish();
  CHECK(s.error_code() == grpc::StatusCode::PERMISSION_DENIED);
}

TEST_CASE("A node whose heartbeats stop is LOST and its attempt reruns elsewhere") {
  Hacd hacd({"--heartbeat-timeout=2s", "--schedule-tick=100ms"});
  REQUIRE(hacd.Start());
  const std::string join = NewJoinToken(hacd);
  const std::string tenant = hacd.CreateTenant("acme");
  FakeAgent n1(hacd, join, "n1", 1);
  n1.Connect();
  const std::string job = Submit(hacd, tenant, /*retries=*/1);
  hac::v1::ServerMessage m = n1.NextControl();
  REQUIRE(m.has_assignment());
  n1.Status(m.assignment().attempt_id(), hac::v1::ATTEMPT_STATE_RUNNING);
  REQUIRE(PollUntil([&] { return GetJob(hacd, tenant, job).state() == hac::v1::JOB_STATE_RUNNING; },
                    absl::Seconds(10)));

  FakeAgent n2(hacd, join, "n2", 1);
  n2.Connect();
  n1.Close();  // n1 goes silent
  m = n2.NextControl();
  REQUIRE(m.has_assignment());
  CHECK(m.assignment().attempt_id() == job + ".2");
  auto j = GetJob(hacd, tenant, job);
  REQUIRE(j.attempts_size() == 2);
  CHECK(j.attempts(0).state() == hac::v1::ATTEMPT_STATE_LOST);
  CHECK(absl::StrContains(j.attempts(0).message(), "n1 lost"));
  n2.Status(job + ".2", hac::v1::ATTEMPT_STATE_RUNNING);
  n2.Status(job + ".2", hac::v1::ATTEMPT_STATE_SUCCEEDED);
  REQUIRE(PollUntil(
      [&] { return GetJob(hacd, tenant, job).state() == hac::v1::JOB_STATE_SUCCEEDED; },
      absl::Seconds(10)));
}

TEST_CASE("After hacd restarts, a reconnecting agent keeps its running attempts") {
  Hacd hacd({"--heartbeat-timeout=30s", "--schedule-tick=100ms"});
  REQUIRE(hacd.Start());
  const std::string join = NewJoinToken(hacd);
  const std::string tenant = hacd.CreateTenant("acme");
  FakeAgent n1(hacd, join, "n1", 2);
  n1.Connect();
  const std::string job = Submit(hacd, tenant);
  hac::v1::ServerMessage m = n1.NextControl();
  REQUIRE(m.has_assignment());
  const std::string attempt = m.assignment().attempt_id();
  n1.Status(attempt, hac::v1::ATTEMPT_STATE_RUNNING);
  REQUIRE(PollUntil([&] { return GetJob(hacd, tenant, job).state() == hac::v1::JOB_STATE_RUNNING; },
                    absl::Seconds(10)));
  n1.Usage(1, attempt, 1000, 10);
  REQUIRE(PollUntil([&] {
    auto j = GetJob(hacd, tenant, job);
    return j.attempts_size() == 1 && j.attempts(0).usage_size() == 1;
  }, absl::Seconds(10)));

  hacd.Kill9();
  n1.stream.reset();
  REQUIRE(hacd.Start());
  n1.stub = hac::v1::NodeService::NewStub(hacd.Channel());
  hac::v1::RunningAttempt ra;
  ra.set_attempt_id(attempt);
  ra.set_state(hac::v1::ATTEMPT_STATE_RUNNING);
  ra.set_attempt_id(attempt);
  hac::v1::RunningAttempt stray;
  stray.set_attempt_id("j-999.1");
  stray.set_state(hac::v1::ATTEMPT_STATE_RUNNING);
  hac::v1::Reconcile rec = n1.Connect({ra, stray});
  REQUIRE(rec.keep_attempt_ids_size() == 1);
  CHECK(rec.keep_attempt_ids(0) == attempt);
  REQUIRE(rec.kill_attempt_ids_size() == 1);
  CHECK(rec.kill_attempt_ids(0) == "j-999.1");
  // Usage continues from where it was.
  n1.Usage(2, attempt, 2500, 20);
  n1.Status(attempt, hac::v1::ATTEMPT_STATE_SUCCEEDED);
  REQUIRE(PollUntil(
      [&] { return GetJob(hacd, tenant, job).state() == hac::v1::JOB_STATE_SUCCEEDED; },
      absl::Seconds(10)));
  auto j = GetJob(hacd, tenant, job);
  REQUIRE(j.attempts(0).usage_size() == 1);
  CHECK(j.attempts(0).usage(0).allocated_ms() == 2500);
  // The second job fits on the free device: nothing was double-booked after the restart.
  const std::string job2 = Submit(hacd, tenant);
  m = n1.NextControl();
  while (!m.has_assignment()) m = n1.NextControl();
  CHECK(m.assignment().job_id() == job2);
}

}  // namespace
}  // namespace hac::testing

namespace hac::testing {
namespace {

TEST_CASE("Quotas and scheduler configuration change without a restart, with reasons to act on") {
  Hacd hacd({"--schedule-tick=100ms"});
  REQUIRE(hacd.Start());
  const std::string join = NewJoinToken(hacd);
  const std::string tenant = hacd.CreateTenant("acme");
  REQUIRE(hacd.Hacctl(hacd.admin_token(), {"quota", "set", "acme", "npu", "1"}).exit_code == 0);
  FakeAgent n1(hacd, join, "n1", 4);
  n1.Connect();
  const std::string first = Submit(hacd, tenant);
  hac::v1::ServerMessage m = n1.NextControl();
  REQUIRE(m.has_assignment());
  CHECK(m.assignment().job_id() == first);
  const std::string second = Submit(hacd, tenant);
  // Quota 1 npu: the second waits, and says why.
  REQUIRE(PollUntil([&] {
    return absl::StrContains(GetJob(hacd, tenant, second).reason(), "quota");
  }, absl::Seconds(10)));
  CHECK(GetJob(hacd, tenant, second).state() == hac::v1::JOB_STATE_PENDING);

  // A bad configuration is refused with the key named, and changes nothing.
  auto bad = hacd.Hacctl(hacd.admin_token(), {"scheduler", "set", "-"}, "frobnicate = 1\n");
  CHECK(bad.exit_code == 1);
  CHECK(absl::StrContains(bad.err, "frobnicate"));
  // Raising the quota lets it run at once.
  REQUIRE(hacd.Hacctl(hacd.admin_token(), {"quota", "set", "acme", "npu", "2"}).exit_code == 0);
  m = n1.NextControl();
  REQUIRE(m.has_assignment());
  CHECK(m.assignment().job_id() == second);
  auto ok = hacd.Hacctl(hacd.admin_token(), {"scheduler", "set", "-"}, "placement = spread\n");
  CHECK(ok.exit_code == 0);
  auto shown = hacd.Hacctl(hacd.admin_token(), {"scheduler", "config"});
  CHECK(absl::StrContains(shown.out, "placement = spread"));
}

}  // namespace
}  // namespace hac::testing

namespace hac::testing {
namespace {

TEST_CASE("A dry run says where a job would go now, or why not, and submits nothing") {
  Hacd hacd({"--schedule-tick=100ms"});
  REQUIRE(hacd.Start());
  const std::string join = NewJoinToken(hacd);
  const std::string tenant = hacd.CreateTenant("acme");
  FakeAgent n1(hacd, join, "n1", 2);
  n1.Connect();
  REQUIRE(PollUntil([&] {
    auto r = hacd.Hacctl(tenant, {"-o", "json", "submit", "--dry-run", "--name", "d",
                                  "--device", "npu:2", "--", "true"});
    hac::v1::SubmitJobResponse resp;
    return r.exit_code == 0 &&
           google::protobuf::util::JsonStringToMessage(r.out, &resp).ok() &&
           resp.dry_run().placeable_now() && resp.dry_run().devices_size() == 2 &&
           resp.dry_run().devices(0).node() == "n1";
  }, absl::Seconds(10)));
  auto too_big = hacd.Hacctl(tenant, {"-o", "json", "submit", "--dry-run", "--name", "d",
                                      "--device", "npu:4", "--", "true"});
  REQUIRE(too_big.exit_code == 0);
  hac::v1::SubmitJobResponse resp;
  REQUIRE(google::protobuf::util::JsonStringToMessage(too_big.out, &resp).ok());
  CHECK_FALSE(resp.dry_run().placeable_now());
  INFO(resp.dry_run().reason());
  CHECK(absl::StrContains(resp.dry_run().reason(), "4"));
  CHECK(absl::StrContains(resp.dry_run().reason(), "largest: 2"));
  auto jobs = hacd.Hacctl(tenant, {"-o", "json", "jobs"});
  CHECK(absl::StripAsciiWhitespace(jobs.out) == "{}");
}

}  // namespace
}  // namespace hac::testing

namespace hac::testing {
namespace {

// Every pending job's reason, by job id, through ListJobs.
std::map<std::string, std::string> PendingReasons(const Hacd& hacd, const std::string& token) {
  auto stub = hac::v1::JobService::NewStub(hacd.Channel());
  std::map<std::string, std::string> out;
  hac::v1::ListJobsRequest req;
  req.set_page_size(1000);
  req.add_states(hac::v1::JOB_STATE_PENDING);
  for (;;) {
    hac::v1::ListJobsResponse resp;
    auto ctx = AuthContext(token);
    if (!stub->ListJobs(ctx.get(), req, &resp).ok()) return {};
    for (const hac::v1::Job& j : resp.jobs()) out[j.id()] = j.reason();
    if (resp.next_page_token().empty()) return out;
    req.set_page_token(resp.next_page_token());
  }
}

TEST_CASE("Pending reasons of a queue longer than one tick's share are all refreshed, in turns") {
  Hacd hacd({"--schedule-tick=100ms"});
  REQUIRE(hacd.Start());
  const std::string tenant = hacd.CreateTenant("acme");
  // More than the 4,096 reasons one tick refreshes besides the jobs new to the queue.
  constexpr int kJobs = 4500;
  std::vector<std::thread> clients;
  std::atomic<int> failed{0};
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      auto stub = hac::v1::JobService::NewStub(hacd.Channel());
      for (int i = c; i < kJobs; i += 4) {
        hac::v1::SubmitJobRequest req;
        req.mutable_spec()->set_name("queued");
        auto* d = req.mutable_spec()->add_devices();
        d->set_device_class("npu");
        d->set_count(1);
        req.mutable_spec()->mutable_workload()->set_name("train-mlp");
        hac::v1::SubmitJobResponse resp;
        auto ctx = AuthContext(tenant);
        if (!stub->SubmitJob(ctx.get(), req, &resp).ok()) failed.fetch_add(1);
      }
    });
  }
  for (std::thread& t : clients) t.join();
  REQUIRE(failed.load() == 0);

  // No node yet: every job soon says the scheduler's reason, not the one it was stored with.
  std::map<std::string, std::string> before;
  REQUIRE(PollUntil([&] {
    before = PendingReasons(hacd, tenant);
    if (before.size() != kJobs) return false;
    for (const auto& [id, reason] : before) {
      if (absl::StrContains(reason, "no node has joined the cluster yet")) return false;
    }
    return true;
  }, absl::Seconds(30)));
  const std::string no_node = before.begin()->second;
  INFO(no_node);

  // A node joins and takes 2 jobs: every other job's reason changes, more than one tick's share.
  const std::string join = NewJoinToken(hacd);
  FakeAgent n1(hacd, join, "n1", 2);
  n1.Connect();
  std::map<std::string, std::string> after;
  REQUIRE(PollUntil([&] {
    after = PendingReasons(hacd, tenant);
    if (after.size() != kJobs - 2) return false;
    for (const auto& [id, reason] : after) {
      if (reason == no_node) return false;
    }
    return true;
  }, absl::Seconds(30)));
  INFO(after.begin()->second);
  CHECK(absl::StrContains(after.begin()->second, "waiting"));
}

}  // namespace
}  // namespace hac::testing
