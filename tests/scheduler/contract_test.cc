// One contract suite over every policy: each policy, enabled alone on top of the plain FIFO
// baseline (and all of them composed), must keep the scheduler's promises; and every
// implementation of the PlacementPolicy and OrderPolicy interfaces keeps its interface's.
#include <catch2/catch.hpp>

#include <set>

#include "scheduler/best_fit_policy.h"
#include "scheduler/fair_share_policy.h"
#include "scheduler/fifo_policy.h"
#include "scheduler/first_fit_policy.h"
#include "scheduler/priority_policy.h"
#include "scheduler/spread_policy.h"
#include "tests/scheduler/driver.h"

namespace hac::scheduler {
namespace {

using namespace testing;

// Each tag is the configuration that turns one policy on.
struct Fifo { static constexpr const char* kConfig = "order = fifo\nquota = off\nbackfill = off\npreemption = off\nplacement = first_fit\nalternatives = first_listed"; };
struct Priority { static constexpr const char* kConfig = "order = priority\nquota = off\nbackfill = off\npreemption = off"; };
struct FairShare { static constexpr const char* kConfig = "order = fair_share\ntenant_weight.t0 = 2\nquota = off\nbackfill = off\npreemption = off"; };
struct Quota { static constexpr const char* kConfig = "order = fifo\nquota.t0.gpu = 8\nquota.t1.gpu = 6 borrowable\nquota.t2.npu = 8\nbackfill = off\npreemption = off"; };
struct BestFit { static constexpr const char* kConfig = "order = fifo\nplacement = best_fit\nbackfill = off\npreemption = off"; };
struct Spread { static constexpr const char* kConfig = "order = fifo\nplacement = spread\nbackfill = off\npreemption = off"; };
struct Heterogeneity { static constexpr const char* kConfig = "order = fifo\nalternatives = earliest_finish\nprice.gpu = 3\nbackfill = off\npreemption = off"; };
struct Backfill { static constexpr const char* kConfig = "order = fifo\nbackfill = on\npreemption = off"; };
struct Preemption { static constexpr const char* kConfig = "order = priority\naging_per_hour = 0.5\nbackfill = off\npreemption = on"; };
struct Composed { static constexpr const char* kConfig = "quota.t0.gpu = 8\nquota.t1.gpu = 6 borrowable\ntenant_weight.t2 = 2\nprice.gpu = 2"; };

#define HAC_EVERY_POLICY Fifo, Priority, FairShare, Quota, BestFit, Spread, Heterogeneity, Backfill, Preemption, Composed

TEMPLATE_TEST_CASE("Every policy places a job that fits an idle cluster with exactly its devices",
                   "[contract]", HAC_EVERY_POLICY) {
  auto s = Make(TestType::kConfig);
  REQUIRE(s != nullptr);
  AddMixedCluster(*s);
  REQUIRE(s->Submit(Job("j", "t9", 3)).ok());
  auto d = s->Schedule(kT0);
  REQUIRE(Placed(d) == std::vector<std::string>{"j"});
  const PlaceDecision* p = FindPlace(d, "j");
  REQUIRE(p->placement.size() == 1);
  CHECK(p->placement[0].device_indices.size() == 3);
  CHECK(p->attempt.value == "j/1");
  CHECK(s->pending_count() == 0);
  CHECK(s->running_count() == 1);
}

TEMPLATE_TEST_CASE("Every policy returns no decision for an empty queue", "[contract]",
                   HAC_EVERY_POLICY) {
  auto s = Make(TestType::kConfig);
  REQUIRE(s != nullptr);
  AddMixedCluster(*s);
  CHECK(s->Schedule(kT0).empty());
  CHECK(s->cluster().TotalFree() == 32);
}

TEMPLATE_TEST_CASE("Every policy gives every pending job a reason", "[contract]",
                   HAC_EVERY_POLICY) {
  auto s = Make(TestType::kConfig);
  REQUIRE(s != nullptr);
  AddMixedCluster(*s);
  auto jobs = RandomJobs(7, 40, absl::Seconds(1));
  for (const auto& j : jobs) REQUIRE(s->Submit(j).ok());
  s->Schedule(kT0 + absl::Minutes(1));
  int pending = 0;
  for (const auto& j : jobs) {
    auto r = s->PendingReason(j.id);
    if (r.status().code() == absl::StatusCode::kFailedPrecondition) continue;  // running
    REQUIRE(r.ok());
    ++pending;
    INFO(j.id.value << ": " << *r);
    CHECK((r->rfind("waiting: ", 0) == 0 || r->rfind("infeasible: ", 0) == 0 ||
           r->find(": waiting: ") != std::string::npos));
  }
  // 40 jobs of up to 8 devices on 32 devices: some wait.
  CHECK(pending > 0);
  CHECK(static_cast<size_t>(pending) == s->pending_count());
}

TEMPLATE_TEST_CASE("Every policy never double-books a device, never splits a gang and never exceeds a hard quota",
                   "[contract]", HAC_EVERY_POLICY) {
  auto s = Make(TestType::kConfig);
  REQUIRE(s != nullptr);
  AddMixedCluster(*s);
  Driver driver(*s);
  for (const auto& j : RandomJobs(42, 80, absl::Minutes(3))) driver.Arrive(j, 0.8);
  DriverStats st = driver.Run(kT0 + absl::Hours(24 * 30));
  // Everything feasible finishes; the invariants held on every decision.
  CHECK(st.placed >= 80);
  CHECK(st.completed == 80);
  CHECK(st.finish.size() == 80);
  CHECK(st.double_booked == 0);
  CHECK(st.partial_gangs == 0);
  CHECK(st.quota_exceeded == 0);
  CHECK(s->running_count() == 0);
  CHECK(s->pending_count() == 0);
  CHECK(s->cluster().TotalFree() == 32);
}

}  // namespace
}  // namespace hac::scheduler

