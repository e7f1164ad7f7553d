// `ampere model ...` as an operator runs it.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "integration/process.hpp"

using ampere::testing::run_binary;
using ampere::testing::TempDir;

TEST_CASE("ampere model kinds prints cnn5's plan and model sample is reproducible") {
  const std::string cnn5 = std::string(AMPERE_MODELS_DIR) + "/cnn5.json";
  auto kinds = run_binary("ampere", {"model", "kinds", "--family", cnn5});
  REQUIRE(kinds.exit_code == 0);
  CHECK(kinds.out.find("cnn5: 9 kinds to profile") != std::string::npos);

  auto a = run_binary("ampere", {"model", "sample", "--family", cnn5, "--seed", "11"});
  auto b = run_binary("ampere", {"model", "sample", "--family", cnn5, "--seed", "11"});
  REQUIRE(a.exit_code == 0);
  CHECK(a.out == b.out);
  TempDir dir;
  const std::string model = dir.file("m.json", a.out);
  auto show = run_binary("ampere", {"model", "show", "--model", model});
  REQUIRE(show.exit_code == 0);
  CHECK(show.out.find("training") != std::string::npos);
}

TEST_CASE("ampere model show refuses a bad spec with its JSON path and exit code 2") {
  TempDir dir;
  const std::string spec = dir.file("bad.json", R"({"name": "x", "input": {"shape": [1, 8, 8]}, "batch_size": 2,
    "classes": 2, "layers": [{"type": "conv2d", "out_channels": 4, "kernel": -1},
    {"type": "flatten"}, {"type": "linear", "out_features": 2}]})");
  auto result = run_binary("ampere", {"model", "show", "--model", spec});
  CHECK(result.exit_code == 2);
  CHECK(result.out.empty());
  CHECK(result.err.find("layers[0].kernel: must be a positive integer, got -1") != std::string::npos);
  const std::string garbage = dir.file("garbage.json", "{not json");
  result = run_binary("ampere", {"model", "show", "--model", garbage});
  CHECK(result.exit_code == 2);
  CHECK(result.err.find("garbage.json: not valid JSON") != std::string::npos);
}

TEST_CASE("ampere campaign start refuses a budget outside 1..10000 before it asks the coordinator") {
  const std::string family = std::string(AMPERE_MODELS_DIR) + "/cnn5.json";
  for (const std::string budget : {"0", "-1", "10001", "4294967295"}) {
    CAPTURE(budget);
    // no coordinator listens at this endpoint: the refusal comes from the CLI itself
    const auto result = run_binary("ampere", {"--coordinator", "tcp://127.0.0.1:1", "campaign", "start", "--family", family,
                                              "--device-class", "sim-tx2", "--budget", budget});
    CHECK(result.exit_code != 0);
    CHECK(result.err.find("--budget") != std::string::npos);
  }
}
