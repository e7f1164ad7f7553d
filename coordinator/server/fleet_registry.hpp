// The agents the coordinator knows: who they are, which device class, when each was last heard
// from, which job each holds. An agent silent longer than the heartbeat timeout is lost (its job
// goes back to the queue, by the caller). Not thread safe: the loop owns it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/clock.hpp"

namespace ampere {

/// What an agent may claim as its memory at registration (0: it does not say); outside, the
/// registration is refused (docs/security.md).
inline constexpr std::uint64_t kMinAgentMemoryBytes = 64ull << 20;  // 64 MiB
inline constexpr std::uint64_t kMaxAgentMemoryBytes = 1ull << 50;   // 1 PiB

struct AgentInfo {
  std::string id;
  std::string routing_id;  ///< where its messages come from (changes when it reconnects)
  std::string device_class;
  std::string backend;
  Clock::TimePoint last_seen{};
  std::uint64_t running_job = 0;  ///< 0: idle
  std::uint64_t memory_bytes = 0;  ///< what it reported at registration (0: nothing)
  std::string key{};               ///< the CURVE key it registered with (empty without CURVE)
};

class FleetRegistry {
 public:
  /// `clock` must outlive the registry.
  FleetRegistry(const Clock& clock, std::chrono::milliseconds heartbeat_timeout);

  /// Adds or replaces an agent (seen now). An agent registering again for the same class keeps
  /// the job it holds (it may still report it: it loses none of its work); one that changed class
  /// gives it up, and the job is returned (0: none) for the caller to re-queue.
  std::uint64_t register_agent(AgentInfo agent);
  std::size_t size() const { return agents_.size(); }
  std::size_t classes() const { return classes_.size(); }
  /// Null when unknown.
  AgentInfo* find(const std::string& agent_id);
  /// A heartbeat or any message from a known agent: seen now. Unknown agents are ignored.
  void heard_from(const std::string& agent_id);
  /// Removes and returns every agent not heard from for longer than the heartbeat timeout.
  std::vector<AgentInfo> expire();
  /// No agent holds `job_id` any more.
  void release_job(std::uint64_t job_id);

  /// A device class is known once an agent of it registered or a campaign names it.
  void saw_class(const std::string& device_class);
  bool knows_class(const std::string& device_class) const { return classes_.count(device_class) == 1; }
  /// Known classes, sorted, comma-separated (for messages).
  std::string known_classes() const;
  /// Connected agents per known class (0 for a class with none).
  std::map<std::string, std::size_t> connected_per_class() const;
  std::size_t connected(const std::string& device_class) const;
  std::size_t idle(const std::string& device_class) const;
  /// The median memory the class's connected agents reported (the lower middle of an even
  /// count); 0 when none reported any. Robust: one agent's claim cannot move it far.
  std::uint64_t typical_memory(const std::string& device_class) const;

 private:
  const Clock& clock_;
  std::chrono::milliseconds heartbeat_timeout_;
  std::map<std::string, AgentInfo> agents_;  ///< by agent id
  std::map<std::string, bool> classes_;      ///< known device classes
};

}  // namespace ampere
