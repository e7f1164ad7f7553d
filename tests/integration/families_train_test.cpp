// Every shipped family builds and trains with LibTorch (ampere-agent measure, 2 iterations).
#include <algorithm>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "common/model_spec.hpp"
#include "integration/process.hpp"

using ampere::testing::run_binary;
using ampere::testing::TempDir;

TEST_CASE("every shipped family trains for 2 iterations with LibTorch") {
  TempDir dir;
  for (const std::string name : {"lenet5", "cnn5", "har", "lstm", "transformer", "resnet"}) {
    CAPTURE(name);
    const auto family = ampere::load_model_spec(std::string(AMPERE_MODELS_DIR) + "/" + name + ".json");
    const std::string model = dir.file(name + ".json", ampere::to_json(ampere::sample_model(family, 5)).dump());
    const auto result = run_binary("ampere-agent", {"--threads", "1", "--meter", "time-surrogate", "measure", "--model", model,
                                                    "--iterations", "2", "--repeats", "1", "--warmup", "0"});
    REQUIRE_MESSAGE(result.exit_code == 0, result.err);
    const auto out = nlohmann::json::parse(result.out);
    CHECK(out.at("meter") == "time-surrogate");
    CHECK(out.at("repeats") == 1);
    CHECK(out.at("iterations_per_repeat") == 2);
    CHECK(out.at("seconds_per_iteration").at("value").get<double>() > 0);
    CHECK(out.at("joules_per_iteration").at("value").get<double>() > 0);
  }
}

TEST_CASE("the agent refuses a meter it cannot read, saying why") {
  const auto rapl = run_binary("ampere-agent", {"--meter", "rapl", "measure", "--model",
                                                std::string(AMPERE_MODELS_DIR) + "/cnn5.json"});
  if (rapl.exit_code != 0) {  // no readable RAPL here (the usual VM case)
    CHECK(rapl.exit_code == 2);
    CHECK(rapl.err.find("meter rapl:") != std::string::npos);
  }
  const auto simulated = run_binary("ampere-agent", {"--meter", "simulated", "measure", "--model",
                                                     std::string(AMPERE_MODELS_DIR) + "/cnn5.json"});
  CHECK(simulated.exit_code == 2);
  CHECK(simulated.err.find("--backend simulated") != std::string::npos);
  const auto family = run_binary("ampere-agent", {"--backend", "simulated", "--profile", "tx2", "measure", "--model",
                                                  std::string(AMPERE_MODELS_DIR) + "/cnn5.json"});
  CHECK(family.exit_code == 2);
  CHECK(family.err.find("concrete models, not families") != std::string::npos);
}

TEST_CASE("measure --processes K reports the median over K fresh processes") {
  ampere::testing::TempDir dir;
  const std::string file =
      dir.file("m.json", ampere::to_json(ampere::sample_model(ampere::load_model_spec(std::string(AMPERE_MODELS_DIR) + "/cnn5.json"), 3)).dump());
  const auto result = run_binary("ampere-agent", {"--backend", "simulated", "--profile", "tx2", "measure", "--model", file,
                                                  "--repeats", "3", "--processes", "3"});
  REQUIRE(result.exit_code == 0);
  const auto json = nlohmann::json::parse(result.out);
  CHECK(json.at("processes") == 3);
  const auto& seconds = json.at("seconds_per_iteration");
  const auto values = seconds.at("per_process").get<std::vector<double>>();
  REQUIRE(values.size() == 3);
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  CHECK(seconds.at("value").get<double>() == sorted[1]);
  CHECK(seconds.at("processes").size() == 3);
  CHECK(json.at("joules_per_iteration").at("per_process").size() == 3);
  CHECK(json.at("meter") == "simulated");
  const auto refused = run_binary("ampere-agent", {"--backend", "simulated", "--profile", "tx2", "measure", "--model", file,
                                                   "--processes", "0"});
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("--processes") != std::string::npos);
}

TEST_CASE("measure --reference reports the reference reading beside the model, per process and as a ratio") {
  ampere::testing::TempDir dir;
  const std::string file =
      dir.file("m.json", ampere::to_json(ampere::sample_model(ampere::load_model_spec(std::string(AMPERE_MODELS_DIR) + "/cnn5.json"), 3)).dump());
  const auto one = run_binary("ampere-agent", {"--backend", "simulated", "--profile", "tx2", "measure", "--model", file,
                                               "--repeats", "3", "--reference"});
  REQUIRE(one.exit_code == 0);
  const auto single = nlohmann::json::parse(one.out);
  const double reading = single.at("reference").at("seconds_per_iteration").get<double>();
  CHECK(reading > 0);
  // the reference network is smaller than a cnn5 model: a reading is not the model's figure
  CHECK(reading < single.at("seconds_per_iteration").at("value").get<double>());
  CHECK(single.at("seconds_over_reference").get<double>() ==
        doctest::Approx(single.at("seconds_per_iteration").at("value").get<double>() / reading));

  const auto three = run_binary("ampere-agent", {"--backend", "simulated", "--profile", "tx2", "measure", "--model", file,
                                                 "--repeats", "3", "--reference", "--processes", "3"});
  REQUIRE(three.exit_code == 0);
  const auto json = nlohmann::json::parse(three.out);
  const auto ratios = json.at("seconds_over_reference_per_process").get<std::vector<double>>();
  REQUIRE(ratios.size() == 3);
  std::vector<double> sorted = ratios;
  std::sort(sorted.begin(), sorted.end());
  CHECK(json.at("seconds_over_reference").get<double>() == sorted[1]);
  CHECK(json.at("seconds_over_reference_spread").get<double>() == doctest::Approx((sorted[2] - sorted[0]) / sorted[1]));
  CHECK(json.at("reference").at("per_process").size() == 3);

  const auto plain = run_binary("ampere-agent", {"--backend", "simulated", "--profile", "tx2", "measure", "--model", file,
                                                 "--repeats", "3"});
  REQUIRE(plain.exit_code == 0);
  CHECK_FALSE(nlohmann::json::parse(plain.out).contains("reference"));  // only when asked
}
