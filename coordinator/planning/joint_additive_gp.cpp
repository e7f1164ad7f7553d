#include "coordinator/planning/joint_additive_gp.hpp"

#include <cmath>
#include <limits>
#include <map>
#include <random>

#include "gp/cholesky.hpp"
#include "common/error.hpp"
#include "common/json_text.hpp"
#include "gp/gaussian_process.hpp"
#include "gp/likelihood_search.hpp"

namespace ampere {
namespace {

constexpr double kSqrt5 = 2.23606797749979;
constexpr double kLog2Pi = 1.8378770664093453;
/// Ridge on the GLS means (normalized units): keeps kinds that always appear together defined.
constexpr double kMeanRidge = 1e-6;
constexpr double kRestartSpread = 1.5;

void check_bounds(const std::string& what, const std::vector<std::pair<double, double>>& bounds) {
  AMPERE_REQUIRE(!bounds.empty(), what, ": needs at least one channel dimension");
  for (std::size_t d = 0; d < bounds.size(); ++d)
    AMPERE_REQUIRE(std::isfinite(bounds[d].first) && std::isfinite(bounds[d].second) && bounds[d].first <= bounds[d].second,
                   what, ": bounds of channel ", d, " must be finite with lo <= hi, got [", bounds[d].first, ", ",
                   bounds[d].second, "]");
}

Eigen::VectorXd to_vector(const std::vector<double>& v) {
  return Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}

}  // namespace

Eigen::MatrixXd work_features(const Eigen::MatrixXd& scaled) {
  const Eigen::MatrixXd phi = quadratic_trend_features(scaled);
  Eigen::MatrixXd out(scaled.rows(), phi.cols() + 1);
  out.col(0).setOnes();
  out.rightCols(phi.cols()) = phi;
  return out;
}

Eigen::VectorXd work_at(const std::vector<double>& polynomial, const std::vector<std::pair<double, double>>& bounds,
                        const Eigen::MatrixXd& x) {
  if (polynomial.empty()) return Eigen::VectorXd::Zero(x.rows());
  const Eigen::MatrixXd features = work_features(scale_to_unit(x, bounds));
  AMPERE_REQUIRE(static_cast<Eigen::Index>(polynomial.size()) == features.cols(), "work polynomial: ", polynomial.size(),
                 " coefficients for ", bounds.size(), " channels (", features.cols(), " expected)");
  return features * to_vector(polynomial);
}

// ---------------------------------------------------------------------------------------------
// JointKindPosterior

JointKindPosterior::JointKindPosterior(Parts parts) : parts_(std::move(parts)) {
  check_bounds("joint kind posterior", parts_.bounds);
  const Eigen::Index n = parts_.instances.rows();
  AMPERE_REQUIRE(static_cast<std::size_t>(parts_.instances.cols()) == parts_.bounds.size(),
                 "joint kind posterior: instances have ", parts_.instances.cols(), " channels, the kind has ",
                 parts_.bounds.size());
  AMPERE_REQUIRE(parts_.weights.size() == n && parts_.precision.rows() == n && parts_.precision.cols() == n,
                 "joint kind posterior: ", n, " instances but ", parts_.weights.size(), " weights and a ",
                 parts_.precision.rows(), "x", parts_.precision.cols(), " precision");
  AMPERE_REQUIRE(parts_.prior.length_scales.size() == parts_.bounds.size(), "joint kind posterior: ",
                 parts_.prior.length_scales.size(), " length-scales for ", parts_.bounds.size(), " channels");
  AMPERE_REQUIRE(std::isfinite(parts_.prior.mean) && parts_.prior.signal_variance > 0,
                 "joint kind posterior: the mean must be finite and the signal variance positive");
  AMPERE_REQUIRE(std::isfinite(parts_.prior.trend_variance) && parts_.prior.trend_variance >= 0,
                 "joint kind posterior: the trend variance must be finite and >= 0");
  for (double l : parts_.prior.length_scales) AMPERE_REQUIRE(l > 0, "joint kind posterior: length-scales must be positive");
  work_at(parts_.mean_polynomial, parts_.bounds, Eigen::MatrixXd::Zero(1, static_cast<Eigen::Index>(parts_.bounds.size())));  // checks its length
  AMPERE_REQUIRE(parts_.weights.allFinite() && parts_.precision.allFinite() && parts_.instances.allFinite(),
                 "joint kind posterior: non-finite weights, precision or instances");
  require_warp_bounds(parts_.bounds, parts_.warp, "joint kind posterior");
  require_valid_steps(parts_.steps, parts_.bounds.size(), "joint kind posterior");
  if (no_steps(parts_.steps)) parts_.steps.clear();
  kernel_bounds_ = stepped_bounds(parts_.bounds, parts_.steps);
  scaled_instances_ = scale(parts_.instances);
  warped_instances_ = warp_for_kernel(scaled_instances_, kernel_bounds_, parts_.warp);
  if (parts_.prior.trend_variance > 0) instance_trend_features_ = quadratic_trend_features(scaled_instances_);
}

Eigen::MatrixXd JointKindPosterior::scale(const Eigen::MatrixXd& x) const {
  return scale_to_unit(stepped_channels(x, parts_.steps), kernel_bounds_);
}

GpPrediction JointKindPosterior::predict(const Eigen::MatrixXd& x, bool /*include_noise*/) const {
  const Eigen::MatrixXd u = scale(x);
  Eigen::MatrixXd c = matern52_correlation(warp_for_kernel(u, kernel_bounds_, parts_.warp), warped_instances_,
                                           parts_.prior.length_scales);  // m × N
  Eigen::VectorXd prior = Eigen::VectorXd::Constant(x.rows(), parts_.prior.signal_variance);
  if (parts_.prior.trend_variance > 0) {
    const Eigen::MatrixXd phi = quadratic_trend_features(u);
    c += (parts_.prior.trend_variance / parts_.prior.signal_variance) * phi * instance_trend_features_.transpose();
    prior += parts_.prior.trend_variance * phi.rowwise().squaredNorm();
  }
  GpPrediction out;
  out.mean = (c * parts_.weights).array() + parts_.prior.mean;
  out.mean += work_at(parts_.mean_polynomial, parts_.bounds, x);
  const Eigen::MatrixXd cp = c * parts_.precision;
  out.variance = (prior.array() - (cp.array() * c.array()).rowwise().sum()).matrix().cwiseMax(0.0);
  return out;
}

nlohmann::json JointKindPosterior::to_json() const {
  nlohmann::json out;
  out["format"] = "ampere-joint-kind/1";
  out["bounds"] = nlohmann::json::array();
  for (const auto& b : parts_.bounds) out["bounds"].push_back({b.first, b.second});
  out["mean"] = parts_.prior.mean;
  out["signal_variance"] = parts_.prior.signal_variance;
  out["length_scales"] = parts_.prior.length_scales;
  if (parts_.prior.trend_variance > 0) out["trend_variance"] = parts_.prior.trend_variance;  // quadratic trend
  if (parts_.warp != GpWarp::Linear) out["warp"] = gp_warp_name(parts_.warp);
  if (!parts_.steps.empty()) out["steps"] = channel_steps_to_json(parts_.steps);
  out["instances"] = nlohmann::json::array();
  for (Eigen::Index i = 0; i < parts_.instances.rows(); ++i) {
    std::vector<double> row(parts_.instances.cols());
    for (Eigen::Index d = 0; d < parts_.instances.cols(); ++d) row[static_cast<std::size_t>(d)] = parts_.instances(i, d);
    out["instances"].push_back(row);
  }
  out["weights"] = std::vector<double>(parts_.weights.data(), parts_.weights.data() + parts_.weights.size());
  std::vector<double> precision;
  for (Eigen::Index i = 0; i < parts_.precision.rows(); ++i)
    for (Eigen::Index j = 0; j < parts_.precision.cols(); ++j) precision.push_back(parts_.precision(i, j));
  out["precision"] = precision;  // row-major
  out["measurements"] = parts_.measurements;
  if (!parts_.mean_polynomial.empty()) out["mean_polynomial"] = parts_.mean_polynomial;
  return out;
}

JointKindPosterior JointKindPosterior::from_json(const nlohmann::json& json) {
  try {
    AMPERE_REQUIRE(json.is_object() && json.value("format", "") == "ampere-joint-kind/1",
                   "format: expected \"ampere-joint-kind/1\"");
    Parts parts;
    for (const auto& b : json.at("bounds")) parts.bounds.emplace_back(b.at(0).get<double>(), b.at(1).get<double>());
    parts.prior.mean = json.at("mean").get<double>();
    parts.prior.signal_variance = json.at("signal_variance").get<double>();
    parts.prior.length_scales = json.at("length_scales").get<std::vector<double>>();
    parts.prior.trend_variance = json.value("trend_variance", 0.0);
    const auto& instances = json.at("instances");
    const auto n = static_cast<Eigen::Index>(instances.size());
    const auto dims = static_cast<Eigen::Index>(parts.bounds.size());
    parts.instances.resize(n, dims);
    for (Eigen::Index i = 0; i < n; ++i) {
      const auto row = instances[static_cast<std::size_t>(i)].get<std::vector<double>>();
      AMPERE_REQUIRE(static_cast<Eigen::Index>(row.size()) == dims, "instances[", i, "]: ", row.size(), " values for ", dims,
                     " channels");
      for (Eigen::Index d = 0; d < dims; ++d) parts.instances(i, d) = row[static_cast<std::size_t>(d)];
    }
    parts.weights = to_vector(json.at("weights").get<std::vector<double>>());
    const auto precision = json.at("precision").get<std::vector<double>>();
    AMPERE_REQUIRE(static_cast<Eigen::Index>(precision.size()) == n * n, "precision: ", precision.size(),
                   " values for ", n, " instances (", n * n, " expected)");
    parts.precision.resize(n, n);
    for (Eigen::Index i = 0; i < n; ++i)
      for (Eigen::Index j = 0; j < n; ++j) parts.precision(i, j) = precision[static_cast<std::size_t>(i * n + j)];
    parts.measurements = whole_number<std::size_t>(json.at("measurements"), "joint model: measurements");
    parts.mean_polynomial = json.value("mean_polynomial", std::vector<double>{});
    parts.warp = parse_gp_warp(json.value("warp", "linear"));
    if (json.contains("steps")) parts.steps = channel_steps_from_json(json.at("steps"));
    return JointKindPosterior(std::move(parts));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("saved joint kind posterior: ") + e.what());
  } catch (const InputError& e) {
    throw InputError(std::string("saved joint kind posterior: ") + e.what());
  }
}

