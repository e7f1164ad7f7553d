// Campaigns as the loop runs them: start, stop, reload from the store, plan jobs for a class's
// idle agents, take results and failures, keep fitted kind models saved and the model catalog
// (estimates, FLOPs lines, held-out scores) current. The Campaign objects in planning/ decide
// what to measure; this service persists and queues what they decide. Not thread safe: the loop
// owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <future>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "coordinator/metrics/coordinator_metrics.hpp"
#include "coordinator/planning/campaign.hpp"
#include "coordinator/planning/model_catalog.hpp"
#include "coordinator/planning/stored_rows.hpp"
#include "coordinator/server/fleet_registry.hpp"
#include "coordinator/server/job_queue.hpp"
#include "coordinator/store/resilient_store.hpp"

namespace ampere {

/// One campaign the loop runs: its record, its planner, which fitted kinds are saved.
struct CampaignEntry {
  CampaignRecord record;
  std::unique_ptr<Campaign> campaign;
  std::set<std::string> saved_models;  ///< finished kinds whose models are in the store
  std::size_t saved_correction = 0;     ///< calibration models behind the saved models' correction
  /// A joint fit running on a worker thread.
  std::future<JointFit> joint_fit;
  /// Measurements the last fit started was given (a fit is never retried on the same ones).
  std::size_t joint_attempted = 0;
  double joint_started = 0;         ///< steady seconds when it started
  /// Far points held out of the fit until measured again (docs/method.md §5), by job id: their
  /// jobs and results (the catalog takes a result once it is kept).
  std::map<std::uint64_t, std::pair<JobRecord, Measurement>> held_far;
  /// When report_metrics first saw the campaign no longer running (its last values are published
  /// for CampaignService::Settings::ended_series_kept, then its series removed).
  std::optional<Clock::TimePoint> ended_seen;
  bool series_removed = false;  ///< its series are gone (or it had ended before this start)
};

/// What a client asks to profile (StartCampaign).
struct CampaignRequest {
  std::string family_json;
  std::string device_class;
  std::uint32_t budget_per_kind = 0;  ///< 0: the default (30)
  std::string acquisition;            ///< empty: max-variance
  std::string estimator;              ///< empty: the default (joint, docs/method.md §8)
  /// Profile-on-demand: only these kinds (and their helpers); no held-out or calibration models.
  std::vector<std::string> only_kinds{};
};

/// An estimate, or (profile-on-demand) the campaign started for the kinds it lacks.
struct EstimateOutcome {
  bool accepted = false;  ///< true: `json` is {"campaign_id", "missing_kinds", "state"} (HTTP 202)
  nlohmann::json json;
};

class CampaignService {
 public:
  struct Settings {
    std::uint64_t seed = 0;             ///< GP restarts and held-out draws
    std::uint32_t holdout_models = 3;   ///< concrete models per campaign measured for the live MAPE
    std::uint32_t calibration_models = 3;  ///< whole models a campaign measures (the joint fit, the subtractive correction)
    /// Subtractive fits (a subtractive campaign's, or a joint one's the check kept) corrected by the
    /// calibration models (docs/method.md §11); off by default: measured worse on the simulated profiles.
    bool calibration_correction = false;
    /// Whether campaigns look for their kinds' channel quantization (docs/method.md §14).
    ChannelStepSearch channel_steps = CampaignSettings().channel_steps;
    /// A new campaign whose largest variant network needs more than this to train is refused
    /// (require_jobs_fit); 0: no limit. Stored campaigns reload whatever it is.
    double max_job_memory_bytes = 0;
    /// Joint fits running at once on worker threads; a campaign ready for one waits its turn (a
    /// fleet finishing many campaigns together must not take every core from the loop).
    std::size_t max_joint_fits = 1;
    /// Campaigns running at once at most; a start past it is refused (stop or finish one first).
    std::size_t max_running_campaigns = 1000;
    /// How long an ended (done or stopped) campaign's series stay in /metrics, its last values,
    /// before they are removed (dashboards and alerts see how it ended; scrapes do not grow forever).
    std::chrono::steady_clock::duration ended_series_kept = std::chrono::minutes(10);
  };
  /// Every reference must outlive the service.
  CampaignService(ResilientStore& store, JobQueue& jobs, FleetRegistry& fleet, CoordinatorMetrics& metrics,
                  Settings settings);

