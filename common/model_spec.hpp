// Model specs (docs/model-spec.md): a sequential network to train, or a family of them
// when channel fields are ranges. Parsing validates everything that does not need shapes; shape
// rules (what may follow what) are checked by infer_shapes() in layer_shapes.hpp, which
// parse_model_spec() calls too, so a spec that parses is a spec that can be built.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace ampere {

enum class LayerType {
  // parametric: each starts a block
  Conv2d,
  Linear,
  Lstm,
  TransformerEncoder,
  Embedding,
  Residual,
  // non-parametric (batchnorm/layernorm have per-channel parameters but never start a block)
  Relu,
  Gelu,
  Tanh,
  Sigmoid,
  Relu6,        ///< min(max(x, 0), 6) (ONNX Clip 0..6); spec_version 2
  HardSigmoid,  ///< relu6(x + 3) / 6; spec_version 2
  HardSwish,    ///< x · relu6(x + 3) / 6; spec_version 2
  GlobalAvgPool,  ///< image [C, H, W] → flat [C], the mean over H and W; spec_version 2
  MaxPool2d,
  AvgPool2d,
  AdaptiveAvgPool2d,
  Flatten,
  Dropout,
  BatchNorm2d,
  LayerNorm,
  LastStep,
};

/// The spelling used in JSON ("conv2d", "last_step", ...).
const char* layer_type_name(LayerType type);
/// True for the layer types that start a block (docs/method.md §1).
bool is_parametric(LayerType type);
/// True for the reshaping layers (flatten, last_step): they lead the block that consumes them
/// (docs/architecture.md, "Blocks").
bool is_reshape(LayerType type);

/// A channel field: an integer (min == max) or a range {"min", "max"[, "multiple_of"]}.
struct ChannelRange {
  std::int64_t min = 0;
  std::int64_t max = 0;
  std::int64_t multiple_of = 1;  ///< sampled values are multiples of this (e.g. nhead | d_model)
  bool is_fixed() const { return min == max; }
  /// The smallest and largest values a member may take (multiples of multiple_of within [min, max]).
  std::int64_t lowest() const { return (min + multiple_of - 1) / multiple_of * multiple_of; }
  std::int64_t highest() const { return max / multiple_of * multiple_of; }
  bool contains(std::int64_t value) const {
    return value >= min && value <= max && value % multiple_of == 0;
  }
  bool operator==(const ChannelRange& o) const {
    return min == o.min && max == o.max && multiple_of == o.multiple_of;
  }
};

/// One layer as written in the spec, defaults filled in.
struct LayerSpec {
  LayerType type = LayerType::Relu;
  std::string path;  ///< JSON path for error messages, e.g. "layers[3]"
  /// out_channels / out_features / hidden_size / d_model / dim. For residual: a copy of its last
  /// inner conv2d's (the block's width), never written back to JSON. `width_given` is false for a transformer_encoder without d_model
  /// (inferred from its input) and an inner residual conv2d without out_channels (inherits the
  /// block's width).
  ChannelRange width;
  bool width_given = false;
  std::array<std::int64_t, 2> kernel{1, 1};
  std::array<std::int64_t, 2> stride{1, 1};
  std::array<std::int64_t, 2> padding{0, 0};
  std::array<std::int64_t, 2> dilation{1, 1};  ///< conv2d; other than 1 needs spec_version 2
  std::int64_t groups = 1;
  /// conv2d, spec_version 2: groups = in_channels = out_channels (out_channels omitted: the width
  /// follows the input, so a family's depthwise conv moves with the width that feeds it).
  bool depthwise = false;
  /// A conv2d inside a residual, spec_version 2: out_channels = max(1, round(ratio × the block's
  /// width)) (a bottleneck's 1/4, an inverted residual's expansion 6); 0 when not used.
  double width_ratio = 0;
  bool bias = true;
  std::int64_t num_layers = 1;       ///< lstm
  std::int64_t nhead = 1;            ///< transformer_encoder
  std::int64_t dim_feedforward = 0;  ///< transformer_encoder
  std::int64_t vocab = 0;            ///< embedding
  std::array<std::int64_t, 2> output{1, 1};  ///< adaptive_avgpool2d
  double p = 0.5;                    ///< dropout
  std::vector<LayerSpec> inner;      ///< residual
};

/// The largest values a spec may hold (docs/model-spec.md, "Limits"). Past them a spec is refused
/// naming the field, before any shape, FLOPs or memory is computed; within them no product of
/// shapes overflows.
struct SpecLimits {
  static constexpr std::int64_t max_channels = 65536;        ///< any width or range bound, classes, groups, nhead
  static constexpr std::int64_t max_kernel = 1024;           ///< kernel, stride, padding, dilation, output
  static constexpr std::int64_t max_input_extent = 1 << 24;  ///< one input.shape entry
  static constexpr std::int64_t max_batch = 65536;
  static constexpr std::int64_t max_vocab = 1 << 24;
  static constexpr std::int64_t max_feedforward = 1 << 20;
  static constexpr std::int64_t max_lstm_layers = 64;
  static constexpr std::size_t max_layers = 1024;        ///< top-level layers
  static constexpr std::size_t max_inner_layers = 64;    ///< layers inside one residual
  static constexpr std::int64_t max_elements = 1ll << 31;  ///< a layer's input or output tensor, per sample
};

/// A model (every channel fixed) or a family (some channel fields are ranges).
struct ModelSpec {
  std::string name;
  /// [C, H, W] image, [T, F] sequence, [F] flat features, or [T] token ids when the first
  /// parametric layer is an embedding.
  std::vector<std::int64_t> input_shape;
  std::int64_t batch_size = 1;
  std::int64_t classes = 1;
  std::string dtype = "float32";
  std::vector<LayerSpec> layers;
  /// The spec format (docs/model-spec.md): 1 (absent) or 2 (adds relu6, hardsigmoid, hardswish,
  /// global_avgpool).
  int spec_version = 1;

  /// True when any channel field is a range.
  bool is_family() const;
};

/// A residual's last inner conv2d (its out_channels are the block's width), or nullptr when the
/// residual has none.
const LayerSpec* last_conv2d(const LayerSpec& residual);
LayerSpec* last_conv2d(LayerSpec& residual);

/// True for a conv2d whose dilation is not 1×1 (a version-2 field).
bool is_dilated(const LayerSpec& layer);

/// True when a layer's width is its input's rather than its own (docs/model-spec.md, "Tied
/// widths"): a transformer_encoder without d_model, a depthwise conv2d, and a residual whose last
/// conv2d omits out_channels (an identity residual, spec_version 2).
bool width_follows_input(const LayerSpec& layer);

/// The lowest spec version whose layer types and fields cover `layers` (inner residual layers
/// included): 2 when any of relu6, hardsigmoid, hardswish, global_avgpool or a dilated conv2d is
/// there, else 1.
int required_spec_version(const std::vector<LayerSpec>& layers);

/// Parses and validates a spec. Throws InputError naming the JSON path, e.g.
/// "layers[3].kernel: must be a positive integer, got -1".
ModelSpec parse_model_spec(const nlohmann::json& json);
/// Reads a JSON file and parses it; errors name the file.
ModelSpec load_model_spec(const std::filesystem::path& file);
/// The canonical JSON of a spec (defaults written out); parse_model_spec(to_json(m)) == m.
nlohmann::json to_json(const ModelSpec& spec);

/// A concrete model from a family: each range drawn uniformly (respecting multiple_of) from a
/// generator seeded with `seed`; the same seed gives the same model on every platform.
ModelSpec sample_model(const ModelSpec& family, std::uint64_t seed);

}  // namespace ampere
