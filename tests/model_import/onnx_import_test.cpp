// ONNX import on small graphs built here, one rule or refusal each (docs/byom.md §2). The
// torchvision architectures are checked in tests/integration/torchvision_import_test.cpp.
#include <doctest/doctest.h>

#include <tuple>

#include "common/error.hpp"
#include "common/layer_shapes.hpp"
#include "model_import/model_file.hpp"
#include "model_import/onnx_import.hpp"
#include "model_import/onnx_builder.hpp"
#include "model_import/onnx_samples.hpp"

using ampere::InputError;
using ampere::LayerType;
using ampere::ModelSpec;
using ampere::testing::OnnxBuilder;

namespace {
std::vector<LayerType> types(const std::vector<ampere::LayerSpec>& layers) {
  std::vector<LayerType> out;
  for (const auto& l : layers) out.push_back(l.type);
  return out;
}
std::string refusal(const std::string& bytes, const ampere::OnnxImportOptions& options = {}) {
  try {
    ampere::import_onnx_bytes(bytes, "t.onnx", options);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(accepted)";
}
}  // namespace

TEST_CASE("a conv net imports with its layers, shapes, parameters and the spec version it needs") {
  const ModelSpec m = ampere::import_onnx_bytes(ampere::testing::onnx_conv_net(), "t.onnx", {});
  CHECK(m.batch_size == 4);
  CHECK(m.classes == 5);
  CHECK(m.input_shape == std::vector<std::int64_t>{3, 16, 16});
  CHECK(m.spec_version == 2);
  CHECK(types(m.layers) == std::vector<LayerType>{LayerType::Conv2d, LayerType::BatchNorm2d, LayerType::Relu6,
                                                  LayerType::MaxPool2d, LayerType::Conv2d, LayerType::HardSwish,
                                                  LayerType::GlobalAvgPool, LayerType::Linear});
  CHECK(m.layers[0].padding == std::array<std::int64_t, 2>{1, 1});
  CHECK_FALSE(m.layers[0].bias);
  CHECK(m.layers[4].depthwise);  // groups = in = out: written tied, so a family keeps it depthwise
  CHECK(ampere::width_follows_input(m.layers[4]));
  CHECK(m.layers[3].stride == std::array<std::int64_t, 2>{2, 2});
  // 8·3·9 + 2·8 + 8·1·9 + 8·5 + 5
  CHECK(ampere::model_cost(m).parameters == 216 + 16 + 72 + 45);
}

TEST_CASE("an Add of two branches becomes a residual: identity shortcut, and a 1x1 projection with stride") {
  const ModelSpec m = ampere::import_onnx_bytes(ampere::testing::onnx_residual_net(), "t.onnx", {});
  CHECK(types(m.layers) == std::vector<LayerType>{LayerType::Conv2d, LayerType::Relu, LayerType::Residual, LayerType::Relu,
                                                  LayerType::Residual, LayerType::Relu, LayerType::GlobalAvgPool,
                                                  LayerType::Linear});
  CHECK(types(m.layers[2].inner) == std::vector<LayerType>{LayerType::Conv2d, LayerType::BatchNorm2d});
  CHECK(m.layers[4].inner[0].stride == std::array<std::int64_t, 2>{2, 2});
  CHECK(m.layers[4].width.min == 8);
  CHECK(ampere::width_follows_input(m.layers[2]));  // identity: the block keeps its input's width
  CHECK_FALSE(ampere::width_follows_input(m.layers[4]));  // projection: a width of its own
  // stem 12; body 144 + 8; body 288 + 16 and its projection 32 + 16; fc 27
  CHECK(ampere::model_cost(m).parameters == 12 + 152 + 352 + 27);
}

TEST_CASE("MatMul plus a bias Add is a linear, Reshape to batch by features a flatten, ReduceMean over H and W a pool") {
  const ModelSpec m = ampere::import_onnx_bytes(ampere::testing::onnx_matmul_net(), "t.onnx", {});
  CHECK(types(m.layers) == std::vector<LayerType>{LayerType::Conv2d, LayerType::GlobalAvgPool, LayerType::Dropout,
                                                  LayerType::Linear});
  CHECK(m.layers[0].dilation == std::array<std::int64_t, 2>{2, 2});
  CHECK(m.layers[2].p == doctest::Approx(0.25));
  CHECK(m.layers[3].bias);
  CHECK(ampere::infer_shapes(m)[0].out.dims == std::vector<std::int64_t>{4, 2, 2});  // 6 − 2·(3 − 1)
  CHECK(ampere::model_cost(m).parameters == 4 * 4 * 9 + 4 * 3 + 3);
}

TEST_CASE("symbolic input dimensions need the option that fixes them") {
  auto model = [](std::vector<std::int64_t> dims) {
    OnnxBuilder b(dims);
    auto x = b.node("Flatten", "flat", {b.node("GlobalAveragePool", "gap", {b.conv("c", "x", 3, 4, 3)})});
    return b.finish(b.gemm("fc", x, 4, 2));
  };
  CHECK(doctest::String(refusal(model({-1, 3, 8, 8})).c_str()) == doctest::Contains("symbolic batch dimension ('dim0'); give the training batch (--batch N)"));
  ampere::OnnxImportOptions batch;
  batch.batch = 16;
  CHECK(ampere::import_onnx_bytes(model({-1, 3, 8, 8}), "t.onnx", batch).batch_size == 16);
  CHECK(doctest::String(refusal(model({1, 3, -1, -1}), batch).c_str()) == doctest::Contains("dimension 2 is symbolic ('dim2'); give the shape (--input-shape"));
  ampere::OnnxImportOptions shape = batch;
  shape.input_shape = std::vector<std::int64_t>{3, 20, 20};
  shape.classes = 7;
  const ModelSpec m = ampere::import_onnx_bytes(model({1, 3, -1, -1}), "t.onnx", shape);
  CHECK(m.input_shape == std::vector<std::int64_t>{3, 20, 20});
  CHECK(m.classes == 7);
  CHECK(m.layers.back().width.min == 7);
  shape.input_shape = std::vector<std::int64_t>{5, 20, 20};
  CHECK(doctest::String(refusal(model({1, 3, -1, -1}), shape).c_str()) == doctest::Contains("reads 3 channels, its input has 5"));
}

TEST_CASE("a window outside the spec's bounds (stride 0: found by fuzz_onnx) is refused naming the node") {
  for (const auto& [attribute, values, expected] :
       std::vector<std::tuple<std::string, std::vector<std::int64_t>, std::string>>{
           {"strides", {0, 1}, "stride 0 is outside 1..1024"},
           {"pads", {-1, -1, -1, -1}, "padding -1 is outside 0..1024"},
           {"strides", {4096, 1}, "stride 4096 is outside 1..1024"}}) {
    OnnxBuilder b({1, 3, 8, 8});
    auto x = b.node("Conv", "c", {"x", b.weight("c.w", {4, 3, 3, 3})},
                    {OnnxBuilder::ints("kernel_shape", {3, 3}), OnnxBuilder::ints(attribute, values)});
    x = b.node("Flatten", "flat", {b.node("GlobalAveragePool", "gap", {x})});
    CHECK(doctest::String(refusal(b.finish(b.gemm("fc", x, 4, 2))).c_str()) ==
          doctest::Contains(("t.onnx: node 0 'c' (Conv): " + expected).c_str()));
  }
}

TEST_CASE("unsupported ops and graph shapes are refused with the node's name, op type and position") {
  SUBCASE("Concat") {
    OnnxBuilder b({1, 3, 8, 8});
    auto a = b.conv("a", "x", 3, 4, 1);
    auto c = b.conv("c", "x", 3, 4, 1);
    auto x = b.node("Concat", "join", {a, c}, {OnnxBuilder::integer("axis", 1)});
    x = b.node("Flatten", "flat", {b.node("GlobalAveragePool", "gap", {x})});
    CHECK(doctest::String(refusal(b.finish(b.gemm("fc", x, 8, 2))).c_str()) ==
          doctest::Contains("t.onnx: node 2 'join' (Concat): branches that concatenate or split"));
  }
  SUBCASE("a product of two branches (squeeze-and-excitation)") {
    OnnxBuilder b({1, 3, 8, 8});
    auto a = b.conv("a", "x", 3, 4, 1);
    auto gate = b.node("Sigmoid", "gate", {b.node("GlobalAveragePool", "squeeze", {a})});
    auto x = b.node("Mul", "excite", {a, gate});
    x = b.node("Flatten", "flat", {b.node("GlobalAveragePool", "gap", {x})});
    CHECK(doctest::String(refusal(b.finish(b.gemm("fc", x, 4, 2))).c_str()) ==
          doctest::Contains("node 3 'excite' (Mul): a product of two computed tensors"));
  }
  SUBCASE("an op outside the list") {
    OnnxBuilder b({1, 3, 8, 8});
    auto x = b.node("LeakyRelu", "leaky", {b.conv("a", "x", 3, 4, 1)});
    x = b.node("Flatten", "flat", {b.node("GlobalAveragePool", "gap", {x})});
    CHECK(doctest::String(refusal(b.finish(b.gemm("fc", x, 4, 2))).c_str()) ==
          doctest::Contains("node 1 'leaky' (LeakyRelu): op not supported (supported: Conv, Gemm"));
  }
  SUBCASE("a branch that never reaches the output") {
    OnnxBuilder b({1, 3, 8, 8});
    auto a = b.conv("a", "x", 3, 4, 1);
    b.node("Relu", "dead", {a});
    auto x = b.node("Flatten", "flat", {b.node("GlobalAveragePool", "gap", {a})});
    CHECK(doctest::String(refusal(b.finish(b.gemm("fc", x, 4, 2))).c_str()) ==
          doctest::Contains("node 1 'dead' (Relu): its output 'dead_out' is never used"));
  }
  SUBCASE("Clip other than ReLU6") {
    OnnxBuilder b({1, 3, 8, 8});
    auto x = b.node("Clip", "clip", {b.conv("a", "x", 3, 4, 1), b.values("lo", {-1}), b.values("hi", {1})});
    x = b.node("Flatten", "flat", {b.node("GlobalAveragePool", "gap", {x})});
    CHECK(doctest::String(refusal(b.finish(b.gemm("fc", x, 4, 2))).c_str()) ==
          doctest::Contains("node 1 'clip' (Clip): Clip(-1, 1): only Clip(0, 6)"));
  }
  SUBCASE("asymmetric padding") {
    OnnxBuilder b({1, 3, 8, 8});
    auto x = b.node("Conv", "pad", {"x", b.weight("w", {4, 3, 3, 3})},
                    {OnnxBuilder::ints("kernel_shape", {3, 3}), OnnxBuilder::ints("pads", {0, 0, 1, 1})});
    x = b.node("Flatten", "flat", {b.node("GlobalAveragePool", "gap", {x})});
    CHECK(doctest::String(refusal(b.finish(b.gemm("fc", x, 4, 2))).c_str()) ==
          doctest::Contains("node 0 'pad' (Conv): asymmetric padding (0,0,1,1)"));
  }
  SUBCASE("a projection shortcut on a body that keeps the shape") {
    OnnxBuilder b({1, 4, 8, 8});
    auto body = b.conv("body", "x", 4, 4, 3, 1, 1);
    auto proj = b.batchnorm("pbn", b.conv("p", "x", 4, 4, 1), 4);
    auto x = b.node("Add", "join", {body, proj});
    x = b.node("Flatten", "flat", {b.node("GlobalAveragePool", "gap", {x})});
    CHECK(doctest::String(refusal(b.finish(b.gemm("fc", x, 4, 2))).c_str()) ==
          doctest::Contains("node 3 'join' (Add): a projection shortcut on a body that keeps the shape"));
  }
}

TEST_CASE("a file that is not ONNX, a truncated one and an empty one are refused naming the file") {
  CHECK(doctest::String(refusal("").c_str()) == doctest::Contains("t.onnx: empty file"));
  CHECK(doctest::String(refusal("{\"name\": \"not onnx\"}").c_str()) == doctest::Contains("t.onnx: not an ONNX model"));
  OnnxBuilder b({1, 3, 8, 8});
  auto x = b.node("Flatten", "flat", {b.node("GlobalAveragePool", "gap", {b.conv("c", "x", 3, 64, 3)})});
  const std::string whole = b.finish(b.gemm("fc", x, 64, 10));
  for (double fraction : {0.3, 0.6, 0.95}) {
    const std::string message = refusal(whole.substr(0, static_cast<std::size_t>(whole.size() * fraction)));
    CHECK_MESSAGE(message.rfind("t.onnx: ", 0) == 0, message);
    CHECK(message != "(accepted)");
  }
  CHECK(ampere::import_onnx_bytes(whole, "t.onnx", {}).classes == 10);
}
