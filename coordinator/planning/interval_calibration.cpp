#include "coordinator/planning/interval_calibration.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "coordinator/planning/estimator.hpp"

namespace ampere {

double whole_model_residual(const std::map<KindKey, KindModel>& served,
                            const std::vector<std::pair<ModelSpec, double>>& measured) {
  if (measured.size() < 2) return 0;
  std::map<KindKey, KindModel> own = served;
  for (auto& [key, model] : own) model.whole_model_residual = 0;  // the blocks' variances alone
  Estimator estimator;
  estimator.set_models("campaign", own);
  double excess = 0;
  try {
    for (const auto& [model, seconds] : measured) {
      const nlohmann::json e = estimator.estimate(model, "campaign", 1).at("seconds_per_iteration");
      const double mean = e.at("mean").get<double>(), std = e.at("std").get<double>();
      if (!(mean > 0) || !(seconds > 0)) return 0;
      const double miss = std::log(seconds / mean);
      excess += miss * miss - (std / mean) * (std / mean);
    }
  } catch (const InputError&) {
    return 0;  // a kind of a whole model not fitted yet: no residual until it is
  }
  return std::max(0.0, excess / static_cast<double>(measured.size()));
}

}  // namespace ampere
