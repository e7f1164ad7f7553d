// Channel quantization (docs/method.md §14): a device's kernels work on blocks of channels (16
// floats of an AVX-512 register in oneDNN's blocked layouts, tensor-core tiles on a GPU), so a
// layer's cost is a staircase in its channels: it jumps when a width crosses a multiple of the
// block and barely moves inside a block. A GP on raw channels smooths every step away. The kernels
// therefore read each channel c through
//
//     s(c) = within · c + (1 − within) · b · ⌈c / b⌉
//
// with b the block and `within` the share of the cost that follows the raw channel count inside a
// block: within = 0 is the padded count (a pure staircase), within = 1 the raw count (no steps). The
// map is increasing, so bounds map to bounds; inside a step it moves by `within` per channel and
// across a step edge by within + (1 − within)·b, which a smooth kernel on s(c) follows.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Dense>
#include <nlohmann/json_fwd.hpp>

namespace ampere {

/// One channel dimension's quantization: the block and the within-block share (see above).
struct ChannelStep {
  std::int64_t block = 1;  ///< 1: no steps
  double within = 1.0;     ///< in [0, 1]; 1: no steps
  bool none() const { return block <= 1 || within >= 1.0; }
  bool operator==(const ChannelStep& o) const { return block == o.block && within == o.within; }
  bool operator!=(const ChannelStep& o) const { return !(*this == o); }
};

/// One per channel dimension of a kind; empty means no steps in any dimension.
using ChannelSteps = std::vector<ChannelStep>;

/// True when no dimension has steps.
bool no_steps(const ChannelSteps& steps);
/// s(c) of one channel value.
double stepped_channel(double channels, const ChannelStep& step);
/// s applied per column (`steps` empty: x unchanged). Throws InputError when the column count differs.
Eigen::MatrixXd stepped_channels(const Eigen::MatrixXd& x, const ChannelSteps& steps);
/// The bounds as the kernel sees them: (s(lo), s(hi)) per dimension.
std::vector<std::pair<double, double>> stepped_bounds(const std::vector<std::pair<double, double>>& bounds,
                                                      const ChannelSteps& steps);
/// Throws InputError, prefixed by `who`, on a block below 1, a share outside [0, 1], or a count that
/// is neither 0 nor `dimensions`.
void require_valid_steps(const ChannelSteps& steps, std::size_t dimensions, const std::string& who);

/// JSON: [[block, within], ...] per dimension (absent or [] = none). from_json throws InputError.
nlohmann::json channel_steps_to_json(const ChannelSteps& steps);
ChannelSteps channel_steps_from_json(const nlohmann::json& json);
/// "none", or the blocks and shares as "16@0.05x16@0.05" (for logs and the kinds' progress).
std::string channel_steps_text(const ChannelSteps& steps);

}  // namespace ampere
