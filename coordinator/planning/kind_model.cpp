#include "coordinator/planning/kind_model.hpp"

#include "common/error.hpp"

namespace ampere {

nlohmann::json kind_model_to_json(const KindModel& model) {
  return {{"seconds", model.seconds->to_json()},
          {"joules", model.joules ? model.joules->to_json() : nlohmann::json(nullptr)},
          {"meter", meter_label(model.meter)},
          {"points", model.points}};
}

KindModel kind_model_from_json(const nlohmann::json& json) {
  KindModel model;
  try {
    model.seconds = std::make_shared<GaussianProcess>(GaussianProcess::from_json(json.at("seconds")));
    if (!json.at("joules").is_null())
      model.joules = std::make_shared<GaussianProcess>(GaussianProcess::from_json(json.at("joules")));
    model.meter = parse_meter_label(json.at("meter").get<std::string>());
    model.points = json.at("points").get<std::size_t>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("saved kind model: ") + e.what());
  }
  return model;
}

}  // namespace ampere
