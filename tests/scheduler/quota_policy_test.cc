#include <catch2/catch.hpp>

#include "scheduler/quota_policy.h"
#include "tests/scheduler/test_util.h"

namespace hac::scheduler {
namespace {

using namespace testing;

TEST_CASE("QuotaPolicy never lets a tenant exceed a hard quota and says why") {
  auto s = Make("quota.a.npu = 8\npreemption = off");
  REQUIRE(s->AddNode(Node("n1", 8, "npu", "atom")).ok());
  REQUIRE(s->AddNode(Node("n2", 8, "npu", "atom")).ok());
  REQUIRE(s->Submit(Job("a1", "a", 8, "npu")).ok());
  REQUIRE(s->Submit(Job("a2", "a", 4, "npu", 0, kT0 + absl::Seconds(1))).ok());
  REQUIRE(s->Submit(Job("b1", "b", 4, "npu", 0, kT0 + absl::Seconds(2))).ok());
  // a1 uses a's 8; a2 would make 12 > 8 and waits although 8 npu are idle; b has no quota.
  CHECK(Placed(s->Schedule(kT0)) == std::vector<std::string>{"a1", "b1"});
  CHECK(Reason(*s, "a2") == "waiting: tenant quota npu 8/8");
  CHECK(s->ledger().Used(0, "npu") == 8);
}

TEST_CASE("QuotaPolicy refuses a job larger than the quota with a clear reason") {
  auto s = Make("quota.a.gpu = 2");
  REQUIRE(s->AddNode(Node("n1", 8)).ok());
  REQUIRE(s->Submit(Job("big", "a", 4)).ok());
  CHECK(Placed(s->Schedule(kT0)).empty());
  CHECK(Reason(*s, "big") == "waiting: tenant quota gpu 0/2 (the job alone exceeds it)");
}

TEST_CASE("QuotaPolicy lets a borrowable quota use idle capacity, preemptible by others") {
  auto s = Make("quota.a.gpu = 2 borrowable\nquota.b.gpu = 4");
  REQUIRE(s->AddNode(Node("n1", 4)).ok());
  REQUIRE(s->Submit(Job("a1", "a", 2)).ok());
  REQUIRE(s->Submit(Job("a2", "a", 2, "gpu", 0, kT0 + absl::Seconds(1))).ok());
  // a1 within quota, a2 borrows the idle 2 gpu.
  CHECK(Placed(s->Schedule(kT0)) == std::vector<std::string>{"a1", "a2"});
  CHECK(s->attempts().borrowed() == 1);
  // b, within its quota, reclaims the borrowed devices: a2 (and only a2) is preempted.
  REQUIRE(s->Submit(Job("b1", "b", 2, "gpu", 0, kT0 + absl::Seconds(5))).ok());
  auto d = s->Schedule(kT0 + absl::Seconds(6));
  auto victims = Preempted(d);
  REQUIRE(victims.size() == 1);
  CHECK(victims[0].victim_job.value == "a2");
  CHECK(victims[0].for_job.value == "b1");
  REQUIRE(s->AttemptFinished(victims[0].attempt, AttemptEnd::kRequeue).ok());
  CHECK(Placed(s->Schedule(kT0 + absl::Seconds(40))) == std::vector<std::string>{"b1"});
}

TEST_CASE("QuotaPolicy admits directly within the limit and refuses above it") {
  SchedulerConfig c;
  c.quota_limits["a"]["gpu"] = QuotaLimit{4, false};
  ClusterModel cluster;
  TenantLedger ledger;
  AttemptTable attempts;
  TenantIndex a = ledger.Intern("a");
  ledger.Add(a, "gpu", 3);
  PassContext ctx{kT0, cluster, ledger, attempts, c};
  QuotaPolicy q;
  JobRequest j = Job("j", "a", 1);
  // 3 + 1 <= 4: admitted.
  CHECK(q.Admit({&j, a, 1}, j.alternatives[0], ctx).admitted);
  j.alternatives[0].count = 2;
  // 3 + 2 > 4: refused.
  Admission no = q.Admit({&j, a, 1}, j.alternatives[0], ctx);
  CHECK_FALSE(no.admitted);
  CHECK(no.reason == "waiting: tenant quota gpu 3/4");
}

}  // namespace
}  // namespace hac::scheduler
