#include "coordinator/planning/calibration_correction.hpp"

#include <algorithm>
#include <string>

#include "common/error.hpp"
#include "common/json_text.hpp"

namespace ampere {

LogCorrection fit_log_correction(const std::vector<double>& estimated, const std::vector<double>& measured) {
  AMPERE_REQUIRE(estimated.size() == measured.size(), "calibration correction: ", estimated.size(), " estimates for ",
                 measured.size(), " measurements");
  const std::size_t n = estimated.size();
  std::vector<double> ratios;
  for (std::size_t i = 0; i < n; ++i) {
    AMPERE_REQUIRE(estimated[i] > 0 && std::isfinite(estimated[i]) && measured[i] > 0 && std::isfinite(measured[i]),
                   "calibration correction: model ", i, " has estimate ", estimated[i], " and measurement ", measured[i],
                   "; both must be positive and finite");
    ratios.push_back(std::log(measured[i] / estimated[i]));
  }
  LogCorrection out;
  if (n < 2) return out;
  double mean = 0;
  for (double r : ratios) mean += r / static_cast<double>(n);
  double variance = 0;
  for (double r : ratios) variance += (r - mean) * (r - mean) / static_cast<double>(n - 1);
  const double mean_variance = variance / static_cast<double>(n);
  const double weight = mean * mean > 0 ? std::max(0.0, 1.0 - mean_variance / (mean * mean)) : 0.0;
  out.log_factor = weight * mean;
  out.log_variance = weight * mean_variance;
  return out;
}

namespace {

nlohmann::json log_json(const LogCorrection& c) { return {{"log_factor", c.log_factor}, {"log_variance", c.log_variance}}; }

LogCorrection log_from_json(const nlohmann::json& json, const char* name) {
  LogCorrection c;
  c.log_factor = json.at("log_factor").get<double>();
  c.log_variance = json.at("log_variance").get<double>();
  AMPERE_REQUIRE(std::isfinite(c.log_factor) && std::isfinite(c.log_variance) && c.log_variance >= 0,
                 "calibration correction: ", name, " needs a finite log_factor and a finite log_variance >= 0");
  return c;
}

}  // namespace

nlohmann::json calibration_correction_to_json(const CalibrationCorrection& c) {
  return {{"campaign", c.campaign}, {"models", c.models}, {"seconds", log_json(c.seconds)}, {"joules", log_json(c.joules)}};
}

CalibrationCorrection calibration_correction_from_json(const nlohmann::json& json) {
  CalibrationCorrection c;
  try {
    c.campaign = whole_number<std::uint64_t>(json.at("campaign"), "calibration: campaign");
    c.models = whole_number<std::size_t>(json.at("models"), "calibration: models");
    c.seconds = log_from_json(json.at("seconds"), "seconds");
    c.joules = log_from_json(json.at("joules"), "joules");
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("calibration correction: ") + e.what());
  }
  return c;
}

}  // namespace ampere
