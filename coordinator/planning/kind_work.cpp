#include "coordinator/planning/kind_work.hpp"

#include <algorithm>
#include <cstdint>

#include <Eigen/Dense>

#include "common/error.hpp"
#include "coordinator/planning/joint_additive_gp.hpp"
#include "gp/gaussian_process.hpp"

namespace ampere {

std::vector<std::pair<double, double>> gp_bounds(const std::vector<ChannelRange>& ranges) {
  std::vector<std::pair<double, double>> out;
  for (const ChannelRange& r : ranges) out.emplace_back(static_cast<double>(r.min), static_cast<double>(r.max));
  return out;
}

/// Forward FLOPs per sample of `kind`'s block at `channels`, read from its variant network.
double block_work(const ProfileKind& kind, const std::vector<std::int64_t>& channels, const std::vector<ProfileKind>& plan) {
  for (const Block& b : parse_blocks(variant_network(kind, channels, plan).model))
    if (b.kind == kind.key) return b.forward_flops;
  throw InputError("variant network of " + kind.key.str() + " has no block of its kind");
}

/// The kind's work as a polynomial of its scaled channels, p·(1, φ(u)) (docs/method.md §9): fitted by
/// least squares on a grid that avoids C_in == C_out (a residual block without its projection
/// shortcut costs less there), kept only when it reproduces the grid to 1e-6. Empty otherwise: the
/// kind then has no work term, and its GP carries all of its cost.
std::vector<double> work_polynomial(const ProfileKind& kind, const std::vector<ProfileKind>& plan) {
  const std::vector<ChannelRange> bounds = kind.bounds();
  const std::size_t dims = bounds.size();
  if (dims == 0 || dims > 2) return {};
  const std::vector<double> fractions[2] = {{0.0, 0.31, 0.64, 1.0}, {0.07, 0.42, 0.81, 0.96}};
  std::vector<std::vector<std::int64_t>> grid;
  const auto at = [&](std::size_t d, double f) {  // the nearest valid channel count
    const ChannelRange& r = bounds[d];
    const std::int64_t m = std::max<std::int64_t>(1, r.multiple_of);
    const std::int64_t lo = (r.min + m - 1) / m * m, hi = r.max / m * m;
    const double v = static_cast<double>(r.min) + f * static_cast<double>(r.max - r.min);
    return std::clamp<std::int64_t>(std::llround(v / static_cast<double>(m)) * m, lo, std::max(lo, hi));
  };
  if (dims == 1) {
    for (double f : fractions[0]) grid.push_back({at(0, f)});
  } else {
    for (double f : fractions[0])
      for (double g : fractions[1])
        if (at(0, f) != at(1, g)) grid.push_back({at(0, f), at(1, g)});
  }
  std::sort(grid.begin(), grid.end());
  grid.erase(std::unique(grid.begin(), grid.end()), grid.end());
  Eigen::MatrixXd x(static_cast<Eigen::Index>(grid.size()), static_cast<Eigen::Index>(dims));
  Eigen::VectorXd work(x.rows());
  try {
    for (Eigen::Index i = 0; i < x.rows(); ++i) {
      for (std::size_t d = 0; d < dims; ++d) x(i, static_cast<Eigen::Index>(d)) = static_cast<double>(grid[static_cast<std::size_t>(i)][d]);
      work[i] = block_work(kind, grid[static_cast<std::size_t>(i)], plan);
    }
  } catch (const InputError&) {
    return {};  // a grid point the family cannot build: no work term for this kind
  }
  const Eigen::MatrixXd features = work_features(scale_to_unit(x, gp_bounds(bounds)));
  if (features.rows() < features.cols() || work.cwiseAbs().maxCoeff() <= 0) return {};
  const Eigen::VectorXd p = features.colPivHouseholderQr().solve(work);
  if ((features * p - work).cwiseAbs().maxCoeff() > 1e-6 * work.cwiseAbs().maxCoeff()) return {};
  return std::vector<double>(p.data(), p.data() + p.size());
}

}  // namespace ampere
