// The plain records the store keeps: campaigns, jobs, results. No storage code here, so planning/
// can read them without depending on a store implementation.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
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
  explicit DuplicateResult(const std::string& message) : InputError(message, ErrorCode::Conflict) {}
};

/// A campaign's life: running until every kind is done (or it is stopped by a client).
enum class CampaignState { Running, Done, Stopped };
/// "running", "done", "stopped": the spelling stored and shown in `campaign status --json`.
const char* campaign_state_name(CampaignState state);
/// The inverse of campaign_state_name; throws InputError naming the text otherwise.
CampaignState parse_campaign_state(const std::string& name);

struct CampaignRecord {
  std::uint64_t id = 0;
  std::string family_json;
  std::string device_class;
  std::uint32_t budget_per_kind = 0;
  std::string acquisition;  ///< its name (gp/acquisition.hpp parses it)
  CampaignState state = CampaignState::Running;
  std::string estimator = "subtractive";  ///< its name (planning/campaign.hpp parses it)
  /// Profile-on-demand (docs/byom.md §3): the only kinds of the family this campaign profiles (the
  /// helpers they need come with them); empty: every kind.
  std::vector<std::string> only_kinds{};
  /// Why the stored row could not be decoded (empty: it could); readers quarantine such rows.
  std::string unreadable{};
};

/// The kind_key of a held-out job: a concrete model of the campaign's family measured whole, never
/// profiled nor used by the FLOPs line, that scores the live estimates.
inline const std::string kHoldoutKind = "holdout";

/// The kind_key of a calibration job: a concrete model of the campaign's family measured whole and
/// fed to the joint fit (docs/method.md §8); never held out, never on the FLOPs line.
inline const std::string kCalibrationKind = "calibration";

enum class JobState { Queued, Running, Done, Failed };
/// "queued", "running", "done", "failed": the spelling stored.
const char* job_state_name(JobState state);
/// The inverse of job_state_name; throws InputError naming the text otherwise.
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
  /// Why the stored row could not be decoded (empty: it could); readers quarantine such rows.
  std::string unreadable{};
  /// Not stored (a restart derives it): a far point's confirmation is not handed to this agent,
  /// the one that measured the point, while its class has another (docs/method.md §5).
  std::string not_agent{};
  bool holdout() const { return kind_key == kHoldoutKind; }
  bool calibration() const { return kind_key == kCalibrationKind; }
  /// A whole model (held-out or calibration), not a variant network of a profiled kind.
  bool whole_model() const { return holdout() || calibration(); }
};

struct ResultRecord {
  std::uint64_t job_id = 0;
  std::string agent_id;
  Measurement measurement;
  /// Why the stored row could not be decoded (empty: it could); readers quarantine such rows.
  std::string unreadable{};
};

/// One job's new state, for Store::set_job_states.
struct JobStateChange {
  std::uint64_t job_id = 0;
  JobState state = JobState::Queued;
  std::string agent_id;
};

/// What became of one result of a group handed to Store::store_results.
struct GroupedResultOutcome {
  enum class Kind { Stored, Duplicate, Refused } kind = Kind::Stored;
  std::string message;  ///< why, for Duplicate and Refused
};

/// Everything stored about one campaign, as the readers that rebuild from the store see it.
struct StoredCampaign {
  CampaignRecord record;
  std::vector<JobRecord> jobs;
  std::vector<ResultRecord> results;
  std::vector<std::pair<std::string, std::string>> kind_models;  ///< (kind key, fitted model JSON)
};

}  // namespace ampere
