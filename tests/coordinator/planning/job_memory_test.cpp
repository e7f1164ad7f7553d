#include "coordinator/planning/job_memory.hpp"

#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/model_spec.hpp"

using namespace ampere;

namespace {
ModelSpec family(const std::string& name) { return load_model_spec(std::string(AMPERE_MODELS_DIR) + "/" + name + ".json"); }
}  // namespace

TEST_CASE("a family whose largest variant network cannot be trained within the job memory limit is refused by name") {
  nlohmann::json huge = to_json(family("lenet5"));
  bool widened = false;
  for (auto& layer : huge["layers"])
    if (!widened && layer.contains("out_channels") && layer["out_channels"].is_object()) {
      layer["out_channels"]["max"] = 65536;  // the most a spec may hold
      widened = true;
    }
  REQUIRE(widened);
  const ModelSpec big = parse_model_spec(huge);
  try {
    require_jobs_fit(derive_profile_kinds(big), big.name, 8e9);
    FAIL("a 65536-channel family was accepted");
  } catch (const InputError& e) {
    const std::string message = e.what();
    CHECK(message.find("bytes) to train, over the job memory limit of 8000 MB") != std::string::npos);
    CHECK(message.find("at channels [") != std::string::npos);
    CHECK(message.find("65536") != std::string::npos);
    CHECK(message.find("its largest layer: layers[") != std::string::npos);
  }
  // the family as shipped fits easily
  CHECK_NOTHROW(require_jobs_fit(derive_profile_kinds(family("lenet5")), "lenet5", 1e9));
  CHECK_NOTHROW(require_jobs_fit(derive_profile_kinds(family("resnet")), "resnet", 1e9));
}
