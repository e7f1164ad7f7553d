#include "gp/acquisition.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <utility>

#include "common/error.hpp"

namespace ampere {
namespace {

/// How many values a range holds (multiples of multiple_of within [min, max]), counted, never
/// enumerated: a range may hold far more values than a grid takes.
std::size_t member_count(const ChannelRange& range) {
  const std::int64_t first = range.lowest(), last = range.highest();
  return first > last ? 0 : static_cast<std::size_t>((last - first) / range.multiple_of) + 1;
}

/// `count` of the range's values spread evenly over it (first and last kept), or all of them
/// when it holds no more than `count`.
std::vector<std::int64_t> spread(const ChannelRange& range, std::size_t count) {
  const std::size_t size = member_count(range);
  const auto value = [&](std::size_t index) { return range.lowest() + static_cast<std::int64_t>(index) * range.multiple_of; };
  std::vector<std::int64_t> out;
  if (size == 0) return out;
  if (count >= size) {
    for (std::size_t i = 0; i < size; ++i) out.push_back(value(i));
    return out;
  }
  if (count <= 1) return {value(0)};
  for (std::size_t i = 0; i < count; ++i) {
    const auto index = static_cast<std::size_t>(std::llround(static_cast<double>(i) * static_cast<double>(size - 1) /
                                                             static_cast<double>(count - 1)));
    if (out.empty() || out.back() != value(index)) out.push_back(value(index));
  }
  return out;
}

Eigen::MatrixXd cartesian(const std::vector<std::vector<std::int64_t>>& axes) {
  Eigen::Index rows = 1;
  for (const auto& axis : axes) rows *= static_cast<Eigen::Index>(axis.size());
  Eigen::MatrixXd grid(rows, static_cast<Eigen::Index>(axes.size()));
  for (Eigen::Index r = 0; r < rows; ++r) {
    Eigen::Index rest = r;
    for (std::size_t d = axes.size(); d-- > 0;) {
      const auto size = static_cast<Eigen::Index>(axes[d].size());
      grid(r, static_cast<Eigen::Index>(d)) = static_cast<double>(axes[d][static_cast<std::size_t>(rest % size)]);
      rest /= size;
    }
  }
  return grid;
}

bool is_profiled(const GaussianProcess& gp, const Eigen::MatrixXd& candidates, Eigen::Index row) {
  const Eigen::MatrixXd& x = gp.inputs();
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    if ((x.row(i).array() == candidates.row(row).array()).all()) return true;
  return false;
}

/// The training points strictly inside every free dimension's bounds (a corner left out is an
/// extrapolation, not a check).
std::vector<Eigen::Index> interior_points(const GaussianProcess& gp) {
  const Eigen::MatrixXd& x = gp.inputs();
  const auto& bounds = gp.bounds();
  std::vector<Eigen::Index> inside;
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    bool interior = true;
    for (std::size_t d = 0; d < bounds.size(); ++d)
      if (bounds[d].first < bounds[d].second && (x(i, static_cast<Eigen::Index>(d)) <= bounds[d].first ||
                                                 x(i, static_cast<Eigen::Index>(d)) >= bounds[d].second))
        interior = false;
    if (interior) inside.push_back(i);
  }
  return inside;
}

/// Each interior point's leave-one-out miss (target − μ₋ᵢ) and predicted variance σ²₋ᵢ; empty below
/// 3 interior points (too few to check a fit on).
std::vector<std::pair<double, double>> interior_leave_one_out(const GaussianProcess& gp) {
  const std::vector<Eigen::Index> inside = interior_points(gp);
  if (inside.size() < 3) return {};
  const GpPrediction loo = gp.leave_one_out();
  std::vector<std::pair<double, double>> out;
  for (Eigen::Index i : inside) out.emplace_back(gp.targets()[i] - loo.mean[i], loo.variance[i]);
  return out;
}

/// The largest leave-one-out miss over the interior points, over mean |target|; NaN below 3 of them.
double interior_leave_one_out_error(const GaussianProcess& gp) {
  const double scale = gp.targets().cwiseAbs().mean();
  const std::vector<std::pair<double, double>> misses = interior_leave_one_out(gp);
  if (misses.empty() || !(scale > 0)) return std::nan("");
  double worst = 0;
  for (const auto& [miss, variance] : misses) worst = std::max(worst, std::abs(miss) / scale);
  return worst;
}

}  // namespace

double leave_one_out_variance_scale(const GaussianProcess& gp) {
  const std::vector<std::pair<double, double>> misses = interior_leave_one_out(gp);
  if (misses.empty()) return 1.0;
  double sum = 0;
  for (const auto& [miss, variance] : misses) sum += variance > 0 ? miss * miss / variance : 0.0;
  const double scale = sum / static_cast<double>(misses.size());
  return std::isfinite(scale) ? std::max(1.0, scale) : 1.0;
}

