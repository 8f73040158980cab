#include <catch2/catch.hpp>

#include "scheduler/best_fit_policy.h"
#include "scheduler/first_fit_policy.h"
#include "scheduler/spread_policy.h"
#include "tests/scheduler/test_util.h"

namespace hac::scheduler {
namespace {

using namespace testing;

TEST_CASE("BestFitPolicy fills the fullest node that fits and keeps whole nodes free") {
  auto s = Make("placement = best_fit");
  REQUIRE(s->AddNode(Node("n1", 8)).ok());
  REQUIRE(s->AddNode(Node("n2", 8)).ok());
  REQUIRE(s->Submit(Job("a", "t", 3)).ok());
  auto d1 = s->Schedule(kT0);
  // n1 and n2 both have 8 free: tie -> lower index n1.
  REQUIRE(FindPlace(d1, "a") != nullptr);
  CHECK(FindPlace(d1, "a")->placement == Placement{{NodeId{"n1"}, {0, 1, 2}}});
  REQUIRE(s->Submit(Job("b", "t", 2, "gpu", 0, kT0 + absl::Seconds(1))).ok());
  auto d2 = s->Schedule(kT0 + absl::Seconds(1));
  // n1 has 5 free, n2 8: the fuller n1 wins, n2 stays whole for an 8-gpu job.
  CHECK(FindPlace(d2, "b")->placement == Placement{{NodeId{"n1"}, {3, 4}}});
  REQUIRE(s->Submit(Job("c", "t", 8, "gpu", 0, kT0 + absl::Seconds(2))).ok());
  CHECK(FindPlace(s->Schedule(kT0 + absl::Seconds(2)), "c")->placement ==
        Placement{{NodeId{"n2"}, {0, 1, 2, 3, 4, 5, 6, 7}}});
}

TEST_CASE("SpreadPolicy puts work on the emptiest node") {
  auto s = Make("placement = spread");
  REQUIRE(s->AddNode(Node("n1", 8)).ok());
  REQUIRE(s->AddNode(Node("n2", 8)).ok());
  REQUIRE(s->Submit(Job("a", "t", 3)).ok());
  REQUIRE(s->Submit(Job("b", "t", 2, "gpu", 0, kT0 + absl::Seconds(1))).ok());
  auto d = s->Schedule(kT0);
  // a -> n1 (tie, lower index); b -> n2 (8 free > 5 free).
  CHECK(FindPlace(d, "a")->placement[0].node.value == "n1");
  CHECK(FindPlace(d, "b")->placement[0].node.value == "n2");
}

TEST_CASE("FirstFitPolicy takes the lowest node that fits") {
  ClusterModel m;
  REQUIRE(m.AddNode(Node("n1", 2)).ok());
  REQUIRE(m.AddNode(Node("n2", 8)).ok());
  REQUIRE(m.AddNode(Node("n3", 4)).ok());
  m.Allocate(0, 0, 1, 9);  // n1: 1 free
  DeviceRequest r{"gpu", std::nullopt, 2, 1, 0, 1.0};
  const std::vector<KeyIndex> keys = {0};
  PlacementQuery q{&r, keys, nullptr};
  // n1 has 1 free (no); n2 and n3 fit: first fit n2, best fit n3, spread n2.
  CHECK(FirstFitPolicy().Choose(m, q)->nodes == std::vector<NodeIndex>{1});
  CHECK(BestFitPolicy().Choose(m, q)->nodes == std::vector<NodeIndex>{2});
  CHECK(SpreadPolicy().Choose(m, q)->nodes == std::vector<NodeIndex>{1});
}

TEST_CASE("A gang across nodes is placed whole or not at all") {
  auto s = Make("preemption = off\nbackfill = off");
  for (int i = 1; i <= 3; ++i) REQUIRE(s->AddNode(Node("n" + std::to_string(i), 8)).ok());
  REQUIRE(s->Submit(Job("small", "t", 2)).ok());
  REQUIRE(s->Submit(Job("gang3", "t", 8, "gpu", 0, kT0 + absl::Seconds(1), absl::Hours(1), 3)).ok());
  REQUIRE(s->Submit(Job("gang2", "t", 8, "gpu", 0, kT0 + absl::Seconds(2), absl::Hours(1), 2)).ok());
  auto d = s->Schedule(kT0);
  // small takes 2 of n1; gang3 needs 3 whole nodes, only 2 exist: nothing of it is placed;
  // gang2 gets n2 and n3 whole.
  CHECK(Placed(d) == std::vector<std::string>{"small", "gang2"});
  CHECK(FindPlace(d, "gang2")->placement.size() == 2);
  CHECK(FindPlace(d, "gang2")->placement[0].node.value == "n2");
  CHECK(FindPlace(d, "gang2")->placement[1].node.value == "n3");
  CHECK(Reason(*s, "gang3") == "waiting: needs 3 nodes with 8 free gpu (2 have them)");
  CHECK(s->cluster().FreeDevices(0) == 6);
}

TEST_CASE("Placement excludes held nodes") {
  ClusterModel m;
  REQUIRE(m.AddNode(Node("n1", 4)).ok());
  REQUIRE(m.AddNode(Node("n2", 4)).ok());
  DeviceRequest r{"gpu", std::nullopt, 4, 1, 0, 1.0};
  absl::flat_hash_set<NodeIndex> held = {0};
  const std::vector<KeyIndex> keys = {0};
  PlacementQuery q{&r, keys, &held};
  CHECK(BestFitPolicy().Choose(m, q)->nodes == std::vector<NodeIndex>{1});
  held.insert(1);
  CHECK_FALSE(BestFitPolicy().Choose(m, q).has_value());
}

}  // namespace
}  // namespace hac::scheduler
