#include "coordinator/server/campaign_service.hpp"

#include "coordinator/planning/job_memory.hpp"
#include "coordinator/planning/pruning_planner.hpp"
#include "coordinator/planning/stored_rows.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "common/input_limits.hpp"
#include "common/json_text.hpp"
#include "common/model_family.hpp"

namespace ampere {
namespace {

constexpr const char* kDefaultEstimator = "joint";
constexpr std::uint64_t kHoldoutSeedOffset = 0;
constexpr std::uint64_t kCalibrationSeedOffset = 500000;

CampaignSettings settings_of(const CampaignRecord& record, const CampaignService::Settings& service) {
  CampaignSettings settings;
  settings.budget_per_kind = record.budget_per_kind;
  settings.acquisition = parse_acquisition(record.acquisition);
  settings.estimator = parse_estimator_method(record.estimator);
  settings.seed = service.seed;
  settings.calibration_correction = service.calibration_correction;
  settings.channel_steps = service.channel_steps;
  settings.only_kinds = record.only_kinds;
  return settings;
}

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string channels_text(const std::vector<std::int64_t>& channels) {
  std::string text = "[";
  for (std::size_t i = 0; i < channels.size(); ++i) text += (i ? ", " : "") + std::to_string(channels[i]);
  return text + "]";
}

ModelSpec stored_model(const JobRecord& job) { return parse_model_spec(parse_json(job.variant_json, "stored job model")); }

}  // namespace

CampaignService::CampaignService(ResilientStore& store, JobQueue& jobs, FleetRegistry& fleet, CoordinatorMetrics& metrics,
                                 Settings settings)
    : store_(store), jobs_(jobs), fleet_(fleet), metrics_(metrics), settings_(settings) {}

void CampaignService::reload() {
  // Running campaigns now: the fleet waits for their jobs. Ended ones (done, stopped: the bulk of a
  // long-lived store) later, a few per turn (load_ended), so a restart or a takeover costs what
  // the running campaigns cost, not the whole history.
  quarantined_.clear();
  ended_to_load_.clear();
  std::vector<StoredCampaign> now;
  for (CampaignRecord& record : store_.store().campaigns()) {
    if (record.state != CampaignState::Running && record.unreadable.empty()) {
      ended_to_load_.push_back(std::move(record));
      continue;
    }
    now.push_back(read_stored_campaign(store_.store(), std::move(record)));
  }
  load(std::move(now));
  if (!ended_to_load_.empty())
    spdlog::info("{} ended campaign(s) load while serving (estimates and their status answer unavailable meanwhile)",
                 ended_to_load_.size());
}

bool CampaignService::load_ended(std::chrono::milliseconds budget) {
  const auto started = std::chrono::steady_clock::now();
  while (!ended_to_load_.empty() && std::chrono::steady_clock::now() - started < budget) {
    // StoreUnavailable: the record stays first, tried again next turn
    std::vector<StoredCampaign> one;
    one.push_back(read_stored_campaign(store_.store(), ended_to_load_.front()));
    ended_to_load_.pop_front();
    load(std::move(one));
    if (ended_to_load_.empty()) spdlog::info("every ended campaign is loaded");
  }
  return ended_to_load_.empty();
}

void CampaignService::load(std::vector<StoredCampaign> campaigns) {
  UsableStore usable = set_aside_unusable(std::move(campaigns));
  const std::size_t quarantined_before = quarantined_.size();
  for (QuarantinedRow& q : usable.quarantined) quarantined_.push_back(std::move(q));
  // A row that passes those checks but still cannot be used here (a result for a kind the family
  // does not have) is set aside too: a restart never refuses to start because of stored data.
  const auto set_aside = [&](std::uint64_t campaign_id, std::uint64_t job_id, const char* row, const std::string& kind,
                             const std::exception& e) { quarantined_.push_back({campaign_id, job_id, row, kind, e.what()}); };
  for (StoredCampaign& stored : usable.campaigns) {
    const CampaignRecord& record = stored.record;
    CampaignEntry entry;
    entry.record = record;
    try {
      entry.campaign = std::make_unique<Campaign>(record.id, parse_model_spec(parse_json(record.family_json, "stored family")),
                                                  record.device_class, settings_of(record, settings_));
    } catch (const std::exception& e) {
      set_aside(record.id, 0, "campaign", "", e);
      continue;
    }
    fleet_.saw_class(record.device_class);
    std::map<std::uint64_t, const ResultRecord*> results;
    for (const ResultRecord& r : stored.results) results.emplace(r.job_id, &r);
    const bool running = record.state == CampaignState::Running;
    std::size_t replayed = 0, requeued = 0, adopted = 0;
    // A far point whose confirmation is still to come (a later job of the same point, unfinished)
    // stays out of the fit as it was before the restart (docs/method.md §5).
    std::map<std::pair<std::string, std::vector<std::int64_t>>, std::uint64_t> last_unfinished;
    for (const JobRecord& job : stored.jobs)
      if (!job.whole_model() && (job.state == JobState::Queued || job.state == JobState::Running)) {
        std::uint64_t& last = last_unfinished[{job.kind_key, job.channels}];
        last = std::max(last, job.id);
      }
    for (JobRecord job : stored.jobs) {
      const bool whole = job.whole_model();  // measured whole, not a profiled kind
      try {
        if (job.state == JobState::Done && results.count(job.id) == 1) {
          const Measurement& m = results.at(job.id)->measurement;
          const auto later = last_unfinished.find({job.kind_key, job.channels});
          if (!whole && running && later != last_unfinished.end() && later->second > job.id &&
              entry.campaign->hold_far(KindKey(job.kind_key), job.channels, m, job.id, job.agent_id, true)) {
            entry.held_far.emplace(job.id, std::make_pair(job, m));
            ++replayed;
            continue;
          }
          if (!whole) entry.campaign->add_result(KindKey(job.kind_key), job.channels, m);  // throws before it adds
          if (job.calibration()) add_calibration(entry, job, m);
          catalog_.add_measured(record.device_class, record.id, job, m);
          ++replayed;
        } else if (job.state == JobState::Failed || job.state == JobState::Done) {  // done without a usable result: over
          if (!whole) entry.campaign->job_failed(KindKey(job.kind_key), job.channels);
        } else if (running || (whole && record.state == CampaignState::Done)) {
          // a finished campaign's held-out and calibration models still score and refine its estimates
          if (!whole) {
            entry.campaign->restore_outstanding(KindKey(job.kind_key), job.channels);
            job.not_agent = entry.campaign->held_agent(KindKey(job.kind_key), job.channels);  // a far point's confirmation
          }
          // Running when the last coordinator stopped: its agent may still send the result (to
          // this one, after a restart or a takeover), so the job waits for it a while (the loop
          // re-queues it when the agent does not come back).
          if (job.state == JobState::Running && !job.agent_id.empty()) {
            jobs_.adopt_running(record.device_class, std::move(job));
            ++adopted;
          } else {
            if (job.state == JobState::Running) store_.store().set_job_state(job.id, JobState::Queued, "");
            jobs_.add(record.device_class, std::move(job));
            ++requeued;
          }
        }
      } catch (const InputError& e) {
        set_aside(record.id, job.id, results.count(job.id) == 1 ? "result" : "job", "", e);
      }
    }
    std::size_t restored = 0;
    for (const auto& [kind_key, model_json] : stored.kind_models) {
      try {
        const nlohmann::json model = parse_json(model_json, "stored kind model");
        entry.campaign->restore_model(KindKey(kind_key), model);
        entry.saved_models.insert(kind_key);
        if (model.contains("calibration")) entry.saved_correction = model["calibration"].value("models", std::size_t{0});
        ++restored;
      } catch (const std::exception& e) {  // refitted from its points and saved again
        set_aside(record.id, 0, "kind model", kind_key, e);
      }
    }
    spdlog::info("reloaded campaign {} ({} on {}, {}): {} results, {} jobs re-queued, {} running jobs waiting for their "
                 "agents, {} fitted kind models restored",
                 record.id, entry.campaign->family().name, record.device_class, campaign_state_name(record.state), replayed,
                 requeued, adopted, restored);
    entry.series_removed = !running;  // ended before this start: no series at all
    CampaignEntry& placed = campaigns_[record.id] = std::move(entry);
    const std::vector<PlannedJob> planned = placed.campaign->plan(1);  // rebuilds kind states
    if (running) enqueue(placed, planned);  // a finished campaign gets no new work
    after_progress(placed);
  }
  std::map<std::string, std::size_t> counts;
  for (std::size_t i = 0; i < quarantined_.size(); ++i) {
    if (i >= quarantined_before) spdlog::error("stored row set aside (left in the store, not used): {}", quarantined_[i].describe());
    ++counts[quarantined_[i].row];
  }
  metrics_.set_quarantined(counts);
}

std::uint64_t CampaignService::start(const CampaignRequest& request) {
  if (!fleet_.knows_class(request.device_class)) {
    const std::string known = fleet_.known_classes();
    throw InputError("device class '" + request.device_class + "' has no registered agents (known: " +
                         (known.empty() ? "none yet" : known) + ")",
                     ErrorCode::NotFound);
  }
  if (running_campaigns() >= settings_.max_running_campaigns)
    throw InputError("the coordinator runs " + std::to_string(settings_.max_running_campaigns) +
                         " campaigns, its limit: stop or finish one first",
                     ErrorCode::Unprocessable);
  CampaignRecord record{0,
                        "",
                        request.device_class,
                        request.budget_per_kind,
                        request.acquisition.empty() ? "max-variance" : request.acquisition,
                        CampaignState::Running,
                        request.estimator.empty() ? kDefaultEstimator : request.estimator,
                        request.only_kinds};
  ModelSpec family;
  try {
    family = parse_model_spec(parse_json(request.family_json, "family"));
    require_name(family.name, "family name");  // its members' names add a suffix: 256 bytes at most
    record.family_json = to_json(family).dump();
    // before the campaign's candidate grids are built: half the median memory the class's agents
    // reported (one agent's claim cannot block the class), or the coordinator's --max-job-memory,
    // whichever is smaller
    double limit = settings_.max_job_memory_bytes;
    if (const std::uint64_t typical = fleet_.typical_memory(record.device_class); typical > 0)
      limit = limit > 0 ? std::min(limit, typical / 2.0) : typical / 2.0;
    // validates before storing, the budget included (0 too: a client that leaves it out sends the default)
    const Campaign check(0, family, record.device_class, settings_of(record, settings_));
    if (limit > 0) require_jobs_fit(check.plan_kinds(), family.name, limit);  // the kinds it will profile
  } catch (const InputError& e) {
    throw InputError(e.what(), ErrorCode::Unprocessable);  // well-formed request, a family or settings we cannot profile
  }
  if (!store_.try_write("create_campaign", [&] { record.id = store_.store().create_campaign(record); }))
    throw InputError("not started, the store is unreachable; try again shortly", ErrorCode::Unavailable);
  auto campaign = std::make_unique<Campaign>(record.id, family, record.device_class, settings_of(record, settings_));
  spdlog::info("campaign {} started: {} on {}, {} kinds, budget {} per kind, {} estimator", record.id, family.name,
               record.device_class, campaign->plan_kinds().size(), record.budget_per_kind, record.estimator);
  const std::uint64_t id = record.id;
  CampaignEntry& entry = campaigns_[id];
  entry.record = record;
  entry.campaign = std::move(campaign);
  plan(record.device_class);
  if (!record.only_kinds.empty()) return id;  // on demand: the kinds alone, nothing measured whole
  enqueue_whole_models(entry, kHoldoutKind, settings_.holdout_models, kHoldoutSeedOffset);
  // the joint fit reads them; a subtractive campaign only with the correction on (docs/method.md §11)
  if (entry.campaign->settings().estimator == EstimatorMethod::Joint || settings_.calibration_correction)
    enqueue_whole_models(entry, kCalibrationKind, settings_.calibration_models, kCalibrationSeedOffset);
  return id;
}

void CampaignService::stop(std::uint64_t campaign_id) {
  const auto it = campaigns_.find(campaign_id);
  if (it == campaigns_.end()) throw InputError("no campaign " + std::to_string(campaign_id), ErrorCode::NotFound);
  if (it->second.record.state != CampaignState::Running) return;
  if (!store_.try_write("set_campaign_state",
                        [&] { store_.store().set_campaign_state(campaign_id, CampaignState::Stopped); }))
    throw InputError("not stopped, the store is unreachable; try again", ErrorCode::Unavailable);
  it->second.record.state = CampaignState::Stopped;
  jobs_.drop_queued(campaign_id);
  spdlog::info("campaign {} stopped ({} on {}): its queued jobs dropped, running ones finish", campaign_id,
               it->second.campaign->family().name, it->second.record.device_class);
}

void CampaignService::plan(const std::string& device_class) {
  const std::size_t batch = std::max<std::size_t>(1, fleet_.idle(device_class));
  for (auto& [id, entry] : campaigns_) {
    if (entry.record.state != CampaignState::Running || entry.record.device_class != device_class) continue;
    enqueue(entry, entry.campaign->plan(batch));
    after_progress(entry);
  }
}

void CampaignService::add_calibration(CampaignEntry& entry, const JobRecord& job, const Measurement& measurement) {
  try {
    entry.campaign->add_calibration(stored_model(job), measurement);
  } catch (const std::exception& e) {  // the result stays stored; the fit goes on without it
    spdlog::warn("campaign {}: calibration job {} not used: {}", entry.record.id, job.id, e.what());
    metrics_.calibration_refused(entry.record.device_class);
  }
}

ReferenceCheck CampaignService::check_reference(const JobRecord& job, const Measurement& measurement) const {
  const auto found = campaigns_.find(job.campaign_id);
  return found == campaigns_.end() ? ReferenceCheck() : found->second.campaign->check_reference(measurement);
}

void CampaignService::job_done(const JobRecord& job, const Measurement& measurement, const ReferenceCheck& reference) {
  CampaignEntry& entry = campaigns_.at(job.campaign_id);
  if (reference.verdict == ReferenceVerdict::Drift) {
    const bool again = !job.whole_model() && entry.campaign->remeasure(KindKey(job.kind_key), job.channels);
    spdlog::warn("campaign {}: job {} ran beside a reference reading {:+.1f}% off the class's median (drift); {}",
                 entry.record.id, job.id, 100 * (reference.ratio - 1),
                 again ? "its point is measured again" : "kept, normalized (not measured again)");
  }
  if (job.whole_model()) {
    if (job.calibration()) add_calibration(entry, job, measurement);
    catalog_.add_measured(entry.record.device_class, entry.record.id, job, measurement);
  } else {
    add_variant_result(entry, job, measurement);
  }
  after_progress(entry);
}

void CampaignService::add_variant_result(CampaignEntry& entry, const JobRecord& job, const Measurement& measurement) {
  Campaign& campaign = *entry.campaign;
  const KindKey kind(job.kind_key);
  if (const auto resolution = campaign.confirm_far(kind, job.channels, measurement, job.id))
    return resolved(entry, *resolution, &job, &measurement);
  const FarCheck far = campaign.check_far(kind, job.channels, measurement);
  // measured again only where another agent of the class is connected (the sender counts as one)
  if (far.far() && fleet_.connected(entry.record.device_class) >= 2 &&
      campaign.hold_far(kind, job.channels, measurement, job.id, job.agent_id)) {
    entry.held_far.emplace(job.id, std::make_pair(job, measurement));
    metrics_.far_point(entry.record.device_class, "held");
    spdlog::warn("campaign {}: job {} ({} at {}) from agent {} is far from its kind's fit (score {:.1f}, {:.0f}% off): "
                 "held out of the fit until another agent measures it again",
                 entry.record.id, job.id, job.kind_key, channels_text(job.channels), job.agent_id, far.score, 100 * far.share);
    return;
  }
  if (far.far()) metrics_.far_point(entry.record.device_class, "alone");  // no other agent: fitted as it came
  campaign.add_result(kind, job.channels, measurement);
  catalog_.add_measured(entry.record.device_class, entry.record.id, job, measurement);
}

void CampaignService::resolved(CampaignEntry& entry, const FarResolution& resolution, const JobRecord* second,
                               const Measurement* measured) {
  metrics_.far_point(entry.record.device_class, far_outcome_name(resolution.outcome));
  const auto held = entry.held_far.find(resolution.held_job);
  const bool first_kept = resolution.outcome != FarOutcome::KeptSecond;
  if (held != entry.held_far.end() && first_kept)
    catalog_.add_measured(entry.record.device_class, entry.record.id, held->second.first, held->second.second);
  if (second != nullptr && measured != nullptr && resolution.outcome != FarOutcome::KeptFirst)
    catalog_.add_measured(entry.record.device_class, entry.record.id, *second, *measured);
  if (resolution.discarded_job != 0) {
    const std::uint64_t discarded = resolution.discarded_job;
    // its result stays stored; the failed state keeps it out of the fit after a restart too
    store_.try_write("discard_result", [&] { store_.store().discard_result(discarded); });
  }
  spdlog::warn("campaign {}: far point of job {} measured again{}: {} (second reading {:.2f}x the first){}", entry.record.id,
               resolution.held_job, second != nullptr ? " by job " + std::to_string(second->id) : std::string(" (not: its job failed)"),
               far_outcome_name(resolution.outcome), resolution.ratio,
               resolution.discarded_job != 0 ? "; job " + std::to_string(resolution.discarded_job) + " discarded" : std::string());
  if (held != entry.held_far.end()) entry.held_far.erase(held);
}

void CampaignService::job_failed(const JobRecord& job) {
  CampaignEntry& entry = campaigns_.at(job.campaign_id);
  metrics_.job_failed(entry.record.device_class);
  if (!job.whole_model())
    if (const auto resolution = entry.campaign->job_failed(KindKey(job.kind_key), job.channels))
      resolved(entry, *resolution, nullptr, nullptr);
  after_progress(entry);
}

nlohmann::json CampaignService::plan_prune(const std::string& request_json) const {
  return ampere::plan_prune(catalog_.estimator(), parse_prune_request(parse_json(request_json, "plan:prune")));
}

EstimateOutcome CampaignService::estimate_or_profile(const std::string& spec_json, const std::string& device_class,
                                                    std::uint64_t iterations, bool profile_missing,
                                                    std::uint32_t budget_per_kind) {
  const ModelSpec model = parse_model_spec(parse_json(spec_json, "model"));
  std::vector<std::string> missing;
  try {
    return {false, catalog_.estimator().estimate(model, device_class, iterations == 0 ? 1 : iterations)};
  } catch (const MissingKinds& e) {
    if (!profile_missing) throw;
    missing = e.kinds();
  } catch (const UnknownDeviceClass&) {
    if (!profile_missing || !fleet_.knows_class(device_class)) throw;
    for (const Block& b : parse_blocks(model)) missing.push_back(b.kind.str());  // nothing profiled there yet
  }
  std::sort(missing.begin(), missing.end());
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  const auto profiling = [&](std::uint64_t id) {
    return EstimateOutcome{true, {{"campaign_id", id}, {"missing_kinds", missing}, {"state", "running"}}};
  };
  for (const auto& [id, entry] : campaigns_) {
    std::vector<std::string> kinds = entry.record.only_kinds;
    std::sort(kinds.begin(), kinds.end());
    if (entry.record.state == CampaignState::Running && entry.record.device_class == device_class && kinds == missing)
      return profiling(id);
  }
  CampaignRequest request;
  try {
    request.family_json = to_json(free_widths_family(model, 0.5, 2.0)).dump();
  } catch (const InputError& e) {
    throw InputError(std::string("cannot profile this model's kinds: ") + e.what(), ErrorCode::Unprocessable);
  }
  request.device_class = device_class;
  request.budget_per_kind = budget_per_kind == 0 ? kDefaultBudget : budget_per_kind;  // 0: not given
  request.estimator = "subtractive";  // its kinds alone: no calibration models for a joint fit
  request.only_kinds = missing;
  const std::uint64_t id = start(request);
  spdlog::info("campaign {}: profiling on demand {} kind(s) of {} on {}", id, missing.size(), model.name, device_class);
  return profiling(id);
}

void CampaignService::enqueue(CampaignEntry& entry, const std::vector<PlannedJob>& planned) {
  if (planned.empty()) return;
  std::vector<JobRecord> records;
  for (const PlannedJob& p : planned) {
    JobRecord j;
    j.campaign_id = entry.record.id;
    j.kind_key = p.kind.str();
    j.channels = p.channels;
    j.variant_json = to_json(p.variant).dump();
    j.not_agent = p.not_agent;
    records.push_back(std::move(j));
  }
  if (!queue_jobs(entry, std::move(records)))
    for (const PlannedJob& p : planned) entry.campaign->withdraw(p.kind, p.channels);  // planned again later
}

void CampaignService::enqueue_whole_models(CampaignEntry& entry, const std::string& kind_key, std::uint32_t count,
                                           std::uint64_t seed_offset) {
  std::vector<JobRecord> records;
  for (std::uint32_t i = 0; i < count; ++i) {
    JobRecord j;
    j.campaign_id = entry.record.id;
    j.kind_key = kind_key;
    ModelSpec model =
        sample_model(entry.campaign->family(), settings_.seed * 1000003ULL + entry.record.id * 7919ULL + seed_offset + i);
    model.name = entry.campaign->family().name + "-" + kind_key + "-" + std::to_string(i);
    j.variant_json = to_json(model).dump();
    records.push_back(std::move(j));
  }
  // store away: this campaign has no live MAPE (held-out) or fits on its variants alone (calibration)
  if (!records.empty()) queue_jobs(entry, std::move(records));
}

bool CampaignService::queue_jobs(const CampaignEntry& entry, std::vector<JobRecord> records) {
  std::vector<std::uint64_t> ids;
  if (!store_.try_write("create_jobs", [&] { ids = store_.store().create_jobs(records); })) return false;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    records[i].id = ids[i];
    jobs_.add(entry.record.device_class, std::move(records[i]));
  }
  return true;
}