// Interface-level contracts: every PlacementPolicy and every OrderPolicy.

namespace hac::scheduler {
namespace {

using namespace testing;

TEMPLATE_TEST_CASE("Every placement policy returns distinct fitting nodes for the whole gang or nothing",
                   "[contract]", BestFitPolicy, SpreadPolicy, FirstFitPolicy) {
  TestType policy;
  ClusterModel m;
  // Free gpus per node after the allocations below: n0 8, n1 3, n2 5, n3 0, n4 8.
  for (int i = 0; i < 5; ++i) REQUIRE(m.AddNode(Node("n" + std::to_string(i), 8)).ok());
  m.Allocate(1, 0, 5, 1);
  m.Allocate(2, 0, 3, 2);
  m.Allocate(3, 0, 8, 3);
  const std::vector<KeyIndex> keys = {0};
  for (int count = 1; count <= 9; ++count) {
    for (int width = 1; width <= 5; ++width) {
      DeviceRequest r{"gpu", std::nullopt, count, width, 0, 1.0};
      int fitting = 0;
      for (NodeIndex n = 0; n < 5; ++n) fitting += m.FreeOn(n, 0) >= count ? 1 : 0;
      auto c = policy.Choose(m, PlacementQuery{&r, keys, nullptr});
      INFO(count << " x " << width);
      // A choice exists exactly when `width` nodes have `count` free.
      REQUIRE(c.has_value() == (fitting >= width));
      if (!c) continue;
      CHECK(c->nodes.size() == static_cast<size_t>(width));
      CHECK(std::set<NodeIndex>(c->nodes.begin(), c->nodes.end()).size() == c->nodes.size());
      for (NodeIndex n : c->nodes) CHECK(m.FreeOn(n, 0) >= count);
    }
  }
  // Excluded nodes are never chosen: without n0 and n4 no 8-gpu node is left.
  absl::flat_hash_set<NodeIndex> held = {0, 4};
  DeviceRequest whole{"gpu", std::nullopt, 8, 1, 0, 1.0};
  CHECK_FALSE(policy.Choose(m, PlacementQuery{&whole, keys, &held}).has_value());
  DeviceRequest small{"gpu", std::nullopt, 2, 2, 0, 1.0};
  auto c = policy.Choose(m, PlacementQuery{&small, keys, &held});
  REQUIRE(c.has_value());
  // Only n1 and n2 remain with >= 2 free.
  CHECK(std::set<NodeIndex>(c->nodes.begin(), c->nodes.end()) == std::set<NodeIndex>{1, 2});
}

TEMPLATE_TEST_CASE("Every order policy never ranks a later submit of one queue ahead of an earlier one",
                   "[contract]", FifoPolicy, PriorityPolicy, FairSharePolicy) {
  TestType policy;
  SchedulerConfig config;
  config.aging_per_hour = 1;
  ClusterModel cluster;
  REQUIRE(cluster.AddNode(Node("n", 4)).ok());
  TenantLedger ledger;
  TenantIndex t = ledger.Intern("t");
  ledger.Add(t, "gpu", 1);
  AttemptTable attempts;
  const std::vector<int> classes = {0, 3};
  PassContext ctx{kT0 + absl::Hours(10), cluster, ledger, attempts, config, nullptr, &classes};
  std::vector<JobRequest> jobs;
  for (int i = 0; i < 12; ++i) jobs.push_back(Job("j" + std::to_string(i), "t", 1, "gpu", 0, kT0 + absl::Hours(i)));
  for (size_t i = 1; i < jobs.size(); ++i) {
    double earlier = policy.Key({&jobs[i - 1], t, i}, ctx);
    double later = policy.Key({&jobs[i], t, i + 1}, ctx);
    INFO(i);
    // Same tenant and priority: the earlier submit's key is never larger.
    CHECK(earlier <= later);
  }
}

}  // namespace
}  // namespace hac::scheduler
