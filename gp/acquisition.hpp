// Guided profiling (docs/method.md §4): candidates, start points, the next batch to measure, and when
// a kind is done.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "gp/gaussian_process.hpp"
#include "common/model_spec.hpp"

namespace ampere {

/// Candidates: every integer channel value within the bounds (respecting multiple_of), subsampled
/// to an evenly spaced lattice (endpoints kept) of at most `max_points` when larger. One row per
/// candidate, one column per channel dimension.
Eigen::MatrixXd candidate_grid(const std::vector<ChannelRange>& bounds, std::size_t max_points = 4096);

/// Start points: the corners of the bounds (1-D: min and max; 2-D: four corners), duplicates
/// removed (a fixed dimension has one corner).
Eigen::MatrixXd start_points(const std::vector<ChannelRange>& bounds);

enum class Acquisition {
  MaxVariance,     ///< the paper's: largest predictive variance
  MaxRelativeStd,  ///< largest σ/|μ|: weighs small and large layers alike, as MAPE does
  Random,          ///< uniformly random unprofiled candidates: the baseline guided profiling must beat
  /// The candidate whose measurement most reduces the variance of the estimates the family's models
  /// will ask for (an EstimateDemand); MaxVariance where a kind has no demand (an auxiliary helper).
  EstimateVariance,
};
const char* acquisition_name(Acquisition acquisition);
/// Parses "max-variance" / "max-relative-std" / "random" / "estimate-variance"; throws InputError
/// otherwise.
Acquisition parse_acquisition(const std::string& name);

/// Where a kind's estimates will be asked: the channel values of its blocks in models sampled from
/// the family (one row per block), which model each belongs to, and each model's weight. A model's
/// estimate sums its blocks, so its variance from this kind is the sum of their posterior
/// covariances; a weight of 1/cost² makes the objective a relative one, as MAPE is.
struct EstimateDemand {
  Eigen::MatrixXd points;
  std::vector<std::size_t> model;  ///< per row of `points`: index into `weight`
  std::vector<double> weight;      ///< per model, > 0
  bool empty() const { return points.rows() == 0; }
};

/// The next `count` candidates to measure, chosen greedily: after each choice the point joins
/// the GP's inputs (no target: the posterior variance does not depend on it) before the next is
/// chosen, by an exact rank-one update; for MaxVariance this equals choosing one at a time with
/// the GP refitted on inputs alone. Candidates already profiled (equal to a training input) are
/// skipped. Returns row indices into `candidates`; fewer than `count` when candidates run out.
/// O(count · m · n) for m candidates and n profiled points.
/// Random draws from mt19937_64(seed). EstimateVariance scores candidate c by
/// Σ_models w_m (Σ_{b ∈ m} cov(b, c))² / (var(c) + σ_n²), the drop in the weighted sum of the
/// models' estimate variances that observing c brings, with the same rank-one updates between
/// choices; O(count · (p + n) · m) for p demand points. Without `demand` (or with an empty one) it is
/// MaxVariance.
std::vector<Eigen::Index> select_batch(const GaussianProcess& gp, const Eigen::MatrixXd& candidates,
                                       std::size_t count, Acquisition acquisition = Acquisition::MaxVariance,
                                       std::uint64_t seed = 0, const EstimateDemand* demand = nullptr);

/// FitFailed: the kind's GP could not be fitted to its points (contained to the kind; its last
/// good fit, if any, keeps serving).
enum class StopReason { KeepGoing, BudgetSpent, Converged, NoCandidates, FitFailed };
const char* stop_reason_name(StopReason reason);

struct StopDecision {
  StopReason reason = StopReason::KeepGoing;
  double max_std = 0;        ///< largest latent predictive std over unprofiled candidates
  double relative_std = 0;   ///< max_std / mean |profiled target|
  /// Largest leave-one-out error over the profiled points inside the bounds, over mean |target|
  /// (docs/method.md §14): how far the fit misses a point it has not seen. NaN below 3 such points.
  double leave_one_out_error = std::nan("");
};

/// How much larger a kind's misses of its own interior points, left out, are than its GP says:
/// max(1, mean of zᵢ²), zᵢ = (yᵢ − μ₋ᵢ)/σ₋ᵢ over the points strictly inside the free bounds (1 below
/// 3 such points). An honest GP has E[z²] = 1; a smooth fit of a staircase has far more
/// (docs/method.md §14). Estimates scale the kind's variances by it.
double leave_one_out_variance_scale(const GaussianProcess& gp);

/// A kind is not converged while a point it was fitted on, left out, is missed by more than this
/// many times the convergence threshold (docs/method.md §14): a smooth fit of a staircase believes
/// it is certain between its points while it misses the points themselves.
constexpr double kLeaveOneOutFactor = 2.0;

/// 5%: the paper's end condition (§3.3), "variance smaller than 5% of the profiled data".
constexpr double kConvergedRelativeStd = 0.05;

/// Convergence is never declared on fewer points than the start points plus 8·d² guided ones
/// (d channel dimensions: 8 for a curve, 32 for a surface). Two or three points of a smooth curve
/// always look certain; on a surface, the four corners and three more made the 5% rule fire on
/// 7–12 points while the held-out blocks were still off by 5–20%; with 3·d² the residual family's
/// 2-D kinds stopped at 16 points and its estimates ran 3–8% high on the simulated profiles, with
/// 8·d² they are within 2–2.5% (docs/method.md §4, §9).
constexpr std::size_t kGuidedPointsBeforeConvergence = 8;
std::size_t guided_points_before_convergence(std::size_t dimensions,
                                             std::size_t factor = kGuidedPointsBeforeConvergence);

/// Whether a kind is done: its budget spent, its max latent std under 5% of the mean |target|
/// (after the start points and guided_points_before_convergence more) while no interior point left
/// out is missed by more than kLeaveOneOutFactor × 5%, or no unprofiled candidate left.
/// `guided_factor` replaces kGuidedPointsBeforeConvergence (3 was the rule before docs/method.md §9).
StopDecision stop_rule(const GaussianProcess& gp, const Eigen::MatrixXd& candidates, std::size_t budget,
                       double threshold = kConvergedRelativeStd,
                       std::size_t guided_factor = kGuidedPointsBeforeConvergence);

}  // namespace ampere
