#include "coordinator/planning/model_catalog.hpp"
#include "common/json_text.hpp"
#include "coordinator/planning/stored_rows.hpp"

#include <cmath>
#include <optional>

namespace ampere {
namespace {

ModelSpec parse_stored_model(const JobRecord& job) {
  try {
    return parse_model_spec(parse_json(job.variant_json, "stored job model"));
  } catch (const std::exception& e) {
    throw InputError("stored job " + std::to_string(job.id) + " of campaign " + std::to_string(job.campaign_id) +
                     ": its model does not parse: " + e.what());
  }
}

}  // namespace

ModelCatalog ModelCatalog::from_stored(const std::vector<StoredCampaign>& stored) {
  ModelCatalog catalog;
  // rows a restart would set aside are left out here too (docs/security.md)
  for (const StoredCampaign& c : set_aside_unusable(stored).campaigns) {
    std::map<KindKey, KindModel> models;
    for (const auto& [key, model_json] : c.kind_models)
      models[KindKey(key)] = kind_model_from_json(parse_json(model_json, "stored kind model"));
    catalog.set_models(c.record.device_class, models);
    std::map<std::uint64_t, const JobRecord*> by_id;
    for (const JobRecord& job : c.jobs) by_id[job.id] = &job;
    for (const ResultRecord& r : c.results) catalog.record(c.record.device_class, c.record.id, *by_id.at(r.job_id), r.measurement);
  }
  // One fit per class once everything is in; none left stale, so a snapshot's reads change nothing.
  for (const std::string& device_class : catalog.estimator_.device_classes()) catalog.stale_flops_lines_.insert(device_class);
  catalog.estimator();
  return catalog;
}

void ModelCatalog::set_models(const std::string& device_class, const std::map<KindKey, KindModel>& models) {
  estimator_.set_models(device_class, models);
}

void ModelCatalog::add_measured(const std::string& device_class, std::uint64_t campaign_id, const JobRecord& job,
                                const Measurement& measurement) {
  record(device_class, campaign_id, job, measurement);
  if (!job.whole_model()) stale_flops_lines_.insert(device_class);
}

const Estimator& ModelCatalog::estimator() const {
  for (const std::string& device_class : stale_flops_lines_) refit_flops_line(device_class);
  stale_flops_lines_.clear();
  return estimator_;
}

void ModelCatalog::record(const std::string& device_class, std::uint64_t campaign_id, const JobRecord& job,
                          const Measurement& measurement) {
  if (job.calibration()) return;  // the joint fit's, not the FLOPs line's nor the live score's
  ModelSpec model = parse_stored_model(job);
  if (!job.holdout()) baselines_.add(device_class, model, measurement);  // the FLOPs line never sees held-out models
  if (job.holdout()) heldout_models_[device_class].push_back(measured_.size());
  if (std::isfinite(measurement.idle_watts) && measurement.idle_watts >= 0) {
    idle_watts_[device_class].push_back(measurement.idle_watts);
    stale_flops_lines_.insert(device_class);  // the idle median is refreshed with the line
  }
  measured_.push_back({device_class, campaign_id, job.holdout(), std::move(model), measurement});
}

void ModelCatalog::refit_flops_line(const std::string& device_class) const {
  if (const auto idle = idle_watts_.find(device_class); idle != idle_watts_.end() && !idle->second.empty()) {
    // the median of the class's latest 64 idle baselines: robust, cheap, and it follows a drift
    const auto& all = idle->second;
    const std::vector<double> recent(all.end() - static_cast<std::ptrdiff_t>(std::min<std::size_t>(64, all.size())), all.end());
    estimator_.set_idle_watts(device_class, summarize_repeats(recent, RepeatStatistic::Median).value);
  }
  if (const auto line = baselines_.baseline(device_class)) estimator_.set_flops_baseline(device_class, *line);
}

AccuracyScore ModelCatalog::heldout_score(const std::string& device_class) const {
  std::vector<std::pair<nlohmann::json, Measurement>> scored;
  const auto heldout = heldout_models_.find(device_class);
  if (heldout == heldout_models_.end()) return score_estimates(scored);
  const Estimator& current = estimator();
  for (const std::size_t i : heldout->second) {
    const Measured& m = measured_[i];
    try {
      scored.emplace_back(current.estimate(m.model, device_class, 1), m.measurement);
    } catch (const InputError&) {
      // its kinds are not all profiled yet
    }
  }
  return score_estimates(scored);
}

std::map<std::string, nlohmann::json> ModelCatalog::accuracy_report() const {
  using nlohmann::json;
  std::map<std::string, json> report;
  for (const Measured& m : measured_) {
    json& accuracy = report[m.device_class];
    if (accuracy.is_null()) accuracy = {{"device_class", m.device_class}, {"points", json::array()}};
    json e;
    try {
      e = estimator().estimate(m.model, m.device_class, 1);
    } catch (const InputError&) {
      continue;  // its kinds are not all profiled yet
    }
    const double seconds = summarize_repeats(m.measurement.seconds_per_iteration, RepeatStatistic::Minimum).value;
    const json joules = m.measurement.joules_per_iteration.empty()  // a meter that gives no energy
                            ? json(nullptr)
                            : json(summarize_repeats(m.measurement.joules_per_iteration, RepeatStatistic::Minimum).value);
    accuracy["points"].push_back({{"model", m.model.name},
                                  {"campaign", m.campaign},
                                  {"heldout", m.heldout},
                                  {"meter", meter_label_of(m.measurement).str()},
                                  {"measured", {{"seconds_per_iteration", seconds}, {"joules_per_iteration", joules}}},
                                  {"estimated",
                                   {{"seconds_per_iteration", e["seconds_per_iteration"]},
                                    {"joules_per_iteration", e["joules_per_iteration"]}}},
                                  {"flops_baseline",
                                   {{"seconds_per_iteration", e["flops_baseline"]["seconds_per_iteration"]},
                                    {"joules_per_iteration", e["flops_baseline"]["joules_per_iteration"]}}}});
  }
  for (auto& [name, accuracy] : report) {
    const AccuracyScore score = heldout_score(name);
    auto ratio = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
    accuracy["heldout_models"] = score.models;
    accuracy["heldout_meter"] = score.meter;  // where the scored energy came from
    accuracy["heldout_mape_seconds"] = ratio(score.seconds);
    accuracy["heldout_flops_mape_seconds"] = ratio(score.flops_seconds);
    accuracy["heldout_mape_joules"] = ratio(score.joules);
    accuracy["heldout_flops_mape_joules"] = ratio(score.flops_joules);
  }
  return report;
}

}  // namespace ampere
