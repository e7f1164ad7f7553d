// `ampere model ...`: what the estimator sees in a spec (blocks, kinds, FLOPs) and the profiling
// plan of a family.
#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>

#include "common/model_spec.hpp"

namespace ampere {

/// Prints a model's or family's blocks: role, channels, FLOPs, parameters and kind key; for a
/// concrete model also the totals (training FLOPs per iteration).
void run_model_show(const ModelSpec& spec, std::ostream& out);
/// Prints the kinds a family needs profiled, in dependency order, auxiliary ones marked.
void run_model_kinds(const std::filesystem::path& family, std::ostream& out);
/// Prints a concrete model drawn from a family (JSON).
void run_model_sample(const std::filesystem::path& family, std::uint64_t seed, std::ostream& out);

}  // namespace ampere
