// Small ONNX models, one per import rule, built with OnnxBuilder: the import tests check what each
// imports to, and fuzz_onnx's seed writer (fuzz/onnx_seeds.cpp) starts the fuzzer from them.
#pragma once

#include <string>

#include "model_import/onnx_builder.hpp"

namespace ampere::testing {

/// Conv, BatchNormalization, Clip(0, 6), MaxPool, a depthwise Conv, HardSwish, GlobalAveragePool,
/// Flatten, Gemm; input [4, 3, 16, 16], opset 14.
inline std::string onnx_conv_net() {
  OnnxBuilder b({4, 3, 16, 16}, 14);  // HardSwish is opset 14
  auto x = b.conv("c1", "x", 3, 8, 3, 1, 1);
  x = b.batchnorm("bn1", x, 8);
  x = b.node("Clip", "clip", {x, b.values("lo", {0}), b.values("hi", {6})});
  x = b.node("MaxPool", "pool", {x}, {OnnxBuilder::ints("kernel_shape", {2, 2}), OnnxBuilder::ints("strides", {2, 2})});
  x = b.conv("dw", x, 8, 8, 3, 1, 1, 8);
  x = b.node("HardSwish", "hs", {x});
  x = b.node("GlobalAveragePool", "gap", {x});
  x = b.node("Flatten", "flat", {x}, {OnnxBuilder::integer("axis", 1)});
  return b.finish(b.gemm("fc", x, 8, 5));
}

/// Two Adds of branches: an identity shortcut, then a strided 1x1 projection; input [2, 3, 8, 8].
inline std::string onnx_residual_net() {
  OnnxBuilder b({2, 3, 8, 8});
  auto r0 = b.node("Relu", "stem_relu", {b.conv("stem", "x", 3, 4, 1)});
  auto body = b.batchnorm("b1_bn", b.conv("b1", r0, 4, 4, 3, 1, 1), 4);
  auto r1 = b.node("Relu", "r1", {b.node("Add", "add1", {body, r0})});
  auto body2 = b.batchnorm("b2_bn", b.conv("b2", r1, 4, 8, 3, 2, 1), 8);
  auto proj = b.batchnorm("p_bn", b.conv("p", r1, 4, 8, 1, 2, 0), 8);
  auto r2 = b.node("Relu", "r2", {b.node("Add", "add2", {proj, body2})});
  auto x = b.node("Flatten", "flat", {b.node("GlobalAveragePool", "gap", {r2})});
  return b.finish(b.gemm("fc", x, 8, 3));
}

/// A dilated Conv, ReduceMean over H and W, Reshape to batch by features, Dropout, MatMul plus a
/// bias Add; input [2, 4, 6, 6].
inline std::string onnx_matmul_net() {
  OnnxBuilder b({2, 4, 6, 6});
  auto x = b.node("Conv", "dil", {"x", b.weight("dil.w", {4, 4, 3, 3})},
                  {OnnxBuilder::ints("kernel_shape", {3, 3}), OnnxBuilder::ints("dilations", {2, 2})});
  x = b.node("ReduceMean", "mean", {x}, {OnnxBuilder::ints("axes", {2, 3}), OnnxBuilder::integer("keepdims", 1)});
  x = b.node("Reshape", "reshape", {x, b.int64s("shape", {2, -1})});
  x = b.node("Dropout", "drop", {x, b.values("ratio", {0.25f})}, {}, 2);
  x = b.node("MatMul", "mm", {x, b.weight("mm.w", {4, 3})});
  return b.finish(b.node("Add", "bias", {x, b.weight("mm.b", {3})}));
}

}  // namespace ampere::testing
