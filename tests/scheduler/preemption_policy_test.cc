#include <catch2/catch.hpp>

#include "scheduler/preemption_policy.h"
#include "tests/scheduler/test_util.h"

namespace hac::scheduler {
namespace {

using namespace testing;

TEST_CASE("PreemptionPolicy chooses the fewest victims and requeues them") {
  auto s = Make("order = priority\naging_per_hour = 0\ndefault_grace_period = 20s");
  REQUIRE(s->AddNode(Node("n1", 4)).ok());
  REQUIRE(s->Submit(Job("low2", "t", 2, "gpu", 0, kT0)).ok());
  REQUIRE(s->Submit(Job("low1a", "t", 1, "gpu", 0, kT0 + absl::Seconds(1))).ok());
  REQUIRE(s->Submit(Job("low1b", "t", 1, "gpu", 0, kT0 + absl::Seconds(2))).ok());
  REQUIRE(Placed(s->Schedule(kT0 + absl::Seconds(3))).size() == 3);
  REQUIRE(s->Submit(Job("high", "u", 2, "gpu", 5, kT0 + absl::Seconds(4))).ok());
  auto d = s->Schedule(kT0 + absl::Seconds(5));
  // high needs 2: {low2} (one victim) beats {low1a, low1b} (two).
  auto victims = Preempted(d);
  REQUIRE(victims.size() == 1);
  CHECK(victims[0].attempt.value == "low2/1");
  CHECK(victims[0].for_job.value == "high");
  CHECK(victims[0].grace == absl::Seconds(20));
  CHECK(Reason(*s, "high") ==
        "waiting: preempting 1 lower priority attempt(s) (low2/1); starts when they exit");
  // While the victim exits, no second victim set is chosen.
  CHECK(s->Schedule(kT0 + absl::Seconds(6)).empty());
  // The victim exits and is requeued; high starts on its devices, low2 waits with a reason.
  REQUIRE(s->AttemptFinished(AttemptId{"low2/1"}, AttemptEnd::kRequeue).ok());
  auto d2 = s->Schedule(kT0 + absl::Seconds(25));
  CHECK(Placed(d2) == std::vector<std::string>{"high"});
  CHECK(FindPlace(d2, "high")->placement[0].device_indices == std::vector<int>{0, 1});
  CHECK(Reason(*s, "low2").find("waiting:") == 0);
  CHECK(s->pending_count() == 1);
}

TEST_CASE("PreemptionPolicy never preempts equal or higher priority work") {
  auto s = Make("order = priority\naging_per_hour = 0");
  REQUIRE(s->AddNode(Node("n1", 2)).ok());
  REQUIRE(s->Submit(Job("same", "t", 2, "gpu", 5, kT0)).ok());
  REQUIRE(Placed(s->Schedule(kT0)).size() == 1);
  REQUIRE(s->Submit(Job("other", "u", 2, "gpu", 5, kT0 + absl::Seconds(1))).ok());
  // Equal priority: no victims, it waits.
  CHECK(Preempted(s->Schedule(kT0 + absl::Seconds(2))).empty());
  CHECK(Reason(*s, "other").find("waiting: no node with 2 free gpu") == 0);
}

TEST_CASE("PreemptionPolicy spares an aged job from newer higher priority work") {
  auto s = Make("order = priority\naging_per_hour = 1");
  REQUIRE(s->AddNode(Node("n1", 1)).ok());
  REQUIRE(s->Submit(Job("old", "t", 1, "gpu", 0, kT0)).ok());
  // old waited 3h: level 3 when it started.
  REQUIRE(Placed(s->Schedule(kT0 + absl::Hours(3))).size() == 1);
  REQUIRE(s->Submit(Job("new", "u", 1, "gpu", 2, kT0 + absl::Hours(3))).ok());
  // new is priority 2 > 0, but old's aged level 3 > 2: no preemption.
  CHECK(Preempted(s->Schedule(kT0 + absl::Hours(3) + absl::Seconds(1))).empty());
}

TEST_CASE("PreemptionPolicy prefers the most recently started victim among equals") {
  ClusterModel cluster;
  TenantLedger ledger;
  AttemptTable attempts;
  SchedulerConfig config;
  config.aging_per_hour = 0;
  REQUIRE(cluster.AddNode(Node("n1", 2)).ok());
  auto run = [&](const std::string& id, absl::Time start) {
    Attempt a;
    a.id = AttemptId{id};
    a.start = start;
    a.expected_end = start + absl::Hours(5);
    a.device_count = 1;
    AttemptSlot slot = attempts.Add(a);
    attempts.Mutable(slot).devices.emplace_back(0, cluster.Allocate(0, 0, 1, slot));
  };
  run("early", kT0);
  run("late", kT0 + absl::Hours(1));
  PassContext ctx{kT0 + absl::Hours(2), cluster, ledger, attempts, config};
  JobRequest j = Job("j", "t", 1, "gpu", 1);
  auto v = PreemptionPolicy().SelectVictims(ctx, {&j, 0, 1}, true, j.alternatives[0], {0}, nullptr);
  REQUIRE(v.has_value());
  // Both free 1 device at priority 0; "late" loses 1h of work, "early" 2h: late.
  REQUIRE(v->victims.size() == 1);
  CHECK(attempts.Get(v->victims[0]).id.value == "late");
}

}  // namespace
}  // namespace hac::scheduler
