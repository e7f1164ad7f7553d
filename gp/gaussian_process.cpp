#include "gp/gaussian_process.hpp"

#include <cmath>
#include <limits>
#include <random>

#include <nlohmann/json.hpp>

#include "gp/cholesky.hpp"
#include "common/error.hpp"
#include "gp/likelihood_search.hpp"

namespace ampere {
namespace {

constexpr double kSqrt5 = 2.23606797749979;
constexpr double kLog2Pi = 1.8378770664093453;

/// Squared scaled distance per dimension between the rows of a and b, divided by ℓ², summed: r².
Eigen::MatrixXd scaled_sq_distance(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                                   const std::vector<double>& length_scales) {
  Eigen::MatrixXd r2 = Eigen::MatrixXd::Zero(a.rows(), b.rows());
  for (Eigen::Index d = 0; d < a.cols(); ++d) {
    const double inv = 1.0 / (length_scales[d] * length_scales[d]);
    for (Eigen::Index j = 0; j < b.rows(); ++j)
      r2.col(j).array() += (a.col(d).array() - b(j, d)).square() * inv;
  }
  return r2;
}

Eigen::MatrixXd matern_matrix(const Eigen::MatrixXd& r2) {
  return r2.unaryExpr([](double s) { return matern52(std::sqrt(s)); });
}

}  // namespace

const char* gp_trend_name(GpTrend trend) { return trend == GpTrend::Quadratic ? "quadratic" : "none"; }

GpTrend parse_gp_trend(const std::string& name) {
  if (name == "none") return GpTrend::None;
  if (name == "quadratic") return GpTrend::Quadratic;
  throw InputError("GP trend: unknown '" + name + "' (known: none, quadratic)");
}

const char* gp_warp_name(GpWarp warp) { return warp == GpWarp::Log ? "log" : "linear"; }

GpWarp parse_gp_warp(const std::string& name) {
  if (name == "linear") return GpWarp::Linear;
  if (name == "log") return GpWarp::Log;
  throw InputError("GP warp: unknown '" + name + "' (known: linear, log)");
}

void require_warp_bounds(const std::vector<std::pair<double, double>>& bounds, GpWarp warp, const std::string& who) {
  if (warp != GpWarp::Log) return;
  for (std::size_t d = 0; d < bounds.size(); ++d)
    AMPERE_REQUIRE(bounds[d].first > 0, who, ": a log warp needs positive bounds, input ", d, " starts at ", bounds[d].first);
}

Eigen::MatrixXd warp_for_kernel(const Eigen::MatrixXd& scaled, const std::vector<std::pair<double, double>>& bounds,
                                GpWarp warp) {
  if (warp == GpWarp::Linear) return scaled;
  AMPERE_REQUIRE(static_cast<std::size_t>(scaled.cols()) == bounds.size(), "GP: inputs have ", scaled.cols(),
                 " columns, the model has ", bounds.size(), " dimensions");
  require_warp_bounds(bounds, warp, "GP");
  Eigen::MatrixXd out(scaled.rows(), scaled.cols());
  for (Eigen::Index d = 0; d < scaled.cols(); ++d) {
    const double lo = bounds[static_cast<std::size_t>(d)].first, hi = bounds[static_cast<std::size_t>(d)].second;
    if (hi == lo) {
      out.col(d).setZero();
      continue;
    }
    // back to raw values, kept inside the bounds (a prediction may ask just outside them)
    const Eigen::ArrayXd raw = (lo + scaled.col(d).array() * (hi - lo)).max(lo);
    out.col(d) = ((raw / lo).log() / std::log(hi / lo)).matrix();
  }
  return out;
}

Eigen::MatrixXd quadratic_trend_features(const Eigen::MatrixXd& scaled) {
  const Eigen::Index d = scaled.cols();
  Eigen::MatrixXd phi(scaled.rows(), d + d * (d + 1) / 2);
  phi.leftCols(d) = scaled;
  Eigen::Index at = d;
  for (Eigen::Index i = 0; i < d; ++i)
    for (Eigen::Index j = i; j < d; ++j) phi.col(at++) = scaled.col(i).cwiseProduct(scaled.col(j));
  return phi;
}

double matern52(double r) { return (1.0 + kSqrt5 * r + 5.0 / 3.0 * r * r) * std::exp(-kSqrt5 * r); }

Eigen::MatrixXd matern52_correlation(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                                     const std::vector<double>& length_scales) {
  return matern_matrix(scaled_sq_distance(a, b, length_scales));
}

Eigen::MatrixXd scale_to_unit(const Eigen::MatrixXd& x, const std::vector<std::pair<double, double>>& bounds) {
  AMPERE_REQUIRE(static_cast<std::size_t>(x.cols()) == bounds.size(), "GP: inputs have ", x.cols(),
                 " columns, the model has ", bounds.size(), " dimensions");
  Eigen::MatrixXd out(x.rows(), x.cols());
  for (Eigen::Index d = 0; d < x.cols(); ++d) {
    const double lo = bounds[d].first, width = bounds[d].second - bounds[d].first;
    if (width == 0) out.col(d).setZero();
    else out.col(d) = (x.col(d).array() - lo) / width;
  }
  return out;
}

GaussianProcess::GaussianProcess(std::vector<std::pair<double, double>> input_bounds, GpTrend trend, GpWarp warp,
                                 ChannelSteps steps)
    : bounds_(std::move(input_bounds)), trend_(trend), warp_(warp), steps_(std::move(steps)) {
  AMPERE_REQUIRE(!bounds_.empty(), "GP: needs at least one input dimension");
  for (std::size_t d = 0; d < bounds_.size(); ++d)
    AMPERE_REQUIRE(std::isfinite(bounds_[d].first) && std::isfinite(bounds_[d].second) &&
                       bounds_[d].first <= bounds_[d].second,
                   "GP: bounds of input ", d, " must be finite with lo <= hi, got [", bounds_[d].first, ", ",
                   bounds_[d].second, "]");
  require_warp_bounds(bounds_, warp_, "GP");
  require_valid_steps(steps_, bounds_.size(), "GP");
  if (no_steps(steps_)) steps_.clear();
  kernel_bounds_ = stepped_bounds(bounds_, steps_);
  hyper_.length_scales.assign(bounds_.size(), 1.0);
}

Eigen::MatrixXd GaussianProcess::scale(const Eigen::MatrixXd& x) const {
  return scale_to_unit(stepped_channels(x, steps_), kernel_bounds_);
}

void GaussianProcess::set_data(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                               const Eigen::VectorXd& extra_noise_variance) {
  AMPERE_REQUIRE(y.size() >= 1, "GP: needs at least one data point");
  AMPERE_REQUIRE(x.rows() == y.size(), "GP: ", x.rows(), " input rows but ", y.size(), " targets");
  AMPERE_REQUIRE(extra_noise_variance.size() == 0 || extra_noise_variance.size() == y.size(), "GP: ",
                 extra_noise_variance.size(), " extra noise values for ", y.size(), " points");
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    AMPERE_REQUIRE(std::isfinite(y[i]), "GP: target of point ", i, " is ", y[i]);
    for (Eigen::Index d = 0; d < x.cols(); ++d) {
      AMPERE_REQUIRE(std::isfinite(x(i, d)), "GP: input ", d, " of point ", i, " is ", x(i, d));
      AMPERE_REQUIRE(static_cast<std::size_t>(d) >= bounds_.size() ||
                         (x(i, d) >= bounds_[d].first && x(i, d) <= bounds_[d].second),
                     "GP: input ", d, " of point ", i, " = ", x(i, d), " is outside its bounds [",
                     bounds_[d].first, ", ", bounds_[d].second, "]");
    }
    if (extra_noise_variance.size() > 0)
      AMPERE_REQUIRE(std::isfinite(extra_noise_variance[i]) && extra_noise_variance[i] >= 0,
                     "GP: extra noise variance of point ", i, " must be finite and >= 0, got ",
                     extra_noise_variance[i]);
  }
  x_kernel_ = kernel_inputs(x);
  sq_diff_.clear();
  const Eigen::MatrixXd& w = x_kernel_.warped;
  for (Eigen::Index d = 0; d < w.cols(); ++d) {
    Eigen::MatrixXd diff(w.rows(), w.rows());
    for (Eigen::Index j = 0; j < w.rows(); ++j) diff.col(j) = (w.col(d).array() - w(j, d)).square().matrix();
    sq_diff_.push_back(std::move(diff));
  }
  if (trend_ == GpTrend::Quadratic) trend_gram_ = x_kernel_.trend_features * x_kernel_.trend_features.transpose();
  x_ = x;
  y_ = y;
  y_mean_ = y.mean();
  const double stddev = std::sqrt((y.array() - y_mean_).square().mean());
  // scikit-learn's _handle_zeros_in_scale: a constant target is left unscaled.
  y_scale_ = stddev < 10 * std::numeric_limits<double>::epsilon() ? 1.0 : stddev;
  y_norm_ = (y.array() - y_mean_) / y_scale_;
  extra_noise_ = extra_noise_variance.size() == 0 ? Eigen::VectorXd::Zero(y.size())
                                                  : Eigen::VectorXd(extra_noise_variance / (y_scale_ * y_scale_));
  update_posterior();
}

