// The hyper-parameter search both GPs use (a kind's own, gp/gaussian_process.hpp, and the
// joint additive GP, coordinator/planning/joint_additive_gp.hpp): L-BFGS-B on a box of log
// parameters, maximizing a log marginal likelihood with its analytic gradient, from a first start
// and then restarts, keeping the best point any run reached (a run whose line search fails or whose
// likelihood turns non-finite ends there, its best point kept).
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>

#include <Eigen/Dense>

namespace ampere {

/// θ ↦ log marginal likelihood, filling the gradient when asked.
using LogLikelihood = std::function<double(const Eigen::VectorXd& theta, Eigen::VectorXd* gradient)>;
/// A restart's start point (clamped to the box afterwards), drawn from the search's seeded generator.
using StartDraw = std::function<Eigen::VectorXd(std::mt19937_64& rng)>;

struct LikelihoodSearch {
  int restarts = 0;            ///< starts after the first
  std::uint64_t seed = 0;      ///< mt19937_64 seed of the restarts' draws: searches are reproducible
  int max_iterations = 500;    ///< per L-BFGS-B run
  double delta = 1e-10;        ///< stop at this relative improvement over one iteration
};

/// The best θ seen. `what` prefixes the NumericalError thrown when no start could be evaluated.
Eigen::VectorXd maximize_log_likelihood(const LogLikelihood& lml, const Eigen::VectorXd& first, const Eigen::VectorXd& lower,
                                        const Eigen::VectorXd& upper, const StartDraw& draw, const LikelihoodSearch& search,
                                        const std::string& what);

}  // namespace ampere
