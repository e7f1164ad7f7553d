#include "common/layer_shapes.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"

using ampere::LayerShape;
using ampere::ModelSpec;
using nlohmann::json;

namespace {

ModelSpec concrete(const std::string& family, const std::vector<std::int64_t>& widths) {
  json spec = ampere::to_json(ampere::load_model_spec(std::string(AMPERE_MODELS_DIR) + "/" + family + ".json"));
  std::size_t next = 0;
  for (auto& layer : spec["layers"])
    for (const char* field : {"out_channels", "out_features", "hidden_size", "dim"})
      if (layer.contains(field) && layer[field].is_object()) layer[field] = widths.at(next++);
  REQUIRE(next == widths.size());
  return ampere::parse_model_spec(spec);
}

ModelSpec one_layer(const std::string& input_shape, const std::string& layers, int classes) {
  return ampere::parse_model_spec(json::parse(R"({"name": "t", "input": {"shape": )" + input_shape +
                                              R"(}, "batch_size": 2, "classes": )" + std::to_string(classes) +
                                              R"(, "layers": )" + layers + "}"));
}

}  // namespace

TEST_CASE("LeNet5 shapes, FLOPs and parameters match a hand computation") {
  // Hand computation (per sample; multiply-add = 2 FLOPs; conv: 2·Cin·k²·Cout·Ho·Wo + bias):
  //   conv1 1→6 k5 p2 → 6×28×28: 2·25·4704 + 4704 = 239904 FLOPs, 6·25 + 6 = 156 params
  //   relu 4704, maxpool 2 → 6×14×14: 1176·4 = 4704
  //   conv2 6→16 k5 → 16×10×10: 2·150·1600 + 1600 = 481600, 16·150 + 16 = 2416 params
  //   relu 1600, maxpool → 16×5×5: 400·4 = 1600, flatten → 400
  //   fc 400→120: 96120 (48120 params), relu 120, fc 120→84: 20244 (10164), relu 84,
  //   fc 84→10: 1690 (850)
  const ModelSpec lenet = concrete("lenet5", {6, 16, 120, 84});
  const std::vector<LayerShape> s = ampere::infer_shapes(lenet);
  REQUIRE(s.size() == 12);
  const std::vector<double> flops = {239904, 4704, 4704, 481600, 1600, 1600, 0, 96120, 120, 20244, 84, 1690};
  const std::vector<std::int64_t> params = {156, 0, 0, 2416, 0, 0, 0, 48120, 0, 10164, 0, 850};
  for (std::size_t i = 0; i < s.size(); ++i) {
    CAPTURE(i);
    CHECK(s[i].forward_flops == flops[i]);
    CHECK(s[i].parameters == params[i]);
  }
  CHECK(s[2].out.str() == "image 6x14x14");
  CHECK(s[5].out.str() == "image 16x5x5");
  CHECK(s[6].out.str() == "flat 400");
  const ampere::ModelCost cost = ampere::model_cost(lenet);
  CHECK(cost.parameters == 61706);  // the classic LeNet-5 count
  CHECK(cost.forward_flops_per_sample == 852370);
  CHECK(cost.training_flops_per_iteration == 3.0 * 10 * 852370);
}

TEST_CASE("the 5-layer CNN's FLOPs match a hand computation") {
  // (8, 16, 32, 64) on 1×28×28, all 3×3 padding 1:
  //   conv 1→8 → 8×28×28: 2·9·6272 + 6272 = 119168 (80 params); relu 6272; pool → 8×14×14: 6272
  //   conv 8→16 → 16×14×14: 2·72·3136 + 3136 = 454720 (1168); relu 3136; pool → 16×7×7: 3136
  //   conv 16→32 → 32×7×7: 2·144·1568 + 1568 = 453152 (4640); relu 1568; flatten → 1568
  //   fc 1568→64: 200768 (100416); relu 64; fc 64→10: 1290 (650)
  const ampere::ModelCost cost = ampere::model_cost(concrete("cnn5", {8, 16, 32, 64}));
  CHECK(cost.forward_flops_per_sample == 1249546);
  CHECK(cost.parameters == 106954);
}

TEST_CASE("lstm FLOPs and parameters follow the documented convention") {
  // T=5, F=3, H=4, 2 layers. Per step and layer: 8H(In+H) + 8H + 4H + 5H.
  //   layer 1: 8·4·7 + 32 + 16 + 20 = 292; layer 2: 8·4·8 + 68 = 324 → 5·(292+324) = 3080
  //   params: 4H(In+H) + 8H: 4·4·7 + 32 = 144; 4·4·8 + 32 = 160 → 304
  const auto s = ampere::infer_shapes(one_layer("[5, 3]", R"([{"type": "lstm", "hidden_size": 4, "num_layers": 2},
      {"type": "last_step"}, {"type": "linear", "out_features": 2}])", 2));
  CHECK(s[0].forward_flops == 3080);
  CHECK(s[0].parameters == 304);
  CHECK(s[0].out.str() == "sequence 5x4");
  CHECK(s[1].out.str() == "flat 4");
}