void GaussianProcess::set_hyperparameters(const GpHyperparameters& hyper) {
  AMPERE_REQUIRE(hyper.length_scales.size() == bounds_.size(), "GP: ", hyper.length_scales.size(),
                 " length-scales for ", bounds_.size(), " dimensions");
  AMPERE_REQUIRE(hyper.signal_variance > 0 && hyper.noise_variance > 0, "GP: variances must be positive");
  AMPERE_REQUIRE(trend_ == GpTrend::None || hyper.trend_variance > 0, "GP: the trend variance must be positive");
  for (double l : hyper.length_scales) AMPERE_REQUIRE(l > 0, "GP: length-scales must be positive, got ", l);
  hyper_ = hyper;
  if (y_.size() > 0) update_posterior();
}

Eigen::VectorXd GaussianProcess::theta() const {
  Eigen::VectorXd t(bounds_.size() + (trend_ == GpTrend::Quadratic ? 3 : 2));
  t[0] = std::log(hyper_.signal_variance);
  for (std::size_t d = 0; d < bounds_.size(); ++d) t[1 + d] = std::log(hyper_.length_scales[d]);
  t[static_cast<Eigen::Index>(bounds_.size()) + 1] = std::log(hyper_.noise_variance);
  if (trend_ == GpTrend::Quadratic) t[t.size() - 1] = std::log(hyper_.trend_variance);
  return t;
}

