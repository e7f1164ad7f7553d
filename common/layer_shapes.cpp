#include "common/layer_shapes.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.hpp"

namespace ampere {
namespace {

std::string join_dims(const std::vector<std::int64_t>& dims) {
  std::string out;
  for (std::size_t i = 0; i < dims.size(); ++i) out += (i ? "x" : "") + std::to_string(dims[i]);
  return out;
}

const char* form_name(TensorForm form) {
  switch (form) {
    case TensorForm::Image: return "image";
    case TensorForm::Sequence: return "sequence";
    case TensorForm::Flat: return "flat";
    case TensorForm::Tokens: return "tokens";
  }
  return "?";
}

/// A 2-D window (kernel, stride, padding, dilation) within the spec's bounds; the parser checks
/// these, but layers also come from the ONNX import and from code (fuzz_onnx found a stride of 0).
void require_window(const LayerSpec& layer) {
  const auto within = [&](const char* what, const std::array<std::int64_t, 2>& v, std::int64_t least) {
    AMPERE_REQUIRE(v[0] >= least && v[1] >= least && v[0] <= SpecLimits::max_kernel && v[1] <= SpecLimits::max_kernel,
                   layer.path, ".", what, ": ", v[0], "x", v[1], " is outside ", least, "..", SpecLimits::max_kernel);
  };
  within("kernel", layer.kernel, 1);
  within("stride", layer.stride, 1);
  within("padding", layer.padding, 0);
  within("dilation", layer.dilation, 1);
}

std::int64_t pooled(std::int64_t size, std::int64_t kernel, std::int64_t stride, std::int64_t padding) {
  std::int64_t span = size + 2 * padding - kernel;
  return span < 0 ? 0 : span / stride + 1;
}

void require_form(const LayerSpec& layer, const TensorShape& in, TensorForm form, const char* what,
                  const std::string& after) {
  if (in.form == form) return;
  if (layer.type == LayerType::Linear && in.form == TensorForm::Image)
    throw InputError(detail::concat(layer.path, ": linear after ", after, " needs a flatten first"));
  if (in.form == TensorForm::Tokens)
    throw InputError(detail::concat(layer.path, ": ", layer_type_name(layer.type),
                                    " cannot take token ids; start with an embedding"));
  throw InputError(detail::concat(layer.path, ": ", layer_type_name(layer.type), " needs ", what,
                                  ", got ", in.str(), " after ", after));
}

/// conv2d on an image: shape, FLOPs, parameters.
LayerShape conv2d(const LayerSpec& layer, const TensorShape& in, std::int64_t width, const std::string& after) {
  require_form(layer, in, TensorForm::Image, "an image input [C, H, W]", after);
  require_window(layer);
  const std::int64_t cin = in.dims[0];
  const std::int64_t groups = conv_groups(layer, cin);
  AMPERE_REQUIRE(cin % groups == 0 && width % groups == 0, layer.path,
                 ".groups: ", groups, " must divide both in_channels (", cin, ") and out_channels (",
                 width, ")");
  // A dilated kernel spans dilation·(kernel − 1) + 1 pixels; its weights and MACs are the kernel's.
  const std::int64_t span_h = layer.dilation[0] * (layer.kernel[0] - 1) + 1;
  const std::int64_t span_w = layer.dilation[1] * (layer.kernel[1] - 1) + 1;
  std::int64_t ho = pooled(in.dims[1], span_h, layer.stride[0], layer.padding[0]);
  std::int64_t wo = pooled(in.dims[2], span_w, layer.stride[1], layer.padding[1]);
  AMPERE_REQUIRE(ho > 0 && wo > 0, layer.path, ": conv2d kernel ", layer.kernel[0], "x", layer.kernel[1],
                 " does not fit its input ", in.str());
  LayerShape s{in, TensorShape{TensorForm::Image, {width, ho, wo}}, 0, 0};
  const double kernel_macs = static_cast<double>(cin / groups) * layer.kernel[0] * layer.kernel[1];
  const double outputs = static_cast<double>(width) * ho * wo;
  s.forward_flops = 2 * kernel_macs * outputs + (layer.bias ? outputs : 0);
  s.parameters = width * (cin / groups) * layer.kernel[0] * layer.kernel[1] + (layer.bias ? width : 0);
  return s;
}

LayerShape residual(const LayerSpec& layer, const TensorShape& in, std::int64_t width, const std::string& after) {
  require_form(layer, in, TensorForm::Image, "an image input [C, H, W]", after);
  LayerShape s{in, in, 0, 0};
  TensorShape x = in;
  std::string inner_after = after;
  for (const LayerSpec& inner : layer.inner) {
    LayerShape step = infer_layer(inner, x, inner_width(inner, width), inner_after);
    s.forward_flops += step.forward_flops;
    s.parameters += step.parameters;
    x = step.out;
    inner_after = layer_type_name(inner.type);
  }
  if (!(x == in)) {
    // 1×1 projection (no bias) + batchnorm, as torchvision's downsample; stride matches the
    // spatial reduction.
    AMPERE_REQUIRE(in.dims[1] % x.dims[1] == 0 && in.dims[2] % x.dims[2] == 0, layer.path,
                   ": the residual's output ", x.str(), " cannot be projected from its input ", in.str());
    const double outputs = static_cast<double>(x.elements());
    s.forward_flops += 2.0 * in.dims[0] * outputs + 2.0 * outputs;
    s.parameters += in.dims[0] * x.dims[0] + 2 * x.dims[0];
  }
  s.forward_flops += static_cast<double>(x.elements());  // the addition
  s.out = x;
  return s;
}

}  // namespace

std::int64_t TensorShape::channels() const {
  switch (form) {
    case TensorForm::Image: return dims[0];
    case TensorForm::Sequence: return dims[1];
    case TensorForm::Flat: return dims[0];
    case TensorForm::Tokens: return 1;
  }
  return 0;
}

TensorShape TensorShape::with_channels(std::int64_t channels) const {
  TensorShape out = *this;
  switch (form) {
    case TensorForm::Image: out.dims[0] = channels; break;
    case TensorForm::Sequence: out.dims[1] = channels; break;
    case TensorForm::Flat: out.dims[0] = channels; break;
    case TensorForm::Tokens: break;
  }
  return out;
}

std::int64_t TensorShape::elements() const {
  std::int64_t product = 1;
  for (const std::int64_t d : dims)
    AMPERE_REQUIRE(!__builtin_mul_overflow(product, d, &product), "tensor ", join_dims(dims), ": too many elements");
  return product;
}

std::string TensorShape::str() const { return std::string(form_name(form)) + " " + join_dims(dims); }

std::string TensorShape::spatial_str() const {
  switch (form) {
    case TensorForm::Image: return "image:" + std::to_string(dims[1]) + "x" + std::to_string(dims[2]);
    case TensorForm::Sequence: return "sequence:" + std::to_string(dims[0]);
    case TensorForm::Flat: return "flat";
    case TensorForm::Tokens: return "tokens:" + std::to_string(dims[0]);
  }
  return "?";
}

TensorShape input_tensor(const ModelSpec& spec) {
  const auto& d = spec.input_shape;
  if (d.size() == 3) return {TensorForm::Image, d};
  if (d.size() == 2) return {TensorForm::Sequence, d};
  auto first = std::find_if(spec.layers.begin(), spec.layers.end(),
                            [](const LayerSpec& l) { return is_parametric(l.type); });
  bool tokens = first != spec.layers.end() && first->type == LayerType::Embedding;
  return {tokens ? TensorForm::Tokens : TensorForm::Flat, d};
}

std::int64_t resolved_width(const LayerSpec& layer, const TensorShape& in, std::int64_t width) {
  return width_follows_input(layer) ? in.channels() : width;
}

std::int64_t inner_width(const LayerSpec& inner, std::int64_t block_width) {
  if (inner.width_ratio > 0)
    return std::max<std::int64_t>(1, std::llround(inner.width_ratio * static_cast<double>(block_width)));
  if (inner.width_given && inner.width.is_fixed()) return inner.width.min;
  return block_width;  // omitted, or the last conv2d's range: the block's width
}

std::int64_t conv_groups(const LayerSpec& layer, std::int64_t in_channels) {
  return layer.depthwise ? in_channels : layer.groups;
}

/// infer_layer without the element bound.
LayerShape infer_layer_unbounded(const LayerSpec& layer, const TensorShape& in, std::int64_t width_given,
                                 const std::string& after);

LayerShape infer_layer(const LayerSpec& layer, const TensorShape& in, std::int64_t width_given, const std::string& after) {
  LayerShape shape = infer_layer_unbounded(layer, in, width_given, after);
  for (const TensorShape* t : {&in, static_cast<const TensorShape*>(&shape.out)})
    AMPERE_REQUIRE(t->elements() <= SpecLimits::max_elements, layer.path, ": a tensor of ", t->elements(),
                   " elements per sample (", t->str(), "), at most ", SpecLimits::max_elements, " (docs/model-spec.md, \"Limits\")");
  return shape;
}

LayerShape infer_layer_unbounded(const LayerSpec& layer, const TensorShape& in, std::int64_t width_given,
                                 const std::string& after) {
  const std::int64_t width = resolved_width(layer, in, width_given);
  const double elements = static_cast<double>(in.elements());
  LayerShape s{in, in, 0, 0};
  auto not_tokens = [&] {
    AMPERE_REQUIRE(in.form != TensorForm::Tokens, layer.path, ": ", layer_type_name(layer.type),
                   " cannot take token ids; start with an embedding");
  };
  switch (layer.type) {
    case LayerType::Conv2d: return conv2d(layer, in, width, after);
    case LayerType::Residual: return residual(layer, in, width, after);
    case LayerType::Linear: {
      not_tokens();
      require_form(layer, in, in.form == TensorForm::Sequence ? TensorForm::Sequence : TensorForm::Flat,
                   "a flat [F] or sequence [T, F] input", after);
      const std::int64_t steps = in.form == TensorForm::Sequence ? in.dims[0] : 1;
      const std::int64_t features = in.channels();
      s.out = in.with_channels(width);
      s.forward_flops = static_cast<double>(steps) * (2.0 * features * width + (layer.bias ? width : 0));
      s.parameters = features * width + (layer.bias ? width : 0);
      return s;
    }
    case LayerType::Lstm: {
      require_form(layer, in, TensorForm::Sequence, "a sequence input [T, F]", after);
      const double steps = static_cast<double>(in.dims[0]);
      const double h = static_cast<double>(width);
      std::int64_t features = in.dims[1];
      for (std::int64_t l = 0; l < layer.num_layers; ++l) {
        s.forward_flops += steps * (8 * h * (features + h) + 8 * h + 4 * h + 5 * h);
        s.parameters += 4 * width * (features + width) + 8 * width;
        features = width;
      }
      s.out = in.with_channels(width);
      return s;
    }
    case LayerType::TransformerEncoder: {
      require_form(layer, in, TensorForm::Sequence, "a sequence input [T, d_model]", after);
      const std::int64_t d_model = layer.width_given ? width : in.dims[1];
      AMPERE_REQUIRE(d_model == in.dims[1], layer.path, ".d_model: must equal its input features (",
                     in.dims[1], "), got ", d_model);
      AMPERE_REQUIRE(d_model % layer.nhead == 0, layer.path, ".nhead: ", layer.nhead,
                     " must divide d_model (", d_model, ")");
      const double t = static_cast<double>(in.dims[0]);
      const double d = static_cast<double>(d_model);
      const double ff = static_cast<double>(layer.dim_feedforward);
      const double h = static_cast<double>(layer.nhead);
      s.forward_flops = t * (6 * d * d + 3 * d) + 2 * t * t * d + 4 * h * t * t + 2 * t * t * d +
                        t * (2 * d * d + d) + t * (2 * d * ff + ff) + t * ff + t * (2 * ff * d + d) +
                        2 * t * d + 2 * 5 * t * d;
      s.parameters = 4 * d_model * d_model + 2 * d_model * layer.dim_feedforward + 9 * d_model +
                     layer.dim_feedforward;
      return s;
    }
    case LayerType::Embedding:
      AMPERE_REQUIRE(in.form == TensorForm::Tokens, layer.path,
                     ": embedding needs token ids (input.shape [T]) as its input, got ", in.str(),
                     " after ", after);
      s.out = TensorShape{TensorForm::Sequence, {in.dims[0], width}};
      s.parameters = layer.vocab * width;
      return s;
    case LayerType::Relu:
    case LayerType::Gelu:
    case LayerType::Tanh:
    case LayerType::Sigmoid:
    case LayerType::Relu6:
    case LayerType::HardSigmoid:
    case LayerType::HardSwish:
    case LayerType::Dropout:
      not_tokens();
      s.forward_flops = elements;
      return s;
    case LayerType::MaxPool2d:
    case LayerType::AvgPool2d: {
      require_form(layer, in, TensorForm::Image, "an image input [C, H, W]", after);
      require_window(layer);
      std::int64_t ho = pooled(in.dims[1], layer.kernel[0], layer.stride[0], layer.padding[0]);
      std::int64_t wo = pooled(in.dims[2], layer.kernel[1], layer.stride[1], layer.padding[1]);
      AMPERE_REQUIRE(ho > 0 && wo > 0, layer.path, ": ", layer_type_name(layer.type), " kernel ",
                     layer.kernel[0], "x", layer.kernel[1], " does not fit its input ", in.str());
      s.out = TensorShape{TensorForm::Image, {in.dims[0], ho, wo}};
      s.forward_flops = static_cast<double>(s.out.elements()) * layer.kernel[0] * layer.kernel[1];
      return s;
    }
    case LayerType::AdaptiveAvgPool2d:
      require_form(layer, in, TensorForm::Image, "an image input [C, H, W]", after);
      AMPERE_REQUIRE(layer.output[0] <= in.dims[1] && layer.output[1] <= in.dims[2], layer.path,
                     ".output: ", layer.output[0], "x", layer.output[1], " is larger than its input ", in.str());
      s.out = TensorShape{TensorForm::Image, {in.dims[0], layer.output[0], layer.output[1]}};
      s.forward_flops = elements;
      return s;
    case LayerType::GlobalAvgPool:
      require_form(layer, in, TensorForm::Image, "an image input [C, H, W]", after);
      s.out = TensorShape{TensorForm::Flat, {in.dims[0]}};
      s.forward_flops = elements;
      return s;
    case LayerType::Flatten:
      not_tokens();
      s.out = TensorShape{TensorForm::Flat, {in.elements()}};
      return s;
    case LayerType::LastStep:
      require_form(layer, in, TensorForm::Sequence, "a sequence input [T, F]", after);
      s.out = TensorShape{TensorForm::Flat, {in.dims[1]}};
      return s;
    case LayerType::BatchNorm2d:
      require_form(layer, in, TensorForm::Image, "an image input [C, H, W]", after);
      s.forward_flops = 2 * elements;
      s.parameters = 2 * in.dims[0];
      return s;
    case LayerType::LayerNorm:
      not_tokens();
      s.forward_flops = 5 * elements;
      s.parameters = 2 * in.dims.back();
      return s;
  }
  throw std::logic_error("infer_layer: unhandled layer type");
}

std::vector<LayerShape> infer_shapes(const ModelSpec& spec) {
  std::vector<LayerShape> shapes;
  TensorShape x = input_tensor(spec);
  std::string after = "the input";
  for (const LayerSpec& layer : spec.layers) {
    shapes.push_back(infer_layer(layer, x, layer.width.lowest(), after));
    x = shapes.back().out;
    after = layer_type_name(layer.type);
  }
  AMPERE_REQUIRE(x.form == TensorForm::Flat && x.dims[0] == spec.classes,
                 "layers: the model must end in flat [", spec.classes, "] (classes), got ", x.str(),
                 x.form == TensorForm::Sequence ? ": add last_step before the classifier"
                 : x.form == TensorForm::Image ? ": add flatten before the classifier" : "");
  return shapes;
}

ModelCost model_cost(const ModelSpec& model) {
  AMPERE_REQUIRE(!model.is_family(), model.name, ": FLOPs need a concrete model, not a family (sample one first)");
  ModelCost cost;
  for (const LayerShape& s : infer_shapes(model)) {
    cost.forward_flops_per_sample += s.forward_flops;
    cost.parameters += s.parameters;
  }
  cost.training_flops_per_iteration = 3.0 * static_cast<double>(model.batch_size) * cost.forward_flops_per_sample;
  return cost;
}

TrainingMemory training_memory(const ModelSpec& model) {
  AMPERE_REQUIRE(!model.is_family(), model.name, ": training memory needs a concrete model, not a family");
  constexpr double kFloat = 4;
  const double batch = static_cast<double>(model.batch_size);
  TrainingMemory memory;
  memory.bytes = batch * static_cast<double>(input_tensor(model).elements()) * kFloat;
  const std::vector<LayerShape> shapes = infer_shapes(model);
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const LayerSpec& layer = model.layers[i];
    const double kept = layer.type == LayerType::Residual ? static_cast<double>(layer.inner.size() + 1) : 1.0;
    const double bytes = 2 * kFloat * static_cast<double>(shapes[i].parameters) +
                         2 * kFloat * batch * kept * static_cast<double>(shapes[i].out.elements());
    memory.bytes += bytes;
    if (bytes > memory.largest_layer_bytes) {
      memory.largest_layer_bytes = bytes;
      memory.largest_layer = i;
    }
  }
  return memory;
}

}  // namespace ampere
