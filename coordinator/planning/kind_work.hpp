// A kind's work (forward FLOPs per sample of its block) as its channels change: what the joint
// fit's optional work mean reads (docs/method.md §9).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "common/layer_parser.hpp"

namespace ampere {

/// A kind's channel bounds as the GPs take them.
std::vector<std::pair<double, double>> gp_bounds(const std::vector<ChannelRange>& ranges);

/// Forward FLOPs per sample of `kind`'s block at `channels`, read from its variant network.
double block_work(const ProfileKind& kind, const std::vector<std::int64_t>& channels, const std::vector<ProfileKind>& plan);

/// The kind's work as a polynomial of its scaled channels, p·(1, φ(u)) (docs/method.md §9): fitted by
/// least squares on a grid that avoids C_in == C_out (a residual block without its projection
/// shortcut costs less there), kept only when it reproduces the grid to 1e-6. Empty otherwise: the
/// kind then has no work term, and its GP carries all of its cost.
std::vector<double> work_polynomial(const ProfileKind& kind, const std::vector<ProfileKind>& plan);

}  // namespace ampere