// ---------------------------------------------------------------------------------------------
// JointAdditiveGp

JointAdditiveGp::JointAdditiveGp(std::vector<JointKind> kinds, std::vector<JointMeasurement> measurements) {
  AMPERE_REQUIRE(!kinds.empty(), "joint GP: needs at least one kind");
  AMPERE_REQUIRE(!measurements.empty(), "joint GP: needs at least one measurement");
  for (JointKind& kind : kinds) {
    check_bounds("joint GP: kind " + kind.name, kind.bounds);
    require_warp_bounds(kind.bounds, kind.warp, "joint GP: kind " + kind.name);
    require_valid_steps(kind.steps, kind.bounds.size(), "joint GP: kind " + kind.name);
    KindData data;
    data.kind = std::move(kind);
    kinds_.push_back(std::move(data));
  }
  const auto n = static_cast<Eigen::Index>(measurements.size());
  const auto kind_count = static_cast<Eigen::Index>(kinds_.size());
  measurements_ = n;
  y_.resize(n);
  extra_.resize(n);
  for (const KindData& data : kinds_) has_work_ = has_work_ || !data.kind.work_polynomial.empty();
  design_ = Eigen::MatrixXd::Zero(n, kind_count + (has_work_ ? 1 : 0));
  std::vector<std::map<std::vector<double>, Eigen::Index>> settings(kinds_.size());
  std::vector<std::vector<std::vector<double>>> setting_rows(kinds_.size());
  for (Eigen::Index j = 0; j < n; ++j) {
    const JointMeasurement& m = measurements[static_cast<std::size_t>(j)];
    AMPERE_REQUIRE(std::isfinite(m.value) && m.value > 0, "joint GP: measurement ", j, " has value ", m.value,
                   " (must be finite and > 0)");
    AMPERE_REQUIRE(std::isfinite(m.noise_variance) && m.noise_variance >= 0, "joint GP: measurement ", j,
                   " has noise variance ", m.noise_variance, " (must be finite and >= 0)");
    AMPERE_REQUIRE(!m.blocks.empty(), "joint GP: measurement ", j, " has no blocks");
    y_[j] = m.value;
    extra_[j] = m.noise_variance;
    std::map<std::pair<std::size_t, Eigen::Index>, double> merged;  // (kind, setting) → count in this network
    for (std::size_t b = 0; b < m.blocks.size(); ++b) {
      const JointBlock& block = m.blocks[b];
      AMPERE_REQUIRE(block.kind < kinds_.size(), "joint GP: measurement ", j, " block ", b, " names kind ", block.kind,
                     ", the model has ", kinds_.size());
      const auto& bounds = kinds_[block.kind].kind.bounds;
      AMPERE_REQUIRE(block.channels.size() == bounds.size(), "joint GP: measurement ", j, " block ", b, " (",
                     kinds_[block.kind].kind.name, ") has ", block.channels.size(), " channel values, the kind has ",
                     bounds.size());
      for (std::size_t d = 0; d < bounds.size(); ++d)
        AMPERE_REQUIRE(std::isfinite(block.channels[d]) && block.channels[d] >= bounds[d].first &&
                           block.channels[d] <= bounds[d].second,
                       "joint GP: measurement ", j, " block ", b, " (", kinds_[block.kind].kind.name, "): channel ", d,
                       " = ", block.channels[d], " is outside [", bounds[d].first, ", ", bounds[d].second, "]");
      auto [it, added] = settings[block.kind].emplace(block.channels, static_cast<Eigen::Index>(setting_rows[block.kind].size()));
      if (added) setting_rows[block.kind].push_back(block.channels);
      merged[{block.kind, it->second}] += 1.0;
      design_(j, static_cast<Eigen::Index>(block.kind)) += 1.0;
      if (has_work_) {
        Eigen::MatrixXd x(1, static_cast<Eigen::Index>(bounds.size()));
        for (std::size_t d = 0; d < bounds.size(); ++d) x(0, static_cast<Eigen::Index>(d)) = block.channels[d];
        design_(j, kind_count) += work_at(kinds_[block.kind].kind.work_polynomial, bounds, x)[0];
      }
    }
    for (const auto& [key, count] : merged) kinds_[key.first].entries.push_back(Entry{j, key.second, count});
  }
  if (has_work_) {
    work_scale_ = design_.col(kind_count).cwiseAbs().mean();
    AMPERE_REQUIRE(std::isfinite(work_scale_) && work_scale_ > 0, "joint GP: the measurements' work is ", work_scale_,
                   " (must be finite and > 0 when kinds give work polynomials)");
    design_.col(kind_count) /= work_scale_;
  }
  scale_ = y_.array().abs().mean();
  y_ /= scale_;
  extra_ /= scale_ * scale_;
  for (std::size_t k = 0; k < kinds_.size(); ++k) {
    KindData& data = kinds_[k];
    const auto rows = static_cast<Eigen::Index>(setting_rows[k].size());
    const auto dims = static_cast<Eigen::Index>(data.kind.bounds.size());
    data.raw.resize(rows, dims);
    for (Eigen::Index i = 0; i < rows; ++i)
      for (Eigen::Index d = 0; d < dims; ++d) data.raw(i, d) = setting_rows[k][static_cast<std::size_t>(i)][static_cast<std::size_t>(d)];
    const auto kernel_bounds = stepped_bounds(data.kind.bounds, data.kind.steps);
    data.scaled = scale_to_unit(stepped_channels(data.raw, data.kind.steps), kernel_bounds);
    data.warped = warp_for_kernel(data.scaled, kernel_bounds, data.kind.warp);
    for (Eigen::Index d = 0; d < dims; ++d) {
      Eigen::MatrixXd diff(rows, rows);
      for (Eigen::Index j = 0; j < rows; ++j) diff.col(j) = (data.warped.col(d).array() - data.warped(j, d)).square().matrix();
      data.sq_diff.push_back(std::move(diff));
    }
    if (data.kind.trend == GpTrend::Quadratic) {
      const Eigen::MatrixXd phi = quadratic_trend_features(data.scaled);
      data.trend_gram = phi * phi.transpose();
    }
  }
  hyper_.absolute_noise_variance = 1e-4 * scale_ * scale_;
  for (const KindData& data : kinds_)
    hyper_.kinds.push_back({0.0, scale_ * scale_, std::vector<double>(data.kind.bounds.size(), 1.0),
                            data.kind.trend == GpTrend::Quadratic ? scale_ * scale_ : 0.0});
  update_posterior(nullptr);
}

