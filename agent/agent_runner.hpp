// The agent's work loop: register, heartbeat, pull a job when idle, measure it, report, repeat.
// Survives a coordinator restart (ZeroMQ reconnects; an "unregistered" reply makes it register
// again; an unacknowledged result is sent again).
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include <zmq.hpp>

#include "agent/trainer.hpp"

namespace ampere {

struct AgentConfig {
  std::string coordinator = "tcp://127.0.0.1:5555";
  std::string agent_id;
  std::string device_class;
  int threads = 1;
  double min_window_seconds = 0.2;
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds reply_timeout{3000};
};

class AgentRunner {
 public:
  /// `trainer` must outlive the runner.
  AgentRunner(zmq::context_t& context, Trainer& trainer, AgentConfig config);
  /// Works until `stop` becomes true.
  void run(const std::atomic<bool>& stop);

 private:
  std::string register_frame() const;

  zmq::context_t& context_;
  Trainer& trainer_;
  AgentConfig config_;
  std::atomic<std::uint64_t> running_job_{0};
};

/// Hardware facts for Register: CPU model, cores, memory, hostname.
struct HardwareFacts {
  std::string cpu_model;
  unsigned cores = 0;
  std::uint64_t memory_bytes = 0;
  std::string hostname;
};
HardwareFacts read_hardware_facts();

}  // namespace ampere