GpHyperparameters GaussianProcess::from_theta(const Eigen::VectorXd& theta) const {
  GpHyperparameters h;
  h.signal_variance = std::exp(theta[0]);
  for (std::size_t d = 0; d < bounds_.size(); ++d) h.length_scales.push_back(std::exp(theta[1 + d]));
  h.noise_variance = std::exp(theta[static_cast<Eigen::Index>(bounds_.size()) + 1]);
  h.trend_variance = trend_ == GpTrend::Quadratic ? std::exp(theta[theta.size() - 1]) : hyper_.trend_variance;
  return h;
}

// O(n³): one Cholesky and one inverse (for the gradient's trace terms).
double GaussianProcess::log_marginal_likelihood(const Eigen::VectorXd& theta, Eigen::VectorXd* gradient) const {
  AMPERE_REQUIRE(y_norm_.size() > 0, "GP: no data");
  const GpHyperparameters h = from_theta(theta);
  const Eigen::Index n = y_norm_.size();
  Eigen::MatrixXd r2 = Eigen::MatrixXd::Zero(n, n);
  for (std::size_t d = 0; d < bounds_.size(); ++d) r2 += sq_diff_[d] / (h.length_scales[d] * h.length_scales[d]);
  const Eigen::ArrayXXd r = r2.array().sqrt();
  const Eigen::ArrayXXd expo = (-kSqrt5 * r).exp();
  const Eigen::ArrayXXd m = (1.0 + kSqrt5 * r + 5.0 / 3.0 * r2.array()) * expo;
  Eigen::MatrixXd k = h.signal_variance * m.matrix();
  if (trend_ == GpTrend::Quadratic) k += h.trend_variance * trend_gram_;
  k.diagonal().array() += h.noise_variance + kBaseJitter + extra_noise_.array();
  const Eigen::MatrixXd l = robust_cholesky(k);
  const Eigen::VectorXd alpha =
      l.transpose().triangularView<Eigen::Upper>().solve(l.triangularView<Eigen::Lower>().solve(y_norm_));
  const double lml = -0.5 * y_norm_.dot(alpha) - l.diagonal().array().log().sum() - 0.5 * n * kLog2Pi;
  if (gradient != nullptr) {
    const Eigen::MatrixXd w = alpha * alpha.transpose() - inverse_from_cholesky(l);
    gradient->resize(theta.size());
    (*gradient)[0] = 0.5 * h.signal_variance * (w.array() * m).sum();
    // ∂k/∂log ℓ_d = σ_f² · 5/3 · (1 + √5 r) e^{−√5 r} · (Δ_d/ℓ_d)²
    const Eigen::ArrayXXd wg = w.array() * (h.signal_variance * 5.0 / 3.0) * (1.0 + kSqrt5 * r) * expo;
    for (std::size_t d = 0; d < bounds_.size(); ++d)
      (*gradient)[1 + static_cast<Eigen::Index>(d)] =
          0.5 * (wg * sq_diff_[d].array()).sum() / (h.length_scales[d] * h.length_scales[d]);
    (*gradient)[static_cast<Eigen::Index>(bounds_.size()) + 1] = 0.5 * h.noise_variance * w.diagonal().sum();
    if (trend_ == GpTrend::Quadratic) (*gradient)[theta.size() - 1] = 0.5 * h.trend_variance * (w.array() * trend_gram_.array()).sum();
  }
  return lml;
}

