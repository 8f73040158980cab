#include "common/clock.h"

#include <catch2/catch.hpp>

namespace hac::common {
namespace {

TEST_CASE("FakeClock moves only when advanced") {
  FakeClock clock(absl::FromUnixSeconds(100));
  CHECK(clock.Now() == absl::FromUnixSeconds(100));
  clock.Advance(absl::Milliseconds(1500));
  CHECK(clock.Now() == absl::FromUnixMillis(101'500));
  CHECK(clock.MonotonicNow() == clock.Now());
  clock.Set(absl::FromUnixSeconds(7));
  CHECK(clock.Now() == absl::FromUnixSeconds(7));
}

TEST_CASE("RealClock's monotonic time never goes backwards") {
  RealClock clock;
  absl::Time prev = clock.MonotonicNow();
  for (int i = 0; i < 1000; ++i) {
    absl::Time t = clock.MonotonicNow();
    REQUIRE(t >= prev);
    prev = t;
  }
}

}  // namespace
}  // namespace hac::common
