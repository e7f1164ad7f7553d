// Finding a kind's channel quantization on its device class (docs/method.md §14): where its cost
// steps (the block b) and how much it moves inside a step (the share `within`), from the kind's own
// measurements. Two pieces:
//   - probe points: pairs (c, c + 1) just below and just above candidate step edges, measured with
//     a kind's start points, so every candidate block has an edge seen from both sides;
//   - the choice: the kind's GP fitted under each candidate quantization (and none), the one of
//     highest log marginal likelihood kept. The candidates have the same hyper-parameters, so the
//     likelihoods compare directly; a staircase explained by a smooth kernel needs short
//     length-scales or a large noise, which the likelihood pays for.
// Pure functions, safe on any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "common/model_spec.hpp"
#include "gp/channel_steps.hpp"
#include "gp/gaussian_process.hpp"

namespace ampere {

/// Whether a campaign looks for its kinds' channel quantization (docs/method.md §14): Off (the
/// paper's smooth kernels on raw channels) or Probe (probe points beside candidate step edges with
/// the start points, and each fit keeps the quantization of highest marginal likelihood).
enum class ChannelStepSearch { Off, Probe };
/// "off", "probe"; parse throws InputError naming the choices.
const char* channel_step_search_name(ChannelStepSearch search);
ChannelStepSearch parse_channel_step_search(const std::string& name);

/// Candidate blocks, in the order their probe pairs are planned (the most common first: 16 floats
/// of AVX-512, 8 of AVX2, 32 and 64 for GPU tiles and wider kernels, 4 for NEON).
inline const std::vector<std::int64_t>& candidate_step_blocks() {
  static const std::vector<std::int64_t> blocks = {16, 8, 32, 64, 4};
  return blocks;
}
/// Candidate within-block shares tried with each block (0: padded; measured on this machine's
/// convolutions, 0 to 0.3: docs/method.md §14).
inline const std::vector<double>& candidate_step_shares() {
  static const std::vector<double> shares = {0.0, 0.1, 0.3};
  return shares;
}

/// The probe points of a kind with these bounds: for each candidate block b whose odd multiple c
/// lies in every free dimension's range with c + 1 (nearest the geometric middle of the range),
/// the point at c and the point at c + 1 in every free dimension (fixed dimensions stay at their
/// value). At most `max_points` points (whole pairs, in candidate order). Empty when a free
/// dimension takes only multiples of some m > 1 (c + 1 is not a member) or no range holds an edge.
std::vector<std::vector<std::int64_t>> step_probe_points(const std::vector<ChannelRange>& bounds, std::size_t max_points);

/// The quantizations worth trying on these bounds: none, and each candidate block with an edge
/// inside a free dimension's range, with each candidate share, on every free dimension.
std::vector<ChannelSteps> candidate_channel_steps(const std::vector<ChannelRange>& bounds);

/// Nats by which a quantization's log marginal likelihood must beat the first candidate's (none)
/// to be chosen: the best of ~16 candidates beats none by about log 16 ≈ 2.8 nats by chance alone,
/// so a smaller margin would pick steps on costs that have none (docs/method.md §14).
constexpr double kStepEvidenceNats = 3.0;

/// The kind's GP under the quantization of highest log marginal likelihood among `candidates`, the
/// first of them (none) kept unless another beats it by kStepEvidenceNats, and that quantization.
/// Each candidate is compared after one L-BFGS-B run from `options`' first start (no restarts); the
/// chosen one is then fitted with `options` in full. Ties keep the earlier candidate. Throws what
/// GaussianProcess::fit throws when no candidate can be fitted.
struct ChannelStepChoice {
  ChannelSteps steps;
  std::shared_ptr<GaussianProcess> gp;
  double log_marginal_likelihood = 0;
};
ChannelStepChoice choose_channel_steps(const std::vector<std::pair<double, double>>& bounds,
                                       const std::vector<ChannelSteps>& candidates, GpTrend trend, GpWarp warp,
                                       const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                       const Eigen::VectorXd& extra_noise, const GpFitOptions& options);

}  // namespace ampere
