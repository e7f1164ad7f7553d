// A kind's fitted models (one GP for time, one for energy where a meter gives energy) and their
// JSON, which the store keeps so a restarted coordinator or the bridge restores them unrefitted.
#pragma once

#include <cstddef>
#include <memory>

#include <nlohmann/json.hpp>

#include "common/gaussian_process.hpp"
#include "common/measurement.hpp"

namespace ampere {

/// A kind's fitted models: time always, energy when the meter gives energy. Immutable once built
/// (the GPs are shared read-only), so snapshots can share it across threads.
struct KindModel {
  std::shared_ptr<const GaussianProcess> seconds;
  std::shared_ptr<const GaussianProcess> joules;  ///< null without energy readings
  MeterSource meter = MeterSource::TimeSurrogate;
  std::size_t points = 0;
};

/// A fitted kind model as JSON (both GPs, meter, points) and back; throws InputError on bad JSON.
nlohmann::json kind_model_to_json(const KindModel& model);
KindModel kind_model_from_json(const nlohmann::json& json);

}  // namespace ampere
