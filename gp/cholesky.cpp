#include "gp/cholesky.hpp"

#include <string>

#include "common/error.hpp"

namespace ampere {
namespace {
constexpr double kFirstJitter = 1e-9;
constexpr double kMaxJitter = 1e-3;
}  // namespace

Eigen::MatrixXd robust_cholesky(Eigen::MatrixXd k) {
  Eigen::LLT<Eigen::MatrixXd> llt(k);
  if (llt.info() == Eigen::Success) return llt.matrixL();
  const double mean_diag = k.diagonal().mean();
  for (double jitter = kFirstJitter; jitter <= kMaxJitter; jitter *= 10) {
    Eigen::MatrixXd shifted = k;
    shifted.diagonal().array() += jitter * mean_diag;
    llt.compute(shifted);
    if (llt.info() == Eigen::Success) return llt.matrixL();
  }
  throw NumericalError("GP: covariance matrix not positive definite even with jitter " + std::to_string(kMaxJitter) +
                       " x mean diagonal");
}

// L⁻¹ column by column over its non-zero part, then a triangular product; about 40% cheaper than
// two full triangular solves against I.
Eigen::MatrixXd inverse_from_cholesky(const Eigen::MatrixXd& l) {
  const Eigen::Index n = l.rows();
  Eigen::MatrixXd l_inv = Eigen::MatrixXd::Zero(n, n);
  for (Eigen::Index j = 0; j < n; ++j) {
    Eigen::VectorXd unit = Eigen::VectorXd::Zero(n - j);
    unit[0] = 1.0;
    l_inv.col(j).tail(n - j) = l.bottomRightCorner(n - j, n - j).triangularView<Eigen::Lower>().solve(unit);
  }
  Eigen::MatrixXd inverse(n, n);
  inverse.noalias() = l_inv.transpose().triangularView<Eigen::Upper>() * l_inv;
  return inverse;
}

}  // namespace ampere
