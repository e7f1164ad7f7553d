// How close estimates came to measurements of the same models (docs/method.md §7): the held-out
// MAPE the metrics, the accuracy route and the convergence page report.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/measurement.hpp"

namespace ampere {

/// How close estimates came to measurements of the same models: mean absolute percentage errors
/// (as ratios) of the estimate and of its FLOPs line, for time and energy; empty where nothing
/// could be scored (no FLOPs line yet, no energy readings).
struct AccuracyScore {
  std::size_t models = 0;
  std::string meter;  ///< where the measured energy came from (meter label; "mixed" when it differs)
  std::optional<double> seconds, flops_seconds, joules, flops_joules;
};
/// Scores (estimate JSON of one iteration, measurement) pairs; the measurement's statistic is the
/// minimum of its repeats, as the GPs fit; `meter` says where the scored energy came from.
AccuracyScore score_estimates(const std::vector<std::pair<nlohmann::json, Measurement>>& pairs);

}  // namespace ampere
