// The FLOPs line the estimates are judged against (docs/method.md §6): seconds and joules per
// iteration as straight lines in training FLOPs, least squares over every variant network
// measured on the device class. Same data and device as the GPs, so the comparison is fair.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/measurement.hpp"
#include "common/model_spec.hpp"

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

/// The same least squares kept as running co-moments (Welford's updates, numerically stable), so
/// adding a point and fitting are O(1): a fleet's FLOPs line stays cheap at any number of results.
class LineAccumulator {
 public:
  void add(double x, double y);
  /// Throws InputError with fewer than two distinct x.
  LinearFit fit() const;
  std::size_t points() const { return n_; }

 private:
  std::size_t n_ = 0;
  double mean_x_ = 0, mean_y_ = 0, cxx_ = 0, cxy_ = 0, cyy_ = 0;
};

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
  struct ClassLines {
    LineAccumulator seconds, joules;
    bool has_joules = true;  ///< every point had energy
  };
  std::map<std::string, ClassLines> lines_;
};

}  // namespace ampere
