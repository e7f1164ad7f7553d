// Where campaigns, jobs and results live (SQLite by default, PostgreSQL for a fleet). Every result is committed before the coordinator acks it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "coordinator/store/records.hpp"

namespace ampere {

/// Persistence. Implementations are used from the coordinator's loop thread only. Any method may
/// throw StoreUnavailable; the next call tries to reconnect.
class Store {
 public:
  virtual ~Store() = default;
  /// Assigns and returns the campaign's id.
  virtual std::uint64_t create_campaign(const CampaignRecord& campaign) = 0;
  virtual void set_campaign_state(std::uint64_t campaign_id, CampaignState state) = 0;
  virtual std::vector<CampaignRecord> campaigns() = 0;
  /// Assigns ids to the jobs (in order) in one transaction.
  virtual std::vector<std::uint64_t> create_jobs(const std::vector<JobRecord>& jobs) = 0;
  /// A job with a stored result stays done: a late state write never takes it back.
  virtual void set_job_state(std::uint64_t job_id, JobState state, const std::string& agent_id) = 0;
  /// A done job whose result is not used (a far point another agent's reading outvoted,
  /// docs/method.md §5): failed from now on, so no restart fits it; its result stays stored.
  /// Nothing happens to a job that is not done.
  virtual void discard_result(std::uint64_t job_id) = 0;
  /// Several job states in as few commits as the store allows (SQLite: one transaction; the
  /// default: one set_job_state each).
  virtual void set_job_states(const std::vector<JobStateChange>& changes);
  virtual std::vector<JobRecord> jobs(std::uint64_t campaign_id) = 0;
  /// Stores a result and marks its job done, atomically. Throws InputError when the job is unknown,
  /// DuplicateResult when it has a result already, StoreUnavailable when the store is away.
  virtual void store_result(const ResultRecord& result) = 0;
  /// A group of results in as few commits as the store allows (SQLite: one transaction), each
  /// stored atomically with its job's state; a result refused (unknown job, a duplicate) does not
  /// stop the others, its outcome says why. Throws StoreUnavailable when the store is away, after
  /// which any of the group may or may not be stored (the caller spools them all; a replayed
  /// duplicate counts as stored). The default: one store_result each.
  virtual std::vector<GroupedResultOutcome> store_results(const std::vector<ResultRecord>& results);
  virtual std::vector<ResultRecord> results(std::uint64_t campaign_id) = 0;
  /// The agent whose result is stored for the job; nullopt when the job has none. A coordinator
  /// that took over (or restarted) acknowledges a result its agent sends again after the Ack was
  /// lost, instead of refusing it (docs/architecture.md, "High availability").
  virtual std::optional<std::string> result_agent(std::uint64_t job_id) = 0;
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
/// The URL with its password (USER:PASSWORD@ or a password= parameter) replaced by ***, for
/// messages and logs.
std::string redact_store_url(const std::string& url);
/// Whether a PostgreSQL URL carries a password (USER:PASSWORD@ or a password= parameter).
bool store_url_has_password(const std::string& url);
/// A PostgreSQL URL with `password` added as its percent-encoded password= parameter (from
/// --store-password-file: a password never on a command line). Throws InputError for an SQLite URL
/// or one that already carries a password.
std::string store_url_with_password(const std::string& url, const std::string& password);
/// store_url_with_password with the first line of `password_file` (--store-password-file), the
/// same refusals.
std::string store_url_with_password_file(const std::string& url, const std::string& password_file);

/// Every campaign with its jobs, results and fitted kind models, in id order: what readers that
/// rebuild from the store (the loop's reload, the bridge's snapshot) start from.
std::vector<StoredCampaign> read_stored_campaigns(Store& store);
/// One campaign's jobs, results and fitted kind models beside its record (the loop reads running
/// campaigns first and ended ones later, one at a time).
StoredCampaign read_stored_campaign(Store& store, CampaignRecord record);

}  // namespace ampere
