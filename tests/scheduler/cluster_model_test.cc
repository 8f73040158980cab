#include <catch2/catch.hpp>

#include "scheduler/cluster_model.h"
#include "tests/scheduler/test_util.h"

namespace hac::scheduler {
namespace {

using testing::Node;

std::vector<NodeIndex> Fitting(const ClusterModel& m, KeyIndex k, int count, bool ascending) {
  std::vector<NodeIndex> out;
  m.ForEachFitting(k, count, ascending, [&](NodeIndex n) {
    out.push_back(n);
    return true;
  });
  return out;
}

TEST_CASE("ClusterModel keeps nodes in the bucket of their free count") {
  ClusterModel m;
  REQUIRE(m.AddNode(Node("a", 8)).ok());
  REQUIRE(m.AddNode(Node("b", 8)).ok());
  REQUIRE(m.AddNode(Node("c", 4, "npu", "atom")).ok());
  REQUIRE(m.keys().size() == 2);  // gpu/v100 and npu/atom
  CHECK(m.Capacity(0) == 16);
  CHECK(m.Capacity(1) == 4);
  CHECK(m.ClassCapacity("gpu") == 16);

  std::vector<int> taken = m.Allocate(0, 0, 6, /*owner=*/7);
  CHECK(taken == std::vector<int>{0, 1, 2, 3, 4, 5});
  CHECK(m.FreeOn(0, 0) == 2);
  CHECK(m.FreeDevices(0) == 10);
  // Best-fit order: a (2 free) before b (8 free); spread order the reverse.
  CHECK(Fitting(m, 0, 1, true) == std::vector<NodeIndex>{0, 1});
  CHECK(Fitting(m, 0, 1, false) == std::vector<NodeIndex>{1, 0});
  CHECK(Fitting(m, 0, 3, true) == std::vector<NodeIndex>{1});
  CHECK(m.LargestFree(0) == 8);
  CHECK(m.NodesWithFree(0, 2) == 2);
  CHECK(m.NodesWithFree(0, 3) == 1);

  m.Release(0, {0, 1, 2, 3, 4, 5});
  CHECK(m.FreeOn(0, 0) == 8);
  CHECK(m.FreeDevices(0) == 16);
  CHECK(m.node(0).devices[3].owner == kNoAttempt);
}

TEST_CASE("ClusterModel takes cordoned nodes out of the free index and back") {
  ClusterModel m;
  REQUIRE(m.AddNode(Node("a", 8)).ok());
  REQUIRE(m.SetNodeState(NodeId{"a"}, NodeState::kCordoned).ok());
  CHECK(m.FreeDevices(0) == 0);
  CHECK(m.Capacity(0) == 0);
  CHECK(m.LargestFree(0) == 0);
  REQUIRE(m.SetNodeState(NodeId{"a"}, NodeState::kReady).ok());
  CHECK(m.FreeDevices(0) == 8);
  CHECK(m.LargestFree(0) == 8);
}

TEST_CASE("ClusterModel refuses duplicates, unknown nodes and removing a busy node") {
  ClusterModel m;
  REQUIRE(m.AddNode(Node("a", 2)).ok());
  CHECK(m.AddNode(Node("a", 2)).code() == absl::StatusCode::kAlreadyExists);
  NodeSpec dup = Node("d", 2);
  dup.devices[1].index = 0;
  CHECK(m.AddNode(dup).code() == absl::StatusCode::kInvalidArgument);
  CHECK(m.SetNodeState(NodeId{"zz"}, NodeState::kLost).code() == absl::StatusCode::kNotFound);
  m.Allocate(0, 0, 1, 3);
  CHECK(m.RemoveNode(NodeId{"a"}).code() == absl::StatusCode::kFailedPrecondition);
  m.Release(0, {0});
  CHECK(m.RemoveNode(NodeId{"a"}).ok());
  CHECK(m.live_nodes() == 0);
  CHECK(m.FreeDevices(0) == 0);
  // The slot is reused.
  REQUIRE(m.AddNode(Node("b", 2)).ok());
  CHECK(m.Find(NodeId{"b"}) == NodeIndex{0});
}

TEST_CASE("ClusterModel matches requests by class, model and memory") {
  ClusterModel m;
  NodeSpec n = Node("a", 2, "gpu", "v100");
  n.devices[0].memory_bytes = n.devices[1].memory_bytes = 16;
  REQUIRE(m.AddNode(n).ok());
  NodeSpec big = Node("b", 2, "gpu", "a100");
  big.devices[0].memory_bytes = big.devices[1].memory_bytes = 80;
  REQUIRE(m.AddNode(big).ok());
  std::vector<KeyIndex> keys;
  DeviceRequest any{"gpu", std::nullopt, 1, 1, 0, 1.0};
  m.MatchingKeys(any, &keys);
  CHECK(keys == std::vector<KeyIndex>{0, 1});
  DeviceRequest a100{"gpu", std::string("a100"), 1, 1, 0, 1.0};
  m.MatchingKeys(a100, &keys);
  CHECK(keys == std::vector<KeyIndex>{1});
  DeviceRequest big_mem{"gpu", std::nullopt, 1, 1, 40, 1.0};
  m.MatchingKeys(big_mem, &keys);
  CHECK(keys == std::vector<KeyIndex>{1});
  DeviceRequest npu{"npu", std::nullopt, 1, 1, 0, 1.0};
  m.MatchingKeys(npu, &keys);
  CHECK(keys.empty());
}

}  // namespace
}  // namespace hac::scheduler
