#include "coordinator/server/fleet_registry.hpp"

#include <algorithm>

namespace ampere {

FleetRegistry::FleetRegistry(const Clock& clock, std::chrono::milliseconds heartbeat_timeout)
    : clock_(clock), heartbeat_timeout_(heartbeat_timeout) {}

std::uint64_t FleetRegistry::register_agent(AgentInfo agent) {
  std::uint64_t held = 0;
  agent.running_job = 0;
  if (const auto existing = agents_.find(agent.id); existing != agents_.end()) {
    if (existing->second.device_class == agent.device_class) agent.running_job = existing->second.running_job;
    else held = existing->second.running_job;
  }
  agent.last_seen = clock_.now();
  saw_class(agent.device_class);
  agents_[agent.id] = std::move(agent);
  return held;
}

AgentInfo* FleetRegistry::find(const std::string& agent_id) {
  const auto it = agents_.find(agent_id);
  return it == agents_.end() ? nullptr : &it->second;
}

void FleetRegistry::heard_from(const std::string& agent_id) {
  if (AgentInfo* agent = find(agent_id)) agent->last_seen = clock_.now();
}

std::vector<AgentInfo> FleetRegistry::expire() {
  std::vector<AgentInfo> lost;
  const auto now = clock_.now();
  for (auto it = agents_.begin(); it != agents_.end();) {
    if (now - it->second.last_seen > heartbeat_timeout_) {
      lost.push_back(std::move(it->second));
      it = agents_.erase(it);
    } else {
      ++it;
    }
  }
  return lost;
}

void FleetRegistry::release_job(std::uint64_t job_id) {
  for (auto& [id, agent] : agents_)
    if (agent.running_job == job_id) agent.running_job = 0;
}

void FleetRegistry::saw_class(const std::string& device_class) { classes_[device_class] = true; }

std::string FleetRegistry::known_classes() const {
  std::string known;
  for (const auto& [name, seen] : classes_) known += (known.empty() ? "" : ", ") + name;
  return known;
}

std::map<std::string, std::size_t> FleetRegistry::connected_per_class() const {
  std::map<std::string, std::size_t> out;
  for (const auto& [name, seen] : classes_) out[name] = 0;
  for (const auto& [id, agent] : agents_) ++out[agent.device_class];
  return out;
}

std::size_t FleetRegistry::connected(const std::string& device_class) const {
  std::size_t n = 0;
  for (const auto& [id, agent] : agents_) n += agent.device_class == device_class ? 1 : 0;
  return n;
}

std::size_t FleetRegistry::idle(const std::string& device_class) const {
  std::size_t n = 0;
  for (const auto& [id, agent] : agents_) n += agent.device_class == device_class && agent.running_job == 0 ? 1 : 0;
  return n;
}

std::uint64_t FleetRegistry::typical_memory(const std::string& device_class) const {
  std::vector<std::uint64_t> reported;
  for (const auto& [id, agent] : agents_)
    if (agent.device_class == device_class && agent.memory_bytes > 0) reported.push_back(agent.memory_bytes);
  if (reported.empty()) return 0;
  const auto middle = reported.begin() + static_cast<std::ptrdiff_t>((reported.size() - 1) / 2);
  std::nth_element(reported.begin(), middle, reported.end());
  return *middle;
}

}  // namespace ampere
