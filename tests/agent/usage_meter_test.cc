#include "agent/usage_meter.h"

#include <catch2/catch.hpp>
#include <map>

#include "common/clock.h"

namespace hac::agent {
namespace {

// Busy time per device, set by the test.
struct FakeBusy {
  std::map<uint32_t, absl::Duration> busy;
  UsageMeter::BusyFn fn() {
    return [this](uint32_t i) { return busy[i]; };
  }
};

TEST_CASE("UsageMeter counts allocated time from the claim and busy time minus its claim value") {
  common::FakeClock clock;
  FakeBusy b;
  b.busy[0] = absl::Seconds(5);  // busy before the claim is not the attempt's
  UsageMeter meter(clock, 1000);
  meter.Start("a", {0, 1}, b.fn());
  clock.Advance(absl::Milliseconds(1500));
  b.busy[0] += absl::Milliseconds(700);
  b.busy[1] += absl::Milliseconds(200);
  UsageBatch r = meter.Report(b.fn());
  CHECK(r.sequence == 1000);
  CHECK(r.time == clock.Now());
  REQUIRE(r.counters.size() == 2);
  CHECK(r.counters[0].attempt_id == "a");
  CHECK(r.counters[0].device_index == 0);
  CHECK(r.counters[0].allocated_ms == 1500);
  CHECK(r.counters[0].active_ms == 700);
  CHECK(r.counters[1].device_index == 1);
  CHECK(r.counters[1].active_ms == 200);
  CHECK_FALSE(r.counters[0].final);
}

TEST_CASE("UsageMeter counters are cumulative and never decrease, even across a device reset") {
  common::FakeClock clock;
  FakeBusy b;
  UsageMeter meter(clock, 1);
  meter.Start("a", {0}, b.fn());
  clock.Advance(absl::Seconds(1));
  b.busy[0] = absl::Milliseconds(600);
  UsageBatch first = meter.Report(b.fn());
  clock.Advance(absl::Seconds(1));
  b.busy[0] = absl::ZeroDuration();  // reset under the attempt
  UsageBatch second = meter.Report(b.fn());
  CHECK(first.counters[0].allocated_ms == 1000);
  CHECK(first.counters[0].active_ms == 600);
  CHECK(second.counters[0].allocated_ms == 2000);
  CHECK(second.counters[0].active_ms == 600);
  CHECK(second.sequence == first.sequence + 1);
}

TEST_CASE("UsageMeter caps active time at allocated time") {
  common::FakeClock clock;
  FakeBusy b;
  UsageMeter meter(clock, 1);
  meter.Start("a", {0}, b.fn());
  clock.Advance(absl::Milliseconds(100));
  b.busy[0] = absl::Milliseconds(300);  // overlapping streams
  UsageBatch r = meter.Report(b.fn());
  CHECK(r.counters[0].allocated_ms == 100);
  CHECK(r.counters[0].active_ms == 100);
}

TEST_CASE("UsageMeter final report marks the counters final and forgets the attempt") {
  common::FakeClock clock;
  FakeBusy b;
  UsageMeter meter(clock, 7);
  meter.Start("a", {3}, b.fn());
  meter.Start("b", {4}, b.fn());
  clock.Advance(absl::Milliseconds(2500));
  b.busy[3] = absl::Milliseconds(900);
  UsageBatch fin = meter.Finish("a", b.fn());
  CHECK(fin.sequence == 7);
  REQUIRE(fin.counters.size() == 1);
  CHECK(fin.counters[0].attempt_id == "a");
  CHECK(fin.counters[0].device_index == 3);
  CHECK(fin.counters[0].allocated_ms == 2500);
  CHECK(fin.counters[0].active_ms == 900);
  CHECK(fin.counters[0].final);
  CHECK_FALSE(meter.Has("a"));
  UsageBatch next = meter.Report(b.fn());
  CHECK(next.sequence == 8);
  REQUIRE(next.counters.size() == 1);
  CHECK(next.counters[0].attempt_id == "b");
  CHECK(meter.Finish("unknown", b.fn()).counters.empty());
}

TEST_CASE("UsageMeter ignores a second start of a running attempt") {
  common::FakeClock clock;
  FakeBusy b;
  UsageMeter meter(clock, 1);
  meter.Start("a", {0}, b.fn());
  clock.Advance(absl::Seconds(3));
  meter.Start("a", {0}, b.fn());
  CHECK(meter.Report(b.fn()).counters[0].allocated_ms == 3000);
}

}  // namespace
}  // namespace hac::agent