TEST_CASE("transformer_encoder FLOPs and parameters match torch's layer structure") {
  // T=4, d=8, ff=16, h=2:
  //   qkv T(6d²+3d) = 4·408 = 1632; scores 2T²d = 256; scale+softmax 4hT² = 128; ·V 256;
  //   out proj T(2d²+d) = 4·136 = 544; ff1 T(2d·ff+ff) = 4·272 = 1088; relu T·ff = 64;
  //   ff2 T(2·ff·d+d) = 4·264 = 1056; adds 2Td = 64; norms 10Td = 320 → 5408
  //   params 4d² + 2d·ff + 9d + ff = 256 + 256 + 72 + 16 = 600 (torch: 3d²+3d + d²+d + d·ff+ff + ff·d+d + 4d)
  const auto s = ampere::infer_shapes(one_layer("[4]", R"([{"type": "embedding", "dim": 8, "vocab": 50},
      {"type": "transformer_encoder", "nhead": 2, "dim_feedforward": 16},
      {"type": "last_step"}, {"type": "linear", "out_features": 2}])", 2));
  CHECK(s[0].out.str() == "sequence 4x8");
  CHECK(s[0].parameters == 400);
  CHECK(s[0].forward_flops == 0);
  CHECK(s[1].forward_flops == 5408);
  CHECK(s[1].parameters == 600);
}

TEST_CASE("a residual with a stride adds a projection, without a change it does not") {
  // in 4×8×8; inner conv 3×3 s2 p1 no bias (width 6) → 6×4×4: 2·36·96 = 6912, 216 params;
  // batchnorm 2·96 = 192 (12 params); relu 96; conv 3×3 p1 6→6 → 2·54·96 = 10368 (324);
  // projection 1×1 s2: 2·4·96 + 2·96 = 960 (24 + 12 params); add 96.
  const auto s = ampere::infer_shapes(one_layer("[4, 8, 8]", R"([{"type": "residual", "layers": [
      {"type": "conv2d", "kernel": 3, "stride": 2, "padding": 1, "bias": false},
      {"type": "batchnorm2d"}, {"type": "relu"},
      {"type": "conv2d", "out_channels": 6, "kernel": 3, "padding": 1, "bias": false}]},
      {"type": "adaptive_avgpool2d", "output": 1}, {"type": "flatten"}, {"type": "linear", "out_features": 3}])", 3));
  CHECK(s[0].out.str() == "image 6x4x4");
  CHECK(s[0].forward_flops == 6912 + 192 + 96 + 10368 + 960 + 96);
  CHECK(s[0].parameters == 216 + 12 + 324 + 36);
  CHECK(s[1].forward_flops == 96);  // adaptive pool reads every input element once
  CHECK(s[1].out.str() == "image 6x1x1");

  const auto same = ampere::infer_shapes(one_layer("[4, 8, 8]", R"([{"type": "residual", "layers": [
      {"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1, "bias": false}]},
      {"type": "flatten"}, {"type": "linear", "out_features": 3}])", 3));
  // 2·36·256 = 18432 + add 256, no projection
  CHECK(same[0].forward_flops == 18432 + 256);
  CHECK(same[0].parameters == 144);
}

TEST_CASE("pooling, normalization and point-wise layers") {
  const auto s = ampere::infer_shapes(one_layer("[2, 6, 6]", R"([{"type": "conv2d", "out_channels": 2, "kernel": 1},
      {"type": "batchnorm2d"}, {"type": "gelu"}, {"type": "avgpool2d", "kernel": 3},
      {"type": "dropout", "p": 0.1}, {"type": "flatten"}, {"type": "layernorm"}, {"type": "tanh"},
      {"type": "linear", "out_features": 2}, {"type": "sigmoid"}])", 2));
  CHECK(s[1].forward_flops == 2 * 72);  // batchnorm 2 per element
  CHECK(s[1].parameters == 4);
  CHECK(s[2].forward_flops == 72);
  CHECK(s[3].out.str() == "image 2x2x2");
  CHECK(s[3].forward_flops == 8 * 9);
  CHECK(s[4].forward_flops == 8);
  CHECK(s[6].forward_flops == 5 * 8);
  CHECK(s[6].parameters == 16);
  CHECK(s[9].out.str() == "flat 2");
}

TEST_CASE("training memory counts weights, gradients, the input batch and the kept activations") {
  const ModelSpec m = ampere::parse_model_spec(json::parse(R"({"name": "t", "batch_size": 2, "classes": 10,
      "input": {"shape": [3, 8, 8]}, "layers": [
        {"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1, "bias": false},
        {"type": "relu"}, {"type": "flatten"}, {"type": "linear", "out_features": 10, "bias": true}]})"));
  const ampere::TrainingMemory memory = ampere::training_memory(m);
  // input 2·3·8·8·4; conv 8·108 + 8·2·256; relu and flatten 8·2·256 each; linear 8·2570 + 8·2·10
  CHECK(memory.bytes == doctest::Approx(1536 + 4960 + 4096 + 4096 + 20720));
  CHECK(memory.largest_layer == 3);
  CHECK(memory.largest_layer_bytes == doctest::Approx(20720));
  // a family has no single memory figure
  CHECK_THROWS_AS(ampere::training_memory(ampere::load_model_spec(std::string(AMPERE_MODELS_DIR) + "/cnn5.json")),
                  ampere::InputError);
}

TEST_CASE("a layer made in code with a window the spec forbids (stride 0, found by fuzz_onnx) is refused, never divided by") {
  ModelSpec m = one_layer("[1, 8, 8]", R"([{"type": "conv2d", "out_channels": 2, "kernel": 3}, {"type": "flatten"},
                                           {"type": "linear", "out_features": 2}])", 2);
  m.layers[0].stride = {0, 1};
  CHECK_THROWS_WITH_AS(ampere::infer_shapes(m), doctest::Contains(".stride: 0x1 is outside 1..1024"), ampere::InputError);
  m.layers[0].stride = {1, 1};
  m.layers[0].dilation = {1, std::int64_t{1} << 62};  // would overflow the kernel's span
  CHECK_THROWS_WITH_AS(ampere::infer_shapes(m), doctest::Contains(".dilation"), ampere::InputError);
}
