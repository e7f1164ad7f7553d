// Any bytes as an ONNX file, imported as `ampere model import` imports one (protobuf parse, ONNX's
// own checker, then every node mapped or refused). Byte 0 picks the options a user may give
// (bit 0: --batch 8, bit 1: --input-shape 3,32,32, bit 2: --classes 10); the rest is the file.
// Must never crash; and a model the import accepts must be a valid model spec (it round-trips
// through the spec parser, and its shapes and costs compute), else the import made a spec the
// rest of the product would refuse.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/layer_shapes.hpp"
#include "common/model_spec.hpp"
#include "model_import/onnx_import.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  ampere::OnnxImportOptions options;
  if (data[0] & 1) options.batch = 8;
  if (data[0] & 2) options.input_shape = std::vector<std::int64_t>{3, 32, 32};
  if (data[0] & 4) options.classes = 10;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  ampere::ModelSpec spec;
  try {
    spec = ampere::import_onnx_bytes(bytes, "fuzz.onnx", options);
  } catch (const ampere::InputError&) {
    return 0;  // refused with a reason: what must happen to a file the import cannot express
  }
  try {
    const ampere::ModelSpec again = ampere::parse_model_spec(ampere::to_json(spec));
    (void)ampere::infer_shapes(again);
    (void)ampere::model_cost(again);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_onnx: the import accepted a model the spec parser refuses: %s\n", e.what());
    std::abort();
  }
  return 0;
}
