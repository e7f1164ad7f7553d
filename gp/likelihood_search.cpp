#include "gp/likelihood_search.hpp"

#include <cmath>
#include <limits>

#include <LBFGSB.h>

#include "common/error.hpp"

namespace ampere {
namespace {

/// −LML for LBFGSpp, remembering the best point seen (a run that throws keeps its best).
class NegativeLml {
 public:
  explicit NegativeLml(const LogLikelihood& lml) : lml_(lml) {}
  double operator()(const Eigen::VectorXd& theta, Eigen::VectorXd& gradient) {
    Eigen::VectorXd g;
    const double lml = lml_(theta, &g);
    if (!std::isfinite(lml) || !g.allFinite()) throw NumericalError("non-finite likelihood");
    gradient = -g;
    if (lml > best_lml) {
      best_lml = lml;
      best_theta = theta;
    }
    return -lml;
  }
  double best_lml = -std::numeric_limits<double>::infinity();
  Eigen::VectorXd best_theta;

 private:
  const LogLikelihood& lml_;
};

}  // namespace

Eigen::VectorXd maximize_log_likelihood(const LogLikelihood& lml, const Eigen::VectorXd& first, const Eigen::VectorXd& lower,
                                        const Eigen::VectorXd& upper, const StartDraw& draw, const LikelihoodSearch& search,
                                        const std::string& what) {
  AMPERE_REQUIRE(search.restarts >= 0, what, ": restarts must be >= 0, got ", search.restarts);
  AMPERE_REQUIRE((lower.array() <= upper.array()).all(), what, ": fit bounds must have lo <= hi");
  LBFGSpp::LBFGSBParam<double> param;
  // scipy's L-BFGS-B (scikit-learn) stops at a relative improvement of ~2e-9; a little tighter here.
  param.epsilon = 1e-5;
  param.epsilon_rel = 0;
  param.past = 1;
  param.delta = search.delta;
  param.max_iterations = search.max_iterations;
  param.m = 10;  // scipy's L-BFGS-B memory (LBFGSpp defaults to 6): fewer evaluations here
  LBFGSpp::LBFGSBSolver<double> solver(param);
  NegativeLml objective(lml);
  std::mt19937_64 rng(search.seed);
  for (int run = 0; run <= search.restarts; ++run) {
    Eigen::VectorXd start = run == 0 ? first : draw(rng);
    start = start.cwiseMax(lower).cwiseMin(upper);
    double value = 0;
    try {
      solver.minimize(objective, start, value, lower, upper);
    } catch (const std::exception&) {
      // Line-search failures end this run; the best point it reached is kept by `objective`.
    }
  }
  if (objective.best_theta.size() == 0)
    throw NumericalError(what + ": the likelihood could not be evaluated at any start point");
  return objective.best_theta;
}

}  // namespace ampere
