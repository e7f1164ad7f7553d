// Shape inference, forward FLOPs and parameter counts, layer by layer.
//
// FLOP conventions (per sample, forward; a multiply-add is 2 FLOPs):
//   conv2d   2·(Cin/g)·kh·kw·Cout·Ho·Wo + (bias ? Cout·Ho·Wo : 0)
//   linear   T·(2·in·out + (bias ? out : 0))           (T = 1 on flat input)
//   lstm     per layer and step: 8H·(In+H) + 8H (two bias vectors) + 4H (gate activations)
//            + 5H (cell and hidden update)
//   transformer_encoder (post-norm, ReLU, as torch.nn.TransformerEncoderLayer):
//            T·(6d²+3d) + 2T²d (scores) + 4·h·T² (scale + softmax) + 2T²d (·V) + T·(2d²+d)
//            + T·(2·d·ff + ff) + T·ff + T·(2·ff·d + d) + 2·T·d (residual adds) + 2·5·T·d (norms)
//   point-wise (relu, gelu, tanh, sigmoid, dropout): 1 per element
//   batchnorm2d 2 per element, layernorm 5 per element
//   maxpool2d / avgpool2d: kh·kw per output element; adaptive_avgpool2d: 1 per input element
//   flatten, last_step, embedding: 0
//   residual: its inner layers + (projection: 2·Cin·Cout·Ho·Wo + 2·Cout·Ho·Wo) + Cout·Ho·Wo (add)
// Training FLOPs per iteration = 3 × batch × Σ forward FLOPs (docs/method.md §6).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/model_spec.hpp"

namespace ampere {

enum class TensorForm { Image, Sequence, Flat, Tokens };

/// A tensor's shape without the batch dimension: Image [C,H,W], Sequence [T,F], Flat [F],
/// Tokens [T].
struct TensorShape {
  TensorForm form = TensorForm::Flat;
  std::vector<std::int64_t> dims;

  /// The dimension that channel fields change: C, F, F; 1 for tokens.
  std::int64_t channels() const;
  /// The same shape with another channel count.
  TensorShape with_channels(std::int64_t channels) const;
  std::int64_t elements() const;
  /// "image 16x14x14", "sequence 128x9", "flat 400", "tokens 64".
  std::string str() const;
  /// The shape without its channels, for kind keys: "image:14x14", "sequence:128", "flat", "tokens:64".
  std::string spatial_str() const;
  bool operator==(const TensorShape& o) const { return form == o.form && dims == o.dims; }
};

/// The input tensor described by a spec's input.shape (tokens when the first parametric layer is an
/// embedding).
TensorShape input_tensor(const ModelSpec& spec);

/// What one layer does to one sample.
struct LayerShape {
  TensorShape in;
  TensorShape out;
  double forward_flops = 0;       ///< per sample
  std::int64_t parameters = 0;
};

/// Shapes, FLOPs and parameters of every top-level layer. On a family, each range is taken at its
/// minimum: spatial sizes never depend on channels, so the shapes' spatial parts hold for every
/// member. Throws InputError naming the layer ("layers[5]: linear after conv2d needs a flatten
/// first").
std::vector<LayerShape> infer_shapes(const ModelSpec& spec);

/// One layer applied to a given input (the building block of infer_shapes). `width` is the value
/// for the layer's channel field.
/// `after` names what produced `in`, for messages ("linear after conv2d needs a flatten first").
LayerShape infer_layer(const LayerSpec& layer, const TensorShape& in, std::int64_t width,
                       const std::string& after = "the input");

/// The width a layer takes on input `in`: its input's channels when its width follows its input
/// (width_follows_input), else `width`.
std::int64_t resolved_width(const LayerSpec& layer, const TensorShape& in, std::int64_t width);
/// The width of a layer inside a residual whose block width is `block_width`: a fixed
/// out_channels, a width_ratio of the block's, or the block's own.
std::int64_t inner_width(const LayerSpec& inner, std::int64_t block_width);
/// A conv2d's groups on `in_channels` inputs (a depthwise conv's are its input's channels).
std::int64_t conv_groups(const LayerSpec& layer, std::int64_t in_channels);

/// Totals of a concrete model.
struct ModelCost {
  double forward_flops_per_sample = 0;
  double training_flops_per_iteration = 0;  ///< 3 × batch × forward
  std::int64_t parameters = 0;
};
ModelCost model_cost(const ModelSpec& model);

/// What training a concrete model for one iteration holds in memory, estimated from its shapes
/// (float32): weights and their gradients (8 bytes per parameter; plain SGD keeps no optimizer
/// state), the input batch, and every activation kept for the backward pass (each layer's output
/// for the batch, a residual block's once per layer inside it, twice: the value and its gradient).
/// An estimate of the tensors, not of the allocator's or the library's own overheads.
struct TrainingMemory {
  double bytes = 0;
  std::size_t largest_layer = 0;  ///< index of the top-level layer that holds the most
  double largest_layer_bytes = 0;
};
TrainingMemory training_memory(const ModelSpec& model);

}  // namespace ampere
