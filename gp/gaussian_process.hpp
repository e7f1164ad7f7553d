// The GP of docs/method.md §3: σ_f²·Matérn(ν=5/2, ARD) + σ_n²·δ, inputs scaled to [0, 1] by the kind's
// channel bounds, optionally plus a quadratic trend σ_t²·φ(u)ᵀφ(u′) (docs/method.md §9: the cost of
// every shipped layer type is, to first order, a quadratic polynomial of its channels), targets standardized (scikit-learn's normalize_y=True), hyper-parameters by
// L-BFGS-B (LBFGSpp) on the log marginal likelihood in log space with fixed-seed restarts.
//
// Units: hyper-parameters live in the normalized target space (as in scikit-learn); predictions
// come back in the targets' own units.
//
// Thread safety: a const GaussianProcess may be read from many threads; fitting mutates it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Dense>
#include <nlohmann/json_fwd.hpp>

#include "gp/channel_steps.hpp"
#include "gp/kind_function.hpp"

namespace ampere {

/// The kernel's form: the paper's Matérn 5/2 alone, or Matérn 5/2 plus a quadratic trend: a Bayesian
/// linear model on φ(u) = (u_1..u_d, u_i·u_j for i <= j), u the inputs scaled to [0, 1], with weight
/// prior N(0, σ_t²·I). The constant term stays with the targets' normalization (or GLS mean).
enum class GpTrend { None, Quadratic };
/// "none", "quadratic"; parse throws InputError naming the choices.
const char* gp_trend_name(GpTrend trend);
GpTrend parse_gp_trend(const std::string& name);

/// How channels enter the Matérn kernel (docs/method.md §12): linearly (the paper), or by their
/// logarithm, w = log(x/lo) / log(hi/lo) over the kind's bounds, so that the step from 1 to 2
/// channels counts as much as the step from 32 to 64: cost bends sharply at small widths (lanes
/// left empty, fixed overheads) and smoothly at large ones, which one stationary length-scale on
/// linear channels cannot follow. The quadratic trend always sees linear channels.
enum class GpWarp { Linear, Log };
/// "linear", "log"; parse throws InputError naming the choices.
const char* gp_warp_name(GpWarp warp);
GpWarp parse_gp_warp(const std::string& name);

/// Kernel hyper-parameters (normalized target space; length-scales in scaled input space).
struct GpHyperparameters {
  double signal_variance = 1.0;        ///< σ_f²
  std::vector<double> length_scales;   ///< one per input dimension
  double noise_variance = 1e-2;        ///< σ_n²
  double trend_variance = 1.0;         ///< σ_t² (used with GpTrend::Quadratic only)
};

/// Search space and restarts of the hyper-parameter fit (defaults: docs/method.md §3).
struct GpFitOptions {
  std::pair<double, double> length_scale_bounds{1e-2, 1e2};
  std::pair<double, double> signal_variance_bounds{1e-3, 1e3};
  std::pair<double, double> noise_variance_bounds{1e-6, 1.0};
  std::pair<double, double> trend_variance_bounds{1e-4, 1e4};
  int restarts = 4;          ///< random starts after the first (scikit-learn's n_restarts_optimizer)
  std::uint64_t seed = 0;    ///< restarts are drawn from mt19937_64(seed): fits are reproducible
  int max_iterations = 500;  ///< per L-BFGS-B run
};

class GaussianProcess : public KindFunction {
 public:
  /// `input_bounds[d]` = (lo, hi) of input dimension d, used to scale inputs to [0, 1]
  /// (a dimension with lo == hi maps to 0). Throws InputError on lo > hi, non-finite bounds, or a
  /// log warp over bounds that are not positive.
  /// `steps` (one per dimension, or empty for none): the channel quantization the kernel reads the
  /// inputs through (docs/method.md §14); both the Matérn part and the trend see s(x), scaled by
  /// the stepped bounds. Throws InputError on invalid steps.
  explicit GaussianProcess(std::vector<std::pair<double, double>> input_bounds, GpTrend trend = GpTrend::None,
                           GpWarp warp = GpWarp::Linear, ChannelSteps steps = {});

  /// Sets the training data and recomputes the posterior with the current hyper-parameters.
  /// `extra_noise_variance` (target units², one per row, may be empty) adds to that point's noise:
  /// the variance of estimates subtracted to form its target (docs/method.md §2).
  /// Throws InputError naming the row on NaN/inf, negative extra noise, or inputs out of bounds.
  void set_data(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                const Eigen::VectorXd& extra_noise_variance = Eigen::VectorXd());

  /// Fits the hyper-parameters by maximizing the log marginal likelihood. O(n³) per evaluation.
  void fit(const GpFitOptions& options = GpFitOptions());

  /// Uses fixed hyper-parameters (no fit) and recomputes the posterior.
  void set_hyperparameters(const GpHyperparameters& hyper);
  const GpHyperparameters& hyperparameters() const { return hyper_; }

  /// Log marginal likelihood of the normalized targets at the current hyper-parameters.
  double log_marginal_likelihood() const { return lml_; }
  /// The same at θ = (log σ_f², log ℓ_1..d, log σ_n²[, log σ_t²]), with its analytic gradient when asked.
  double log_marginal_likelihood(const Eigen::VectorXd& theta, Eigen::VectorXd* gradient) const;

