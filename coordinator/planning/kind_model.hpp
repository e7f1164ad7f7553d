// A kind's fitted models (one GP for time, one for energy where a meter gives energy) and their
// JSON, which the store keeps so a restarted coordinator or the bridge restores them unrefitted.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "gp/gaussian_process.hpp"
#include "common/measurement.hpp"
#include "coordinator/planning/calibration_correction.hpp"

namespace ampere {

/// How kind models are fitted from measurements (docs/method.md §2, §8): the paper's subtractive
/// fit (each kind's own GP on targets with its helpers' estimates subtracted) or the joint additive
/// GP over every measurement of a campaign, whole calibration models included.
enum class EstimatorMethod { Subtractive, Joint };
/// "subtractive", "joint".
const char* estimator_method_name(EstimatorMethod method);
/// Throws InputError naming the choices.
EstimatorMethod parse_estimator_method(const std::string& name);

/// A kind's fitted models: time always, energy when the meter gives energy. Each is the kind's
/// own GP (the subtractive fit) or its view of the class's joint additive GP. Immutable once built
/// (shared read-only), so snapshots can share it across threads.
struct KindModel {
  std::shared_ptr<const KindFunction> seconds;
  std::shared_ptr<const KindFunction> joules;  ///< null without energy readings
  MeterLabel meter;  ///< where its energy figures come from ("rapl", a composite's "rapl+nvml")
  std::size_t points = 0;
  /// The campaign's correction from its calibration models (subtractive fits only; docs/method.md
  /// §11): estimates multiply this kind's mean by it. Inactive by default.
  CalibrationCorrection calibration;
  /// What estimates multiply this kind's predictive variances by (>= 1; docs/method.md §14): how
  /// much larger than its GP said the kind's misses of its own points, left out, were.
  double variance_scale = 1.0;
  /// The squared relative miss of whole models beyond their blocks' variances (what additivity,
  /// drift and a process's own speed add), from the campaign's calibration models (docs/method.md
  /// §14): an estimate adds (mean · √r)² for the largest r among its kinds. 0: none known.
  double whole_model_residual = 0;
  /// How much the device's own speed moved while the campaign measured (docs/method.md §17): the
  /// sample variance of the log of its reference readings, time and energy (energy: time's where
  /// the meter reads no energy live). A campaign's normalized fits answer at the median reading; a
  /// later training meets the device at any speed it showed, so an estimate adds (mean · √v)² for
  /// the largest v among its kinds. 0: none known (too few readings, or a campaign that does not
  /// normalize, such as the paper's protocol).
  double reference_seconds_log_variance = 0;
  double reference_joules_log_variance = 0;
};

/// Which fit made the model: Subtractive (the kind's own GP) or Joint (its view of the joint GP).
EstimatorMethod kind_model_fit(const KindModel& model);

/// A fitted kind model as JSON (both functions, meter, points, the correction when active) and back; each function is read by
/// its "format" ("ampere-gp/1" or "ampere-joint-kind/1"). Throws InputError on bad JSON.
nlohmann::json kind_model_to_json(const KindModel& model);
KindModel kind_model_from_json(const nlohmann::json& json);

}  // namespace ampere
