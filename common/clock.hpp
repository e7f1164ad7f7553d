// Time handed in (Envoy's TimeSource): whatever waits, expires or backs off takes a Clock& from
// main(), so unit tests drive it with a fake one instead of sleeping.
#pragma once

#include <chrono>
#include <cstdint>

namespace ampere {

/// Monotonic time for timeouts and wall time for deadlines that cross machines.
/// Implementations must be safe to call from any thread.
class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  /// Monotonic now: heartbeats, back-off, job durations.
  virtual TimePoint now() const = 0;
  /// Wall-clock now: job deadlines an agent on another machine compares with its own clock.
  virtual std::chrono::system_clock::time_point wall_now() const = 0;
};

/// The real clocks. Stateless; one instance can serve a whole process.
class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point wall_now() const override { return std::chrono::system_clock::now(); }
};

/// Wall time as the wire carries it (heartbeats, job deadlines): milliseconds since the Unix epoch.
inline std::int64_t unix_millis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace ampere