bool JointAdditiveGp::measured(std::size_t kind) const { return kind < kinds_.size() && !kinds_[kind].entries.empty(); }

Eigen::VectorXd JointAdditiveGp::theta() const {
  std::vector<double> t;
  for (std::size_t k = 0; k < kinds_.size(); ++k) {
    const JointKindHyperparameters& h = hyper_.kinds[k];
    t.push_back(std::log(h.signal_variance / (scale_ * scale_)));
    for (double l : h.length_scales) t.push_back(std::log(l));
    if (kinds_[k].kind.trend == GpTrend::Quadratic) t.push_back(std::log(h.trend_variance / (scale_ * scale_)));
  }
  t.push_back(std::log(hyper_.relative_noise_variance));
  t.push_back(std::log(hyper_.absolute_noise_variance / (scale_ * scale_)));
  return to_vector(t);
}

JointHyperparameters JointAdditiveGp::from_theta(const Eigen::VectorXd& theta, const Eigen::VectorXd& means) const {
  JointHyperparameters h;
  Eigen::Index at = 0;
  for (std::size_t k = 0; k < kinds_.size(); ++k) {
    JointKindHyperparameters kh;
    kh.mean = means[static_cast<Eigen::Index>(k)] * scale_;
    kh.signal_variance = std::exp(theta[at++]) * scale_ * scale_;
    for (std::size_t d = 0; d < kinds_[k].kind.bounds.size(); ++d) kh.length_scales.push_back(std::exp(theta[at++]));
    if (kinds_[k].kind.trend == GpTrend::Quadratic) kh.trend_variance = std::exp(theta[at++]) * scale_ * scale_;
    h.kinds.push_back(std::move(kh));
  }
  h.relative_noise_variance = std::exp(theta[at]);
  h.absolute_noise_variance = std::exp(theta[at + 1]) * scale_ * scale_;
  if (has_work_) h.work_coefficient = means[means.size() - 1] * scale_ / work_scale_;
  return h;
}

