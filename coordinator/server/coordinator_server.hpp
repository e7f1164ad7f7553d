// The coordinator's loop: one thread polls the transport and dispatches each message (agents:
// Register, Heartbeat, WorkRequest, Result; clients: campaigns, estimates, device classes), and
// every half second expires silent agents, lets the store probe or replay, and sets the gauges.
// Every result is committed (or spooled) before it is acknowledged; a restarted coordinator
// reloads campaigns, jobs and results from the store and carries on.
//
// Authority is handed in: the transport (sockets bound by main), the store, the clock, the
// metrics. A unit test drives it with a fake transport and a fake clock, turn by turn.
#pragma once

#include <atomic>
#include <functional>
#include <deque>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "coordinator/metrics/coordinator_metrics.hpp"
#include "coordinator/server/campaign_service.hpp"
#include "coordinator/server/fleet_registry.hpp"
#include "coordinator/server/job_queue.hpp"
#include "coordinator/server/transport.hpp"
#include "coordinator/store/resilient_store.hpp"
#include "security/allow_list.hpp"

namespace ampere {

class DecodedEnvelope;

struct CoordinatorConfig {
  std::chrono::milliseconds heartbeat_timeout{6000};  ///< an agent silent this long is lost
  std::uint32_t warmup_iterations = 5;                ///< docs/method.md §5
  std::uint32_t repeats = 3;                          ///< the fewest repeats per job
  std::uint32_t repeat_cap = 10;                      ///< repeat until they agree or this many; <= repeats: fixed
  double agreement = 0.01;                            ///< 90% bootstrap half-width of the minimum, relative
  double window_seconds = 0;                          ///< one repeat; 0: the agent's meter default
  std::uint32_t iterations = 0;                       ///< per repeat; 0: the agent picks (one window, >= 10)
  std::uint32_t max_attempts = 3;                     ///< a job failing this often is given up
  std::uint64_t seed = 0;
  std::uint32_t holdout_models = 3;   ///< concrete models per campaign measured for the live MAPE
  /// Subtractive fits corrected by the calibration models (docs/method.md §11; measured worse, so off).
  bool calibration_correction = false;
  /// Campaigns look for their kinds' channel quantization (docs/method.md §14).
  ChannelStepSearch channel_steps = CampaignSettings().channel_steps;
  double max_job_memory_bytes = 0;  ///< refuse new campaigns whose variant networks need more (0: no limit)
  std::chrono::minutes job_deadline{10};  ///< a Job's deadline, from when it is handed out
  /// After a job's deadline, how long its result may still arrive (in flight) before the
  /// coordinator re-queues the job (a failed attempt) and refuses a late result.
  std::chrono::milliseconds deadline_grace{10000};
  std::size_t max_agents = 100000;        ///< registered agents at most (a registration past it is refused)
  std::size_t max_device_classes = 1000;  ///< device classes at most
  /// Messages one turn takes when they are waiting (the first is waited for): results received in
  /// a turn are committed together, then acknowledged (group commit: one fsync for the group).
  std::size_t messages_per_turn = 256;
  /// A WorkRequest that finds no job waits this long for one (a long poll: a job planned meanwhile
  /// goes out at once) before the agent is told NoWork. Below the agents' reply timeout (3 s).
  std::chrono::milliseconds park_work_requests{1000};
  /// A job stored as running when this coordinator started waits this long for its agent to
  /// register again (and send its result) before it is re-queued.
  std::chrono::milliseconds orphan_wait{15000};
  /// After a start, ended campaigns are rebuilt this long per turn (before its messages), so the
  /// fleet is served while a long history loads.
  std::chrono::milliseconds load_slice{50};
};

class CoordinatorServer {
 public:
  /// Replays what `spool` (may be null) holds into the store, then reloads the store. Every
  /// reference must outlive the server.
  CoordinatorServer(Transport& transport, Store& store, const Clock& clock, std::unique_ptr<ResultSpool> spool,
                    CoordinatorConfig config, CoordinatorMetrics& metrics);
  ~CoordinatorServer();

