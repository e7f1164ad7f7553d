// A campaign's correction of its subtractive estimates, fitted on its calibration models
// (docs/method.md §11): whole models measured beside the variant networks say by how much the sum
// of a model's blocks misses the model, and every estimate from the campaign's kinds is multiplied
// by that factor, its uncertainty added to the estimate's.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace ampere {

/// A multiplicative correction on the log scale: estimates × exp(log_factor), with the variance of
/// log_factor (a shared factor: an estimate's blocks from one campaign move together).
struct LogCorrection {
  double log_factor = 0;
  double log_variance = 0;
  double factor() const { return std::exp(log_factor); }
};

/// The correction a campaign's subtractive kind models carry (none while models == 0).
struct CalibrationCorrection {
  std::uint64_t campaign = 0;  ///< blocks of one campaign share the factor (their variances add as one term)
  std::size_t models = 0;      ///< calibration models it was fitted on; 0: no correction
  LogCorrection seconds, joules;
  bool active() const { return models > 0; }
};

/// Fits the correction from estimated and measured costs of the same whole models: the mean r̄ of
/// log(measured / estimated), shrunk toward 0 by w = max(0, 1 − (s²/n) / r̄²), s² the ratios' sample
/// variance (a bias that the models' own scatter could explain is not applied); log_variance =
/// w·s²/n. Fewer than 2 models: no correction. Throws InputError for unequal sizes or a
/// non-positive or non-finite value.
LogCorrection fit_log_correction(const std::vector<double>& estimated, const std::vector<double>& measured);

/// {"campaign", "models", "seconds": {"log_factor", "log_variance"}, "joules": {...}}; from_json
/// throws InputError naming what is wrong.
nlohmann::json calibration_correction_to_json(const CalibrationCorrection& correction);
CalibrationCorrection calibration_correction_from_json(const nlohmann::json& json);

}  // namespace ampere
