#include "coordinator/planning/estimator.hpp"

#include <cmath>

#include "common/layer_shapes.hpp"

namespace ampere {
namespace {

/// z of the two-sided 90% interval of a normal: Φ⁻¹(0.95).
constexpr double kZ90 = 1.6448536269514722;

nlohmann::json mean_std(double mean, double variance) {
  const double std = std::sqrt(std::max(0.0, variance));
  // a cost is never negative: the interval is the normal's, cut at 0
  return {{"mean", mean}, {"std", std}, {"interval90", {std::max(0.0, mean - kZ90 * std), mean + kZ90 * std}}};
}

std::string layer_list(const Block& block) {
  std::string out;
  for (const LayerSpec& l : block.layers) out += (out.empty() ? "" : "+") + std::string(layer_type_name(l.type));
  return out;
}

}  // namespace

void Estimator::set_models(const std::string& device_class, const std::map<KindKey, KindModel>& models) {
  auto& target = models_[device_class];
  for (const auto& [key, model] : models) target[key] = model;
}

void Estimator::set_flops_baseline(const std::string& device_class, const FlopsBaseline& baseline) {
  baselines_[device_class] = baseline;
}

std::vector<std::string> Estimator::device_classes() const {
  std::vector<std::string> out;
  for (const auto& [name, models] : models_) out.push_back(name);
  return out;
}

std::size_t Estimator::kinds(const std::string& device_class) const {
  auto it = models_.find(device_class);
  return it == models_.end() ? 0 : it->second.size();
}

nlohmann::json Estimator::estimate(const ModelSpec& model, const std::string& device_class, std::uint64_t iterations) const {
  AMPERE_REQUIRE(!model.is_family(), model.name, ": estimates take a concrete model; this is a family (sample one)");
  AMPERE_REQUIRE(iterations >= 1, "iterations: must be at least 1");
  const auto found = models_.find(device_class);
  if (found == models_.end()) {
    std::string known;
    for (const auto& [name, m] : models_) known += (known.empty() ? "" : ", ") + name;
    throw UnknownDeviceClass("device class '" + device_class + "' has no profiled kinds (known: " +
                             (known.empty() ? "none yet" : known) + ")");
  }
  const std::map<KindKey, KindModel>& models = found->second;
  const std::vector<Block> blocks = parse_blocks(model);
  std::vector<std::string> missing;
  for (const Block& b : blocks)
    if (models.count(b.kind) == 0 && std::find(missing.begin(), missing.end(), b.kind.str()) == missing.end())
      missing.push_back(b.kind.str());
  if (!missing.empty()) {
    std::string list;
    for (const auto& k : missing) list += "\n  " + k;
    throw MissingKinds(model.name + ": " + std::to_string(missing.size()) + " kind(s) never profiled on '" +
                           device_class + "'; profile a family containing them:" + list,
                       missing);
  }
  double seconds = 0, seconds_var = 0, joules = 0, joules_var = 0;
  // Blocks of one kind read one GP, whose misfit they share: their stds add, and the kinds'
  // variances add (docs/method.md §14). Treating them as independent made deep models' intervals
  // too narrow by up to √(blocks of a kind).
  std::map<KindKey, std::pair<double, double>> kind_std;  // kind → (Σ seconds std, Σ joules std)
  // A campaign's calibration factor is shared by its blocks: its variance enters once per campaign,
  // on the sum of their means (docs/method.md §11).
  struct Group {
    CalibrationCorrection correction;
    double seconds = 0, joules = 0;
  };
  std::map<std::uint64_t, Group> groups;
  bool has_joules = true;
  std::string meter, fit;
  nlohmann::json block_list = nlohmann::json::array();
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const Block& b = blocks[i];
    const KindModel& m = models.at(b.kind);
    const std::vector<std::int64_t> channels = b.channel_values();
    Eigen::MatrixXd q(1, static_cast<Eigen::Index>(channels.size()));
    for (std::size_t d = 0; d < channels.size(); ++d) q(0, static_cast<Eigen::Index>(d)) = static_cast<double>(channels[d]);
    GpPrediction t = m.seconds->predict(q);
    t.variance[0] *= m.variance_scale;
    const std::string fitted_by = estimator_method_name(kind_model_fit(m));
    const CalibrationCorrection& c = m.calibration;
    Group* group = nullptr;
    if (c.active()) {
      group = &groups[c.campaign];
      group->correction = c;
      const double f = c.seconds.factor();
      t.mean[0] *= f;
      t.variance[0] *= f * f;
      group->seconds += t.mean[0];
    }
    seconds += t.mean[0];
    kind_std[b.kind].first += std::sqrt(std::max(0.0, t.variance[0]));
    nlohmann::json entry = {{"index", i},
                            {"role", block_role_name(b.role)},
                            {"kind", b.kind.str()},
                            {"layers", layer_list(b)},
                            {"channels", channels},
                            {"seconds_per_iteration", mean_std(t.mean[0], t.variance[0])},
                            {"meter", m.meter.str()},
                            {"estimator", fitted_by}};
    if (c.active()) entry["calibration_factor"] = {{"seconds", c.seconds.factor()}, {"joules", c.joules.factor()}};
    if (m.joules != nullptr) {
      GpPrediction e = m.joules->predict(q);
      e.variance[0] *= m.variance_scale;
      if (group != nullptr) {
        const double f = c.joules.factor();
        e.mean[0] *= f;
        e.variance[0] *= f * f;
        group->joules += e.mean[0];
      }
      joules += e.mean[0];
      kind_std[b.kind].second += std::sqrt(std::max(0.0, e.variance[0]));
      entry["joules_per_iteration"] = mean_std(e.mean[0], e.variance[0]);
    } else {
      has_joules = false;
      entry["joules_per_iteration"] = nullptr;
    }
    const std::string label = m.meter.str();
    meter = meter.empty() || meter == label ? label : "mixed";
    fit = fit.empty() || fit == fitted_by ? fitted_by : "mixed";
    block_list.push_back(entry);
  }
  double residual = 0, speed_seconds = 0, speed_joules = 0;
  for (const auto& [kind, std_sum] : kind_std) {
    seconds_var += std_sum.first * std_sum.first;
    joules_var += std_sum.second * std_sum.second;
    const KindModel& m = models.at(kind);
    residual = std::max(residual, m.whole_model_residual);
    speed_seconds = std::max(speed_seconds, m.reference_seconds_log_variance);
    speed_joules = std::max(speed_joules, m.reference_joules_log_variance);
  }
  // what whole models of the class miss beyond their blocks' variances (docs/method.md §14), and
  // how much the device's own speed moved while it was profiled (§17)
  seconds_var += seconds * seconds * (residual + speed_seconds);
  joules_var += joules * joules * (residual + speed_joules);
  nlohmann::json calibration = nlohmann::json::array();
  for (const auto& [campaign, g] : groups) {
    seconds_var += g.seconds * g.seconds * g.correction.seconds.log_variance;
    joules_var += g.joules * g.joules * g.correction.joules.log_variance;
    calibration.push_back({{"campaign", campaign},
                           {"models", g.correction.models},
                           {"seconds_factor", g.correction.seconds.factor()},
                           {"joules_factor", g.correction.joules.factor()}});
  }
  const double n = static_cast<double>(iterations);
  nlohmann::json out = {{"model", model.name},
                        {"device_class", device_class},
                        {"iterations", iterations},
                        {"meter", meter},
                        {"estimator", fit},
                        {"seconds_per_iteration", mean_std(seconds, seconds_var)},
                        {"joules_per_iteration", has_joules ? mean_std(joules, joules_var) : nlohmann::json(nullptr)},
                        {"total", {{"seconds", mean_std(seconds * n, seconds_var * n * n)},
                                   {"joules", has_joules ? mean_std(joules * n, joules_var * n * n) : nlohmann::json(nullptr)}}},
                        {"calibration", calibration},
                        {"uncertainty",
                         {{"whole_model_relative_std", std::sqrt(residual)},
                          {"device_speed_relative_std",
                           {{"seconds", std::sqrt(speed_seconds)},
                            {"joules", has_joules ? nlohmann::json(std::sqrt(speed_joules)) : nlohmann::json(nullptr)}}}}},
                        {"blocks", block_list}};
  const double flops = model_cost(model).training_flops_per_iteration;
  nlohmann::json baseline = {{"training_flops_per_iteration", flops}};
  const auto b = baselines_.find(device_class);
  if (b != baselines_.end() && b->second.seconds.points >= 2) {
    baseline["seconds_per_iteration"] = mean_std(b->second.seconds(flops), std::pow(b->second.seconds.residual_std, 2));
    baseline["joules_per_iteration"] = b->second.has_joules
                                           ? mean_std(b->second.joules(flops), std::pow(b->second.joules.residual_std, 2))
                                           : nlohmann::json(nullptr);
    baseline["fitted_on_variant_networks"] = b->second.seconds.points;
  } else {
    baseline["seconds_per_iteration"] = nullptr;
    baseline["joules_per_iteration"] = nullptr;
    baseline["fitted_on_variant_networks"] = 0;
  }
  out["flops_baseline"] = baseline;
  // Gross energy is what the meter read; above idle subtracts what the device draws doing nothing
  // for as long (idle watts × seconds). Its std is the gross figure's: the idle watts are taken as known.
  out["energy"] = "gross";
  const auto idle = idle_watts_.find(device_class);
  if (has_joules && idle != idle_watts_.end() && std::isfinite(idle->second)) {
    const double w = idle->second;
    out["idle_watts"] = w;
    out["above_idle"] = {{"joules_per_iteration", mean_std(joules - w * seconds, joules_var)},
                         {"total", {{"joules", mean_std((joules - w * seconds) * n, joules_var * n * n)}}}};
  } else {
    out["idle_watts"] = nullptr;
    out["above_idle"] = nullptr;
  }
  return out;
}

void Estimator::set_idle_watts(const std::string& device_class, double watts) { idle_watts_[device_class] = watts; }

}  // namespace ampere
