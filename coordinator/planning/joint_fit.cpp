#include "coordinator/planning/joint_fit.hpp"

#include <cmath>
#include <memory>
#include <utility>

#include "coordinator/planning/calibration_correction.hpp"
#include "coordinator/planning/estimator.hpp"
#include "coordinator/planning/interval_calibration.hpp"

namespace ampere {

JointFit fit_joint(const JointProblem& problem) {
  JointFitOptions options;
  options.seed = problem.seed;
  const auto fit_one = [&](const std::vector<JointMeasurement>& data, const JointHyperparameters& start) {
    auto gp = std::make_unique<JointAdditiveGp>(problem.kinds, data);
    gp->set_hyperparameters(start);
    gp->fit(options);
    return gp;
  };
  const auto kind_models = [&](const JointAdditiveGp& seconds, const JointAdditiveGp* joules, std::size_t measurements) {
    std::map<KindKey, KindModel> out;
    for (std::size_t k = 0; k < problem.keys.size(); ++k) {
      if (!seconds.measured(k)) continue;
      KindModel model;
      model.seconds = seconds.posterior(k);
      if (joules != nullptr) model.joules = joules->posterior(k);
      model.meter = problem.meter;
      model.points = measurements;
      // the joint posterior has no points of its own to leave out: the kind's own fit's misses say it
      const auto own = problem.subtractive.find(problem.keys[k]);
      if (own != problem.subtractive.end()) model.variance_scale = own->second.variance_scale;
      out[problem.keys[k]] = model;
    }
    return out;
  };
  const std::unique_ptr<JointAdditiveGp> seconds = fit_one(problem.seconds, problem.seconds_start);
  const std::unique_ptr<JointAdditiveGp> joules =
      problem.joules.empty() ? nullptr : fit_one(problem.joules, problem.joules_start);
  JointFit out;
  out.models = kind_models(*seconds, joules.get(), problem.measurements);
  // The check: neither side has seen the calibration models.
  const std::size_t checks = problem.calibration_models.size();
  if (checks == 0 || problem.variants == 0 || problem.variants + checks != problem.seconds.size()) return out;
  const std::vector<JointMeasurement> variants(problem.seconds.begin(),
                                               problem.seconds.begin() + static_cast<std::ptrdiff_t>(problem.variants));
  Estimator joint, subtractive;
  subtractive.set_models("check", problem.subtractive);
  double joint_error = 0, subtractive_error = 0;
  try {
    // the check's own fit failing leaves the served fit as good as without calibration models
    const std::map<KindKey, KindModel> check_models = kind_models(*fit_one(variants, problem.seconds_start), nullptr, problem.variants);
    joint.set_models("check", check_models);
    std::vector<double> truths, joint_estimates, subtractive_estimates;
    for (std::size_t i = 0; i < checks; ++i) {
      const auto estimate = [&](const Estimator& e) {
        return e.estimate(problem.calibration_models[i], "check", 1).at("seconds_per_iteration").at("mean").get<double>();
      };
      truths.push_back(problem.seconds[problem.variants + i].value);
      joint_estimates.push_back(estimate(joint));
      subtractive_estimates.push_back(estimate(subtractive));
    }
    // The served joint fit has seen the calibration models, so their misses of it understate its
    // error: the whole-model residual is taken from the check's fit, which has not (docs/method.md §14).
    std::vector<std::pair<ModelSpec, double>> measured;
    for (std::size_t i = 0; i < checks; ++i) measured.emplace_back(problem.calibration_models[i], truths[i]);
    const double residual = whole_model_residual(check_models, measured);
    for (auto& [key, model] : out.models) model.whole_model_residual = residual;
    for (std::size_t i = 0; i < checks; ++i) {
      double factor = 1.0;
      if (problem.correct_subtractive) {  // the correction fitted on the other calibration models
        std::vector<double> others_estimated, others_measured;
        for (std::size_t j = 0; j < checks; ++j)
          if (j != i) {
            others_estimated.push_back(subtractive_estimates[j]);
            others_measured.push_back(truths[j]);
          }
        factor = fit_log_correction(others_estimated, others_measured).factor();
      }
      joint_error += std::abs(joint_estimates[i] / truths[i] - 1.0);
      subtractive_error += std::abs(factor * subtractive_estimates[i] / truths[i] - 1.0);
    }
  } catch (const std::exception&) {
    return out;  // the check's fit failed, or a kind one side lacks: no check, the joint fit serves
  }
  out.joint_check_mape = 100 * joint_error / static_cast<double>(checks);
  out.subtractive_check_mape = 100 * subtractive_error / static_cast<double>(checks);
  return out;
}

}  // namespace ampere