Eigen::MatrixXd candidate_grid(const std::vector<ChannelRange>& bounds, std::size_t max_points) {
  AMPERE_REQUIRE(!bounds.empty(), "candidates: no channel dimensions");
  AMPERE_REQUIRE(max_points >= 1, "candidates: max_points must be positive");
  std::vector<std::size_t> sizes;
  for (const ChannelRange& range : bounds) sizes.push_back(member_count(range));
  std::vector<std::vector<std::int64_t>> axes(bounds.size());
  // Give each dimension an equal share of the budget; small dimensions pass what they do not use on.
  std::vector<std::size_t> order(bounds.size());
  for (std::size_t d = 0; d < order.size(); ++d) order[d] = d;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return sizes[a] < sizes[b]; });
  double remaining = static_cast<double>(max_points);
  for (std::size_t i = 0; i < order.size(); ++i) {
    const std::size_t d = order[i];
    const double share = std::floor(std::pow(remaining, 1.0 / static_cast<double>(order.size() - i)) + 1e-9);
    const std::size_t take = std::min(sizes[d], static_cast<std::size_t>(std::max(1.0, share)));
    axes[d] = spread(bounds[d], take);
    remaining /= static_cast<double>(std::max<std::size_t>(1, axes[d].size()));
  }
  return cartesian(axes);
}

Eigen::MatrixXd start_points(const std::vector<ChannelRange>& bounds) {
  std::vector<std::vector<std::int64_t>> axes;
  for (const ChannelRange& range : bounds) {
    AMPERE_REQUIRE(member_count(range) > 0, "start points: empty channel range [", range.min, ", ", range.max, "]");
    axes.push_back(range.lowest() == range.highest() ? std::vector<std::int64_t>{range.lowest()}
                                                     : std::vector<std::int64_t>{range.lowest(), range.highest()});
  }
  return cartesian(axes);
}

const char* acquisition_name(Acquisition acquisition) {
  switch (acquisition) {
    case Acquisition::MaxVariance: return "max-variance";
    case Acquisition::MaxRelativeStd: return "max-relative-std";
    case Acquisition::Random: return "random";
    case Acquisition::EstimateVariance: return "estimate-variance";
  }
  return "?";
}

Acquisition parse_acquisition(const std::string& name) {
  if (name == "max-variance") return Acquisition::MaxVariance;
  if (name == "max-relative-std") return Acquisition::MaxRelativeStd;
  if (name == "random") return Acquisition::Random;
  if (name == "estimate-variance") return Acquisition::EstimateVariance;
  throw InputError("acquisition: unknown '" + name +
                   "' (known: max-variance, max-relative-std, random, estimate-variance)");
}

