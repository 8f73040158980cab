// Ordering policies: priority classes with aging, FIFO inside a class, weighted DRF fair share.
// Expected outcomes are written as comments next to the checks, as in Mesos' sorter tests.
#include <catch2/catch.hpp>

#include "scheduler/fair_share_policy.h"
#include "scheduler/fifo_policy.h"
#include "scheduler/priority_policy.h"
#include "tests/scheduler/test_util.h"

namespace hac::scheduler {
namespace {

using namespace testing;

// Runs the queue on a cluster with room for one job at a time and returns the start order.
std::vector<std::string> StartOrder(Scheduler& s, absl::Time now, int jobs) {
  std::vector<std::string> order;
  for (int i = 0; i < jobs; ++i) {
    auto d = s.Schedule(now);
    auto placed = Placed(d);
    if (placed.size() != 1) break;
    order.push_back(placed[0]);
    REQUIRE(s.AttemptFinished(std::get<PlaceDecision>(d[0]).attempt, AttemptEnd::kDone).ok());
  }
  return order;
}

TEST_CASE("PriorityPolicy runs higher priority classes first and FIFO inside a class") {
  auto s = Make("order = priority\naging_per_hour = 0\npreemption = off");
  REQUIRE(s->AddNode(Node("n1", 1)).ok());
  REQUIRE(s->Submit(Job("a", "t", 1, "gpu", 0, kT0)).ok());
  REQUIRE(s->Submit(Job("b", "t", 1, "gpu", 5, kT0 + absl::Seconds(1))).ok());
  REQUIRE(s->Submit(Job("c", "t", 1, "gpu", 5, kT0 + absl::Seconds(2))).ok());
  REQUIRE(s->Submit(Job("d", "u", 1, "gpu", 0, kT0 + absl::Seconds(3))).ok());
  // Class 5 first (b, c by submit time), then class 0 (a, d).
  CHECK(StartOrder(*s, kT0 + absl::Seconds(10), 4) == std::vector<std::string>{"b", "c", "a", "d"});
}

TEST_CASE("PriorityPolicy ages a waiting job past newer higher priority work") {
  SchedulerConfig c;
  c.aging_per_hour = 1;
  c.preemption = false;
  c.order = {"priority"};
  const absl::Time submit_high = kT0 + absl::Minutes(150);
  const JobRequest low = Job("low", "t", 1, "gpu", 0, kT0);
  const JobRequest high = Job("high", "t", 1, "gpu", 2, submit_high);
  PriorityPolicy p;
  TenantLedger ledger;
  ClusterModel cluster;
  AttemptTable attempts;
  // At 1h: low is at level 0 + 1 = 1, high at 2: high first.
  PassContext at1h{kT0 + absl::Hours(1), cluster, ledger, attempts, c};
  CHECK(p.Key({&low, 0, 1}, at1h) == -1);
  CHECK(p.Key({&high, 0, 2}, at1h) == -2);
  // At 3h: low is at level 3 > 2: low first, whatever arrives at priority 2.
  PassContext at3h{kT0 + absl::Hours(3), cluster, ledger, attempts, c};
  CHECK(p.Key({&low, 0, 1}, at3h) == -3);
  CHECK(p.Key({&high, 0, 2}, at3h) == -2);

  auto s = Make(c);
  REQUIRE(s->AddNode(Node("n1", 1)).ok());
  REQUIRE(s->Submit(low).ok());
  REQUIRE(s->Submit(high).ok());
  CHECK(StartOrder(*s, kT0 + absl::Hours(3), 2) == std::vector<std::string>{"low", "high"});
}

TEST_CASE("PriorityPolicy aging never reorders jobs of one class, so fair share still decides") {
  auto s = Make("order = priority, fair_share\naging_per_hour = 1\npreemption = off");
  REQUIRE(s->AddNode(Node("n1", 2)).ok());
  REQUIRE(s->Submit(Job("a-run", "a", 1, "gpu", 0, kT0)).ok());
  REQUIRE(Placed(s->Schedule(kT0)).size() == 1);
  REQUIRE(s->Submit(Job("a-old", "a", 1, "gpu", 0, kT0)).ok());
  REQUIRE(s->Submit(Job("b-new", "b", 1, "gpu", 0, kT0 + absl::Hours(5))).ok());
  // At +5h a-old's aged level is 5, b-new's 0, but both are in class 0 (the only class):
  // a holds 1 of 2 gpus (share 0.5), b none: b-new first.
  CHECK(Placed(s->Schedule(kT0 + absl::Hours(5))) == std::vector<std::string>{"b-new"});
  // a-run overran its 1h max runtime: it is expected to end now, so a-old is next from now.
  CHECK(Reason(*s, "a-old") ==
        "waiting: no node with 1 free gpu (largest free: 0); next in line: reserved n1 from " +
            FormatReasonTime(kT0 + absl::Hours(5)) + " (estimated start)");
}

TEST_CASE("FifoPolicy orders by submit time only") {
  FifoPolicy f;
  SchedulerConfig c;
  TenantLedger ledger;
  ClusterModel cluster;
  AttemptTable attempts;
  PassContext ctx{kT0, cluster, ledger, attempts, c};
  JobRequest early = Job("e", "t", 1, "gpu", 0, kT0);
  JobRequest late = Job("l", "t", 1, "gpu", 9, kT0 + absl::Seconds(5));
  CHECK(f.Key({&late, 0, 1}, ctx) - f.Key({&early, 0, 2}, ctx) == 5.0);
}

TEST_CASE("FairSharePolicy gives tenants devices in proportion to their weights") {
  auto s = Make("order = fair_share\ntenant_weight.a = 2\npreemption = off");
  REQUIRE(s->AddNode(Node("n1", 6)).ok());
  for (int i = 0; i < 10; ++i) REQUIRE(s->Submit(Job("a" + std::to_string(i), "a", 1)).ok());
  for (int i = 0; i < 10; ++i) REQUIRE(s->Submit(Job("b" + std::to_string(i), "b", 1)).ok());
  auto placed = Placed(s->Schedule(kT0));
  // Shares (used / 6 / weight) as the pass goes:
  //   a0: a=1/12  b0: b=1/6  a1: a=2/12  a2 (tie 1/6, FIFO): a=3/12  b1: b=2/6  a3: a=4/12
  CHECK(placed == std::vector<std::string>{"a0", "b0", "a1", "a2", "b1", "a3"});
  CHECK(s->ledger().Used(0, "gpu") == 4);  // tenant a (first seen)
  CHECK(s->ledger().Used(1, "gpu") == 2);                                  // tenant b
}

TEST_CASE("FairSharePolicy weighs device classes by price (DRF)") {
  auto run = [](const std::string& extra) {
    auto s = Make("order = fair_share\npreemption = off\nbackfill = off\n" + extra);
    REQUIRE(s->AddNode(Node("g", 2, "gpu")).ok());
    REQUIRE(s->AddNode(Node("n", 4, "npu", "atom")).ok());
    REQUIRE(s->Submit(Job("a-npu", "a", 3, "npu")).ok());
    REQUIRE(s->Submit(Job("b-gpu", "b", 1, "gpu")).ok());
    REQUIRE(Placed(s->Schedule(kT0)).size() == 2);
    REQUIRE(s->Submit(Job("b-more", "b", 1, "gpu", 0, kT0 + absl::Seconds(1))).ok());
    REQUIRE(s->Submit(Job("a-more", "a", 1, "gpu", 0, kT0 + absl::Seconds(2))).ok());
    return Placed(s->Schedule(kT0 + absl::Seconds(3)));
  };
  // Unweighted: a = 3/4 npu = 0.75, b = 1/2 gpu = 0.5: b gets the last gpu.
  CHECK(run("") == std::vector<std::string>{"b-more"});
  // gpu 4x the price of npu: a = 0.75 x 1/4 = 0.1875, b = 0.5 x 4/4 = 0.5: a gets it.
  CHECK(run("price.gpu = 4\nprice.npu = 1") == std::vector<std::string>{"a-more"});
}

}  // namespace
}  // namespace hac::scheduler
