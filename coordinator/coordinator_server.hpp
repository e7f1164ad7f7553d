// The coordinator process's core: one single-threaded event loop over two ZeroMQ ROUTER sockets
// (agents, clients). It owns the campaigns, the job queues per device class and the estimator;
// every result is committed to the store before it is acknowledged, and a restarted coordinator
// reloads campaigns, jobs and results from the store and carries on.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <memory>
#include <string>

#include <zmq.hpp>

#include "coordinator/campaign.hpp"
#include "coordinator/estimator.hpp"
#include "coordinator/metrics.hpp"
#include "coordinator/result_spool.hpp"
#include "coordinator/store.hpp"

namespace ampere {

struct CoordinatorConfig {
  std::string agents_endpoint = "tcp://127.0.0.1:5555";
  std::string clients_endpoint = "tcp://127.0.0.1:5556";
  std::chrono::milliseconds heartbeat_timeout{6000};  ///< an agent silent this long is lost
  std::uint32_t warmup_iterations = 5;                ///< method.md §5
  std::uint32_t repeats = 5;
  std::uint32_t iterations = 0;                       ///< per repeat; 0: the agent picks (>= 0.2 s, >= 10)
  std::uint32_t max_attempts = 3;                     ///< a job failing this often is given up
  std::uint64_t seed = 0;
  std::string spool_path;             ///< results the store could not take wait here; empty: none
  std::size_t spool_capacity = 10000; ///< results the spool holds at most
  std::uint32_t holdout_models = 3;   ///< concrete models per campaign measured for the live MAPE
};

class CoordinatorServer {
 public:
  /// Binds both sockets, replays the spool and reloads the store. `store` (and `metrics` when
  /// given) must outlive the server.
  CoordinatorServer(zmq::context_t& context, Store& store, CoordinatorConfig config,
                    CoordinatorMetrics* metrics = nullptr);

  /// Serves until `stop` becomes true (checked every 100 ms).
  void run(const std::atomic<bool>& stop);

 private:
  struct Agent {
    std::string id;
    std::string routing_id;
    std::string device_class;
    std::string backend;
    std::chrono::steady_clock::time_point last_seen;
    std::uint64_t running_job = 0;
  };
  struct CampaignEntry {
    CampaignRecord record;
    std::unique_ptr<Campaign> campaign;
    std::set<std::string> saved_models;  ///< finished kinds whose models are in the store
    std::vector<std::pair<ModelSpec, Measurement>> holdout;  ///< measured held-out models
  };

  void reload();
  void handle_agent(const std::string& routing_id, const std::string& frame);
  std::string handle_client(const std::string& frame);
  void on_register(const std::string& routing_id, const std::string& frame);
  void on_work_request(const std::string& routing_id, const std::string& agent_id);
  void on_result(const std::string& routing_id, const std::string& frame);
  void send_agent(const std::string& routing_id, const std::string& frame);
  void expire_agents();
  void requeue(std::uint64_t job_id, const std::string& why);
  void plan(const std::string& device_class);
  void enqueue(CampaignEntry& entry, std::vector<PlannedJob> jobs);
  /// Stores the jobs (ids from the store) and queues them; false when the store is away.
  bool queue_jobs(CampaignEntry& entry, std::vector<JobRecord> records);
  void after_progress(CampaignEntry& entry);
  void record_baseline_point(const std::string& device_class, const JobRecord& job, const Measurement& m);
  std::string campaign_status(std::uint64_t campaign_id);
  std::string start_campaign(const std::string& frame);
  std::string stop_campaign(std::uint64_t campaign_id);
  std::string estimate(const std::string& spec_json, const std::string& device_class, std::uint64_t iterations);
  std::string device_classes();
  std::size_t idle_agents(const std::string& device_class) const;
  void enqueue_holdout(CampaignEntry& entry);
  static std::size_t points_remaining_at_most(const CampaignEntry& entry);
  void update_heldout_mape(const std::string& device_class);
  void update_metrics();
  void replay_spool();
  /// Runs a store write that may be skipped while the store is away (the state it records is
  /// rebuilt on reload); false when the store was unavailable.
  template <class Write>
  bool try_store(const char* operation, Write&& write);
  void store_down(const char* operation, const std::exception& e);
  void store_back();
  /// False while the store is marked away and its next probe is not due.
  bool store_may_be_tried() const;
  /// Replays the spool, or probes an away store, when due (each maintenance tick).
  void probe_store();
  static constexpr std::chrono::milliseconds kMinStoreBackoff{1000};
  static constexpr std::chrono::milliseconds kMaxStoreBackoff{10000};

  Store& store_;
  CoordinatorConfig config_;
  std::unique_ptr<CoordinatorMetrics> own_metrics_;
  CoordinatorMetrics& metrics_;
  std::unique_ptr<ResultSpool> spool_;
  bool store_up_ = true;
  std::chrono::steady_clock::time_point store_retry_at_{};
  std::chrono::milliseconds store_backoff_{kMinStoreBackoff};
  zmq::socket_t agents_;
  zmq::socket_t clients_;
  std::map<std::string, Agent> agents_by_id_;
  std::map<std::uint64_t, CampaignEntry> campaigns_;
  std::map<std::uint64_t, JobRecord> jobs_;  ///< not yet done or failed
  std::map<std::string, std::deque<std::uint64_t>> queues_;  ///< queued job ids per device class
  FlopsBaselineBuilder baselines_;
  std::map<std::string, std::chrono::steady_clock::time_point> class_seen_;
  std::map<std::uint64_t, std::chrono::steady_clock::time_point> job_started_;
  std::map<std::string, double> mean_job_seconds_;  ///< per device class, exponential moving average
  Estimator estimator_;
};

}  // namespace ampere