void GaussianProcess::update_posterior() {
  const Eigen::Index n = y_norm_.size();
  Eigen::MatrixXd k = prior_covariance(x_, x_);
  k.diagonal().array() += hyper_.noise_variance + kBaseJitter + extra_noise_.array();
  chol_ = robust_cholesky(k);
  alpha_ = chol_.transpose().triangularView<Eigen::Upper>().solve(chol_.triangularView<Eigen::Lower>().solve(y_norm_));
  lml_ = -0.5 * y_norm_.dot(alpha_) - chol_.diagonal().array().log().sum() - 0.5 * n * kLog2Pi;
}

GpPrediction GaussianProcess::leave_one_out() const {
  AMPERE_REQUIRE(y_norm_.size() > 0, "GP: leave-one-out needs data");
  // Rasmussen & Williams eq. 5.12: μ₋ᵢ = yᵢ − [K⁻¹y]ᵢ / [K⁻¹]ᵢᵢ, σ²₋ᵢ = 1 / [K⁻¹]ᵢᵢ.
  const Eigen::Index n = y_norm_.size();
  const Eigen::MatrixXd inverse_l = chol_.triangularView<Eigen::Lower>().solve(Eigen::MatrixXd::Identity(n, n));
  const Eigen::VectorXd diagonal = inverse_l.colwise().squaredNorm().transpose();  // [K⁻¹]ᵢᵢ = Σ_k (L⁻¹)ₖᵢ²
  GpPrediction out;
  out.mean = ((y_norm_.array() - alpha_.array() / diagonal.array()) * y_scale_ + y_mean_).matrix();
  out.variance = (diagonal.array().inverse() * (y_scale_ * y_scale_)).matrix();
  return out;
}

