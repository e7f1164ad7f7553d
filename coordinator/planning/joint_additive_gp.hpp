// The joint additive GP (docs/method.md §8): every measured network, a variant network or a whole
// model, is the sum of its blocks' kind functions plus noise, y_j = Σ_b f_kind(b)(x_b) + ε_j, with one
// independent GP prior per kind, f_k ~ GP(μ_k, σ_k²·Matérn 5/2(ℓ_k)). The covariance of two networks
// is the sum, over pairs of their blocks of the same kind, of that kind's kernel. Conditioning on all
// of a class's measurements at once gives each kind's posterior without subtracting any helper's
// estimate, so a helper's error does not land in the kinds fitted on it, and a whole-model
// measurement informs every kind it contains.
//
// Noise: ε_j ~ N(0, σ_r²·y_j² + v_j): a relative noise σ_r² shared by the class (timing noise is
// multiplicative: a whole model is not measured to the same absolute precision as one block) plus
// v_j, the measured spread of the point's repeats. Means μ_k are generalized least squares at each
// σ/ℓ (with a ridge of 1e-6 in units of the targets' mean: kinds that always appear together stay
// defined); the fit maximizes the log marginal likelihood of the targets over log σ_k², log ℓ_k and
// log σ_r² with L-BFGS-B. Targets are divided by their mean |y| inside; parameters and posteriors are
// in target units outside.
//
// A kind's posterior variance is its marginal: estimates that add the variances of their blocks
// ignore the (usually negative) covariance between kinds measured together, and the GLS means'
// own variance is not added.
//
// Not thread safe to change; a fitted model and its posteriors may be read from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include "gp/gaussian_process.hpp"
#include "gp/kind_function.hpp"

namespace ampere {

/// A kind of the joint model: its name (for messages), its channel bounds (inputs are scaled to
/// [0, 1] by them, as in the kind's own GP), its kernel's trend and channel warp (as in
/// GaussianProcess), and its
/// block's work: forward FLOPs per sample as a polynomial of the scaled channels, W(u) = p·(1, φ(u))
/// with φ the quadratic trend's features (empty: the kind adds no work).
struct JointKind {
  std::string name;
  std::vector<std::pair<double, double>> bounds;
  GpTrend trend = GpTrend::None;
  std::vector<double> work_polynomial;
  GpWarp warp = GpWarp::Linear;
  ChannelSteps steps;  ///< the kind's channel quantization (docs/method.md §14); empty: none
};

/// The work polynomial's features of scaled channels: per row (1, φ(u)).
Eigen::MatrixXd work_features(const Eigen::MatrixXd& scaled);
/// The work polynomial's value at raw channels `x` (rows), or zeros when `polynomial` is empty.
/// Throws InputError when its length is not 1 + |φ| for the bounds' dimensions.
Eigen::VectorXd work_at(const std::vector<double>& polynomial, const std::vector<std::pair<double, double>>& bounds,
                        const Eigen::MatrixXd& x);

/// A block of a measured network: the index of its kind and its channels (raw).
struct JointBlock {
  std::size_t kind = 0;
  std::vector<double> channels;
};

/// A measured network: its blocks, its value (seconds or joules per iteration, > 0) and the
/// variance of that value from its repeats (target units², >= 0).
struct JointMeasurement {
  std::vector<JointBlock> blocks;
  double value = 0;
  double noise_variance = 0;
};

/// One kind's prior in target units: constant mean μ_k, signal variance σ_k², length-scales (scaled
/// input space), and the quadratic trend's weight variance σ_t² (kinds with that trend only).
struct JointKindHyperparameters {
  double mean = 0;
  double signal_variance = 1;
  std::vector<double> length_scales;
  double trend_variance = 0;
};

struct JointHyperparameters {
  std::vector<JointKindHyperparameters> kinds;  ///< one per kind, in the model's kind order
  double relative_noise_variance = 1e-4;        ///< σ_r²: noise variance as a fraction of y²
  /// σ_a²: noise variance in target units², the same for every network (model misfit that does not
  /// grow with the network: a block's small non-additive or non-smooth part).
  double absolute_noise_variance = 1e-8;
  /// β: target units per unit of work, shared by every kind (a GLS mean like μ_k); used when any
  /// kind has a work polynomial. Every kind's mean is then μ_k + β·W_k(x).
  double work_coefficient = 0;
};

/// Search space (σ_k² relative to the squared mean |target|) and restarts of the joint fit.
struct JointFitOptions {
  std::pair<double, double> signal_variance_bounds{1e-8, 1e2};
  std::pair<double, double> length_scale_bounds{1e-2, 1e2};
  std::pair<double, double> relative_noise_bounds{1e-8, 1e-1};
  std::pair<double, double> absolute_noise_bounds{1e-10, 1e-1};  ///< relative to the squared mean |target|
  std::pair<double, double> trend_variance_bounds{1e-8, 1e2};
  int restarts = 2;          ///< extra starts, drawn around the first (±1.5 in log space)
  std::uint64_t seed = 0;    ///< mt19937_64 seed of those draws: fits are reproducible
  int max_iterations = 300;  ///< per L-BFGS-B run
};

/// One kind's posterior under the joint model: mean(x) = μ + c(x)ᵀw, variance(x) = k(x, x)/σ²·σ² −
/// c(x)ᵀPc(x), where c(x) = k(x, settings)/σ² holds the kernel of x with the kind's measured channel
/// settings over σ² (the Matérn correlations, plus σ_t²/σ²·φ(x)ᵀφ(s) with the quadratic trend).
class JointKindPosterior : public KindFunction {
 public:
  struct Parts {
    std::vector<std::pair<double, double>> bounds;
    JointKindHyperparameters prior;
    Eigen::MatrixXd instances;  ///< raw channels of the kind's distinct measured settings (rows)
    Eigen::VectorXd weights;    ///< w, target units
    Eigen::MatrixXd precision;  ///< P, target units⁻²·units² (var = σ² − cᵀPc)
    std::size_t measurements = 0;
    /// β·W(x) of the kind, target units, over (1, φ(u)); empty: no work term in the mean.
    std::vector<double> mean_polynomial;
    GpWarp warp = GpWarp::Linear;  ///< how channels enter the Matérn kernel
    ChannelSteps steps;            ///< the channel quantization the kernel reads through (empty: none)
  };
  explicit JointKindPosterior(Parts parts);