Eigen::MatrixXd JointAdditiveGp::kind_covariance(const KindData& k, double signal, const std::vector<double>& length_scales,
                                                 double trend) const {
  Eigen::MatrixXd c = signal * matern52_correlation(k.warped, k.warped, length_scales);
  if (k.kind.trend == GpTrend::Quadratic) c += trend * k.trend_gram;
  return c;
}

// O(n³) for the Cholesky factor plus O(Σ_k E_k²) to assemble K, E_k = the kind's entries.
JointAdditiveGp::Evaluation JointAdditiveGp::evaluate(const Eigen::VectorXd& theta, const Eigen::VectorXd* fixed_means) const {
  const Eigen::Index n = measurements_;
  Eigen::MatrixXd k = Eigen::MatrixXd::Zero(n, n);
  Eigen::Index at = 0;
  for (const KindData& data : kinds_) {
    const double signal = std::exp(theta[at++]);
    std::vector<double> ls;
    for (std::size_t d = 0; d < data.kind.bounds.size(); ++d) ls.push_back(std::exp(theta[at++]));
    const double trend = data.kind.trend == GpTrend::Quadratic ? std::exp(theta[at++]) : 0.0;
    if (data.entries.empty()) continue;
    const Eigen::MatrixXd c = kind_covariance(data, signal, ls, trend);
    for (const Entry& a : data.entries)
      for (const Entry& b : data.entries) k(a.measurement, b.measurement) += a.count * b.count * c(a.instance, b.instance);
  }
  const double relative_noise = std::exp(theta[at]), absolute_noise = std::exp(theta[at + 1]);
  k.diagonal().array() += relative_noise * y_.array().square() + absolute_noise + extra_.array() + kBaseJitter;
  Evaluation e;
  e.chol = robust_cholesky(std::move(k));
  auto solve = [&](const Eigen::MatrixXd& rhs) {
    return Eigen::MatrixXd(
        e.chol.transpose().triangularView<Eigen::Upper>().solve(e.chol.triangularView<Eigen::Lower>().solve(rhs)));
  };
  double penalty = 0;
  if (fixed_means != nullptr) {
    e.means = *fixed_means;
  } else {
    const Eigen::MatrixXd q = solve(design_);  // K⁻¹A
    Eigen::MatrixXd normal = design_.transpose() * q;
    normal.diagonal().array() += kMeanRidge;
    e.means = normal.ldlt().solve(q.transpose() * y_);
    penalty = 0.5 * kMeanRidge * e.means.squaredNorm();
  }
  const Eigen::VectorXd residual = y_ - design_ * e.means;
  e.alpha = solve(residual);
  e.lml = -0.5 * residual.dot(e.alpha) - e.chol.diagonal().array().log().sum() - 0.5 * static_cast<double>(n) * kLog2Pi -
          penalty;
  return e;
}

