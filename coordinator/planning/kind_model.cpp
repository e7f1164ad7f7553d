#include "coordinator/planning/kind_model.hpp"

#include "common/error.hpp"
#include "common/json_text.hpp"
#include "coordinator/planning/joint_additive_gp.hpp"

namespace ampere {
namespace {

std::shared_ptr<const KindFunction> function_from_json(const nlohmann::json& json) {
  const std::string format = json.is_object() ? json.value("format", "") : "";
  if (format == "ampere-joint-kind/1") return std::make_shared<const JointKindPosterior>(JointKindPosterior::from_json(json));
  return std::make_shared<const GaussianProcess>(GaussianProcess::from_json(json));  // names the expected format
}

}  // namespace

const char* estimator_method_name(EstimatorMethod method) {
  return method == EstimatorMethod::Joint ? "joint" : "subtractive";
}

EstimatorMethod parse_estimator_method(const std::string& name) {
  if (name == "subtractive") return EstimatorMethod::Subtractive;
  if (name == "joint") return EstimatorMethod::Joint;
  throw InputError("estimator: '" + name + "' is not one of subtractive, joint");
}

EstimatorMethod kind_model_fit(const KindModel& model) {
  return dynamic_cast<const JointKindPosterior*>(model.seconds.get()) != nullptr ? EstimatorMethod::Joint
                                                                                 : EstimatorMethod::Subtractive;
}

nlohmann::json kind_model_to_json(const KindModel& model) {
  nlohmann::json out = {{"seconds", model.seconds->to_json()},
                        {"joules", model.joules ? model.joules->to_json() : nlohmann::json(nullptr)},
                        {"meter", model.meter.str()},
                        {"points", model.points}};
  if (model.calibration.active()) out["calibration"] = calibration_correction_to_json(model.calibration);
  if (model.variance_scale != 1.0) out["variance_scale"] = model.variance_scale;
  if (model.whole_model_residual != 0) out["whole_model_residual"] = model.whole_model_residual;
  if (model.reference_seconds_log_variance != 0 || model.reference_joules_log_variance != 0)
    out["reference_log_variance"] = {{"seconds", model.reference_seconds_log_variance},
                                     {"joules", model.reference_joules_log_variance}};
  return out;
}

KindModel kind_model_from_json(const nlohmann::json& json) {
  KindModel model;
  try {
    model.seconds = function_from_json(json.at("seconds"));
    if (!json.at("joules").is_null()) model.joules = function_from_json(json.at("joules"));
    model.meter = parse_meter_label_text(json.at("meter").get<std::string>());
    model.points = whole_number<std::size_t>(json.at("points"), "kind model: points");
    if (json.contains("calibration")) model.calibration = calibration_correction_from_json(json.at("calibration"));
    model.variance_scale = json.value("variance_scale", 1.0);
    AMPERE_REQUIRE(std::isfinite(model.variance_scale) && model.variance_scale >= 1.0,
                   "variance_scale must be finite and >= 1, got ", model.variance_scale);
    model.whole_model_residual = json.value("whole_model_residual", 0.0);
    AMPERE_REQUIRE(std::isfinite(model.whole_model_residual) && model.whole_model_residual >= 0.0,
                   "whole_model_residual must be finite and >= 0, got ", model.whole_model_residual);
    if (json.contains("reference_log_variance")) {
      const nlohmann::json& v = json.at("reference_log_variance");
      model.reference_seconds_log_variance = v.at("seconds").get<double>();
      model.reference_joules_log_variance = v.at("joules").get<double>();
      for (const double x : {model.reference_seconds_log_variance, model.reference_joules_log_variance})
        AMPERE_REQUIRE(std::isfinite(x) && x >= 0.0, "reference_log_variance must be finite and >= 0, got ", x);
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("saved kind model: ") + e.what());
  }
  return model;
}

}  // namespace ampere
