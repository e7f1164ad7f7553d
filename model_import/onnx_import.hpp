// ONNX import (docs/byom.md §2): an ONNX classifier, as PyTorch exports it for training, becomes
// a model spec (docs/model-spec.md). Every node maps to a layer or folds into one; a node this
// import cannot express (an op outside the supported list, a concatenation, a product of two
// branches, a branch that does not rejoin) is refused with its name, op type and position, never
// dropped. The trainer never links this target; the CLI and the coordinator do.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/model_spec.hpp"

namespace ampere {

struct OnnxImportOptions {
  /// [C, H, W] (or [F] for a flat input): replaces the graph input's own, and is required when
  /// any of those is symbolic.
  std::optional<std::vector<std::int64_t>> input_shape;
  /// The training batch; required when the graph's batch dimension is symbolic.
  std::optional<std::int64_t> batch;
  /// Replaces the classifier's output width (the model trained for another number of classes).
  std::optional<std::int64_t> classes;
  /// The spec's name; when empty, the file's stem (import_onnx_file), else the graph's name.
  std::string name;
};

/// Reads an ONNX file and returns the concrete model it describes. Throws InputError naming the
/// file and the cause: not ONNX, truncated, an unsupported op (node name, op type, position), a
/// symbolic input dimension without the option that fixes it.
ModelSpec import_onnx_file(const std::filesystem::path& file, const OnnxImportOptions& options = {});

/// The same from the bytes of a model; `source` names them in errors.
ModelSpec import_onnx_bytes(const std::string& bytes, const std::string& source, const OnnxImportOptions& options = {});

/// The op types the import maps (for messages and docs).
const std::vector<std::string>& supported_onnx_ops();

}  // namespace ampere
