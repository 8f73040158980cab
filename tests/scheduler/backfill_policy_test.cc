#include <catch2/catch.hpp>

#include "scheduler/backfill_policy.h"
#include "tests/scheduler/test_util.h"

namespace hac::scheduler {
namespace {

using namespace testing;

TEST_CASE("BackfillPolicy reserves for the blocked head and backfills only jobs ending before") {
  auto s = Make("order = priority\npreemption = off\nbackfill = on");
  REQUIRE(s->AddNode(Node("n1", 4)).ok());
  REQUIRE(s->Submit(Job("running", "t", 2, "gpu", 0, kT0, absl::Hours(1))).ok());
  REQUIRE(Placed(s->Schedule(kT0)) == std::vector<std::string>{"running"});
  const absl::Time t1 = kT0 + absl::Seconds(1);
  REQUIRE(s->Submit(Job("head", "t", 4, "gpu", 0, t1, absl::Hours(1))).ok());
  REQUIRE(s->Submit(Job("long", "t", 2, "gpu", 0, t1 + absl::Seconds(1), absl::Hours(2))).ok());
  REQUIRE(s->Submit(Job("short", "t", 2, "gpu", 0, t1 + absl::Seconds(2), absl::Minutes(30))).ok());
  auto d = s->Schedule(t1 + absl::Seconds(3));
  // head needs 4; "running" frees 2 at T0+1h: reservation n1 at T0+1h.
  // long (2h) would end after it: waits. short (30 min) ends before it: backfilled.
  CHECK(Placed(d) == std::vector<std::string>{"short"});
  REQUIRE(s->last_reservation().has_value());
  CHECK(s->last_reservation()->first.value == "head");
  CHECK(s->last_reservation()->second == kT0 + absl::Hours(1));
  CHECK(Reason(*s, "head") ==
        "waiting: no node with 4 free gpu (largest free: 2); next in line: reserved n1 from " +
            FormatReasonTime(kT0 + absl::Hours(1)) + " (estimated start)");
  CHECK(Reason(*s, "long") == "waiting: free devices are reserved for job head from " +
                                  FormatReasonTime(kT0 + absl::Hours(1)) +
                                  " and this job's max runtime ends after that");
}

TEST_CASE("BackfillPolicy lets long jobs use nodes the reservation does not need") {
  auto s = Make("order = priority\npreemption = off");
  REQUIRE(s->AddNode(Node("n1", 4)).ok());
  REQUIRE(s->AddNode(Node("n2", 2)).ok());
  REQUIRE(s->Submit(Job("running", "t", 2, "gpu", 0, kT0, absl::Hours(1))).ok());
  REQUIRE(s->Submit(Job("filler", "t", 2, "gpu", 0, kT0 + absl::Milliseconds(1), absl::Hours(1))).ok());
  // running -> n2 (best fit: 2 free), filler -> n1 (2 of 4).
  REQUIRE(Placed(s->Schedule(kT0)).size() == 2);
  const absl::Time t1 = kT0 + absl::Seconds(1);
  REQUIRE(s->AttemptFinished(AttemptId{"running/1"}, AttemptEnd::kDone).ok());
  REQUIRE(s->Submit(Job("head", "t", 4, "gpu", 0, t1, absl::Hours(1))).ok());
  REQUIRE(s->Submit(Job("long", "t", 2, "gpu", 0, t1 + absl::Seconds(1), absl::Hours(5))).ok());
  auto d = s->Schedule(t1 + absl::Seconds(2));
  // head reserves n1 (filler, placed at T0, ends at T0+1h); long goes to n2, which the
  // reservation does not need.
  REQUIRE(FindPlace(d, "long") != nullptr);
  CHECK(FindPlace(d, "long")->placement[0].node.value == "n2");
  CHECK(s->last_reservation()->second == kT0 + absl::Hours(1));
}

TEST_CASE("BackfillPolicy estimates the start of a gang from the release profile") {
  ClusterModel cluster;
  TenantLedger ledger;
  AttemptTable attempts;
  SchedulerConfig config;
  REQUIRE(cluster.AddNode(Node("n1", 2)).ok());
  REQUIRE(cluster.AddNode(Node("n2", 2)).ok());
  auto run = [&](const std::string& id, NodeIndex n, absl::Time end) {
    Attempt a;
    a.id = AttemptId{id};
    a.key = 0;
    a.expected_end = end;
    a.device_count = 2;
    AttemptSlot slot = attempts.Add(a);
    attempts.Mutable(slot).devices.emplace_back(n, cluster.Allocate(n, 0, 2, slot));
  };
  run("x", 0, kT0 + absl::Hours(2));
  run("y", 1, kT0 + absl::Hours(1));
  PassContext ctx{kT0, cluster, ledger, attempts, config};
  DeviceRequest gang{"gpu", std::nullopt, 2, 2, 0, 1.0};
  // y frees n2 at +1h, x frees n1 at +2h: the 2x2 gang starts at +2h on n2 and n1.
  auto r = BackfillPolicy::EstimateStart(ctx, {0}, gang, nullptr);
  REQUIRE(r.has_value());
  CHECK(r->start == kT0 + absl::Hours(2));
  CHECK(r->nodes == std::vector<NodeIndex>{1, 0});
  DeviceRequest too_big{"gpu", std::nullopt, 2, 3, 0, 1.0};
  // Three nodes of 2 do not exist: never.
  CHECK_FALSE(BackfillPolicy::EstimateStart(ctx, {0}, too_big, nullptr).has_value());
}

}  // namespace
}  // namespace hac::scheduler
