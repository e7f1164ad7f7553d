// The agent's work loop: register, heartbeat, pull a job when idle, measure it, report, repeat.
// Survives a coordinator restart and a failover (ZeroMQ reconnects; with several endpoints, one
// that does not answer or is a standby is left for the next; an "unregistered" reply makes it
// register again; an unacknowledged result is sent again until one is acknowledged).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "security/coordinator_endpoints.hpp"
#include "security/curve_client.hpp"

#include "agent/reference_network.hpp"
#include "agent/trainer.hpp"

namespace ampere {

/// What a fleet's runners did, for bench/fleet: results the coordinator acknowledged as stored or
/// refused, and each job's round trip (work request sent → its result acknowledged).
class AgentTally {
 public:
  void acknowledged(bool stored, std::chrono::steady_clock::duration round_trip, std::uint64_t job_id = 0);
  /// The job ids whose results were acknowledged as stored, in the order they were (a job twice
  /// here would be a result acknowledged twice: bench/ha counts it).
  std::vector<std::uint64_t> stored_job_ids() const;
  std::uint64_t stored() const { return stored_.load(); }
  std::uint64_t refused() const { return refused_.load(); }
  /// Round trips in milliseconds, in the order they ended.
  std::vector<double> round_trips_ms() const;

 private:
  std::atomic<std::uint64_t> stored_{0}, refused_{0};
  mutable std::mutex mutex_;
  std::vector<double> round_trips_ms_;
  std::vector<std::uint64_t> stored_job_ids_;
};

struct AgentConfig {
  /// The coordinator's agent endpoint, or a comma list of them (--ha: the agent talks to one at a
  /// time and moves on when it does not answer or is a standby).
  std::string coordinator = "tcp://127.0.0.1:5555";
  std::string agent_id;
  std::string device_class;
  int threads = 1;
  double min_window_seconds = 0;  ///< a repeat's window when the job leaves it open; 0: the meter's default
  /// The reference network is timed before the first job and then every this many jobs or
  /// seconds (docs/method.md §5); 0 jobs: never (results go without a reference reading).
  std::uint32_t reference_every_jobs = 5;
  std::chrono::seconds reference_every{60};
  /// Memory reported at registration (the coordinator refuses jobs over half its class's
  /// smallest); 0: this host's RAM. A simulated agent reports its profile's.
  std::uint64_t memory_bytes = 0;
  AgentTally* tally = nullptr;  ///< counts acknowledgements when set (bench/fleet); not owned
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds reply_timeout{3000};
  /// With several endpoints: how long a connection may take before the next endpoint is tried.
  std::chrono::milliseconds connect_timeout{1000};
  /// CURVE keys to connect with (docs/security.md); none: plain (a loopback coordinator).
  std::optional<CurveClientKeys> curve{};
  /// Called at each heartbeat and each registration attempt: the agent's loops are alive (the
  /// systemd watchdog; none: nothing).
  std::function<void()> alive{};
};

class AgentRunner {
 public:
  /// `trainer` must outlive the runner.
  AgentRunner(zmq::context_t& context, Trainer& trainer, AgentConfig config);
  /// Works until `stop` becomes true.
  void run(const std::atomic<bool>& stop);

 private:
  /// What a WorkRequest brought back.
  enum class Reply { Job, NoWork, Unregistered };

  std::string register_frame() const;
  /// The job socket, connected to the current endpoint.
  zmq::socket_t job_socket();
  /// With several endpoints: the next one, on a fresh socket (false with one endpoint: ZeroMQ
  /// reconnects by itself). After a whole round of the list, a short pause.
  bool fail_over(zmq::socket_t& socket, const std::string& why);
  /// Sends on the job socket; with several endpoints, only once a connection is up (false: the
  /// endpoint cannot be reached, nothing was sent).
  bool send(zmq::socket_t& socket, const std::string& frame);
  /// Sends Register until a coordinator acknowledges it (or `stop`); true when registered.
  bool register_agent(zmq::socket_t& socket, const std::atomic<bool>& stop);
  /// Heartbeats from their own socket, so they flow while a job trains; until `stop` or `done`.
  void heartbeat(const std::atomic<bool>& stop, const std::atomic<bool>& done);
  /// Asks for work; a Job is decoded into `job_frame`. NoWork is waited out here.
  Reply request_work(zmq::socket_t& socket, std::string& job_frame);
  /// Measures the job a Job frame holds; returns the Result frame (with the error when it failed).
  std::string execute(const std::string& job_frame, std::uint64_t& job_id);
  /// Sends the Result until the coordinator acknowledges it (or `stop`): a coordinator that
  /// restarted in between gets it again.
  void report(zmq::socket_t& socket, std::uint64_t job_id, const std::string& result, const std::atomic<bool>& stop,
              std::chrono::steady_clock::time_point asked);

  zmq::context_t& context_;
  Trainer& trainer_;
  AgentConfig config_;
  CoordinatorEndpoints endpoints_;
  SystemClock clock_;
  ReferenceSchedule reference_;
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
