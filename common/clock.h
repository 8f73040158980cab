// Clock: the one source of time for code that needs "now".
//
// Logic takes a `Clock&` so tests and the simulator can drive time; only composition roots
// (main.cc) create a RealClock. Pure libraries (scheduler/, billing/) take `absl::Time now` as an
// argument instead and never hold a Clock.
#ifndef HAC_COMMON_CLOCK_H_
#define HAC_COMMON_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace hac::common {

// Interface. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time (what is stored and shown).
  virtual absl::Time Now() const = 0;
  // Monotonic time for measuring intervals and timeouts; never goes backwards.
  virtual absl::Time MonotonicNow() const = 0;
};

// The host's clocks. Stateless; one instance may be shared.
class RealClock final : public Clock {
 public:
  absl::Time Now() const override;
  absl::Time MonotonicNow() const override;
};

// A clock that moves only when told. Thread-safe. Now() and MonotonicNow() move together.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'700'000'000)) : now_(start) {}
  absl::Time Now() const override;
  absl::Time MonotonicNow() const override;
  void Advance(absl::Duration d);
  void Set(absl::Time t);

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hac::common

#endif  // HAC_COMMON_CLOCK_H_
