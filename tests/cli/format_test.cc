#include "cli/format.h"

#include <limits>

#include <catch2/catch.hpp>

namespace hac::cli {
namespace {

google::protobuf::Timestamp Ts(int64_t seconds) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  return ts;
}

TEST_CASE("FormatMicros prints six decimals and thousands separators with integers only") {
  CHECK(FormatMicros(12'345'000'000, "KRW") == "12,345.000000 KRW");
  CHECK(FormatMicros(0, "KRW") == "0.000000 KRW");
  CHECK(FormatMicros(1, "KRW") == "0.000001 KRW");
  CHECK(FormatMicros(999'999, "") == "0.999999");
  CHECK(FormatMicros(1'000'000, "USD") == "1.000000 USD");
  CHECK(FormatMicros(-1'500'000, "KRW") == "-1.500000 KRW");
  CHECK(FormatMicros(-1, "KRW") == "-0.000001 KRW");
  CHECK(FormatMicros(123'456'789'012'345'678, "KRW") == "123,456,789,012.345678 KRW");
  CHECK(FormatMicros(std::numeric_limits<int64_t>::max(), "KRW") ==
        "9,223,372,036,854.775807 KRW");
  CHECK(FormatMicros(std::numeric_limits<int64_t>::min(), "KRW") ==
        "-9,223,372,036,854.775808 KRW");
}

TEST_CASE("ToCanonicalJson prints int64 as strings, enums by name, and omits defaults") {
  hac::v1::Job job;
  job.set_id("j-1");
  job.set_state(hac::v1::JOB_STATE_RUNNING);
  job.mutable_create_time()->set_seconds(1'700'000'000);
  auto* usage = job.add_attempts()->add_usage();
  usage->set_allocated_ms(9'007'199'254'740'993);  // Not representable as a double.
  auto json = ToCanonicalJson(job);
  REQUIRE(json.ok());
  CHECK(*json ==
        R"({"id":"j-1","state":"JOB_STATE_RUNNING","createTime":"2023-11-14T22:13:20Z",)"
        R"("attempts":[{"usage":[{"allocatedMs":"9007199254740993"}]}]})");
}

TEST_CASE("ToCanonicalJson keeps a dry run's cost exact as a string") {
  hac::v1::SubmitJobResponse resp;
  resp.mutable_dry_run()->set_estimated_cost_micros(12'345'000'000);
  resp.mutable_dry_run()->set_currency("KRW");
  CHECK(ToCanonicalJson(resp).value() ==
        R"({"dryRun":{"estimatedCostMicros":"12345000000","currency":"KRW"}})");
}

TEST_CASE("Table right-aligns the columns it is told to, header included") {
  Table t({"KEY", "AMOUNT", "NOTE"});
  t.RightAlign(1);
  t.AddRow({"a", "1.000000", "x"});
  t.AddRow({"bb", "1,234.500000"});
  CHECK(t.Render() ==
        "KEY        AMOUNT  NOTE\n"
        "a        1.000000  x\n"
        "bb   1,234.500000\n");
}

TEST_CASE("Table aligns columns two spaces apart without trailing spaces") {
  Table t({"ID", "NAME", "STATE"});
  t.AddRow({"j-1", "a-long-name", "RUNNING"});
  t.AddRow({"j-10", "x", ""});
  CHECK(t.Render() ==
        "ID    NAME         STATE\n"
        "j-1   a-long-name  RUNNING\n"
        "j-10  x\n");
}

TEST_CASE("Enum names lose their prefixes and ParseJobState accepts any case") {
  CHECK(JobStateName(hac::v1::JOB_STATE_SUCCEEDED) == "SUCCEEDED");
  CHECK(AttemptStateName(hac::v1::ATTEMPT_STATE_PREEMPTED) == "PREEMPTED");
  CHECK(NodeStateName(hac::v1::NODE_STATE_CORDONED) == "CORDONED");
  CHECK(RoleName(hac::v1::ROLE_TENANT) == "TENANT");
  CHECK(ParseJobState("running").value() == hac::v1::JOB_STATE_RUNNING);
  CHECK(ParseJobState("JOB_STATE_FAILED").value() == hac::v1::JOB_STATE_FAILED);
  auto bad = ParseJobState("done");
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.status().message()).rfind("--state 'done': expected pending", 0) == 0);
  CHECK_FALSE(ParseJobState("unspecified").ok());
}

TEST_CASE("FormatAge and FormatTimestamp give short human forms") {
  CHECK(FormatAge(absl::Seconds(45)) == "45s");
  CHECK(FormatAge(absl::Seconds(125)) == "2m");
  CHECK(FormatAge(absl::Hours(5)) == "5h");
  CHECK(FormatAge(absl::Hours(50)) == "2d");
  CHECK(FormatAge(-absl::Seconds(3)) == "0s");
  CHECK(FormatTimestamp(Ts(1'700'000'000)) == "2023-11-14T22:13:20Z");
  CHECK(FormatTimestamp(google::protobuf::Timestamp()) == "-");
}

TEST_CASE("DeviceRequestsSummary writes alternatives in --device syntax") {
  hac::v1::JobSpec spec;
  auto* a = spec.add_devices();
  a->set_device_class("npu");
  a->set_count(2);
  auto* b = spec.add_devices();
  b->set_device_class("gpu");
  b->set_count(4);
  b->set_model("emu-a100");
  b->set_nodes(2);
  CHECK(DeviceRequestsSummary(spec) == "npu:2 | gpu:4:emu-a100 x2 nodes");
  CHECK(DeviceRequestsSummary(hac::v1::JobSpec()) == "-");
}

TEST_CASE("NodeDevicesSummary counts devices per model and the free ones") {
  hac::v1::Node node;
  for (int i = 0; i < 4; ++i) {
    auto* d = node.add_devices();
    d->set_device_class("npu");
    d->set_model("sim-atom");
    d->set_health(hac::v1::DEVICE_HEALTH_HEALTHY);
    if (i == 0) d->set_attempt_id("j-1.1");
  }
  auto* gpu = node.add_devices();
  gpu->set_device_class("gpu");
  gpu->set_model("emu-a100");
  gpu->set_health(hac::v1::DEVICE_HEALTH_UNHEALTHY);
  CHECK(NodeDevicesSummary(node) == "4 npu sim-atom (free 3), 1 gpu emu-a100 (free 0)");
}

TEST_CASE("JobsTable and NodesTable show one aligned row per object") {
  hac::v1::Job job;
  job.set_id("j-7");
  job.set_tenant("acme");
  job.mutable_spec()->set_name("train");
  auto* d = job.mutable_spec()->add_devices();
  d->set_device_class("gpu");
  d->set_count(1);
  job.set_state(hac::v1::JOB_STATE_PENDING);
  job.set_reason("waiting: no node with 1 free gpu");
  *job.mutable_create_time() = Ts(1'700'000'000);
  const absl::Time now = absl::FromUnixSeconds(1'700'000'090);
  CHECK(JobsTable({job}, now) ==
        "ID   TENANT  NAME   STATE    DEVICES  AGE  REASON\n"
        "j-7  acme    train  PENDING  gpu:1    1m   waiting: no node with 1 free gpu\n");

  hac::v1::Node node;
  node.set_name("n1");
  node.set_pool("npu-pool");
  node.set_state(hac::v1::NODE_STATE_READY);
  auto* dev = node.add_devices();
  dev->set_device_class("npu");
  dev->set_model("sim-atom");
  *node.mutable_last_heartbeat() = Ts(1'700'000'087);
  CHECK(NodesTable({node}, now) ==
        "NAME  POOL      STATE  DEVICES                  LAST HEARTBEAT\n"
        "n1    npu-pool  READY  1 npu sim-atom (free 1)  3s ago\n");
}

TEST_CASE("WatchLine is TIME ID STATE REASON") {
  hac::v1::Job job;
  job.set_id("j-3");
  job.set_state(hac::v1::JOB_STATE_FAILED);
  job.set_reason("exited 1");
  *job.mutable_update_time() = Ts(1'700'000'000);
  CHECK(WatchLine(job) == "2023-11-14T22:13:20Z j-3 FAILED exited 1");
}

TEST_CASE("JobDetail lists the spec, the state and each attempt with its usage") {
  hac::v1::Job job;
  job.set_id("j-9");
  job.set_state(hac::v1::JOB_STATE_SUCCEEDED);
  job.mutable_spec()->mutable_workload()->set_name("gemm");
  job.set_attempt_count(1);
  auto* a = job.add_attempts();
  a->set_number(1);
  a->set_id("j-9.1");
  a->set_state(hac::v1::ATTEMPT_STATE_SUCCEEDED);
  a->add_nodes("n1");
  a->mutable_exit()->set_message("exited 0");
  auto* u = a->add_usage();
  u->mutable_device()->set_node("n1");
  u->mutable_device()->set_index(2);
  u->set_allocated_ms(1500);
  u->set_active_ms(700);
  const std::string text = JobDetail(job);
  CHECK(text.find("id:           j-9\n") != std::string::npos);
  CHECK(text.find("state:        SUCCEEDED\n") != std::string::npos);
  CHECK(text.find("run:          workload gemm\n") != std::string::npos);
  CHECK(text.find("attempt 1 (j-9.1): SUCCEEDED\n") != std::string::npos);
  CHECK(text.find("  exit:     exited 0\n") != std::string::npos);
  CHECK(text.find("  n1/2    1500          700\n") != std::string::npos);
}

TEST_CASE("DryRunText shows placement, start and the most cost in currency units") {
  hac::v1::DryRunResult r;
  r.set_placeable_now(false);
  r.set_reason("waiting: quota");
  r.set_estimated_cost_micros(12'345'000'000);
  r.set_currency("KRW");
  const std::string text = DryRunText(r);
  CHECK(text.find("placeable now:   no\n") != std::string::npos);
  CHECK(text.find("reason:          waiting: quota\n") != std::string::npos);
  CHECK(text.find("estimated cost:  at most 12,345.000000 KRW (all devices held and busy for the "
                  "max runtime)\n") != std::string::npos);
  // No currency: the server had no price, so there is no estimate (not "0.000000").
  CHECK(DryRunText(hac::v1::DryRunResult()).find("estimated cost:  -\n") != std::string::npos);
  hac::v1::DryRunResult free;
  free.set_currency("KRW");
  CHECK(DryRunText(free).find("estimated cost:  at most 0.000000 KRW (") != std::string::npos);
}

TEST_CASE("FormatServerError adds a hint a person can act on") {
  CHECK(FormatServerError(absl::UnavailableError("connection refused"), "10.0.0.1:7070") ==
        "hacctl: UNAVAILABLE: connection refused\n"
        "hint: cannot reach hacd at 10.0.0.1:7070: is it running? set --server or HAC_SERVER\n");
  CHECK(FormatServerError(absl::UnauthenticatedError("no token"), "a:1")
            .find("hint: token missing or invalid: set --token or HAC_TOKEN") != std::string::npos);
  CHECK(FormatServerError(absl::PermissionDeniedError("admin only"), "a:1")
            .find("hint: your token's role may not do this") != std::string::npos);
  CHECK(FormatServerError(absl::NotFoundError("job j-1"), "a:1")
            .rfind("hacctl: NOT_FOUND: job j-1\nhint: ", 0) == 0);
  CHECK(FormatServerError(absl::InvalidArgumentError("spec.name: too long"), "a:1") ==
        "hacctl: INVALID_ARGUMENT: spec.name: too long\n");
}

}  // namespace
}  // namespace hac::cli
