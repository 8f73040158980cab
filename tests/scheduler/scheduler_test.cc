// The Scheduler's events, reasons and dry run.
#include <catch2/catch.hpp>

#include "tests/scheduler/test_util.h"

namespace hac::scheduler {
namespace {

using namespace testing;

TEST_CASE("A pending job's reason says what it waits for") {
  auto s = Make("preemption = off\nbackfill = off");
  REQUIRE(s->AddNode(Node("n1", 2)).ok());
  REQUIRE(s->Submit(Job("fits", "t", 2)).ok());
  REQUIRE(s->Submit(Job("four", "t", 4, "gpu", 0, kT0 + absl::Seconds(1))).ok());
  REQUIRE(s->Submit(Job("npu", "t", 1, "npu", 0, kT0 + absl::Seconds(2))).ok());
  REQUIRE(s->Submit(Job("two", "t", 2, "gpu", 0, kT0 + absl::Seconds(3))).ok());
  CHECK(Reason(*s, "two") == "waiting: not yet considered by the scheduler");
  CHECK(Placed(s->Schedule(kT0 + absl::Seconds(4))) == std::vector<std::string>{"fits"});
  CHECK(Reason(*s, "four") == "infeasible: no node has 4 gpu (largest: 2)");
  CHECK(Reason(*s, "npu") == "infeasible: no npu devices in the cluster");
  CHECK(Reason(*s, "two") == "waiting: no node with 2 free gpu (largest free: 0)");
  CHECK(s->PendingReason(JobId{"fits"}).status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(s->PendingReason(JobId{"nope"}).status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("Strict FIFO stops at the first blocked job and says who is first in line") {
  auto s = Make(FifoConfig());
  REQUIRE(s->AddNode(Node("n1", 4)).ok());
  REQUIRE(s->Submit(Job("a", "t", 2)).ok());
  REQUIRE(s->Submit(Job("b", "t", 4, "gpu", 0, kT0 + absl::Seconds(1))).ok());
  REQUIRE(s->Submit(Job("c", "t", 1, "gpu", 0, kT0 + absl::Seconds(2))).ok());
  // a fits; b does not; c would fit but FIFO is strict.
  CHECK(Placed(s->Schedule(kT0)) == std::vector<std::string>{"a"});
  CHECK(Reason(*s, "b") == "waiting: no node with 4 free gpu (largest free: 2)");
  CHECK(Reason(*s, "c") == "waiting: higher priority jobs ahead (job b is first in line)");
}

TEST_CASE("DryRun says where a job would go now without submitting it") {
  auto s = Make(ComposedConfig());
  REQUIRE(s->AddNode(Node("n1", 4)).ok());
  REQUIRE(s->Submit(Job("a", "t", 3, "gpu", 0, kT0, absl::Hours(2))).ok());
  REQUIRE(Placed(s->Schedule(kT0)).size() == 1);
  auto now = s->DryRun(Job("probe", "t", 1), kT0 + absl::Minutes(1));
  REQUIRE(now.ok());
  CHECK(now->placeable_now);
  CHECK(now->alternative == 0);
  CHECK(now->placement == Placement{{NodeId{"n1"}, {3}}});
  CHECK(now->estimated_start == kT0 + absl::Minutes(1));
  auto later = s->DryRun(Job("probe", "t", 2), kT0 + absl::Minutes(1));
  REQUIRE(later.ok());
  // 1 free now; a ends at +2h by its max runtime.
  CHECK_FALSE(later->placeable_now);
  CHECK(later->reason == "waiting: no node with 2 free gpu (largest free: 1)");
  CHECK(later->estimated_start == kT0 + absl::Hours(2));
  auto never = s->DryRun(Job("probe", "t", 8), kT0);
  REQUIRE(never.ok());
  CHECK(never->reason == "infeasible: no node has 8 gpu (largest: 4)");
  CHECK(never->estimated_start == absl::InfiniteFuture());
  // Nothing was submitted.
  CHECK(s->pending_count() == 0);
  CHECK(s->PendingReason(JobId{"probe"}).status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("DryRun estimates when a tenant's quota frees up") {
  auto s = Make("quota.t.gpu = 2");
  REQUIRE(s->AddNode(Node("n1", 8)).ok());
  REQUIRE(s->Submit(Job("a", "t", 2, "gpu", 0, kT0, absl::Hours(3))).ok());
  REQUIRE(Placed(s->Schedule(kT0)).size() == 1);
  auto r = s->DryRun(Job("probe", "t", 1), kT0);
  REQUIRE(r.ok());
  CHECK(r->reason == "waiting: tenant quota gpu 2/2");
  CHECK(r->estimated_start == kT0 + absl::Hours(3));
}

TEST_CASE("Submit validates requests and names the field") {
  auto s = Make(ComposedConfig());
  JobRequest j = Job("j", "t", 0);
  auto st = s->Submit(j);
  CHECK(st.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(st.message()).find("alternatives[0].count x nodes") == 0);
  JobRequest no_tenant = Job("j", "", 1);
  CHECK(std::string(s->Submit(no_tenant).message()) == "tenant: must not be empty");
  JobRequest slow = Job("j", "t", 1);
  slow.alternatives[0].relative_speed = 0;
  CHECK(s->Submit(slow).code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(s->Submit(Job("j", "t", 1)).ok());
  CHECK(s->Submit(Job("j", "t", 1)).code() == absl::StatusCode::kAlreadyExists);
}

TEST_CASE("Cancel removes a pending job and forgets a running one when it ends") {
  auto s = Make(ComposedConfig());
  REQUIRE(s->AddNode(Node("n1", 1)).ok());
  REQUIRE(s->Submit(Job("run", "t", 1)).ok());
  REQUIRE(s->Submit(Job("wait", "t", 1, "gpu", 0, kT0 + absl::Seconds(1))).ok());
  REQUIRE(Placed(s->Schedule(kT0)).size() == 1);
  REQUIRE(s->Cancel(JobId{"wait"}).ok());
  CHECK(s->pending_count() == 0);
  REQUIRE(s->Cancel(JobId{"run"}).ok());
  // Even a requeue does not bring a cancelled job back.
  REQUIRE(s->AttemptFinished(AttemptId{"run/1"}, AttemptEnd::kRequeue).ok());
  CHECK(s->pending_count() == 0);
  CHECK(s->Cancel(JobId{"run"}).code() == absl::StatusCode::kNotFound);
  CHECK(s->cluster().FreeDevices(0) == 1);
}

TEST_CASE("A decision hacd could not commit is undone by a requeue") {
  auto s = Make(ComposedConfig());
  REQUIRE(s->AddNode(Node("n1", 2)).ok());
  REQUIRE(s->Submit(Job("j", "t", 2)).ok());
  auto d = s->Schedule(kT0);
  REQUIRE(Placed(d).size() == 1);
  CHECK(s->cluster().FreeDevices(0) == 0);
  REQUIRE(s->AttemptFinished(std::get<PlaceDecision>(d[0]).attempt, AttemptEnd::kRequeue).ok());
  CHECK(s->cluster().FreeDevices(0) == 2);
  auto again = s->Schedule(kT0 + absl::Seconds(1));
  // The job is placed again as its second attempt.
  REQUIRE(Placed(again).size() == 1);
  CHECK(std::get<PlaceDecision>(again[0]).attempt.value == "j/2");
}

TEST_CASE("Removing a node requeues its attempts and cordoned nodes get no work") {
  auto s = Make(ComposedConfig());
  REQUIRE(s->AddNode(Node("n1", 2)).ok());
  REQUIRE(s->AddNode(Node("n2", 2)).ok());
  REQUIRE(s->SetNodeState(NodeId{"n2"}, NodeState::kCordoned).ok());
  REQUIRE(s->Submit(Job("j", "t", 2)).ok());
  auto d = s->Schedule(kT0);
  REQUIRE(FindPlace(d, "j") != nullptr);
  CHECK(FindPlace(d, "j")->placement[0].node.value == "n1");
  auto lost = s->RemoveNode(NodeId{"n1"});
  REQUIRE(lost.ok());
  CHECK(*lost == std::vector<AttemptId>{AttemptId{"j/1"}});
  CHECK(s->pending_count() == 1);
  CHECK(s->Schedule(kT0 + absl::Seconds(1)).empty());
  REQUIRE(s->SetNodeState(NodeId{"n2"}, NodeState::kReady).ok());
  auto d2 = s->Schedule(kT0 + absl::Seconds(2));
  CHECK(FindPlace(d2, "j")->placement[0].node.value == "n2");
}

TEST_CASE("RestoreAttempt rebuilds running work after a restart") {
  auto s = Make(ComposedConfig());
  REQUIRE(s->AddNode(Node("n1", 4)).ok());
  REQUIRE(s->Submit(Job("j", "t", 2)).ok());
  REQUIRE(s->RestoreAttempt(JobId{"j"}, AttemptId{"j/7"}, 0, {{NodeId{"n1"}, {1, 3}}}, kT0).ok());
  CHECK(s->pending_count() == 0);
  CHECK(s->running_count() == 1);
  CHECK(s->cluster().FreeOn(0, 0) == 2);
  CHECK(s->ledger().Used(0, "gpu") == 2);
  REQUIRE(s->Submit(Job("k", "t", 2, "gpu", 0, kT0 + absl::Seconds(1))).ok());
  // Devices 1 and 3 are taken: k gets 0 and 2.
  auto d = s->Schedule(kT0 + absl::Seconds(2));
  CHECK(FindPlace(d, "k")->placement[0].device_indices == std::vector<int>{0, 2});
  REQUIRE(s->Submit(Job("x", "t", 1, "gpu", 0, kT0 + absl::Seconds(3))).ok());
  auto bad = s->RestoreAttempt(JobId{"x"}, AttemptId{"x/1"}, 0, {{NodeId{"n1"}, {1}}}, kT0);
  CHECK(bad.code() == absl::StatusCode::kInvalidArgument);
  // The failed restore changed nothing.
  CHECK(s->running_count() == 2);
  CHECK(s->pending_count() == 1);
}

TEST_CASE("AttemptStarted moves the expected end that reservations rely on") {
  auto s = Make(ComposedConfig());
  REQUIRE(s->AddNode(Node("n1", 1)).ok());
  REQUIRE(s->Submit(Job("j", "t", 1, "gpu", 0, kT0, absl::Hours(1))).ok());
  REQUIRE(Placed(s->Schedule(kT0)).size() == 1);
  REQUIRE(s->AttemptStarted(AttemptId{"j/1"}, kT0 + absl::Minutes(5)).ok());
  auto r = s->DryRun(Job("probe", "t", 1), kT0 + absl::Minutes(6));
  REQUIRE(r.ok());
  CHECK(r->estimated_start == kT0 + absl::Hours(1) + absl::Minutes(5));
  CHECK(s->AttemptStarted(AttemptId{"zz"}, kT0).code() == absl::StatusCode::kNotFound);
}

TEST_CASE("Reconfigure swaps policies without losing the queue") {
  auto s = Make(ComposedConfig());
  REQUIRE(s->AddNode(Node("n1", 8)).ok());
  REQUIRE(s->Submit(Job("a", "t", 4)).ok());
  REQUIRE(s->Reconfigure(*ParseSchedulerConfig("quota.t.gpu = 2")).ok());
  CHECK(Placed(s->Schedule(kT0)).empty());
  CHECK(Reason(*s, "a") == "waiting: tenant quota gpu 0/2 (the job alone exceeds it)");
  SchedulerConfig bad;
  bad.aging_per_hour = -1;
  CHECK(s->Reconfigure(bad).code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(s->Reconfigure(ComposedConfig()).ok());
  CHECK(Placed(s->Schedule(kT0)) == std::vector<std::string>{"a"});
}

}  // namespace
}  // namespace hac::scheduler
