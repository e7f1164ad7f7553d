#include "model_import/model_file.hpp"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace ampere {

ModelSpec load_model_file(const std::filesystem::path& file, const OnnxImportOptions& onnx) {
  std::ifstream in(file, std::ios::binary);
  AMPERE_REQUIRE(in.good(), file.string(), ": cannot read");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  if (is_spec_json(bytes)) return load_model_spec(file);
  OnnxImportOptions named = onnx;
  if (named.name.empty()) named.name = file.stem().string();
  return import_onnx_bytes(bytes, file.string(), named);
}

bool is_spec_json(const std::string& bytes) {
  const std::size_t first = bytes.find_first_not_of(" \t\r\n");
  return first != std::string::npos && bytes[first] == '{';
}

std::vector<std::int64_t> parse_shape_text(const std::string& text, const std::string& what) {
  std::vector<std::int64_t> dims;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('x', start), text.size());
    const std::string part = text.substr(start, end - start);
    AMPERE_REQUIRE(!part.empty() && part.size() <= 9 && part.find_first_not_of("0123456789") == std::string::npos,
                   what, ": '", text, "' is not a shape like 3x64x64");
    dims.push_back(std::stoll(part));
    AMPERE_REQUIRE(dims.back() >= 1, what, ": dimensions must be positive, got '", text, "'");
    start = end + 1;
  }
  return dims;
}

}  // namespace ampere