double JointAdditiveGp::log_marginal_likelihood(const Eigen::VectorXd& theta, Eigen::VectorXd* gradient) const {
  const Evaluation e = evaluate(theta, nullptr);
  if (gradient == nullptr) return e.lml;
  const Eigen::MatrixXd w = e.alpha * e.alpha.transpose() - inverse_from_cholesky(e.chol);
  gradient->setZero(theta.size());
  Eigen::Index at = 0;
  for (const KindData& data : kinds_) {
    const Eigen::Index first = at;
    const double signal = std::exp(theta[at++]);
    std::vector<double> ls;
    for (std::size_t d = 0; d < data.kind.bounds.size(); ++d) ls.push_back(std::exp(theta[at++]));
    const Eigen::Index trend_at = at;
    const double trend = data.kind.trend == GpTrend::Quadratic ? std::exp(theta[at++]) : 0.0;
    if (data.entries.empty()) continue;
    const Eigen::Index settings = data.raw.rows();
    Eigen::MatrixXd g = Eigen::MatrixXd::Zero(settings, settings);  // Sᵀ W S
    for (const Entry& a : data.entries)
      for (const Entry& b : data.entries) g(a.instance, b.instance) += a.count * b.count * w(a.measurement, b.measurement);
    Eigen::MatrixXd r2 = Eigen::MatrixXd::Zero(settings, settings);
    for (std::size_t d = 0; d < ls.size(); ++d) r2 += data.sq_diff[d] / (ls[d] * ls[d]);
    const Eigen::ArrayXXd r = r2.array().sqrt();
    const Eigen::ArrayXXd expo = (-kSqrt5 * r).exp();
    const Eigen::ArrayXXd m = (1.0 + kSqrt5 * r + 5.0 / 3.0 * r2.array()) * expo;
    (*gradient)[first] = 0.5 * signal * (g.array() * m).sum();
    // ∂k/∂log ℓ_d = σ² · 5/3 · (1 + √5 r) e^{−√5 r} · (Δ_d/ℓ_d)²
    const Eigen::ArrayXXd wg = g.array() * (signal * 5.0 / 3.0) * (1.0 + kSqrt5 * r) * expo;
    for (std::size_t d = 0; d < ls.size(); ++d)
      (*gradient)[first + 1 + static_cast<Eigen::Index>(d)] = 0.5 * (wg * data.sq_diff[d].array()).sum() / (ls[d] * ls[d]);
    if (data.kind.trend == GpTrend::Quadratic) (*gradient)[trend_at] = 0.5 * trend * (g.array() * data.trend_gram.array()).sum();
  }
  const double relative_noise = std::exp(theta[at]);
  (*gradient)[at] = 0.5 * relative_noise * (w.diagonal().array() * y_.array().square()).sum();
  (*gradient)[at + 1] = 0.5 * std::exp(theta[at + 1]) * w.diagonal().sum();
  return e.lml;
}

