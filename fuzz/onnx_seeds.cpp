// Writes the seed corpus of fuzz_onnx (scripts/fuzz-seeds.sh runs it): small ONNX models built
// with the tests' builder, one per import rule (a conv net, residuals, MatMul + bias, Reshape,
// ReduceMean), each file prefixed with the harness's options byte.
#include <fstream>
#include <iostream>
#include <string>

#include "model_import/onnx_builder.hpp"

using ampere::testing::OnnxBuilder;

namespace {
void write(const std::string& dir, const std::string& name, char options, const std::string& model) {
  std::ofstream out(dir + "/" + name, std::ios::binary);
  out << options << model;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: onnx_seeds DIR\n";
    return 2;
  }
  const std::string dir = argv[1];
  {
    OnnxBuilder b({4, 3, 16, 16}, 14);
    auto x = b.conv("c1", "x", 3, 8, 3, 1, 1);
    x = b.batchnorm("bn1", x, 8);
    x = b.node("Clip", "clip", {x, b.values("lo", {0}), b.values("hi", {6})});
    x = b.node("MaxPool", "pool", {x}, {OnnxBuilder::ints("kernel_shape", {2, 2}), OnnxBuilder::ints("strides", {2, 2})});
    x = b.conv("dw", x, 8, 8, 3, 1, 1, 8);
    x = b.node("HardSwish", "hs", {x});
    x = b.node("GlobalAveragePool", "gap", {x});
    x = b.node("Flatten", "flat", {x}, {OnnxBuilder::integer("axis", 1)});
    write(dir, "convnet", 0, b.finish(b.gemm("fc", x, 8, 5)));
  }
  {
    OnnxBuilder b({2, 3, 8, 8});
    auto r0 = b.node("Relu", "stem_relu", {b.conv("stem", "x", 3, 4, 1)});
    auto body = b.batchnorm("b1_bn", b.conv("b1", r0, 4, 4, 3, 1, 1), 4);
    auto r1 = b.node("Relu", "r1", {b.node("Add", "add1", {body, r0})});
    auto body2 = b.batchnorm("b2_bn", b.conv("b2", r1, 4, 8, 3, 2, 1), 8);
    auto proj = b.batchnorm("p_bn", b.conv("p", r1, 4, 8, 1, 2, 0), 8);
    auto r2 = b.node("Relu", "r2", {b.node("Add", "add2", {proj, body2})});
    auto x = b.node("Flatten", "flat", {b.node("GlobalAveragePool", "gap", {r2})});
    write(dir, "residual", 0, b.finish(b.gemm("fc", x, 8, 3)));
  }
  {
    OnnxBuilder b({2, 4, 6, 6});
    auto x = b.node("Conv", "dil", {"x", b.weight("dil.w", {4, 4, 3, 3})},
                    {OnnxBuilder::ints("kernel_shape", {3, 3}), OnnxBuilder::ints("dilations", {2, 2})});
    x = b.node("ReduceMean", "mean", {x}, {OnnxBuilder::ints("axes", {2, 3}), OnnxBuilder::integer("keepdims", 1)});
    x = b.node("Reshape", "reshape", {x, b.int64s("shape", {2, -1})});
    x = b.node("Dropout", "drop", {x, b.values("ratio", {0.25f})}, {}, 2);
    x = b.node("MatMul", "mm", {x, b.weight("mm.w", {4, 3})});
    write(dir, "matmul", 0, b.finish(b.node("Add", "bias", {x, b.weight("mm.b", {3})})));
  }
  {
    OnnxBuilder b({-1, 3, -1, -1});  // symbolic batch and size: the options byte fixes them
    auto x = b.node("Relu", "r", {b.conv("c", "x", 3, 4, 3, 1, 1)});
    x = b.node("Flatten", "flat", {b.node("GlobalAveragePool", "gap", {x})});
    write(dir, "symbolic", 3, b.finish(b.gemm("fc", x, 4, 10)));
  }
  return 0;
}
