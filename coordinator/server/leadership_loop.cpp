#include "coordinator/server/leadership_loop.hpp"

#include <memory>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "coordinator/server/standby_responder.hpp"
#include "coordinator/store/leadership.hpp"

namespace ampere {
namespace {

/// Stands by until this instance holds the lease (its epoch) or `stop` (nullopt).
std::optional<std::uint64_t> stand_by(LeaderLease& lease, StandbyResponder& responder, const LeadershipSettings& settings,
                                      const std::atomic<bool>& stop, const std::function<void()>& alive) {
  bool reported_away = false;
  auto next_try = std::chrono::steady_clock::now();
  auto next_leader_read = next_try;
  while (!stop.load()) {
    if (alive) alive();
    responder.serve(std::chrono::milliseconds(50));
    const auto now = std::chrono::steady_clock::now();
    if (now < next_try) continue;
    next_try = now + settings.try_every;
    try {
      if (const std::optional<std::uint64_t> epoch = lease.try_acquire()) return epoch;
      if (now >= next_leader_read) {  // who leads, for the replies' message (not every try)
        next_leader_read = now + std::chrono::seconds(5);
        if (const std::optional<Leadership> leader = lease.current()) responder.set_leader(leader->holder);
      }
      if (reported_away) spdlog::info("the store answers again; standing by");
      reported_away = false;
    } catch (const StoreUnavailable& e) {
      if (!reported_away) spdlog::warn("standing by: the store is away ({}); trying again", e.what());
      reported_away = true;
      next_try = now + std::chrono::seconds(1);
    }
  }
  return std::nullopt;
}

}  // namespace

void run_with_lease(Transport& transport, const Clock& clock, const CoordinatorConfig& config, CoordinatorMetrics& metrics,
                    const LeadershipSettings& settings, const std::atomic<bool>& stop, std::atomic<bool>* leading,
                    const std::function<void()>& alive, const std::function<void(CoordinatorServer&)>& configure) {
  LeaderLease lease(settings.store_url, settings.instance);
  StandbyResponder responder(transport);
  try {  // said once at start: the operator's alerting decides what to do about it
    if (const std::string warning = replication_warning(settings.store_url); !warning.empty())
      spdlog::warn("--ha: {}", warning);
  } catch (const StoreUnavailable& e) {
    spdlog::warn("--ha: could not read the replication settings: {}", e.what());
  }
  metrics.set_leader(false);
  while (!stop.load()) {
    spdlog::info("standing by for the lease ({})", settings.instance);
    const std::optional<std::uint64_t> epoch = stand_by(lease, responder, settings, stop, alive);
    if (!epoch) break;
    const auto took = std::chrono::steady_clock::now();
    spdlog::info("took the lease at epoch {}: loading the store", *epoch);
    auto fence = std::make_shared<LeadershipFence>(*epoch);
    std::atomic<bool> term_over{false};
    std::thread keeper;
    try {
      StorePtr store = open_fenced_store(settings.store_url, fence);
      // The lease's session is watched from a thread of its own: a check that hangs on a lost
      // network never holds the loop (it ends the term when it fails).
      keeper = std::thread([&] {
        while (!term_over.load()) {
          for (auto waited = std::chrono::milliseconds(0); waited < settings.check_every && !term_over.load();
               waited += std::chrono::milliseconds(50))
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          if (term_over.load()) break;
          if (!lease.still_held()) {
            fence->lose(LeadershipFence::Reason::SessionLost, "the lease's session was lost");
            break;
          }
        }
      });
      CoordinatorServer server(transport, *store, clock, nullptr, config, metrics);  // no spool: nothing acked uncommitted
      if (configure) configure(server);
      metrics.set_leader(true, *epoch);
      if (leading) *leading = true;
      spdlog::info("leading at epoch {} ({:.2f} s after taking the lease)", *epoch,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - took).count());
      server.run(term_over, [&] {
        if (alive) alive();
        if (stop.load() || fence->lost()) term_over = true;
      });
    } catch (const StoreUnavailable& e) {
      spdlog::error("leadership at epoch {} ended: the store is away ({})", *epoch, e.what());
      fence->lose(LeadershipFence::Reason::StoreAway, e.what());
    } catch (...) {  // anything else (a store newer than this coordinator): the lease goes first, then the error
      term_over = true;
      if (keeper.joinable()) keeper.join();
      if (leading) *leading = false;
      lease.release();
      throw;
    }
    term_over = true;
    if (keeper.joinable()) keeper.join();
    if (leading) *leading = false;
    lease.release(!fence->lost());  // unlocked, then the session ends: a standby takes over at once
    if (fence->lost()) {
      const std::string why = fence->why();
      spdlog::warn("stepped down from epoch {}: {}", *epoch, why);
      const LeadershipFence::Reason reason = fence->reason();
      metrics.stepped_down(reason == LeadershipFence::Reason::Fenced        ? "fenced"
                           : reason == LeadershipFence::Reason::SessionLost ? "session-lost"
                                                                             : "store-away");
    } else {
      metrics.set_leader(false);
    }
  }
}

}  // namespace ampere