void JointAdditiveGp::set_hyperparameters(const JointHyperparameters& hyper) {
  AMPERE_REQUIRE(hyper.kinds.size() == kinds_.size(), "joint GP: ", hyper.kinds.size(), " kinds' hyper-parameters for ",
                 kinds_.size(), " kinds");
  AMPERE_REQUIRE(hyper.absolute_noise_variance > 0 && std::isfinite(hyper.absolute_noise_variance),
                 "joint GP: the absolute noise variance must be positive");
  AMPERE_REQUIRE(hyper.relative_noise_variance > 0 && std::isfinite(hyper.relative_noise_variance),
                 "joint GP: the relative noise variance must be positive");
  Eigen::VectorXd means(design_.cols());
  AMPERE_REQUIRE(std::isfinite(hyper.work_coefficient), "joint GP: the work coefficient must be finite");
  if (has_work_) means[means.size() - 1] = hyper.work_coefficient * work_scale_ / scale_;
  for (std::size_t k = 0; k < kinds_.size(); ++k) {
    const JointKindHyperparameters& h = hyper.kinds[k];
    AMPERE_REQUIRE(h.length_scales.size() == kinds_[k].kind.bounds.size(), "joint GP: kind ", kinds_[k].kind.name, ": ",
                   h.length_scales.size(), " length-scales for ", kinds_[k].kind.bounds.size(), " channels");
    AMPERE_REQUIRE(h.signal_variance > 0 && std::isfinite(h.mean), "joint GP: kind ", kinds_[k].kind.name,
                   ": the signal variance must be positive and the mean finite");
    for (double l : h.length_scales) AMPERE_REQUIRE(l > 0, "joint GP: kind ", kinds_[k].kind.name, ": length-scales must be positive");
    AMPERE_REQUIRE(kinds_[k].kind.trend == GpTrend::None || (h.trend_variance > 0 && std::isfinite(h.trend_variance)),
                   "joint GP: kind ", kinds_[k].kind.name, ": the trend variance must be positive");
    means[static_cast<Eigen::Index>(k)] = h.mean / scale_;
  }
  hyper_ = hyper;
  update_posterior(&means);
}

