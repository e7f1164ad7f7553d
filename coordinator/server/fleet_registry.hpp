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

struct AgentInfo {
  std::string id;
  std::string routing_id;  ///< where its messages come from (changes when it reconnects)
  std::string device_class;
  std::string backend;
  Clock::TimePoint last_seen{};
  std::uint64_t running_job = 0;  ///< 0: idle
  std::uint64_t memory_bytes = 0;  ///< what it reported at registration (0: nothing)
};

class FleetRegistry {
 public:
  /// `clock` must outlive the registry.
  FleetRegistry(const Clock& clock, std::chrono::milliseconds heartbeat_timeout);

  /// Adds or replaces an agent (seen now). Returns the job it held before registering again
  /// (0: none), which the caller re-queues.
  std::uint64_t register_agent(AgentInfo agent);
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
  /// The least memory a connected agent of the class reported; 0 when none reported any.
  std::uint64_t smallest_memory(const std::string& device_class) const;

 private:
  const Clock& clock_;
  std::chrono::milliseconds heartbeat_timeout_;
  std::map<std::string, AgentInfo> agents_;  ///< by agent id
  std::map<std::string, bool> classes_;      ///< known device classes
};

}  // namespace ampere