  /// Predictive mean and variance at `x` (rows of raw channels). The variance is the latent
  /// function's unless `include_noise`, which adds σ_n² (scikit-learn's predict(return_std=True)).
  GpPrediction predict(const Eigen::MatrixXd& x, bool include_noise = false) const override;

  /// Leave-one-out predictions at the training points (closed form, hyper-parameters kept): mean
  /// and variance of point i from the others, target units; the variance includes i's noise. O(n³).
  GpPrediction leave_one_out() const;

  std::size_t dimensions() const override { return bounds_.size(); }
  GpTrend trend() const { return trend_; }
  GpWarp warp() const { return warp_; }
  const ChannelSteps& steps() const { return steps_; }
  std::size_t size() const { return static_cast<std::size_t>(y_.size()); }
  const Eigen::MatrixXd& inputs() const { return x_; }
  const Eigen::VectorXd& targets() const { return y_; }
  const std::vector<std::pair<double, double>>& bounds() const { return bounds_; }

  /// The fitted model (bounds, hyper-parameters, data) as JSON; from_json() restores it without
  /// refitting (the posterior is recomputed, O(n³)).
  nlohmann::json to_json() const override;
  static GaussianProcess from_json(const nlohmann::json& json);

  // For acquisition (normalized space): the latent prior covariance k(a, b) of raw inputs, its
  // diagonal k(x, x), and
  // V = L⁻¹ k(X, x) so that the posterior covariance is k(a, b) − V_aᵀ V_b.
  Eigen::MatrixXd prior_covariance(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) const;
  Eigen::VectorXd prior_variance(const Eigen::MatrixXd& x) const;
  Eigen::MatrixXd whitened_cross_covariance(const Eigen::MatrixXd& x) const;
  /// Converts a variance in normalized units to target units².
  double target_variance_scale() const { return y_scale_ * y_scale_; }

 private:
  /// Prior covariance between the training inputs and `x` (n × m).
  Eigen::MatrixXd cross_covariance(const Eigen::MatrixXd& x) const;
  Eigen::MatrixXd scale(const Eigen::MatrixXd& x) const;
  void update_posterior();
  Eigen::VectorXd theta() const;
  GpHyperparameters from_theta(const Eigen::VectorXd& theta) const;

  /// Inputs as the kernel reads them: the warped channels (Matérn part) and the trend features of
  /// the scaled ones (empty without a trend).
  struct KernelInputs {
    Eigen::MatrixXd warped;
    Eigen::MatrixXd trend_features;
  };
  KernelInputs kernel_inputs(const Eigen::MatrixXd& x) const;  ///< of raw inputs
  Eigen::MatrixXd covariance(const KernelInputs& a, const KernelInputs& b) const;

  std::vector<std::pair<double, double>> bounds_;
  GpTrend trend_ = GpTrend::None;
  GpWarp warp_ = GpWarp::Linear;
  ChannelSteps steps_;
  std::vector<std::pair<double, double>> kernel_bounds_;  // the bounds stepped: what inputs are scaled by
  GpHyperparameters hyper_;
  Eigen::MatrixXd x_;         // raw
  KernelInputs x_kernel_;     // the training inputs as the kernel reads them (computed once, in set_data)
  std::vector<Eigen::MatrixXd> sq_diff_;  // per dimension: (w_i,d − w_j,d)², the kernel's (warped) inputs
  Eigen::MatrixXd trend_gram_;            // φ(u_i)ᵀφ(u_j) (quadratic trend only)
  Eigen::VectorXd y_;         // raw
  Eigen::VectorXd y_norm_;
  Eigen::VectorXd extra_noise_;  // normalized units
  double y_mean_ = 0, y_scale_ = 1;
  // posterior
  Eigen::MatrixXd chol_;      // lower Cholesky factor of K (with noise)
  Eigen::VectorXd alpha_;     // K⁻¹ y_norm
  double lml_ = 0;
};

/// The Matérn 5/2 correlation at scaled distance r: (1 + √5 r + 5/3 r²) exp(−√5 r).
double matern52(double r);
/// Matérn 5/2 correlations between the rows of `a` and `b` (inputs already in [0, 1]), ARD
/// length-scales: an a.rows() × b.rows() matrix.
Eigen::MatrixXd matern52_correlation(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                                     const std::vector<double>& length_scales);
/// The quadratic trend's features of scaled inputs: per row (u_1..u_d, u_i·u_j for i <= j).
Eigen::MatrixXd quadratic_trend_features(const Eigen::MatrixXd& scaled);
/// Throws InputError, prefixed by `who`, when `warp` is log and a bound does not start above 0.
void require_warp_bounds(const std::vector<std::pair<double, double>>& bounds, GpWarp warp, const std::string& who);
/// Scaled inputs (in [0, 1] by `bounds`) as the Matérn kernel sees them under `warp`: unchanged
/// when linear; log(x/lo)/log(hi/lo) of the raw value x when log (a column with lo == hi maps to
/// 0). Throws InputError when a log warp meets a bound that is not positive.
Eigen::MatrixXd warp_for_kernel(const Eigen::MatrixXd& scaled, const std::vector<std::pair<double, double>>& bounds,
                                GpWarp warp);
/// Raw inputs scaled to [0, 1] per column by `bounds` (a column with lo == hi maps to 0); throws
/// InputError when the column count differs from the bounds'.
Eigen::MatrixXd scale_to_unit(const Eigen::MatrixXd& x, const std::vector<std::pair<double, double>>& bounds);

}  // namespace ampere
