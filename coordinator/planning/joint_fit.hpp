// The joint additive GP fit of a campaign's measurements, and the check that chooses between it and
// the subtractive fits (docs/method.md §8, §9). Pure: a campaign copies its problem out
// (Campaign::joint_problem) so the fit can run on another thread.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <vector>

#include "common/layer_parser.hpp"
#include "common/measurement.hpp"
#include "common/model_spec.hpp"
#include "coordinator/planning/joint_additive_gp.hpp"
#include "coordinator/planning/kind_model.hpp"

namespace ampere {

/// Everything a joint fit needs, copied out of a campaign so it can run on another thread.
struct JointProblem {
  std::vector<KindKey> keys;  ///< the joint model's kinds, in its order
  std::vector<JointKind> kinds;
  std::vector<JointMeasurement> seconds;
  std::vector<JointMeasurement> joules;  ///< empty unless every measurement has energy
  JointHyperparameters seconds_start, joules_start;  ///< from the kinds' subtractive fits
  MeterLabel meter;
  std::size_t measurements = 0;  ///< how many it holds (variants + calibration models)
  std::size_t variants = 0;      ///< the first `variants` of them are variant networks, the rest calibration models
  std::vector<ModelSpec> calibration_models;           ///< the calibration models, in measurement order
  std::map<KindKey, KindModel> subtractive;            ///< the campaign's subtractive fits (uncorrected)
  /// Whether the campaign corrects its subtractive fits by its calibration models: the check then
  /// scores each calibration model with the correction fitted on the others (leave one out).
  bool correct_subtractive = false;
  std::uint64_t seed = 0;
};

/// A joint fit and the check that chose between it and the subtractive fits (docs/method.md §9).
struct JointFit {
  std::map<KindKey, KindModel> models;  ///< the joint fit on every measurement, every measured kind
  /// The check: a joint fit on the variant networks alone and the subtractive fits, both scored
  /// (time MAPE) on the calibration models neither has seen. NaN without calibration models.
  double joint_check_mape = std::nan("");
  double subtractive_check_mape = std::nan("");
  /// Whether the joint models should serve: true without calibration models to check on.
  bool joint_chosen() const { return !(joint_check_mape > subtractive_check_mape); }
};
/// Fits the joint additive GP for time (and energy), and checks it against the subtractive fits on
/// the calibration models. Throws NumericalError when a fit cannot be evaluated; pure, safe on any
/// thread.
JointFit fit_joint(const JointProblem& problem);

}  // namespace ampere
