// Writes the seed corpus of fuzz_onnx (scripts/fuzz-seeds.sh runs it): the import tests' sample
// models (tests/model_import/onnx_samples.hpp: a conv net, residuals, MatMul + bias, Reshape,
// ReduceMean) and one with symbolic dimensions, each file prefixed with the harness's options byte.
#include <fstream>
#include <iostream>
#include <string>

#include "model_import/onnx_builder.hpp"
#include "model_import/onnx_samples.hpp"

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
  write(dir, "convnet", 0, ampere::testing::onnx_conv_net());
  write(dir, "residual", 0, ampere::testing::onnx_residual_net());
  write(dir, "matmul", 0, ampere::testing::onnx_matmul_net());
  {
    OnnxBuilder b({-1, 3, -1, -1});  // symbolic batch and size: the options byte fixes them
    auto x = b.node("Relu", "r", {b.conv("c", "x", 3, 4, 3, 1, 1)});
    x = b.node("Flatten", "flat", {b.node("GlobalAveragePool", "gap", {x})});
    write(dir, "symbolic", 3, b.finish(b.gemm("fc", x, 4, 10)));
  }
  return 0;
}