  /// `include_noise` adds nothing: the model's noise belongs to networks, not to one block.
  GpPrediction predict(const Eigen::MatrixXd& x, bool include_noise = false) const override;
  nlohmann::json to_json() const override;  ///< format "ampere-joint-kind/1"
  std::size_t dimensions() const override { return parts_.bounds.size(); }
  const Parts& parts() const { return parts_; }
  /// Throws InputError naming what is wrong.
  static JointKindPosterior from_json(const nlohmann::json& json);

 private:
  Eigen::MatrixXd scale(const Eigen::MatrixXd& x) const;
  Parts parts_;
  std::vector<std::pair<double, double>> kernel_bounds_;  // the bounds stepped

  Eigen::MatrixXd scaled_instances_;
  Eigen::MatrixXd warped_instances_;          // the scaled instances as the kernel sees them
  Eigen::MatrixXd instance_trend_features_;  // φ of the scaled instances (with a trend only)
};

class JointAdditiveGp {
 public:
  /// Throws InputError naming the measurement or block at fault: an unknown kind, channels of the
  /// wrong count or outside the kind's bounds, a value that is not finite and positive, a negative
  /// or non-finite noise variance, no measurements.
  JointAdditiveGp(std::vector<JointKind> kinds, std::vector<JointMeasurement> measurements);

  /// Fixed hyper-parameters, means included (no fit); recomputes the posterior.
  void set_hyperparameters(const JointHyperparameters& hyper);
  /// Fits σ_k², ℓ_k and σ_r² from the current hyper-parameters (the first start); the means are
  /// the GLS means at the optimum. Throws NumericalError when no start can be evaluated.
  void fit(const JointFitOptions& options = JointFitOptions());
  const JointHyperparameters& hyperparameters() const { return hyper_; }

  /// θ = per kind (log σ_k², log ℓ_k,1..d[, log σ_t,k²]), then log σ_r²; variances relative to the
  /// squared target scale.
  Eigen::VectorXd theta() const;
  /// The profiled log marginal likelihood at θ (GLS means, ridge penalty included) and its exact
  /// gradient (the means' own derivative drops out at their optimum).
  double log_marginal_likelihood(const Eigen::VectorXd& theta, Eigen::VectorXd* gradient) const;
  double log_marginal_likelihood() const { return lml_; }

  /// Whether any measurement contains a block of the kind.
  bool measured(std::size_t kind) const;
  /// The kind's posterior; throws InputError for a kind no measurement contains.
  std::shared_ptr<const JointKindPosterior> posterior(std::size_t kind) const;
  std::size_t size() const { return measurements_; }

 private:
  struct Entry {           // one kind's blocks in one measurement
    Eigen::Index measurement;
    Eigen::Index instance;  // row of the kind's distinct settings
    double count;
  };
  struct KindData {
    JointKind kind;
    Eigen::MatrixXd raw;                    // distinct settings, raw channels
    Eigen::MatrixXd scaled;                 // the same in [0, 1]
    Eigen::MatrixXd warped;                 // the same as the kernel sees them (the kind's warp)
    std::vector<Eigen::MatrixXd> sq_diff;   // per dimension, between settings (warped)
    Eigen::MatrixXd trend_gram;             // φᵀφ between settings (quadratic trend only)
    std::vector<Entry> entries;
  };
  struct Evaluation {
    Eigen::MatrixXd chol;
    Eigen::VectorXd means;  // normalized
    Eigen::VectorXd alpha;  // K⁻¹(y − Aμ)
    double lml = 0;
  };
  Evaluation evaluate(const Eigen::VectorXd& theta, const Eigen::VectorXd* fixed_means) const;
  /// The kind's covariance between its settings (normalized units).
  Eigen::MatrixXd kind_covariance(const KindData& k, double signal, const std::vector<double>& length_scales,
                                  double trend) const;
  void update_posterior(const Eigen::VectorXd* fixed_means);
  JointHyperparameters from_theta(const Eigen::VectorXd& theta, const Eigen::VectorXd& means) const;

  std::vector<KindData> kinds_;
  Eigen::Index measurements_ = 0;
  Eigen::VectorXd y_;      // normalized
  Eigen::VectorXd extra_;  // normalized noise variances
  Eigen::MatrixXd design_; // n × K (+1): blocks of each kind per measurement (then work / work_scale_)
  bool has_work_ = false;
  double work_scale_ = 1;
  double scale_ = 1;
  JointHyperparameters hyper_;
  Evaluation posterior_;
  Eigen::MatrixXd k_inverse_;  // of the posterior's K
  double lml_ = 0;
};

}  // namespace ampere
