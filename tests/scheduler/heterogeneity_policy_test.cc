#include <catch2/catch.hpp>

#include "scheduler/heterogeneity_policy.h"
#include "tests/scheduler/test_util.h"

namespace hac::scheduler {
namespace {

using namespace testing;

JobRequest TwoWays(const std::string& id, double npu_speed, int npu_count,
                   OptimizeFor goal = OptimizeFor::kTime) {
  JobRequest j = Job(id, "t", 1, "gpu", 0, kT0, absl::Hours(3));
  j.alternatives.push_back(DeviceRequest{"npu", std::nullopt, npu_count, 1, 0, npu_speed});
  j.optimize_for = goal;
  return j;
}

std::unique_ptr<Scheduler> GpuAndNpu() {
  auto s = Make("price.gpu = 4\nprice.npu = 1\npreemption = off");
  REQUIRE(s->AddNode(Node("g", 1, "gpu")).ok());
  REQUIRE(s->AddNode(Node("n", 2, "npu", "atom")).ok());
  return s;
}

TEST_CASE("EarliestFinishPolicy picks the alternative that finishes first") {
  auto s = GpuAndNpu();
  REQUIRE(s->Submit(TwoWays("j", 3.0, 2)).ok());
  auto d = s->Schedule(kT0);
  // gpu: 3h at speed 1 -> ends +3h; 2 npu at speed 3 -> ends +1h: npu.
  REQUIRE(FindPlace(d, "j") != nullptr);
  CHECK(FindPlace(d, "j")->alternative == 1);
  CHECK(FindPlace(d, "j")->expected_end == kT0 + absl::Hours(1));
}

TEST_CASE("EarliestFinishPolicy picks the cheapest alternative when the job asks for cost") {
  // gpu: 3h, cost 4 x 1 x 3 = 12; 1 npu at speed 0.5: 6h, cost 1 x 1 x 6 = 6.
  auto fast = GpuAndNpu();
  REQUIRE(fast->Submit(TwoWays("j", 0.5, 1, OptimizeFor::kTime)).ok());
  CHECK(FindPlace(fast->Schedule(kT0), "j")->alternative == 0);  // time: gpu
  auto cheap = GpuAndNpu();
  REQUIRE(cheap->Submit(TwoWays("j", 0.5, 1, OptimizeFor::kCost)).ok());
  CHECK(FindPlace(cheap->Schedule(kT0), "j")->alternative == 1);  // cost: npu
}

TEST_CASE("EarliestFinishPolicy waits for a faster alternative that frees soon") {
  auto s = GpuAndNpu();
  // The npus are busy for 10 more minutes.
  REQUIRE(s->Submit(Job("busy", "u", 2, "npu", 0, kT0, absl::Minutes(10))).ok());
  REQUIRE(Placed(s->Schedule(kT0)) == std::vector<std::string>{"busy"});
  JobRequest j = Job("j", "t", 1, "gpu", 0, kT0, absl::Hours(10));
  j.alternatives.push_back(DeviceRequest{"npu", std::nullopt, 2, 1, 0, 4.0});
  REQUIRE(s->Submit(j).ok());
  // gpu now: ends +10h. npu at +10min, speed 4: ends +2h40. It waits for the npus.
  CHECK(Placed(s->Schedule(kT0)).empty());
  CHECK(Reason(*s, "j").find("2 npu: waiting: no node with 2 free npu (largest free: 0)") !=
        std::string::npos);
  REQUIRE(s->AttemptFinished(AttemptId{"busy/1"}, AttemptEnd::kDone).ok());
  auto d = s->Schedule(kT0 + absl::Minutes(10));
  CHECK(FindPlace(d, "j")->alternative == 1);
}

TEST_CASE("EarliestFinishPolicy reserves the alternative that frees first when none fits now") {
  auto s = GpuAndNpu();
  REQUIRE(s->Submit(Job("gpu-busy", "u", 1, "gpu", 0, kT0, absl::Hours(5))).ok());
  REQUIRE(s->Submit(Job("npu-busy", "u", 2, "npu", 0, kT0, absl::Hours(1))).ok());
  REQUIRE(Placed(s->Schedule(kT0)).size() == 2);
  JobRequest j = Job("j", "t", 1, "gpu", 0, kT0 + absl::Seconds(1), absl::Hours(2));
  j.alternatives.push_back(DeviceRequest{"npu", std::nullopt, 2, 1, 0, 1.0});
  REQUIRE(s->Submit(j).ok());
  CHECK(Placed(s->Schedule(kT0 + absl::Seconds(2))).empty());
  // gpu frees at +5h (ends +7h), npu at +1h (ends +3h): the reservation is for the npus.
  REQUIRE(s->last_reservation().has_value());
  CHECK(s->last_reservation()->first.value == "j");
  CHECK(s->last_reservation()->second == kT0 + absl::Hours(1));
  CHECK(Reason(*s, "j").find("reserved n from " + FormatReasonTime(kT0 + absl::Hours(1))) !=
        std::string::npos);
}

TEST_CASE("FirstListedPolicy takes the first alternative that fits now") {
  FirstListedPolicy p;
  JobRequest j = TwoWays("j", 3.0, 2);
  std::vector<AlternativeOption> opts(2);
  opts[0].alternative = 0;
  opts[1].alternative = 1;
  opts[1].placeable_now = true;
  // Only the second fits now: 1.
  CHECK(p.Choose(j, opts) == 1);
  opts[0].placeable_now = true;
  // Both fit: the first listed.
  CHECK(p.Choose(j, opts) == 0);
}

}  // namespace
}  // namespace hac::scheduler
