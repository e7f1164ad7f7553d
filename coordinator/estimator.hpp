// Estimates (method.md §6): Σ over blocks of each kind's GP, variances added, per-block breakdown,
// the FLOPs baseline beside it, and a missing kind as an error listing what to profile.
// Not thread safe: the coordinator's loop owns it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/layer_parser.hpp"
#include "coordinator/campaign.hpp"

namespace ampere {

/// y = slope · x + intercept by least squares, with the residual standard deviation.
struct LinearFit {
  double slope = 0;
  double intercept = 0;
  double residual_std = 0;
  std::size_t points = 0;
  double operator()(double x) const { return slope * x + intercept; }
};
/// Throws InputError with fewer than two distinct x.
LinearFit fit_line(const std::vector<double>& x, const std::vector<double>& y);

/// The FLOPs baseline of a device class: seconds and joules per iteration as lines in training
/// FLOPs per iteration, fitted on every variant network measured there.
struct FlopsBaseline {
  LinearFit seconds;
  LinearFit joules;
  bool has_joules = false;
};

/// Collects (training FLOPs, seconds, joules) of every measured variant network per device class
/// and fits the FLOPs lines (the statistic of the repeats: minimum, as the GPs).
class FlopsBaselineBuilder {
 public:
  void add(const std::string& device_class, const ModelSpec& variant, const Measurement& measurement);
  /// Empty when the class has fewer than two distinct FLOP counts.
  std::optional<FlopsBaseline> baseline(const std::string& device_class) const;

 private:
  struct Point {
    double flops, seconds, joules;
  };
  std::map<std::string, std::vector<Point>> points_;
};

/// An estimate asked of a device class no campaign has profiled.
class UnknownDeviceClass : public InputError {
 public:
  using InputError::InputError;
};
/// An estimate of a model with kinds never profiled on that device class.
class MissingKinds : public InputError {
 public:
  MissingKinds(const std::string& message, std::vector<std::string> kinds)
      : InputError(message), kinds_(std::move(kinds)) {}
  const std::vector<std::string>& kinds() const { return kinds_; }

 private:
  std::vector<std::string> kinds_;
};

/// How close estimates came to measurements of the same models: mean absolute percentage errors
/// (as ratios) of the estimate and of its FLOPs line, for time and energy; empty where nothing
/// could be scored (no FLOPs line yet, no energy readings).
struct AccuracyScore {
  std::size_t models = 0;
  std::string meter;  ///< where the measured energy came from (meter label; "mixed" when it differs)
  std::optional<double> seconds, flops_seconds, joules, flops_joules;
};
/// Scores (estimate JSON of one iteration, measurement) pairs; the measurement's statistic is the
/// minimum of its repeats, as the GPs fit; `meter` says where the scored energy came from.
AccuracyScore score_estimates(const std::vector<std::pair<nlohmann::json, Measurement>>& pairs);

class Estimator {
 public:
  /// Adds or replaces fitted kinds of a device class.
  void set_models(const std::string& device_class, const std::map<KindKey, KindModel>& models);
  void set_flops_baseline(const std::string& device_class, const FlopsBaseline& baseline);
  std::vector<std::string> device_classes() const;
  std::size_t kinds(const std::string& device_class) const;

  /// The estimate as JSON (the format of `ampere estimate --json`). Throws UnknownDeviceClass,
  /// MissingKinds, or InputError for a family (estimates take concrete models).
  nlohmann::json estimate(const ModelSpec& model, const std::string& device_class, std::uint64_t iterations) const;

 private:
  std::map<std::string, std::map<KindKey, KindModel>> models_;
  std::map<std::string, FlopsBaseline> baselines_;
};

}  // namespace ampere
