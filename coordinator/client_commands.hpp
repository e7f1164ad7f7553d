// The ampere CLI's coordinator commands: campaigns, estimates, device classes.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace ampere {

/// Prints an estimate (the JSON of CoordinatorClient::estimate) for people: blocks, totals with
/// ±, meter label, and the FLOPs baseline beside it.
void print_estimate(const nlohmann::json& estimate, std::ostream& out);
/// Prints campaign status (a list of campaigns) for people: points per kind, max std, state.
void print_campaigns(const nlohmann::json& campaigns, std::ostream& out);

}  // namespace ampere
