#include "common/model_spec.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/layer_parser.hpp"
#include "common/layer_shapes.hpp"

using ampere::InputError;
using ampere::ModelSpec;
using nlohmann::json;

namespace {

std::string models_dir() { return AMPERE_MODELS_DIR; }

json small_cnn() {
  return json::parse(R"({
    "name": "cnn", "input": {"shape": [1, 28, 28]}, "batch_size": 10, "classes": 10,
    "layers": [
      {"type": "conv2d", "out_channels": 16, "kernel": 3, "stride": 1, "padding": 1},
      {"type": "relu"},
      {"type": "maxpool2d", "kernel": 2},
      {"type": "conv2d", "out_channels": {"min": 1, "max": 64}, "kernel": 3, "padding": 1},
      {"type": "relu"},
      {"type": "flatten"},
      {"type": "linear", "out_features": 10}
    ]})");
}

/// The message the spec raises, or "" when it parses.
std::string error_of(const json& spec) {
  try {
    ampere::parse_model_spec(spec);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("every shipped model family parses and is a family") {
  for (const std::string name : {"lenet5", "cnn5", "har", "lstm", "transformer", "resnet"}) {
    CAPTURE(name);
    const ModelSpec spec = ampere::load_model_spec(models_dir() + "/" + name + ".json");
    CHECK(spec.name == name);
    CHECK(spec.is_family());
  }
}

TEST_CASE("defaults are filled in and survive a JSON round trip") {
  const ModelSpec spec = ampere::parse_model_spec(small_cnn());
  CHECK(spec.dtype == "float32");
  CHECK(spec.layers[2].stride == std::array<std::int64_t, 2>{2, 2});  // pool stride = kernel
  CHECK(spec.layers[0].groups == 1);
  CHECK(spec.layers[0].bias);
  CHECK(spec.layers[3].width.min == 1);
  CHECK(spec.layers[3].width.max == 64);
  const json written = ampere::to_json(spec);
  CHECK(ampere::to_json(ampere::parse_model_spec(written)) == written);
}

TEST_CASE("sampling a family is reproducible and stays within the ranges") {
  const ModelSpec family = ampere::load_model_spec(models_dir() + "/transformer.json");
  const ModelSpec a = ampere::sample_model(family, 7);
  const ModelSpec b = ampere::sample_model(family, 7);
  CHECK(ampere::to_json(a) == ampere::to_json(b));
  CHECK_FALSE(a.is_family());
  bool differs = false;
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    const ModelSpec m = ampere::sample_model(family, seed);
    const auto dim = m.layers[0].width.min;
    CHECK(dim >= 8);
    CHECK(dim <= 128);
    CHECK(dim % 4 == 0);  // multiple_of keeps nhead = 4 dividing d_model
    differs = differs || dim != a.layers[0].width.min;
  }
  CHECK(differs);
}

TEST_CASE("sampling draws every layer of a residual family consistently") {
  const ModelSpec family = ampere::load_model_spec(models_dir() + "/resnet.json");
  const ModelSpec model = ampere::sample_model(family, 3);
  const auto& block = model.layers[3];
  REQUIRE(block.type == ampere::LayerType::Residual);
  CHECK(block.width.is_fixed());
  CHECK(block.width == block.inner[3].width);
}

TEST_CASE("bad specs are refused with the JSON path and the problem") {
  json spec = small_cnn();
  spec["layers"][3]["kernel"] = -1;
  CHECK(error_of(spec) == "layers[3].kernel: must be a positive integer, got -1");

  spec = small_cnn();
  spec["layers"].erase(5);  // the flatten
  CHECK(error_of(spec) == "layers[5]: linear after relu needs a flatten first");

  spec = small_cnn();
  spec["layers"][6]["out_features"] = 12;
  CHECK(error_of(spec) == "layers[6].out_features: the last parametric layer's width must equal classes (10), got 12");

  spec = small_cnn();
  spec["layers"][3]["out_channels"] = json{{"min", 9}, {"max", 3}};
  CHECK(error_of(spec) == "layers[3].out_channels: min (9) exceeds max (3)");

  spec = small_cnn();
  spec["layers"][0]["kernal"] = 3;
  CHECK(error_of(spec).rfind("layers[0].kernal: unknown field", 0) == 0);

  spec = small_cnn();
  spec["layers"][1]["type"] = "conv3d";
  CHECK(error_of(spec).rfind("layers[1].type: unknown layer type 'conv3d'", 0) == 0);

  spec = small_cnn();
  spec.erase("batch_size");
  CHECK(error_of(spec) == "batch_size: missing");

  spec = small_cnn();
  spec["input"]["shape"] = json::array({1, 2, 3, 4});
  CHECK(error_of(spec).rfind("input.shape: must be", 0) == 0);

  spec = small_cnn();
  spec["layers"][0]["kernel"] = 40;
  CHECK(error_of(spec) == "layers[0]: conv2d kernel 40x40 does not fit its input image 1x28x28");

  spec = small_cnn();
  spec["dtype"] = "int8";
  CHECK(error_of(spec).rfind("dtype: must be one of", 0) == 0);

  CHECK(error_of(json::array()).rfind("(root): a model spec must be a JSON object", 0) == 0);
}

TEST_CASE("shape errors name the layer: sequence models need last_step, lstm needs a sequence") {
  json spec = json::parse(R"({"name": "l", "input": {"shape": [28, 28]}, "batch_size": 4, "classes": 10,
    "layers": [{"type": "lstm", "hidden_size": 8}, {"type": "linear", "out_features": 10}]})");
  CHECK(error_of(spec) == "layers: the model must end in flat [10] (classes), got sequence 28x10: add last_step before the classifier");
  spec["input"]["shape"] = json::array({1, 28, 28});
  CHECK(error_of(spec) == "layers[0]: lstm needs a sequence input [T, F], got image 1x28x28 after the input");
}

