// End to end with real processes: hacd, several hac-agent processes driving emu-gpu and sim-npu
// devices, hacctl, and job processes linking libhacrt.
#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "hac/v1/billing.pb.h"
#include "tests/integration/cluster.h"

namespace hac::testing {
namespace {

std::string Submit(const Hacd& hacd, const std::string& token,
                   const std::vector<std::string>& args) {
  std::vector<std::string> all = {"submit", "--name", "e2e"};
  all.insert(all.end(), args.begin(), args.end());
  auto r = hacd.Hacctl(token, all);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return r.out.substr(0, r.out.find('\n'));
}

bool WaitState(const Hacd& hacd, const std::string& token, const std::string& id,
               hac::v1::JobState state, absl::Duration timeout = absl::Seconds(120)) {
  return PollUntil([&] { return GetJob(hacd, token, id).state() == state; }, timeout);
}

// A process that is gone or a zombie (nobody may reap orphans in a container).
bool Gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

pid_t ReadPid(const std::string& path) {
  std::ifstream in(path);
  pid_t pid = 0;
  in >> pid;
  return pid;
}

TEST_CASE("Twenty mixed jobs across GPU and NPU nodes all succeed with logs and usage") {
  Hacd hacd({"--schedule-tick=100ms"});
  REQUIRE(hacd.Start());
  Agent n1(hacd, "n1", "npu", "sim-npu:2"), n2(hacd, "n2", "npu", "sim-npu:2");
  Agent g1(hacd, "g1", "gpu", "emu-gpu:2");
  REQUIRE((n1.Start() && n2.Start() && g1.Start()));
  const std::string tenant = hacd.CreateTenant("acme");

  std::vector<std::string> trains, all;
  for (int i = 0; i < 5; ++i) {
    trains.push_back(Submit(hacd, tenant, {"--device", "npu:1", "--workload", "train-mlp", "--",
                                           "--steps=60", "--log_every=20"}));
    trains.push_back(Submit(hacd, tenant, {"--device", "gpu:1", "--workload", "train-mlp", "--",
                                           "--steps=60", "--log_every=20"}));
    all.push_back(Submit(hacd, tenant, {"--device", "npu:1", "--", "sh", "-c",
                                        "echo job $HAC_JOB_ID on $HAC_VISIBLE_DEVICES"}));
    all.push_back(Submit(hacd, tenant,
                         {"--device", "npu:2", "--device", "gpu:1", "--", "true"}));
  }
  all.insert(all.end(), trains.begin(), trains.end());
  REQUIRE(all.size() == 20);
  for (const std::string& id : all) {
    INFO(id << ": " << GetJob(hacd, tenant, id).reason());
    CHECK(WaitState(hacd, tenant, id, hac::v1::JOB_STATE_SUCCEEDED));
  }
  for (const std::string& id : trains) {
    hac::v1::Job job = GetJob(hacd, tenant, id);
    REQUIRE(job.attempts_size() == 1);
    REQUIRE(job.attempts(0).usage_size() == 1);
    CHECK(job.attempts(0).usage(0).allocated_ms() > 0);
    CHECK(job.attempts(0).usage(0).active_ms() > 0);
    CHECK(job.attempts(0).usage(0).active_ms() <= job.attempts(0).usage(0).allocated_ms());
    auto logs = hacd.Hacctl(tenant, {"logs", id});
    CHECK(absl::StrContains(logs.out, "\"passed\":true"));
  }
  auto echo = hacd.Hacctl(tenant, {"logs", all[0]});
  CHECK(absl::StrContains(echo.out, "job " + all[0] + " on /"));
  CHECK(absl::StrContains(echo.out, ".state"));
}

TEST_CASE("No device is given to two running attempts, even under concurrency") {
  Hacd hacd({"--schedule-tick=50ms"});
  REQUIRE(hacd.Start());
  Agent n1(hacd, "n1", "npu", "sim-npu:2");
  REQUIRE(n1.Start());
  const std::string tenant = hacd.CreateTenant("acme");
  const std::string record = hacd.dir().File("intervals.txt");
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) {
    ids.push_back(Submit(
        hacd, tenant,
        {"--device", "npu:1", "--", "sh", "-c",
         absl::StrCat("echo \"$HAC_VISIBLE_DEVICES start $(date +%s%N)\" >> ", record,
                      "; sleep 0.3; echo \"$HAC_VISIBLE_DEVICES end $(date +%s%N)\" >> ",
                      record)}));
  }
  for (const std::string& id : ids) {
    CHECK(WaitState(hacd, tenant, id, hac::v1::JOB_STATE_SUCCEEDED));
  }
  // Per device, [start, end] intervals never overlap.
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> by_device;
  std::map<std::string, int64_t> open;
  std::ifstream in(record);
  std::string dev, what;
  int64_t t = 0;
  int lines = 0;
  while (in >> dev >> what >> t) {
    ++lines;
    if (what == "start") {
      open[dev] = t;
    } else {
      by_device[dev].push_back({open[dev], t});
    }
  }
  CHECK(lines == 16);
  CHECK(by_device.size() == 2);
  for (auto& [d, intervals] : by_device) {
    std::sort(intervals.begin(), intervals.end());
    for (size_t i = 1; i < intervals.size(); ++i) {
      INFO(d);
      CHECK(intervals[i].first >= intervals[i - 1].second);
    }
  }
}

TEST_CASE("Cancelling a running job stops its whole process group and frees its device") {
  Hacd hacd({"--schedule-tick=50ms", "--cancel-grace=2s"});
  REQUIRE(hacd.Start());
  Agent n1(hacd, "n1", "npu", "sim-npu:1");
  REQUIRE(n1.Start());
  const std::string tenant = hacd.CreateTenant("acme");
  const std::string pid_file = hacd.dir().File("pid"), child_file = hacd.dir().File("child");
  const std::string job = Submit(
      hacd, tenant,
      {"--device", "npu:1", "--", "sh", "-c",
       absl::StrCat("echo $$ > ", pid_file, "; sleep 300 & echo $! > ", child_file, "; wait")});
  REQUIRE(WaitState(hacd, tenant, job, hac::v1::JOB_STATE_RUNNING));
  REQUIRE(PollUntil([&] { return ReadPid(child_file) > 0; }, absl::Seconds(30)));
  const pid_t shell = ReadPid(pid_file), sleeper = ReadPid(child_file);
  CHECK_FALSE(Gone(sleeper));

  REQUIRE(hacd.Hacctl(tenant, {"cancel", job}).exit_code == 0);
  CHECK(PollUntil([&] { return Gone(shell) && Gone(sleeper); }, absl::Seconds(30)));
  CHECK(PollUntil([&] {
    auto j = GetJob(hacd, tenant, job);
    return j.attempts_size() == 1 && j.attempts(0).state() == hac::v1::ATTEMPT_STATE_CANCELLED;
  }, absl::Seconds(30)));
  CHECK(GetJob(hacd, tenant, job).state() == hac::v1::JOB_STATE_CANCELLED);
  // The device is free again: the next job that needs it runs.
  const std::string next = Submit(hacd, tenant, {"--device", "npu:1", "--", "true"});
  CHECK(WaitState(hacd, tenant, next, hac::v1::JOB_STATE_SUCCEEDED));
}

TEST_CASE("kill -9 of an agent mid-job: its attempt is lost and reruns elsewhere") {
  Hacd hacd({"--schedule-tick=50ms", "--heartbeat-timeout=2s"});
  REQUIRE(hacd.Start());
  Agent n1(hacd, "n1", "npu", "sim-npu:1");
  REQUIRE(n1.Start());
  const std::string tenant = hacd.CreateTenant("acme");
  const std::string job = Submit(hacd, tenant, {"--device", "npu:1", "--max-retries", "1", "--",
                                                "sh", "-c", "sleep 2; echo done"});
  REQUIRE(WaitState(hacd, tenant, job, hac::v1::JOB_STATE_RUNNING));
  // It has reported usage before its node dies.
  REQUIRE(PollUntil([&] {
    auto a = GetJob(hacd, tenant, job);
    return a.attempts_size() == 1 && a.attempts(0).usage_size() == 1 &&
           a.attempts(0).usage(0).allocated_ms() >= 300;
  }, absl::Seconds(30)));
  Agent n2(hacd, "n2", "npu", "sim-npu:1");
  REQUIRE(n2.Start());
  n1.Kill9();
  REQUIRE(WaitState(hacd, tenant, job, hac::v1::JOB_STATE_SUCCEEDED, absl::Seconds(60)));
  hac::v1::Job j = GetJob(hacd, tenant, job);
  REQUIRE(j.attempts_size() == 2);
  CHECK(j.attempts(0).state() == hac::v1::ATTEMPT_STATE_LOST);
  CHECK(j.attempts(0).nodes(0) == "n1");
  CHECK(j.attempts(1).state() == hac::v1::ATTEMPT_STATE_SUCCEEDED);
  CHECK(j.attempts(1).nodes(0) == "n2");
  auto nodes = hacd.Hacctl(hacd.admin_token(), {"nodes"});
  CHECK(absl::StrContains(nodes.out, "LOST"));
  // The lost attempt is billed to its last report, the rerun for all it used: the job's usage
  // in the ledger is exactly the two attempts' last counters.
  REQUIRE(j.attempts(0).usage_size() == 1);
  const int64_t lost_ms = j.attempts(0).usage(0).allocated_ms();
  CHECK(lost_ms >= 300);
  REQUIRE(PollUntil([&] {
    hac::v1::Job now = GetJob(hacd, tenant, job);
    if (now.attempts(1).usage_size() != 1) return false;
    auto usage = hacd.Hacctl(tenant, {"usage", "--by", "job", "-o", "json"});
    hac::v1::GetUsageResponse resp;
    if (usage.exit_code != 0 ||
        !google::protobuf::util::JsonStringToMessage(usage.out, &resp).ok() ||
        resp.rows_size() != 1) {
      return false;
    }
    return resp.rows(0).key() == job &&
           resp.rows(0).allocated_ms() == lost_ms + now.attempts(1).usage(0).allocated_ms();
  }, absl::Seconds(30)));
}

TEST_CASE("kill -9 of hacd mid-run: agents reconnect, the job completes, usage continues") {
  Hacd hacd({"--schedule-tick=50ms", "--heartbeat-timeout=30s"});
  REQUIRE(hacd.Start());
  Agent n1(hacd, "n1", "npu", "sim-npu:1");
  REQUIRE(n1.Start());
  const std::string tenant = hacd.CreateTenant("acme");
  const std::string job =
      Submit(hacd, tenant, {"--device", "npu:1", "--", "sh", "-c", "sleep 5; echo finished"});
  int64_t before = 0;
  REQUIRE(PollUntil([&] {
    auto j = GetJob(hacd, tenant, job);
    if (j.attempts_size() != 1 || j.attempts(0).usage_size() != 1) return false;
    before = j.attempts(0).usage(0).allocated_ms();
    return before >= 1000;
  }, absl::Seconds(60)));
  hacd.Kill9();
  REQUIRE(hacd.Start());
  REQUIRE(WaitState(hacd, tenant, job, hac::v1::JOB_STATE_SUCCEEDED, absl::Seconds(60)));
  hac::v1::Job j = GetJob(hacd, tenant, job);
  REQUIRE(j.attempts_size() == 1);  // the same attempt went on: nothing was rerun
  REQUIRE(j.attempts(0).usage_size() == 1);
  CHECK(j.attempts(0).usage(0).allocated_ms() > before);
  CHECK(j.attempts(0).usage(0).allocated_ms() >= 4500);
  auto logs = hacd.Hacctl(tenant, {"logs", job});
  CHECK(absl::StrContains(logs.out, "finished"));
}

}  // namespace
}  // namespace hac::testing
