// A kind's fitted models (one GP for time, one for energy where a meter gives energy) and their
// JSON, which the store keeps so a restarted coordinator or the bridge restores them unrefitted.
#pragma once

#include <cstddef>
#include <memory>

#include <nlohmann/json.hpp>

#include "common/gaussian_process.hpp"
#include "common/measurement.hpp"

namespace ampere {

/// A kind's fitted models: time always, energy when the meter gives energy. Each is the kind's
/// own GP (the subtractive fit) or its view of the class's joint additive GP. Immutable once built
/// (shared read-only), so snapshots can share it across threads.
struct KindModel {
  std::shared_ptr<const KindFunction> seconds;
  std::shared_ptr<const KindFunction> joules;  ///< null without energy readings
  MeterSource meter = MeterSource::TimeSurrogate;
  std::size_t points = 0;
};

/// "subtractive" (the kind's own GP) or "joint" (its view of the joint additive GP).
const char* kind_model_fit(const KindModel& model);

/// A fitted kind model as JSON (both functions, meter, points) and back; each function is read by
/// its "format" ("ampere-gp/1" or "ampere-joint-kind/1"). Throws InputError on bad JSON.
nlohmann::json kind_model_to_json(const KindModel& model);
KindModel kind_model_from_json(const nlohmann::json& json);

}  // namespace ampere