TEST_CASE("a transformer's d_model must match its input and be divisible by nhead") {
  json spec = json::parse(R"({"name": "t", "input": {"shape": [16]}, "batch_size": 2, "classes": 2,
    "layers": [{"type": "embedding", "dim": 30, "vocab": 100},
               {"type": "transformer_encoder", "nhead": 4, "dim_feedforward": 64},
               {"type": "last_step"}, {"type": "linear", "out_features": 2}]})");
  CHECK(error_of(spec) == "layers[1].nhead: 4 must divide d_model (30)");
  spec["layers"][0]["dim"] = 32;
  spec["layers"][1]["d_model"] = 64;
  CHECK(error_of(spec) == "layers[1].d_model: must equal its input features (32), got 64");
}

TEST_CASE("a file that is not JSON is refused with its name") {
  const std::string file = std::string(AMPERE_TEST_DATA_DIR) + "/gp/1d_clean_5.train.csv";
  try {
    ampere::load_model_spec(file);
    FAIL("expected an error");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("1d_clean_5.train.csv: not valid JSON") != std::string::npos);
  }
  CHECK_THROWS_AS(ampere::load_model_spec("/nonexistent/model.json"), InputError);
}

TEST_CASE("spec_version 2 adds relu6, hardsigmoid and hardswish, and version 1 stays as it was") {
  json j = small_cnn();
  j["layers"].insert(j["layers"].begin() + 1, json{{"type", "hardswish"}});
  CHECK_THROWS_WITH_AS(ampere::parse_model_spec(j), doctest::Contains("layers[1].type: hardswish needs \"spec_version\": 2"),
                       InputError);
  j["spec_version"] = 2;
  j["layers"].push_back(json{{"type", "relu6"}});
  j["layers"].push_back(json{{"type", "hardsigmoid"}});
  const ModelSpec m = ampere::parse_model_spec(j);
  CHECK(m.spec_version == 2);
  CHECK(m.layers[1].type == ampere::LayerType::HardSwish);
  const json back = ampere::to_json(m);
  CHECK(back.at("spec_version") == 2);
  CHECK(ampere::to_json(ampere::parse_model_spec(back)) == back);  // the round trip keeps the version
  CHECK_FALSE(ampere::to_json(ampere::parse_model_spec(small_cnn())).contains("spec_version"));  // v1 JSON unchanged
  // global_avgpool: image [C, H, W] to flat [C], one FLOP per input element
  json pooled = json::parse(R"({"spec_version": 2, "name": "gap", "input": {"shape": [3, 8, 8]}, "batch_size": 2, "classes": 4,
    "layers": [{"type": "conv2d", "out_channels": 6, "kernel": 3, "padding": 1}, {"type": "global_avgpool"},
               {"type": "linear", "out_features": 4}]})");
  const auto shapes = ampere::infer_shapes(ampere::parse_model_spec(pooled));
  CHECK(shapes[1].out.form == ampere::TensorForm::Flat);
  CHECK(shapes[1].out.dims == std::vector<std::int64_t>{6});
  CHECK(shapes[1].forward_flops == doctest::Approx(6 * 8 * 8));
  pooled["layers"][1]["type"] = "global_avgpool";
  pooled["layers"].insert(pooled["layers"].begin() + 2, json{{"type", "global_avgpool"}});
  CHECK_THROWS_WITH_AS(ampere::parse_model_spec(pooled), doctest::Contains("an image input"), InputError);  // a flat input
  j["spec_version"] = 3;
  CHECK_THROWS_WITH_AS(ampere::parse_model_spec(j), doctest::Contains("spec_version: this build reads versions 1 and 2, got 3"),
                       InputError);
}

TEST_CASE("a dilated conv2d is a version 2 field: its span, parameters and kind key, and v1 keys unchanged") {
  json j = json::parse(R"({"name": "dilated", "input": {"shape": [2, 9, 9]}, "batch_size": 2, "classes": 3,
    "layers": [{"type": "conv2d", "out_channels": 4, "kernel": 3, "dilation": 2, "bias": false},
               {"type": "flatten"}, {"type": "linear", "out_features": 3}]})");
  CHECK_THROWS_WITH_AS(ampere::parse_model_spec(j), doctest::Contains("layers[0].dilation: a dilated conv2d needs \"spec_version\": 2"),
                       InputError);
  j["spec_version"] = 2;
  const ModelSpec m = ampere::parse_model_spec(j);
  CHECK(m.layers[0].dilation == std::array<std::int64_t, 2>{2, 2});
  const auto shapes = ampere::infer_shapes(m);
  CHECK(shapes[0].out.dims == std::vector<std::int64_t>{4, 5, 5});  // 9 − 2·(3 − 1)
  CHECK(shapes[0].parameters == 4 * 2 * 9);                          // a dilated kernel has the kernel's weights
  CHECK(ampere::to_json(ampere::parse_model_spec(ampere::to_json(m))) == ampere::to_json(m));
  CHECK(ampere::parse_blocks(m)[0].kind.str().find(",d=2x2,") != std::string::npos);
  j["layers"][0]["dilation"] = 1;
  CHECK(ampere::parse_blocks(ampere::parse_model_spec(j))[0].kind.str().find(",d=") == std::string::npos);
  CHECK_FALSE(ampere::to_json(ampere::parse_model_spec(j)).at("layers")[0].contains("dilation"));
  j["layers"][0]["dilation"] = 0;
  CHECK_THROWS_AS(ampere::parse_model_spec(j), InputError);
}
