// The ampere CLI's coordinator commands: campaigns, estimates, device classes.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ampere {

/// Prints an estimate (the JSON of CoordinatorClient::estimate) for people: blocks, totals with
/// ±, meter label, and the FLOPs baseline beside it.
void print_estimate(const nlohmann::json& estimate, std::ostream& out);
/// Prints campaign status (a list of campaigns) for people: points per kind, max std, state.
void print_campaigns(const nlohmann::json& campaigns, std::ostream& out);
/// A pruning plan (`ampere plan prune`): the budget, both searches, the FLOPs-proportional plan
/// and how far AMPERE puts it from the budget.
void print_prune_plan(const nlohmann::json& plan, std::ostream& out);

/// One model and what `ampere-agent measure` printed for it.
struct MeasuredModel {
  std::string model_file;
  nlohmann::json model;     ///< the spec
  nlohmann::json estimate;  ///< what the coordinator estimated
  nlohmann::json measured;  ///< ampere-agent measure's JSON
  nlohmann::json measured_again;  ///< optional: the same model measured again (null when absent)
};

/// Prints estimated vs measured vs FLOPs baseline, per model and as MAPE over all of them; the
/// energy columns carry their meter labels. With second measurements, also the noise floor: the
/// mean relative difference between the two, the best any estimate can be judged to here.
/// Returns the estimate's time MAPE in percent.
double print_comparison(const std::vector<MeasuredModel>& models, std::ostream& out);

}  // namespace ampere