void JointAdditiveGp::update_posterior(const Eigen::VectorXd* fixed_means) {
  posterior_ = evaluate(theta(), fixed_means);
  for (std::size_t k = 0; k < kinds_.size(); ++k) hyper_.kinds[k].mean = posterior_.means[static_cast<Eigen::Index>(k)] * scale_;
  if (has_work_) hyper_.work_coefficient = posterior_.means[posterior_.means.size() - 1] * scale_ / work_scale_;
  lml_ = posterior_.lml;
  k_inverse_ = inverse_from_cholesky(posterior_.chol);
}

void JointAdditiveGp::fit(const JointFitOptions& options) {
  const Eigen::VectorXd start = theta();
  const Eigen::Index p = start.size();
  Eigen::VectorXd lower(p), upper(p);
  Eigen::Index at = 0;
  for (const KindData& data : kinds_) {
    lower[at] = std::log(options.signal_variance_bounds.first);
    upper[at++] = std::log(options.signal_variance_bounds.second);
    for (std::size_t d = 0; d < data.kind.bounds.size(); ++d) {
      lower[at] = std::log(options.length_scale_bounds.first);
      upper[at++] = std::log(options.length_scale_bounds.second);
    }
    if (data.kind.trend == GpTrend::Quadratic) {
      lower[at] = std::log(options.trend_variance_bounds.first);
      upper[at++] = std::log(options.trend_variance_bounds.second);
    }
  }
  lower[at] = std::log(options.relative_noise_bounds.first);
  upper[at] = std::log(options.relative_noise_bounds.second);
  lower[at + 1] = std::log(options.absolute_noise_bounds.first);
  upper[at + 1] = std::log(options.absolute_noise_bounds.second);
  std::uniform_real_distribution<double> spread(-kRestartSpread, kRestartSpread);
  const auto around_start = [&](std::mt19937_64& rng) {
    Eigen::VectorXd x = start;
    for (Eigen::Index i = 0; i < p; ++i) x[i] += spread(rng);
    return x;
  };
  LikelihoodSearch search;
  search.restarts = options.restarts;
  search.seed = options.seed;
  search.max_iterations = options.max_iterations;
  search.delta = 1e-9;
  const Eigen::VectorXd best = maximize_log_likelihood(
      [this](const Eigen::VectorXd& theta, Eigen::VectorXd* gradient) { return log_marginal_likelihood(theta, gradient); },
      start, lower, upper, around_start, search, "joint GP");
  hyper_ = from_theta(best, Eigen::VectorXd::Zero(design_.cols()));  // means: GLS, next
  update_posterior(nullptr);
}