void CampaignService::save_models(CampaignEntry& entry, const std::map<KindKey, KindModel>& models, bool overwrite) {
  for (const auto& item : models) {
    const std::string key = item.first.str();
    const KindModel& model = item.second;  // plain names: lambdas may capture them (C++17)
    if ((overwrite || entry.saved_models.count(key) == 0) &&
        store_.try_write("save_kind_model",
                         [&] { store_.store().save_kind_model(entry.record.id, key, kind_model_to_json(model).dump()); }))
      entry.saved_models.insert(key);
  }
}

void CampaignService::update_joint_fit(CampaignEntry& entry, bool wait) {
  if (entry.joint_fit.valid()) {
    if (!wait && entry.joint_fit.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return;
    const double seconds = steady_seconds() - entry.joint_started;
    --joint_fits_running_;
    try {
      const JointFit fit = entry.joint_fit.get();
      if (fit.joint_chosen()) {
        entry.campaign->set_joint_models(fit.models, entry.joint_attempted);
        const std::map<KindKey, KindModel> served = entry.campaign->served_joint(fit.models);
        save_models(entry, served, true);
        catalog_.set_models(entry.record.device_class, served);
        report_heldout(entry.record.device_class);
        metrics_.joint_fit(entry.record.device_class, CoordinatorMetrics::JointFitOutcome::Installed, seconds);
        spdlog::info("campaign {}: joint fit of {} measurements installed ({} kinds, {:.1f} s; on the calibration models "
                     "joint {:.2f}% vs subtractive {:.2f}%)",
                     entry.record.id, entry.joint_attempted, fit.models.size(), seconds, fit.joint_check_mape,
                     fit.subtractive_check_mape);
      } else {
        // an earlier joint fit (on fewer calibration models) may be serving: the subtractive fits take over
        entry.campaign->set_joint_models({}, entry.joint_attempted);
        const std::map<KindKey, KindModel> subtractive = entry.campaign->models();
        save_models(entry, subtractive, true);
        catalog_.set_models(entry.record.device_class, subtractive);
        report_heldout(entry.record.device_class);
        metrics_.joint_fit(entry.record.device_class, CoordinatorMetrics::JointFitOutcome::KeptSubtractive, seconds);
        spdlog::info("campaign {}: joint fit of {} measurements not installed: on the calibration models it missed by "
                     "{:.2f}%, the subtractive fits by {:.2f}%; the subtractive models stay ({:.1f} s)",
                     entry.record.id, entry.joint_attempted, fit.joint_check_mape, fit.subtractive_check_mape, seconds);
      }
    } catch (const std::exception& e) {
      metrics_.joint_fit(entry.record.device_class, CoordinatorMetrics::JointFitOutcome::Failed, seconds);
      spdlog::warn("campaign {}: joint fit of {} measurements failed, the subtractive models stay: {}", entry.record.id,
                   entry.joint_attempted, e.what());
    }
  }
  Campaign& campaign = *entry.campaign;
  if (campaign.settings().estimator != EstimatorMethod::Joint || !campaign.done()) return;
  if (!wait && joint_fits_running_ >= std::max<std::size_t>(1, settings_.max_joint_fits)) return;  // next turn
  const std::size_t measurements = campaign.measurement_count();
  if (measurements == campaign.joint_measurements() || measurements == entry.joint_attempted) return;
  JointProblem problem;
  try {
    problem = campaign.joint_problem();
  } catch (const std::exception& e) {
    metrics_.joint_fit(entry.record.device_class, CoordinatorMetrics::JointFitOutcome::Failed, 0.0);
    spdlog::warn("campaign {}: no joint fit, the subtractive models stay: {}", entry.record.id, e.what());
    entry.joint_attempted = measurements;
    return;
  }
  entry.joint_attempted = measurements;  // = problem.measurements
  entry.joint_started = steady_seconds();
  entry.joint_fit = std::async(std::launch::async, [problem = std::move(problem)] { return fit_joint(problem); });
  ++joint_fits_running_;
  if (wait) update_joint_fit(entry, true);
}

void CampaignService::poll_joint_fits() {
  for (auto& [id, entry] : campaigns_) update_joint_fit(entry, false);
}

void CampaignService::finish_joint_fits() {
  for (auto& [id, entry] : campaigns_) update_joint_fit(entry, true);
}

void CampaignService::after_progress(CampaignEntry& entry) {
  const std::map<KindKey, KindModel> models = entry.campaign->models();
  // a correction fitted on more calibration models rewrites the saved models (the bridge reads them)
  const std::size_t correction = models.empty() ? 0 : models.begin()->second.calibration.models;
  save_models(entry, models, correction != entry.saved_correction);
  entry.saved_correction = correction;
  catalog_.set_models(entry.record.device_class, models);
  heldout_stale_.insert(entry.record.device_class);  // scored at the next metrics report, not per result
  if (entry.record.state == CampaignState::Running && entry.campaign->done()) {
    entry.record.state = CampaignState::Done;
    store_.try_write("set_campaign_state", [&] { store_.store().set_campaign_state(entry.record.id, CampaignState::Done); });
    spdlog::info("campaign {} done ({} kinds on {})", entry.record.id, entry.campaign->plan_kinds().size(),
                 entry.record.device_class);
  }
  update_joint_fit(entry, false);
}

void CampaignService::report_heldout(const std::string& device_class) {
  const AccuracyScore score = catalog_.heldout_score(device_class);
  const std::pair<const char*, const char*> names[] = {
      {"ampere", "seconds"}, {"flops", "seconds"}, {"ampere", "joules"}, {"flops", "joules"}};
  const std::optional<double> values[] = {score.seconds, score.flops_seconds, score.joules, score.flops_joules};
  for (std::size_t i = 0; i < 4; ++i)
    if (values[i])
      metrics_.set_heldout_mape(device_class, names[i].first, names[i].second, score.meter, *values[i], score.models);
}

std::size_t CampaignService::running_campaigns() const {
  std::size_t running = 0;
  for (const auto& [id, entry] : campaigns_) running += entry.record.state == CampaignState::Running ? 1 : 0;
  return running;
}

std::size_t CampaignService::points_remaining_at_most(const CampaignEntry& entry) {
  std::size_t remaining = 0;  // the budget left of every unfinished kind
  for (const KindProgressInfo& p : entry.campaign->progress())
    if (p.state != KindState::Done)
      remaining += entry.record.budget_per_kind - std::min<std::size_t>(entry.record.budget_per_kind, p.points);
  return remaining;
}

void CampaignService::report_metrics(Clock::TimePoint now) {
  for (const std::string& device_class : heldout_stale_) report_heldout(device_class);
  heldout_stale_.clear();
  for (auto& [id, entry] : campaigns_) {
    const std::string campaign = std::to_string(id);
    if (entry.series_removed) continue;
    if (entry.record.state != CampaignState::Running) {
      if (!entry.ended_seen) {
        entry.ended_seen = now;  // its last values, published a while yet
      } else if (now - *entry.ended_seen >= settings_.ended_series_kept) {
        metrics_.remove_campaign(campaign);
        entry.series_removed = true;
        continue;
      }
    }
    for (const KindProgressInfo& p : entry.campaign->progress())
      if (!std::isnan(p.max_relative_std))  // not fitted yet: no std to report
        metrics_.set_kind({campaign, entry.record.device_class, p.key.str(), block_role_name(p.role)}, p.points,
                          p.max_relative_std, p.state == KindState::Done, p.fit_failures);
    metrics_.set_campaign(campaign, entry.record.device_class, entry.campaign->family().name,
                          entry.record.state == CampaignState::Running, points_remaining_at_most(entry));
  }
}

}  // namespace ampere
