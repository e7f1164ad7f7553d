// Jobs not yet done or failed: one queue per device class, the running ones, attempts, and the
// mean job duration per class (for the ETA). Planned jobs join at the back; a job whose agent was
// lost or whose attempt failed goes back to the front. Not thread safe: the loop owns it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "coordinator/store/records.hpp"

namespace ampere {

class JobQueue {
 public:
  /// `clock` must outlive the queue; a job is given up after `max_attempts` failed attempts.
  JobQueue(const Clock& clock, std::uint32_t max_attempts);

  /// A stored job (its id assigned) joins the back of its class's queue, queued.
  void add(const std::string& device_class, JobRecord job);
  /// The next queued job of the class, now running on `agent_id` with one more attempt; null
  /// when the class has none queued for it. A job whose not_agent is `agent_id` (a far point's
  /// confirmation) is passed over unless the agent is `alone` in its class.
  JobRecord* start_next(const std::string& device_class, const std::string& agent_id, bool alone = true);
  /// A job stored as running when this coordinator started (a restart, or a takeover from
  /// another leader): running for the agent it was handed to, which may still send its result.
  /// Held for that agent (an orphan) until it registers here (claim_orphan), else re-queued by
  /// the caller once orphans_older_than says so.
  void adopt_running(const std::string& device_class, JobRecord job);
  /// The orphan held for `agent_id` on `device_class` (0: none); from now on an ordinary running
  /// job of that agent.
  std::uint64_t claim_orphan(const std::string& agent_id, const std::string& device_class);
  /// Orphans adopted longer than `limit` ago whose agent has not come back.
  std::vector<std::uint64_t> orphans_older_than(std::chrono::milliseconds limit) const;
  /// Null when the job is unknown or already finished.
  JobRecord* find(std::uint64_t job_id);
  /// Back to the front of its class's queue; false when unknown.
  bool requeue(std::uint64_t job_id);
  /// A failed attempt: true when the job may be tried again (attempts below the maximum).
  bool may_retry(const JobRecord& job) const { return job.attempts < max_attempts_; }
  /// Done (its duration joins the class's mean) or given up: no longer tracked.
  void finish(std::uint64_t job_id);
  void give_up(std::uint64_t job_id);
  /// A stopped campaign's queued jobs leave the queue (running ones finish normally).
  void drop_queued(std::uint64_t campaign_id);

  struct Counts {
    std::size_t queued = 0, running = 0;
  };
  Counts counts_for_campaign(std::uint64_t campaign_id) const;
  std::map<std::string, Counts> counts_per_class() const;
  bool has_queued(const std::string& device_class) const;
  /// Exponential moving average of how long a job of the class took, start to result.
  std::optional<double> mean_job_seconds(const std::string& device_class) const;
  /// Running jobs started longer than `limit` ago: their deadline passed without a result.
  std::vector<std::uint64_t> overdue(std::chrono::milliseconds limit) const;
  /// True when the job is running and was started longer than `limit` ago.
  bool is_overdue(std::uint64_t job_id, std::chrono::milliseconds limit) const;
  std::size_t size() const { return jobs_.size(); }
  /// The device class a tracked job runs on (empty when unknown).
  std::string device_class_of(std::uint64_t job_id) const;

 private:
  struct Entry {
    JobRecord job;
    std::string device_class;
    Clock::TimePoint started{};
    bool orphan = false;  ///< adopted running at start, its agent not back yet
  };

  const Clock& clock_;
  std::uint32_t max_attempts_;
  std::map<std::uint64_t, Entry> jobs_;                      ///< not yet done or failed
  std::map<std::string, std::deque<std::uint64_t>> queues_;  ///< queued job ids per class (may hold stale ids)
  std::map<std::string, double> mean_job_seconds_;
};

}  // namespace ampere
