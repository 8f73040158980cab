// An agent killed before hacd acknowledged how its attempts ended: with the final statuses kept
// in <state-dir>/finished/, the restarted agent reports them and the jobs end as they really did,
// with their exit codes and final usage, instead of LOST.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "agent/final_status_store.h"
#include "tests/integration/cluster.h"

namespace hac::testing {
namespace {

const absl::Duration kWait = absl::Seconds(60);

std::string Submit(const Hacd& hacd, const std::string& token, const std::string& script) {
  CommandResult r = hacd.Hacctl(token, {"submit", "--name", "restart", "--device", "npu:1",
                                        "--max-retries", "0", "--", "sh", "-c", script});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return r.out.substr(0, r.out.find('\n'));
}

TEST_CASE("Jobs that end while hacd is down and whose agent is then killed keep their exit") {
  // Long enough that the node is not declared lost while both processes are down.
  Hacd hacd({"--schedule-tick=50ms", "--heartbeat-timeout=120s"});
  REQUIRE(hacd.Start());
  Agent n1(hacd, "n1", "npu", "sim-npu:2");
  REQUIRE(n1.Start());
  const std::string tenant = hacd.CreateTenant("acme");
  REQUIRE_FALSE(tenant.empty());
  // Both jobs wait for a file the test creates once hacd is gone, then run one more second.
  const std::string go = hacd.dir().File("go");
  const std::string wait_for_go = absl::StrCat("while [ ! -e ", go, " ]; do sleep 0.05; done; ");
  const std::string ok = Submit(hacd, tenant, wait_for_go + "sleep 1; exit 0");
  const std::string bad = Submit(hacd, tenant, wait_for_go + "sleep 1; exit 3");

  // Running, with at least one usage report each, all committed in hacd.
  int64_t ok_before = 0, bad_before = 0;
  REQUIRE(PollUntil(
      [&] {
        hac::v1::Job a = GetJob(hacd, tenant, ok), b = GetJob(hacd, tenant, bad);
        if (a.state() != hac::v1::JOB_STATE_RUNNING || b.state() != hac::v1::JOB_STATE_RUNNING ||
            a.attempts_size() != 1 || b.attempts_size() != 1 ||
            a.attempts(0).usage_size() != 1 || b.attempts(0).usage_size() != 1) {
          return false;
        }
        ok_before = a.attempts(0).usage(0).allocated_ms();
        bad_before = b.attempts(0).usage(0).allocated_ms();
        return ok_before > 0 && bad_before > 0;
      },
      kWait));

  hacd.Kill9();
  std::ofstream(go).close();
  // Both end on the agent while nobody can acknowledge them: their statuses are on disk.
  const std::string finished = n1.state_dir() + "/finished";
  // Whole records only: the journal as a restarted agent would read it.
  std::vector<std::string> both = {ok + ".1", bad + ".1"};
  std::sort(both.begin(), both.end());
  REQUIRE(PollUntil([&] { return hac::agent::FinalStatusStore::ListSaved(finished) == both; },
                    kWait));
  n1.Kill9();

  REQUIRE(hacd.Start());
  REQUIRE(n1.Start());
  REQUIRE(PollUntil(
      [&] {
        return GetJob(hacd, tenant, ok).state() == hac::v1::JOB_STATE_SUCCEEDED &&
               GetJob(hacd, tenant, bad).state() == hac::v1::JOB_STATE_FAILED;
      },
      kWait));
  hac::v1::Job a = GetJob(hacd, tenant, ok);
  REQUIRE(a.attempts_size() == 1);  // nothing was rerun
  CHECK(a.attempts(0).state() == hac::v1::ATTEMPT_STATE_SUCCEEDED);
  CHECK(a.attempts(0).exit().code() == 0);
  hac::v1::Job b = GetJob(hacd, tenant, bad);
  REQUIRE(b.attempts_size() == 1);
  CHECK(b.attempts(0).state() == hac::v1::ATTEMPT_STATE_FAILED);
  CHECK(b.attempts(0).exit().code() == 3);
  CHECK(b.attempts(0).exit().message() == "exited 3");
  // The final counters, read after the second the jobs ran with hacd down, arrived too.
  REQUIRE(PollUntil(
      [&] {
        hac::v1::Job x = GetJob(hacd, tenant, ok), y = GetJob(hacd, tenant, bad);
        return x.attempts_size() == 1 && y.attempts_size() == 1 &&
               x.attempts(0).usage_size() == 1 && y.attempts(0).usage_size() == 1 &&
               x.attempts(0).usage(0).allocated_ms() >= ok_before + 1000 &&
               y.attempts(0).usage(0).allocated_ms() >= bad_before + 1000;
      },
      kWait));
  // Acknowledged, so forgotten on the node.
  CHECK(PollUntil([&] { return hac::agent::FinalStatusStore::ListSaved(finished).empty(); },
                  kWait));
}

}  // namespace
}  // namespace hac::testing
