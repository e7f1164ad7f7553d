// Where campaigns, jobs and results live (SQLite by default, PostgreSQL for a fleet). Every result is committed before the coordinator acks it.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/measurement.hpp"

namespace ampere {

/// The store cannot be reached right now (connection refused or lost, disk full): the operation
/// did not happen and may be retried later. Everything else a store throws is a real refusal.
class StoreUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A second result for a job that already has one (a replay after a crash, say).
class DuplicateResult : public InputError {
 public:
  using InputError::InputError;
};

struct CampaignRecord {
  std::uint64_t id = 0;
  std::string family_json;
  std::string device_class;
  std::uint32_t budget_per_kind = 0;
  std::string acquisition;
  std::string state;  ///< running, done, stopped
};

/// The kind_key of a held-out job: a concrete model of the campaign's family measured whole, never
/// profiled nor used by the FLOPs line, that scores the live estimates.
inline const std::string kHoldoutKind = "holdout";

enum class JobState { Queued, Running, Done, Failed };
const char* job_state_name(JobState state);
/// The inverse of job_state_name; throws on a name a store should never hold.
JobState parse_job_state(const std::string& name);

struct JobRecord {
  std::uint64_t id = 0;
  std::uint64_t campaign_id = 0;
  std::string kind_key;
  std::vector<std::int64_t> channels;
  std::string variant_json;
  JobState state = JobState::Queued;
  std::string agent_id;
  std::uint32_t attempts = 0;
};

struct ResultRecord {
  std::uint64_t job_id = 0;
  std::string agent_id;
  Measurement measurement;
};

/// Persistence. Implementations are used from the coordinator's loop thread only. Any method may
/// throw StoreUnavailable; the next call tries to reconnect.
class Store {
 public:
  virtual ~Store() = default;
  /// Assigns and returns the campaign's id.
  virtual std::uint64_t create_campaign(const CampaignRecord& campaign) = 0;
  virtual void set_campaign_state(std::uint64_t campaign_id, const std::string& state) = 0;
  virtual std::vector<CampaignRecord> campaigns() = 0;
  /// Assigns ids to the jobs (in order) in one transaction.
  virtual std::vector<std::uint64_t> create_jobs(const std::vector<JobRecord>& jobs) = 0;
  virtual void set_job_state(std::uint64_t job_id, JobState state, const std::string& agent_id) = 0;
  virtual std::vector<JobRecord> jobs(std::uint64_t campaign_id) = 0;
  /// Stores a result and marks its job done, atomically. Throws InputError when the job is unknown,
  /// DuplicateResult when it has a result already, StoreUnavailable when the store is away.
  virtual void store_result(const ResultRecord& result) = 0;
  virtual std::vector<ResultRecord> results(std::uint64_t campaign_id) = 0;
  /// A finished kind's fitted models (JSON), replaced when saved again: a restarted coordinator
  /// restores them instead of refitting.
  virtual void save_kind_model(std::uint64_t campaign_id, const std::string& kind_key, const std::string& model_json) = 0;
  virtual std::vector<std::pair<std::string, std::string>> kind_models(std::uint64_t campaign_id) = 0;
  /// A cheap summary that changes whenever a campaign, its state, a result or a kind model changes
  /// (readers such as the HTTP bridge reload only then).
  virtual std::string fingerprint() = 0;
};

using StorePtr = std::unique_ptr<Store>;

/// Opens a store by URL: "sqlite:PATH" (created when missing) or "postgresql://USER@HOST:PORT/DB"
/// (schema migrated on open). Throws InputError on an unknown scheme or a store that cannot be
/// opened, naming the URL (passwords redacted).
StorePtr open_store(const std::string& url);
/// The URL with its password replaced by ***, for messages and logs.
std::string redact_store_url(const std::string& url);

}  // namespace ampere
