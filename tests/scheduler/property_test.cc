// Seeded properties over long random runs: backfill never delays a reservation, no starvation
// under a stream of higher priority work, fairness converging to the weights.
#include <catch2/catch.hpp>

#include "tests/scheduler/driver.h"

namespace hac::scheduler {
namespace {

using namespace testing;

TEST_CASE("Backfill never delays the reservation of the job at the head of the queue") {
  for (uint32_t seed : {1u, 2u}) {
    // FIFO order so that the head stays the head; attempts run exactly their max runtime.
    auto s = Make("order = fifo\nbackfill = on\npreemption = off\nquota = off");
    for (int i = 0; i < 4; ++i) REQUIRE(s->AddNode(Node("g" + std::to_string(i), 4)).ok());
    Driver driver(*s);
    auto jobs = RandomJobs(seed, 80, absl::Minutes(3));
    for (auto& j : jobs) j.alternatives.resize(1);
    for (const auto& j : jobs) driver.Arrive(j, 1.0);
    DriverStats st = driver.Run(kT0 + absl::Hours(24 * 30));
    INFO("seed " << seed);
    CHECK(st.finish.size() == 80);
    CHECK(st.reservation_missed == 0);
    CHECK(st.double_booked == 0);
  }
}

// One 4-gpu node; a priority-0 job needing the whole node; a steady stream of priority-5
// one-gpu jobs of 1h that alone would keep the node busy forever.
absl::Time LowStart(const std::string& config) {
  auto s = Make(config);
  REQUIRE(s->AddNode(Node("n1", 4)).ok());
  Driver driver(*s);
  driver.Arrive(Job("low", "a", 4, "gpu", 0, kT0, absl::Hours(1)), 1.0);
  for (int i = 0; i < 24 * 4 * 3; ++i) {
    driver.Arrive(Job("hi" + std::to_string(i), "b", 1, "gpu", 5, kT0 + absl::Minutes(15) * i,
                      absl::Hours(1)),
                  1.0);
  }
  DriverStats st = driver.Run(kT0 + absl::Hours(24));
  auto it = st.start.find("low");
  return it == st.start.end() ? absl::InfiniteFuture() : it->second;
}

TEST_CASE("Aging lets a low priority job start under a stream of higher priority work") {
  // Level 5 after 5h, ahead of newer priority-5 jobs (earlier submit): reservation, start by
  // the time the running 1h jobs drain.
  absl::Time with_aging = LowStart("order = priority\naging_per_hour = 1");
  CHECK(with_aging <= kT0 + absl::Hours(7));
  // Without aging it starves for the whole day.
  absl::Time without = LowStart("order = priority\naging_per_hour = 0");
  CHECK(without == absl::InfiniteFuture());
}

TEST_CASE("Fair share converges to the tenants' weights") {
  auto s = Make("order = fair_share\ntenant_weight.a = 3\ntenant_weight.b = 1\npreemption = off");
  REQUIRE(s->AddNode(Node("n1", 8)).ok());
  Driver driver(*s);
  // Both tenants always have work queued: 1-gpu jobs of 30 min.
  for (int i = 0; i < 400; ++i) {
    driver.Arrive(Job("a" + std::to_string(i), "a", 1, "gpu", 0, kT0, absl::Minutes(30)), 1.0);
    driver.Arrive(Job("b" + std::to_string(i), "b", 1, "gpu", 0, kT0, absl::Minutes(30)), 1.0);
  }
  DriverStats st = driver.Run(kT0 + absl::Hours(20));
  double a = st.device_hours["a"], b = st.device_hours["b"];
  // 8 gpus for 20h = 160 device-hours: 3/4 to a, 1/4 to b.
  REQUIRE(b > 0);
  CHECK(a + b == Approx(160).epsilon(0.02));
  CHECK(a / (a + b) == Approx(0.75).epsilon(0.02));
}

}  // namespace
}  // namespace hac::scheduler
