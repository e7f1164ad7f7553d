// `ampere-coordinator --ha`: several coordinators on one PostgreSQL store, one leading at a time
// (docs/architecture.md, "High availability"). Each instance stands by (its sockets bound, every
// request answered "not the leader") until it takes the lease; then it loads everything from the
// store as a restart does and serves as the leader, over a store fenced by its epoch, until it is
// told to stop or is deposed (a write found a newer epoch, or the lease's session was lost); then
// it stands by again. PostgreSQL is the engine: nothing here votes.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "common/clock.hpp"
#include "coordinator/metrics/coordinator_metrics.hpp"
#include "coordinator/server/coordinator_server.hpp"
#include "coordinator/server/transport.hpp"

namespace ampere {

struct LeadershipSettings {
  std::string store_url;  ///< PostgreSQL (with its password when it needs one)
  std::string instance;   ///< this instance's name in the leadership row (host, pid, endpoints)
  /// How often a standby tries the lock (it answers requests in between).
  std::chrono::milliseconds try_every{250};
  /// How often the leader checks its lease's session (from a thread of its own).
  std::chrono::milliseconds check_every{1000};
};

/// Runs until `stop`: standby and leader terms in turn. `leading` (may be null) tells others
/// (the in-process bridge's /readyz) which it is now; `alive` is called at least every 250 ms
/// (the systemd watchdog); `configure` is called on each term's new server before it serves (the
/// CURVE allow-lists). Throws only what it cannot recover from.
void run_with_lease(Transport& transport, const Clock& clock, const CoordinatorConfig& config, CoordinatorMetrics& metrics,
                    const LeadershipSettings& settings, const std::atomic<bool>& stop, std::atomic<bool>* leading,
                    const std::function<void()>& alive, const std::function<void(CoordinatorServer&)>& configure);

}  // namespace ampere