std::vector<Eigen::Index> select_batch(const GaussianProcess& gp, const Eigen::MatrixXd& candidates,
                                       std::size_t count, Acquisition acquisition, std::uint64_t seed,
                                       const EstimateDemand* demand) {
  if (acquisition == Acquisition::EstimateVariance && (demand == nullptr || demand->empty()))
    acquisition = Acquisition::MaxVariance;
  const Eigen::Index m = candidates.rows();
  std::vector<bool> available(static_cast<std::size_t>(m));
  for (Eigen::Index c = 0; c < m; ++c) available[static_cast<std::size_t>(c)] = !is_profiled(gp, candidates, c);
  if (acquisition == Acquisition::Random) {
    std::vector<Eigen::Index> open;
    for (Eigen::Index c = 0; c < m; ++c)
      if (available[static_cast<std::size_t>(c)]) open.push_back(c);
    std::mt19937_64 rng(seed);
    std::vector<Eigen::Index> chosen;
    while (chosen.size() < count && !open.empty()) {
      const std::size_t pick = static_cast<std::size_t>(rng() % open.size());
      chosen.push_back(open[pick]);
      open.erase(open.begin() + static_cast<std::ptrdiff_t>(pick));
    }
    return chosen;
  }

  // Normalized space throughout: var(c) = k(c, c) − ‖V_c‖² − Σ_j u_j(c)², where u_j is the rank-one
  // term each chosen point adds (its posterior covariance with c over its own observation std).
  const Eigen::MatrixXd v = gp.whitened_cross_covariance(candidates);  // n × m
  const double noise = gp.hyperparameters().noise_variance;
  Eigen::VectorXd variance = (gp.prior_variance(candidates) - v.colwise().squaredNorm().transpose()).cwiseMax(0.0);
  Eigen::VectorXd scale = Eigen::VectorXd::Ones(m);
  if (acquisition == Acquisition::MaxRelativeStd) {
    const Eigen::VectorXd mean = gp.predict(candidates).mean.cwiseAbs();
    const double floor = std::max(1e-12, mean.maxCoeff() * 1e-6);
    scale = mean.cwiseMax(floor).cwiseInverse();
  }
  // EstimateVariance: a(model, c) = √w_m Σ_{b ∈ m} cov(b, c), the posterior covariance of the
  // model's estimate (this kind's share) with candidate c; rows are models.
  Eigen::MatrixXd model_covariance;
  if (acquisition == Acquisition::EstimateVariance) {
    AMPERE_REQUIRE(demand->model.size() == static_cast<std::size_t>(demand->points.rows()),
                   "estimate demand: ", demand->points.rows(), " points but ", demand->model.size(), " model indices");
    const Eigen::MatrixXd point_covariance =
        gp.prior_covariance(demand->points, candidates) - gp.whitened_cross_covariance(demand->points).transpose() * v;
    model_covariance = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(demand->weight.size()), m);
    for (Eigen::Index p = 0; p < demand->points.rows(); ++p) {
      const std::size_t model = demand->model[static_cast<std::size_t>(p)];
      AMPERE_REQUIRE(model < demand->weight.size() && demand->weight[model] > 0, "estimate demand: point ", p,
                     " names model ", model, " without a positive weight");
      model_covariance.row(static_cast<Eigen::Index>(model)) += std::sqrt(demand->weight[model]) * point_covariance.row(p);
    }
  }
  std::vector<Eigen::VectorXd> updates;
  std::vector<Eigen::Index> chosen;
  while (chosen.size() < count) {
    Eigen::Index best = -1;
    double best_score = -1;
    for (Eigen::Index c = 0; c < m; ++c) {
      if (!available[static_cast<std::size_t>(c)]) continue;
      const double score = acquisition == Acquisition::EstimateVariance
                               ? model_covariance.col(c).squaredNorm() / (variance[c] + noise)
                               : std::sqrt(variance[c]) * scale[c];
      if (score > best_score) {
        best_score = score;
        best = c;
      }
    }
    if (best < 0) break;
    chosen.push_back(best);
    available[static_cast<std::size_t>(best)] = false;
    // Posterior covariance of every candidate with the chosen one, after the earlier choices.
    Eigen::VectorXd cov = gp.prior_covariance(candidates, candidates.row(best)).col(0) - v.transpose() * v.col(best);
    for (const Eigen::VectorXd& u : updates) cov -= u * u[best];
    const double observed_std = std::sqrt(variance[best] + noise);
    const Eigen::VectorXd u = cov / observed_std;
    variance = (variance.array() - u.array().square()).matrix().cwiseMax(0.0);
    if (model_covariance.size() > 0) {  // cov′(b, c) = cov(b, c) − cov(b, best) cov(best, c) / (var(best) + σ_n²)
      const Eigen::VectorXd at_best = model_covariance.col(best) / observed_std;
      model_covariance -= at_best * u.transpose();
    }
    updates.push_back(u);
  }
  return chosen;
}

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::KeepGoing: return "keep-going";
    case StopReason::BudgetSpent: return "budget-spent";
    case StopReason::Converged: return "converged";
    case StopReason::NoCandidates: return "no-candidates";
    case StopReason::FitFailed: return "fit-failed";
  }
  return "?";
}

std::size_t guided_points_before_convergence(std::size_t dimensions, std::size_t factor) {
  return factor * dimensions * dimensions;
}

StopDecision stop_rule(const GaussianProcess& gp, const Eigen::MatrixXd& candidates, std::size_t budget,
                       double threshold, std::size_t guided_factor) {
  StopDecision decision;
  std::vector<Eigen::Index> open;
  for (Eigen::Index c = 0; c < candidates.rows(); ++c)
    if (!is_profiled(gp, candidates, c)) open.push_back(c);
  if (!open.empty()) {
    const GpPrediction p = gp.predict(candidates(open, Eigen::all));
    decision.max_std = std::sqrt(p.variance.maxCoeff());
    const double scale = gp.targets().cwiseAbs().mean();
    decision.relative_std = scale > 0 ? decision.max_std / scale : std::numeric_limits<double>::infinity();
  }
  const std::size_t enough = (std::size_t{1} << gp.dimensions()) + guided_points_before_convergence(gp.dimensions(), guided_factor);
  decision.leave_one_out_error = interior_leave_one_out_error(gp);
  const bool held_out_agree = !(decision.leave_one_out_error > kLeaveOneOutFactor * threshold);
  if (gp.size() >= budget) decision.reason = StopReason::BudgetSpent;
  else if (open.empty()) decision.reason = StopReason::NoCandidates;
  else if (decision.relative_std < threshold && gp.size() >= enough && held_out_agree) decision.reason = StopReason::Converged;
  return decision;
}

}  // namespace ampere
