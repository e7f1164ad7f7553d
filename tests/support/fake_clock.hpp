// A clock a test moves by hand (Envoy's simulated time): nothing sleeps, every timeout is exact.
#pragma once

#include "common/clock.hpp"

namespace ampere::testing {

class FakeClock final : public Clock {
 public:
  TimePoint now() const override { return now_; }
  std::chrono::system_clock::time_point wall_now() const override { return wall_ + (now_ - TimePoint{}); }
  void advance(std::chrono::milliseconds by) { now_ += by; }

 private:
  TimePoint now_{std::chrono::hours(1)};
  std::chrono::system_clock::time_point wall_{std::chrono::hours(24 * 365 * 56)};  // ~2026
};

}  // namespace ampere::testing