void GaussianProcess::fit(const GpFitOptions& options) {
  AMPERE_REQUIRE(y_norm_.size() > 0, "GP: fit needs data (set_data first)");
  const Eigen::Index dims = static_cast<Eigen::Index>(bounds_.size());
  const Eigen::Index p = dims + (trend_ == GpTrend::Quadratic ? 3 : 2);
  Eigen::VectorXd lower(p), upper(p);
  lower[0] = std::log(options.signal_variance_bounds.first);
  upper[0] = std::log(options.signal_variance_bounds.second);
  for (Eigen::Index d = 1; d <= dims; ++d) {
    lower[d] = std::log(options.length_scale_bounds.first);
    upper[d] = std::log(options.length_scale_bounds.second);
  }
  lower[dims + 1] = std::log(options.noise_variance_bounds.first);
  upper[dims + 1] = std::log(options.noise_variance_bounds.second);
  if (trend_ == GpTrend::Quadratic) {
    lower[p - 1] = std::log(options.trend_variance_bounds.first);
    upper[p - 1] = std::log(options.trend_variance_bounds.second);
  }
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const auto uniform_in_bounds = [&](std::mt19937_64& rng) {
    Eigen::VectorXd start(p);
    for (Eigen::Index i = 0; i < p; ++i) start[i] = lower[i] + unit(rng) * (upper[i] - lower[i]);
    return start;
  };
  LikelihoodSearch search;
  search.restarts = options.restarts;
  search.seed = options.seed;
  search.max_iterations = options.max_iterations;
  search.delta = 1e-10;
  const Eigen::VectorXd best = maximize_log_likelihood(
      [this](const Eigen::VectorXd& theta, Eigen::VectorXd* gradient) { return log_marginal_likelihood(theta, gradient); },
      theta(), lower, upper, uniform_in_bounds, search, "GP");
  hyper_ = from_theta(best);
  update_posterior();
}

GaussianProcess::KernelInputs GaussianProcess::kernel_inputs(const Eigen::MatrixXd& x) const {
  const Eigen::MatrixXd scaled = scale(x);
  KernelInputs out;
  out.warped = warp_for_kernel(scaled, kernel_bounds_, warp_);
  if (trend_ == GpTrend::Quadratic) out.trend_features = quadratic_trend_features(scaled);
  return out;
}

Eigen::MatrixXd GaussianProcess::covariance(const KernelInputs& a, const KernelInputs& b) const {
  Eigen::MatrixXd k = hyper_.signal_variance * matern_matrix(scaled_sq_distance(a.warped, b.warped, hyper_.length_scales));
  if (trend_ == GpTrend::Quadratic) k += hyper_.trend_variance * a.trend_features * b.trend_features.transpose();
  return k;
}

Eigen::MatrixXd GaussianProcess::prior_covariance(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) const {
  return covariance(kernel_inputs(a), kernel_inputs(b));
}

Eigen::VectorXd GaussianProcess::prior_variance(const Eigen::MatrixXd& x) const {
  Eigen::VectorXd v = Eigen::VectorXd::Constant(x.rows(), hyper_.signal_variance);
  if (trend_ == GpTrend::Quadratic) v += hyper_.trend_variance * quadratic_trend_features(scale(x)).rowwise().squaredNorm();
  return v;
}

Eigen::MatrixXd GaussianProcess::cross_covariance(const Eigen::MatrixXd& x) const {
  // the training side was warped (and its trend features taken) once, in set_data
  return covariance(x_kernel_, kernel_inputs(x));
}

Eigen::MatrixXd GaussianProcess::whitened_cross_covariance(const Eigen::MatrixXd& x) const {
  AMPERE_REQUIRE(y_norm_.size() > 0, "GP: no data");
  return chol_.triangularView<Eigen::Lower>().solve(cross_covariance(x));
}

GpPrediction GaussianProcess::predict(const Eigen::MatrixXd& x, bool include_noise) const {
  AMPERE_REQUIRE(y_norm_.size() > 0, "GP: predict needs data");
  const Eigen::MatrixXd cross = cross_covariance(x);  // n × m
  const Eigen::MatrixXd v = chol_.triangularView<Eigen::Lower>().solve(cross);
  GpPrediction out;
  out.mean = (cross.transpose() * alpha_).array() * y_scale_ + y_mean_;
  Eigen::VectorXd var = prior_variance(x) - v.colwise().squaredNorm().transpose();
  if (include_noise) var.array() += hyper_.noise_variance;
  out.variance = var.cwiseMax(0.0) * (y_scale_ * y_scale_);
  return out;
}

