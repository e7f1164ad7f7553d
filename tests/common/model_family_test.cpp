// Families from concrete models, and the tied widths that keep a member's structure (docs/model-spec.md, "Tied widths").
#include "common/model_family.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/layer_parser.hpp"
#include "common/layer_shapes.hpp"

using ampere::ModelSpec;
using nlohmann::json;

namespace {
// stem conv → identity residual (bottleneck-like: inner ratio 0.5, depthwise middle) → projection
// residual → grouped conv → classifier.
ModelSpec tied_model() {
  return ampere::parse_model_spec(json::parse(R"({"spec_version": 2, "name": "tied", "input": {"shape": [3, 16, 16]},
    "batch_size": 2, "classes": 5, "layers": [
      {"type": "conv2d", "out_channels": 16, "kernel": 3, "padding": 1},
      {"type": "residual", "layers": [
        {"type": "conv2d", "width_ratio": 2, "kernel": 1}, {"type": "relu6"},
        {"type": "conv2d", "depthwise": true, "kernel": 3, "padding": 1}, {"type": "relu6"},
        {"type": "conv2d", "kernel": 1}]},
      {"type": "residual", "layers": [
        {"type": "conv2d", "kernel": 3, "stride": 2, "padding": 1}, {"type": "batchnorm2d"},
        {"type": "conv2d", "out_channels": 24, "kernel": 3, "padding": 1}]},
      {"type": "conv2d", "out_channels": 12, "kernel": 1, "groups": 4},
      {"type": "global_avgpool"}, {"type": "linear", "out_features": 5}]})"));
}
}  // namespace

TEST_CASE("tied widths: an identity residual keeps its input's width, a depthwise conv its input's, a ratio the block's") {
  const ModelSpec m = tied_model();
  CHECK(ampere::width_follows_input(m.layers[1]));
  CHECK_FALSE(ampere::width_follows_input(m.layers[2]));
  const auto shapes = ampere::infer_shapes(m);
  CHECK(shapes[1].out.dims == std::vector<std::int64_t>{16, 16, 16});
  // inner: 1×1 16→32 (ratio 2, bias), depthwise 3×3 on 32, 1×1 32→16 (the block's = input's width)
  CHECK(shapes[1].parameters == (32 * 16 + 32) + (32 * 9 + 32) + (16 * 32 + 16));
  const auto blocks = ampere::parse_blocks(m);
  CHECK(blocks[1].channels.size() == 1);  // one GP input: the width it follows
  CHECK(blocks[1].kind.str().find("residual(w=in)[conv2d(k=1x1,s=1x1,p=0x0,g=1,bias=1,r=2)") != std::string::npos);
  CHECK(blocks[1].kind.str().find("g=dw") != std::string::npos);
  CHECK(blocks[2].channels.size() == 2);
  CHECK(ampere::to_json(ampere::parse_model_spec(ampere::to_json(m))) == ampere::to_json(m));
  json v1 = ampere::to_json(m);
  v1.erase("spec_version");
  CHECK_THROWS_WITH_AS(ampere::parse_model_spec(v1), doctest::Contains("needs \"spec_version\": 2"), ampere::InputError);
}

TEST_CASE("the ties are checked: a depthwise conv gives no width, a ratio lives inside a residual and not on its last conv") {
  auto refused = [](const char* layers) {
    try {
      ampere::parse_model_spec(json::parse(std::string(R"({"spec_version": 2, "name": "t", "input": {"shape": [3, 8, 8]},
        "batch_size": 1, "classes": 2, "layers": )") + layers + "}"));
    } catch (const ampere::InputError& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  CHECK(doctest::String(refused(R"([{"type": "conv2d", "depthwise": true, "out_channels": 3, "kernel": 3}, {"type": "flatten"}, {"type": "linear", "out_features": 2}])").c_str()) ==
        doctest::Contains("layers[0].depthwise: a depthwise conv2d's groups and out_channels are its input's channels; omit both"));
  CHECK(doctest::String(refused(R"([{"type": "conv2d", "width_ratio": 2, "kernel": 3}, {"type": "flatten"}, {"type": "linear", "out_features": 2}])").c_str()) ==
        doctest::Contains("layers[0].width_ratio: only a conv2d inside a residual"));
  CHECK(doctest::String(refused(R"([{"type": "conv2d", "out_channels": 4, "kernel": 1}, {"type": "residual", "layers": [{"type": "conv2d", "width_ratio": 2, "kernel": 1}]}, {"type": "flatten"}, {"type": "linear", "out_features": 2}])").c_str()) ==
        doctest::Contains("layers[1].layers[0].width_ratio: the last conv2d of a residual sets the block's width"));
}

TEST_CASE("a family from a model: free widths range from ceil(f*C) to C, tied ones follow, the classifier stays") {
  const ModelSpec family = ampere::free_widths_family(tied_model(), 0.25);
  CHECK(family.is_family());
  CHECK(family.name == "tied-family");
  CHECK(family.layers[0].width.min == 4);  // ceil(0.25 · 16)
  CHECK(family.layers[0].width.max == 16);
  CHECK(ampere::width_follows_input(family.layers[1]));  // identity: no range of its own
  CHECK(family.layers[2].inner.back().width.min == 8);  // ceil(0.25 · 24) = 6, a multiple of 4 for the grouped conv
  CHECK(family.layers[2].inner.back().width.multiple_of == 4);
  CHECK(family.layers[3].width.min == 4);
  CHECK(family.layers[5].width.is_fixed());  // the classifier
  CHECK(ampere::free_width_count(family) == 3);
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const ModelSpec member = ampere::sample_model(family, seed);
    const auto shapes = ampere::infer_shapes(member);
    CHECK(shapes[1].in == shapes[1].out);  // the identity residual stays identity
    CHECK(ampere::model_cost(member).parameters <= ampere::model_cost(tied_model()).parameters);
  }
  CHECK_FALSE(ampere::derive_profile_kinds(family).empty());
  CHECK_THROWS_WITH_AS(ampere::free_widths_family(tied_model(), 0), doctest::Contains("--min-fraction must be in (0, 1]"),
                       ampere::InputError);
  CHECK_THROWS_WITH_AS(ampere::free_widths_family(family, 0.5), doctest::Contains("already a family"), ampere::InputError);
}
