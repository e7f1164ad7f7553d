// The energy-aware pruning planner (docs/method.md §13; the AMPERE paper's §4.3 case study): the
// widths of a model's family that keep the most parameters while its AMPERE estimate (the mean, or
// with a confidence its one-sided upper bound) fits a budget. Two searches, reported side by side:
// one uniform width multiplier, and a greedy per-width search. Beside them, the plan
// FLOPs-proportional pruning gives for the same budget, and what AMPERE estimates it costs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/model_spec.hpp"
#include "coordinator/planning/estimator.hpp"

namespace ampere {

enum class PruneBudgetKind { Joules, Seconds, Fraction };

struct PruneRequest {
  ModelSpec model;  ///< concrete: the model to prune (its widths are the family's tops)
  std::string device_class;
  PruneBudgetKind budget_kind = PruneBudgetKind::Fraction;
  double budget = 0.5;  ///< joules or seconds for `iterations` iterations, or a fraction of the model's own estimate
  bool by_energy = true;  ///< the cost the budget bounds: joules (energy) or seconds (time)
  std::optional<double> confidence;  ///< p in [0.5, 1): the one-sided upper bound mean + z_p·std must fit
  std::uint64_t iterations = 1;
  double min_fraction = 0.25;  ///< each free width ranges over [ceil(f·C), C]
};

/// Parses a request body (`POST /v1/plan:prune` and the ZeroMQ planPrune message): {"model",
/// "device_class", "budget": {"joules"|"seconds"|"fraction": x}, "by", "confidence", "iterations",
/// "min_fraction"}. Throws InputError naming the field.
PruneRequest parse_prune_request(const nlohmann::json& body);

/// Plans; returns the plan JSON (docs/api.md, "plan:prune"). Throws MissingKinds /
/// UnknownDeviceClass as estimates do; InputError (Unprocessable) for a budget below the narrowest
/// member's cost (naming that cost), energy asked of a class without an energy meter, or a model
/// with no free width.
nlohmann::json plan_prune(const Estimator& estimator, const PruneRequest& request);

/// z of the one-sided p bound of a standard normal (p in (0, 1)).
double normal_quantile(double p);

}  // namespace ampere
