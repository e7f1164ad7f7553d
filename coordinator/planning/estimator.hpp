// Estimates (docs/method.md §6): Σ over blocks of each kind's GP, variances added, per-block breakdown,
// the FLOPs baseline beside it, and a missing kind as an error listing what to profile.
// Not thread safe to change; concurrent const use (estimate) is safe once built.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/layer_parser.hpp"
#include "coordinator/planning/flops_baseline.hpp"
#include "coordinator/planning/kind_model.hpp"

namespace ampere {

/// An estimate asked of a device class no campaign has profiled.
class UnknownDeviceClass : public InputError {
 public:
  explicit UnknownDeviceClass(const std::string& message) : InputError(message, ErrorCode::NotFound) {}
};
/// An estimate of a model with kinds never profiled on that device class.
class MissingKinds : public InputError {
 public:
  MissingKinds(const std::string& message, std::vector<std::string> kinds)
      : InputError(message, ErrorCode::Unprocessable), kinds_(std::move(kinds)) {}
  const std::vector<std::string>& kinds() const { return kinds_; }

 private:
  std::vector<std::string> kinds_;
};

class Estimator {
 public:
  /// Adds or replaces fitted kinds of a device class.
  void set_models(const std::string& device_class, const std::map<KindKey, KindModel>& models);
  void set_flops_baseline(const std::string& device_class, const FlopsBaseline& baseline);
  /// The class's idle power (the median of its agents' idle baselines): estimates then report
  /// energy above idle beside the gross figure. NaN: none known.
  void set_idle_watts(const std::string& device_class, double watts);
  std::vector<std::string> device_classes() const;
  std::size_t kinds(const std::string& device_class) const;

  /// The estimate as JSON (the format of `ampere estimate --json`). Its joules are gross (what the
  /// meter read while training: "energy": "gross"); with the class's idle power known,
  /// "above_idle" gives joules minus idle watts × seconds, per iteration and in total. Throws
  /// UnknownDeviceClass, MissingKinds, or InputError for a family (estimates take concrete models).
  nlohmann::json estimate(const ModelSpec& model, const std::string& device_class, std::uint64_t iterations) const;

 private:
  std::map<std::string, std::map<KindKey, KindModel>> models_;
  std::map<std::string, FlopsBaseline> baselines_;
  std::map<std::string, double> idle_watts_;
};

}  // namespace ampere
