// systemd's notify protocol (sd_notify(3)) without libsystemd: READY=1 once serving, STOPPING=1,
// and WATCHDOG=1 from the daemon's own loop, so that a hung loop is restarted (Type=notify,
// WatchdogSec= in deploy/systemd/).
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "program/command_line.hpp"

namespace ampere {

class ServiceNotifier {
 public:
  /// Reads NOTIFY_SOCKET (a path, or "@name" in the abstract namespace) and WATCHDOG_USEC (with
  /// WATCHDOG_PID, when set, naming this process); without NOTIFY_SOCKET every call does nothing.
  explicit ServiceNotifier(const EnvironmentLookup& environment = process_environment());
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  bool enabled() const { return !socket_.empty(); }
  /// The watchdog interval systemd expects a ping within (zero: no watchdog).
  std::chrono::microseconds watchdog_interval() const { return watchdog_; }

  void ready() { send("READY=1"); }
  void stopping() { send("STOPPING=1"); }
  /// A one-line status `systemctl status` shows.
  void status(const std::string& text) { send("STATUS=" + text); }
  /// WATCHDOG=1 when half the watchdog interval has passed since the last one; call it from the
  /// loop whose liveness it vouches for, as often as convenient. Safe from any thread.
  void keep_alive();

  /// Sends one datagram; false when it could not (the service manager is gone: nothing to do).
  bool send(const std::string& state);

 private:
  std::string socket_;
  std::chrono::microseconds watchdog_{0};
  std::atomic<std::int64_t> last_ping_us_{0};
};

}  // namespace ampere
