// A model file of either format the fleet reads: a model spec (JSON, docs/model-spec.md) or an
// ONNX model (imported, docs/byom.md §2). Chosen by content, not by name: an ONNX file is a
// protobuf, a spec is a JSON object.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/model_spec.hpp"
#include "model_import/onnx_import.hpp"

namespace ampere {

/// Reads a spec or an ONNX model; `onnx` applies to an ONNX file only. Throws InputError naming
/// the file.
ModelSpec load_model_file(const std::filesystem::path& file, const OnnxImportOptions& onnx = {});

/// True when a model file's bytes are a model spec (a JSON object), false for ONNX (a protobuf).
bool is_spec_json(const std::string& bytes);

/// "3x64x64" → {3, 64, 64}; throws InputError naming `what` for anything else.
std::vector<std::int64_t> parse_shape_text(const std::string& text, const std::string& what);

}  // namespace ampere
