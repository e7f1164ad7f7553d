// What an estimate reads from a fitted kind: the posterior of one kind's cost function (seconds or
// joules per iteration of its block, by channels), whatever fitted it. Two implement it: a kind's
// own GP (GaussianProcess, the paper's subtractive fit) and a kind's view of the joint additive GP
// (planning/joint_additive_gp.hpp). Immutable once built: const use from many threads is safe.
#pragma once

#include <cstddef>

#include <Eigen/Dense>
#include <nlohmann/json_fwd.hpp>

namespace ampere {

/// Predictive mean and variance per query row, in target units.
struct GpPrediction {
  Eigen::VectorXd mean;
  Eigen::VectorXd variance;
};

class KindFunction {
 public:
  virtual ~KindFunction() = default;
  /// Posterior mean and latent variance at `x` (rows of raw channels, one column per dimension).
  virtual GpPrediction predict(const Eigen::MatrixXd& x, bool include_noise = false) const = 0;
  /// The fitted function as JSON, with a "format" field naming which kind of fit it is.
  virtual nlohmann::json to_json() const = 0;
  virtual std::size_t dimensions() const = 0;
};

}  // namespace ampere