  /// From now on every message must come from a key `peers` lists (docs/security.md): agents'
  /// from the agents list, each agent id bound to the key that first registered it; clients'
  /// by their role (readers ask, operators also start and stop campaigns and profile on demand).
  /// The ZAP handler admits only listed keys at the handshake; this check per message makes a
  /// reload (SIGHUP) revoke open connections too. `peers` must outlive the server.
  void require_keys(const AuthorizedPeers& peers) { peers_ = &peers; }

  /// Serves until `stop` becomes true (checked at least every 100 ms).
  void run(const std::atomic<bool>& stop, const std::function<void()>& after_turn = {});
  /// One turn of the loop: the messages waiting, up to messages_per_turn (waiting up to `wait`
  /// for the first); then the results they brought are committed together and acknowledged;
  /// then the maintenance tick when 500 ms have passed since the last.
  void turn(std::chrono::milliseconds wait);

 private:
  /// Null when the sender's key may not send agent messages (then refused, counted), else true.
  bool agent_key_allowed(const std::string& peer);
  void handle_agent(const std::string& peer, const std::string& frame);
  std::string handle_client(const std::string& frame);
  /// `decoded` is the frame handle_agent decoded (decoding reads every field: once per frame).
  void on_register(const std::string& peer, const DecodedEnvelope& decoded);
  void on_work_request(const std::string& peer, const std::string& agent_id);
  /// Plans if the class's queue is empty, then starts its next job for the agent and sends it;
  /// false when there is none.
  bool hand_out_job(const std::string& peer, AgentInfo& agent);
  /// Answers the parked work requests that now have a job, and NoWork to those parked too long.
  void serve_parked();
  void on_result(const std::string& peer, const DecodedEnvelope& decoded);
  /// Refuses a result before it is stored: counted by reason, logged, answered Ack{stored=false}.
  void refuse_result(const std::string& peer, std::uint64_t job_id, const char* reason, const std::string& why,
                     ErrorCode code = ErrorCode::InvalidInput);
  /// A result for a job this loop does not track whose stored result is this agent's: acknowledged
  /// as stored (a resend after a lost Ack). False when it is not (or the store cannot say now).
  bool stored_before(const std::string& peer, std::uint64_t job_id, const std::string& agent_id);
  /// Running jobs past their deadline and its grace: re-queued as a failed attempt, or given up.
  void expire_overdue_jobs();
  /// How long a running job may go without a result: its deadline plus the grace.
  const AuthorizedPeers* peers_ = nullptr;  ///< null: no CURVE (loopback only), every peer an operator
  std::string sender_key_;                   ///< the key of the message being handled (empty without CURVE)
  std::map<std::string, std::string> agent_keys_;  ///< agent id -> the key that first registered it
  std::chrono::milliseconds deadline_with_grace() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(config_.job_deadline) + config_.deadline_grace;
  }
  /// Commits the turn's results in one group, then acknowledges each and hands it to its campaign.
  void commit_results();
  /// Writes the job states (running) handed out since the last write, in one commit: before any
  /// other state write, so the store sees them in order.
  void write_job_states();
  /// A failed attempt: re-queued, or given up after the last.
  void attempt_failed(JobRecord& job, const std::string& agent_id, const std::string& why);
  void requeue(std::uint64_t job_id, const std::string& why);
  void maintain();
  void update_metrics();

  class MetricsListener;

  /// A result received this turn, checked, waiting for the group commit.
  struct PendingResult {
    std::string peer;
    ResultRecord record;
    ReferenceCheck reference;
    std::string device_class;
  };
  std::vector<PendingResult> pending_results_;
  /// Work requests waiting for a job, per device class, oldest first.
  struct ParkedRequest {
    std::string peer;
    std::string agent_id;
    Clock::TimePoint since;
  };
  std::map<std::string, std::deque<ParkedRequest>> parked_;
  std::vector<JobStateChange> pending_states_;

  Transport& transport_;
  const Clock& clock_;
  CoordinatorConfig config_;
  CoordinatorMetrics& metrics_;
  std::unique_ptr<MetricsListener> listener_;
  ResilientStore store_;
  FleetRegistry fleet_;
  JobQueue jobs_;
  CampaignService campaigns_;
  Clock::TimePoint last_maintenance_;
};

}  // namespace ampere