nlohmann::json GaussianProcess::to_json() const {
  nlohmann::json out;
  out["format"] = "ampere-gp/1";
  if (trend_ != GpTrend::None) out["trend"] = gp_trend_name(trend_);
  if (warp_ != GpWarp::Linear) out["warp"] = gp_warp_name(warp_);
  if (!steps_.empty()) out["steps"] = channel_steps_to_json(steps_);
  out["bounds"] = nlohmann::json::array();
  for (const auto& b : bounds_) out["bounds"].push_back({b.first, b.second});
  out["hyperparameters"] = {{"signal_variance", hyper_.signal_variance},
                            {"length_scales", hyper_.length_scales},
                            {"noise_variance", hyper_.noise_variance}};
  if (trend_ != GpTrend::None) out["hyperparameters"]["trend_variance"] = hyper_.trend_variance;
  out["x"] = nlohmann::json::array();
  for (Eigen::Index i = 0; i < x_.rows(); ++i) {
    std::vector<double> row;
    for (Eigen::Index d = 0; d < x_.cols(); ++d) row.push_back(x_(i, d));
    out["x"].push_back(row);
  }
  out["y"] = std::vector<double>(y_.data(), y_.data() + y_.size());
  Eigen::VectorXd extra = extra_noise_ * (y_scale_ * y_scale_);
  out["extra_noise_variance"] = std::vector<double>(extra.data(), extra.data() + extra.size());
  out["log_marginal_likelihood"] = lml_;
  return out;
}

GaussianProcess GaussianProcess::from_json(const nlohmann::json& json) {
  try {
    AMPERE_REQUIRE(json.is_object() && json.value("format", "") == "ampere-gp/1",
                   "format: expected \"ampere-gp/1\"");
    std::vector<std::pair<double, double>> bounds;
    for (const auto& b : json.at("bounds")) bounds.emplace_back(b.at(0).get<double>(), b.at(1).get<double>());
    GaussianProcess gp(bounds, parse_gp_trend(json.value("trend", "none")), parse_gp_warp(json.value("warp", "linear")),
                       json.contains("steps") ? channel_steps_from_json(json.at("steps")) : ChannelSteps());
    GpHyperparameters h;
    const auto& hj = json.at("hyperparameters");
    h.signal_variance = hj.at("signal_variance").get<double>();
    h.length_scales = hj.at("length_scales").get<std::vector<double>>();
    h.noise_variance = hj.at("noise_variance").get<double>();
    if (gp.trend() != GpTrend::None) h.trend_variance = hj.at("trend_variance").get<double>();
    gp.set_hyperparameters(h);
    const auto& xs = json.at("x");
    const auto ys = json.at("y").get<std::vector<double>>();
    const auto extra = json.at("extra_noise_variance").get<std::vector<double>>();
    AMPERE_REQUIRE(xs.size() == ys.size() && extra.size() == ys.size(), "x, y and extra_noise_variance differ in length");
    Eigen::MatrixXd x(static_cast<Eigen::Index>(ys.size()), static_cast<Eigen::Index>(bounds.size()));
    for (std::size_t i = 0; i < ys.size(); ++i) {
      const auto row = xs[i].get<std::vector<double>>();
      AMPERE_REQUIRE(row.size() == bounds.size(), "x[", i, "]: ", row.size(), " values for ", bounds.size(), " dimensions");
      for (std::size_t d = 0; d < row.size(); ++d) x(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(d)) = row[d];
    }
    gp.set_data(x, Eigen::Map<const Eigen::VectorXd>(ys.data(), static_cast<Eigen::Index>(ys.size())),
                Eigen::Map<const Eigen::VectorXd>(extra.data(), static_cast<Eigen::Index>(extra.size())));
    return gp;
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("saved GP: ") + e.what());
  } catch (const InputError& e) {
    throw InputError(std::string("saved GP: ") + e.what());
  }
}

}  // namespace ampere