std::shared_ptr<const JointKindPosterior> JointAdditiveGp::posterior(std::size_t kind) const {
  AMPERE_REQUIRE(measured(kind), "joint GP: kind ", kind < kinds_.size() ? kinds_[kind].kind.name : std::to_string(kind),
                 " appears in no measurement");
  const KindData& data = kinds_[kind];
  const JointKindHyperparameters& h = hyper_.kinds[kind];
  const double signal = h.signal_variance / (scale_ * scale_);  // normalized
  const Eigen::MatrixXd& k_inv = k_inverse_;
  const Eigen::Index settings = data.raw.rows();
  Eigen::VectorXd w = Eigen::VectorXd::Zero(settings);
  Eigen::MatrixXd p = Eigen::MatrixXd::Zero(settings, settings);
  for (const Entry& a : data.entries) {
    w[a.instance] += a.count * posterior_.alpha[a.measurement];
    for (const Entry& b : data.entries) p(a.instance, b.instance) += a.count * b.count * k_inv(a.measurement, b.measurement);
  }
  JointKindPosterior::Parts parts;
  parts.bounds = data.kind.bounds;
  parts.warp = data.kind.warp;
  parts.steps = data.kind.steps;
  parts.prior = h;
  if (data.kind.trend == GpTrend::None) parts.prior.trend_variance = 0;
  parts.instances = data.raw;
  parts.weights = w * (signal * scale_);
  parts.precision = p * (signal * signal * scale_ * scale_);
  parts.precision = 0.5 * (parts.precision + parts.precision.transpose()).eval();
  parts.measurements = data.entries.size();
  for (double p : data.kind.work_polynomial) parts.mean_polynomial.push_back(hyper_.work_coefficient * p);
  return std::make_shared<const JointKindPosterior>(std::move(parts));
}

}  // namespace ampere