  /// Rebuilds every running stored campaign: replays its results, re-queues its unfinished jobs
  /// (adopts the running ones), restores its fitted kind models, plans on. Ended campaigns (done,
  /// stopped) are only listed: load_ended rebuilds them afterwards, while the loop serves.
  void reload();
  /// Rebuilds listed ended campaigns for up to about `budget` (at least one); true when none is
  /// left. Throws StoreUnavailable (what was not read stays listed).
  bool load_ended(std::chrono::milliseconds budget);
  /// Ended campaigns still to load: their models are not in the catalog yet, their status unknown.
  std::size_t ended_to_load() const { return ended_to_load_.size(); }
  /// Validates, stores and plans a campaign; returns its id. Throws InputError coded NotFound (no
  /// agent of the class ever registered), Unprocessable (the family or settings) or Unavailable
  /// (the store is away).
  std::uint64_t start(const CampaignRequest& request);
  /// Stops a running campaign (its queued jobs are dropped). Throws InputError coded NotFound or
  /// Unavailable.
  void stop(std::uint64_t campaign_id);
  /// New jobs for the class's running campaigns, a batch as large as its idle agents.
  void plan(const std::string& device_class);
  /// A job's valid, acknowledged result.
  /// A stored result; `reference` is check_reference's verdict on it, taken before it was stored
  /// (a drift spike plans its point once more).
  void job_done(const JobRecord& job, const Measurement& measurement, const ReferenceCheck& reference);
  /// What `measurement`'s reference reading says against its campaign's readings so far
  /// (docs/method.md §5); a job of an unknown campaign reads as normal.
  ReferenceCheck check_reference(const JobRecord& job, const Measurement& measurement) const;
  /// A job given up after its last attempt.
  void job_failed(const JobRecord& job);
  /// Installs joint fits that finished on their worker threads (the loop calls it every tick).
  void poll_joint_fits();
  /// Waits for every running joint fit and installs it (tests, shutdown).
  void finish_joint_fits();

  const std::map<std::uint64_t, CampaignEntry>& campaigns() const { return campaigns_; }
  /// Stored rows set aside at the last reload (docs/security.md): logged, counted, listed by status.
  const std::vector<QuarantinedRow>& quarantined() const { return quarantined_; }
  const ModelCatalog& catalog() const { return catalog_; }
  /// A pruning plan (docs/method.md §13) from the request JSON of `POST /v1/plan:prune`, on the
  /// loop's fitted models. Throws InputError (InvalidInput, NotFound, Unprocessable).
  nlohmann::json plan_prune(const std::string& request_json) const;
  /// An estimate; when kinds are missing and `profile_missing`, the campaign profiling exactly
  /// them on [ceil(C/2), 2C] around the model's widths (docs/byom.md §3): started, or the one
  /// already running for the same class and kinds. Throws as estimate() does otherwise.
  EstimateOutcome estimate_or_profile(const std::string& spec_json, const std::string& device_class, std::uint64_t iterations,
                                      bool profile_missing, std::uint32_t budget_per_kind);
  std::size_t running_campaigns() const;
  std::size_t max_running_campaigns() const { return settings_.max_running_campaigns; }
  /// The budget left of every unfinished kind: the most points the campaign can still take.
  static std::size_t points_remaining_at_most(const CampaignEntry& entry);
  /// Publishes per-kind and per-campaign gauges of running campaigns and of those ended less than
  /// Settings::ended_series_kept before `now` (the others' series are removed), and the held-out
  /// scores of classes with new results.
  void report_metrics(Clock::TimePoint now);

 private:
  void enqueue(CampaignEntry& entry, const std::vector<PlannedJob>& planned);
  /// Queues the campaign's whole models: `count` of them, named `<family>-<label>-<i>`, seeds
  /// offset by `seed_offset` (held-out and calibration models never coincide).
  void enqueue_whole_models(CampaignEntry& entry, const std::string& kind_key, std::uint32_t count, std::uint64_t seed_offset);
  /// Starts a joint fit on a worker thread when a joint campaign is finished and has measurements
  /// its installed fit lacks; installs one that finished.
  void update_joint_fit(CampaignEntry& entry, bool wait);
  std::size_t joint_fits_running_ = 0;
  std::set<std::string> heldout_stale_;  ///< classes whose held-out score is due at the next report
  void add_calibration(CampaignEntry& entry, const JobRecord& job, const Measurement& measurement);
  void save_models(CampaignEntry& entry, const std::map<KindKey, KindModel>& models, bool overwrite);
  /// Stores the jobs (ids from the store) and queues them; false when the store is away.
  bool queue_jobs(const CampaignEntry& entry, std::vector<JobRecord> records);
  /// After any change to a campaign: save new fitted kinds, refresh the catalog and its held-out
  /// score, mark the campaign done when every kind is.
  void after_progress(CampaignEntry& entry);
  /// A variant network's result: a far point's confirmation is resolved, a far point is held and
  /// measured again by another agent of the class when there is one, anything else is fitted.
  void add_variant_result(CampaignEntry& entry, const JobRecord& job, const Measurement& measurement);
  /// What a far point's second reading (or its confirmation's failure) decided: the kept results
  /// join the catalog, a discarded one's job is marked failed in the store (its result stays).
  void resolved(CampaignEntry& entry, const FarResolution& resolution, const JobRecord* second, const Measurement* measured);
  void report_heldout(const std::string& device_class);

  ResilientStore& store_;
  JobQueue& jobs_;
  FleetRegistry& fleet_;
  CoordinatorMetrics& metrics_;
  Settings settings_;
  /// Rebuilds `campaigns` (set_aside_unusable first), adding to quarantined_.
  void load(std::vector<StoredCampaign> campaigns);

  std::map<std::uint64_t, CampaignEntry> campaigns_;
  std::deque<CampaignRecord> ended_to_load_;  ///< ended campaigns listed at reload, not yet rebuilt
  std::vector<QuarantinedRow> quarantined_;
  ModelCatalog catalog_;
};

}  // namespace ampere
