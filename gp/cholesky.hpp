// Dense symmetric positive-definite helpers shared by the GPs: a Cholesky factor that adds growing
// jitter when the matrix is only semi-definite, and the inverse from that factor.
#pragma once

#include <Eigen/Dense>

namespace ampere {

/// Always on a GP's diagonal: scikit-learn's default `alpha`, so references stay comparable.
inline constexpr double kBaseJitter = 1e-10;

/// Lower Cholesky factor of `k`, adding jitter (1e-9 × its mean diagonal, ×10 per retry up to
/// 1e-3) until it is positive definite; throws NumericalError when even that fails.
Eigen::MatrixXd robust_cholesky(Eigen::MatrixXd k);

/// K⁻¹ = L⁻ᵀ L⁻¹ from the lower Cholesky factor L of K.
Eigen::MatrixXd inverse_from_cholesky(const Eigen::MatrixXd& l);

}  // namespace ampere
