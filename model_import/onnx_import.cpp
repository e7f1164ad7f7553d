#include "model_import/onnx_import.hpp"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/layer_shapes.hpp"

namespace ampere {
namespace {

/// What produced a computed value: the layers from the graph input to it, with the node that made
/// each (so two branches find the value they forked from) and the value each layer wrote.
struct Trace {
  std::vector<LayerSpec> layers;
  std::vector<int> origins;           ///< one per layer: a unique id of the node that made it
  std::vector<std::string> produced;  ///< one per layer: the value after it
  TensorShape shape;
  std::string after = "the input";    ///< what produced the value, for shape messages
  bool open_matmul = false;           ///< the last layer is a MatMul's linear still waiting for its bias Add
};

const std::set<std::string>& secondary_outputs_allowed() {
  static const std::set<std::string> ops{"BatchNormalization", "Dropout", "MaxPool"};
  return ops;
}

class Importer {
 public:
  Importer(const onnx::ModelProto& model, std::string source, const OnnxImportOptions& options)
      : model_(model), graph_(model.graph()), source_(std::move(source)), options_(options) {}

  ModelSpec run() {
    for (const auto& opset : model_.opset_import())
      if (opset.domain().empty() || opset.domain() == "ai.onnx") opset_ = opset.version();
    for (const onnx::TensorProto& t : graph_.initializer()) constants_[t.name()] = &t;
    resolve_aliases();
    count_uses();
    ModelSpec spec = start_spec();
    for (int i = 0; i < graph_.node_size(); ++i) visit(i, graph_.node(i));
    check_every_value_used();
    finish(spec);
    return spec;
  }

 private:
  // ---- messages --------------------------------------------------------------------------------
  std::string where(int index, const onnx::NodeProto& node) const {
    return detail::concat(source_, ": node ", index, " '", node.name(), "' (", node.op_type(), ")");
  }
  [[noreturn]] void refuse(int index, const onnx::NodeProto& node, const std::string& why) const {
    throw InputError(where(index, node) + ": " + why);
  }

  // ---- attributes and constants ----------------------------------------------------------------
  static const onnx::AttributeProto* attribute(const onnx::NodeProto& node, const std::string& name) {
    for (const auto& a : node.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  static std::int64_t int_attr(const onnx::NodeProto& node, const std::string& name, std::int64_t fallback) {
    const auto* a = attribute(node, name);
    return a ? a->i() : fallback;
  }
  static double float_attr(const onnx::NodeProto& node, const std::string& name, double fallback) {
    const auto* a = attribute(node, name);
    return a ? a->f() : fallback;
  }
  static std::vector<std::int64_t> ints_attr(const onnx::NodeProto& node, const std::string& name) {
    const auto* a = attribute(node, name);
    return a ? std::vector<std::int64_t>(a->ints().begin(), a->ints().end()) : std::vector<std::int64_t>{};
  }

  const onnx::TensorProto* constant(const std::string& name) const {
    auto it = constants_.find(name);
    return it == constants_.end() ? nullptr : it->second;
  }

  static std::vector<std::int64_t> dims_of(const onnx::TensorProto& t) { return {t.dims().begin(), t.dims().end()}; }

  /// The values of a constant tensor as doubles (float, double, int32, int64; raw or typed data).
  std::vector<double> values_of(const onnx::TensorProto& t, int index, const onnx::NodeProto& node) const {
    std::vector<double> out;
    auto from_raw = [&](auto sample) {
      using T = decltype(sample);
      const std::string& raw = t.raw_data();
      for (std::size_t off = 0; off + sizeof(T) <= raw.size(); off += sizeof(T)) {
        T v;
        std::memcpy(&v, raw.data() + off, sizeof(T));
        out.push_back(static_cast<double>(v));
      }
    };
    switch (t.data_type()) {
      case onnx::TensorProto::FLOAT:
        if (t.has_raw_data()) from_raw(float{});
        else out.assign(t.float_data().begin(), t.float_data().end());
        break;
      case onnx::TensorProto::DOUBLE:
        if (t.has_raw_data()) from_raw(double{});
        else out.assign(t.double_data().begin(), t.double_data().end());
        break;
      case onnx::TensorProto::INT64:
        if (t.has_raw_data()) from_raw(std::int64_t{});
        else out.assign(t.int64_data().begin(), t.int64_data().end());
        break;
      case onnx::TensorProto::INT32:
        if (t.has_raw_data()) from_raw(std::int32_t{});
        else out.assign(t.int32_data().begin(), t.int32_data().end());
        break;
      case onnx::TensorProto::BOOL:
        if (t.has_raw_data()) from_raw(std::uint8_t{});
        else out.assign(t.int32_data().begin(), t.int32_data().end());
        break;
      default: refuse(index, node, detail::concat("constant '", t.name(), "' has a data type this import does not read (", t.data_type(), ")"));
    }
    return out;
  }

  /// A scalar input given as a constant (Clip's min/max, Dropout's ratio); `fallback` when absent.
  double scalar_input(int index, const onnx::NodeProto& node, int input, double fallback) const {
    if (node.input_size() <= input || node.input(input).empty()) return fallback;
    const onnx::TensorProto* t = constant(node.input(input));
    if (!t) refuse(index, node, detail::concat("input ", input, " ('", node.input(input), "') must be a constant"));
    std::vector<double> v = values_of(*t, index, node);
    if (v.size() != 1) refuse(index, node, detail::concat("input ", input, " must be one value, got ", v.size()));
    return v[0];
  }

  // ---- graph bookkeeping -----------------------------------------------------------------------
  /// Identity nodes are aliases: a branch through one is the same value.
  void resolve_aliases() {
    for (const auto& node : graph_.node())
      if (node.op_type() == "Identity" && node.input_size() == 1 && node.output_size() == 1)
        alias_[node.output(0)] = resolve(node.input(0));
  }
  std::string resolve(const std::string& name) const {
    auto it = alias_.find(name);
    return it == alias_.end() ? name : it->second;
  }

  void count_uses() {
    for (const auto& node : graph_.node()) {
      if (node.op_type() == "Identity") continue;
      for (const std::string& in : node.input())
        if (!in.empty()) ++uses_[resolve(in)];
    }
    for (const auto& out : graph_.output()) ++uses_[resolve(out.name())];
  }

  void check_every_value_used() const {
    for (int i = 0; i < graph_.node_size(); ++i) {
      const auto& node = graph_.node(i);
      if (node.op_type() == "Constant" || node.op_type() == "Identity") continue;
      for (int o = 0; o < node.output_size(); ++o) {
        const std::string& out = node.output(o);
        if (out.empty() || uses_.count(out)) continue;
        if (o > 0 && secondary_outputs_allowed().count(node.op_type())) continue;  // BN statistics, a mask, indices
        refuse(i, node, detail::concat("its output '", out,
                                       "' is never used: a branch that does not reach the graph output"));
      }
    }
    for (const auto& [value, count] : uses_)
      if (count > 1 && !forks_.count(value))
        throw InputError(detail::concat(source_, ": value '", value, "' feeds ", count,
                                        " nodes but no residual Add joins its branches (only a residual's identity or "
                                        "projection shortcut may branch)"));
  }

  // ---- the graph input -------------------------------------------------------------------------
  ModelSpec start_spec() {
    std::vector<const onnx::ValueInfoProto*> inputs;
    for (const auto& in : graph_.input())
      if (!constants_.count(in.name())) inputs.push_back(&in);
    AMPERE_REQUIRE(inputs.size() == 1, source_, ": the graph has ", inputs.size(),
                   " data inputs; a classifier this import reads has one (an image [N, C, H, W] or features [N, F])");
    AMPERE_REQUIRE(graph_.output_size() == 1, source_, ": the graph has ", graph_.output_size(),
                   " outputs; a classifier this import reads has one (the logits)");
    const onnx::ValueInfoProto& input = *inputs.front();
    const auto& type = input.type().tensor_type();
    ModelSpec spec;
    spec.name = !options_.name.empty() ? options_.name : !graph_.name().empty() ? graph_.name() : "imported";
    switch (type.elem_type()) {
      case onnx::TensorProto::FLOAT: spec.dtype = "float32"; break;
      case onnx::TensorProto::DOUBLE: spec.dtype = "float64"; break;
      default:
        throw InputError(detail::concat(source_, ": input '", input.name(), "' has element type ", type.elem_type(),
                                        "; this import reads float32 and float64 inputs"));
    }
    std::vector<std::optional<std::int64_t>> dims;
    std::vector<std::string> dim_names;
    for (const auto& d : type.shape().dim()) {
      dims.push_back(d.has_dim_value() && d.dim_value() > 0 ? std::optional<std::int64_t>(d.dim_value()) : std::nullopt);
      dim_names.push_back(d.has_dim_param() ? d.dim_param() : "?");
    }
    AMPERE_REQUIRE(dims.size() == 4 || dims.size() == 2, source_, ": input '", input.name(), "' has ", dims.size(),
                   " dimensions; this import reads [N, C, H, W] images and [N, F] features");
    if (options_.batch) {
      AMPERE_REQUIRE(*options_.batch >= 1, source_, ": --batch must be positive, got ", *options_.batch);
      spec.batch_size = *options_.batch;
    } else {
      AMPERE_REQUIRE(dims[0].has_value(), source_, ": input '", input.name(), "' has a symbolic batch dimension ('",
                     dim_names[0], "'); give the training batch (--batch N)");
      spec.batch_size = *dims[0];
    }
    if (dims[0]) batch_hint_ = static_cast<double>(*dims[0]);  // a Reshape may name the exported batch
    if (options_.input_shape) {
      AMPERE_REQUIRE(options_.input_shape->size() + 1 == dims.size(), source_, ": --input-shape has ",
                     options_.input_shape->size(), " dimensions, the graph input '", input.name(), "' has ",
                     dims.size() - 1, " besides the batch");
      spec.input_shape = *options_.input_shape;
    } else {
      for (std::size_t d = 1; d < dims.size(); ++d) {
        AMPERE_REQUIRE(dims[d].has_value(), source_, ": input '", input.name(), "' dimension ", d, " is symbolic ('",
                       dim_names[d], "'); give the shape (--input-shape ", dims.size() == 4 ? "3x64x64" : "64", ")");
        spec.input_shape.push_back(*dims[d]);
      }
    }
    for (std::int64_t d : spec.input_shape)
      AMPERE_REQUIRE(d >= 1, source_, ": input dimensions must be positive, got ", d);
    Trace start;
    start.shape = spec.input_shape.size() == 3 ? TensorShape{TensorForm::Image, spec.input_shape}
                                               : TensorShape{TensorForm::Flat, spec.input_shape};
    values_[input.name()] = std::move(start);
    input_name_ = input.name();
    return spec;
  }

  const Trace& computed(int index, const onnx::NodeProto& node, int input) const {
    AMPERE_REQUIRE(node.input_size() > input && !node.input(input).empty(), where(index, node), ": input ", input,
                   " is missing");
    auto it = values_.find(resolve(node.input(input)));
    if (it == values_.end()) {
      if (constant(node.input(input)))
        refuse(index, node, detail::concat("input ", input, " ('", node.input(input),
                                           "') is a constant where this import expects the data flowing through "
                                           "the network"));
      refuse(index, node, detail::concat("input '", node.input(input), "' is not produced by an earlier node"));
    }
    return it->second;
  }

  /// Appends a layer to the trace of the node's first input and stores the result as its output.
  void append(int index, const onnx::NodeProto& node, const Trace& from, LayerSpec layer, std::int64_t width) {
    layer.path = where(index, node);
    Trace out = from;
    const LayerShape shape = infer_layer(layer, from.shape, width, from.after);  // its errors name the node (the path)
    if (is_parametric(layer.type) && !width_follows_input(layer)) {
      layer.width = ChannelRange{width, width, 1};
      layer.width_given = true;
    }
    out.layers.push_back(std::move(layer));
    out.origins.push_back(index);
    out.produced.push_back(node.output(0));
    out.shape = shape.out;
    out.after = node.op_type();
    out.open_matmul = false;
    values_[node.output(0)] = std::move(out);
  }

  void alias(const onnx::NodeProto& node, const Trace& from) { values_[node.output(0)] = from; }

  // ---- nodes -----------------------------------------------------------------------------------
  void visit(int index, const onnx::NodeProto& node) {
    const std::string& op = node.op_type();
    if (!node.domain().empty() && node.domain() != "ai.onnx")
      refuse(index, node, detail::concat("op domain '", node.domain(), "' is not supported (only the default ONNX domain)"));
    if (op == "Constant") return constant_node(index, node);
    if (op == "Identity") return;  // an alias (resolve_aliases)
    if (op == "Conv") return conv(index, node);
    if (op == "BatchNormalization") return batchnorm(index, node);
    if (op == "Relu") return activation(index, node, LayerType::Relu);
    if (op == "Sigmoid") return activation(index, node, LayerType::Sigmoid);
    if (op == "Tanh") return activation(index, node, LayerType::Tanh);
    if (op == "HardSwish") return activation(index, node, LayerType::HardSwish);
    if (op == "HardSigmoid") return hard_sigmoid(index, node);
    if (op == "Clip") return clip(index, node);
    if (op == "MaxPool" || op == "AveragePool") return pool(index, node);
    if (op == "GlobalAveragePool") return global_pool(index, node, true);
    if (op == "ReduceMean") return reduce_mean(index, node);
    if (op == "Flatten") return flatten(index, node);
    if (op == "Reshape") return reshape(index, node);
    if (op == "Dropout") return dropout(index, node);
    if (op == "Gemm") return gemm(index, node);
    if (op == "MatMul") return matmul(index, node);
    if (op == "Add") return add(index, node);
    if (op == "Concat" || op == "Split")
      refuse(index, node, "branches that concatenate or split channels cannot be written as a model spec (its networks "
                          "are a chain of blocks with residual joins)");
    if (op == "Mul")
      refuse(index, node, "a product of two computed tensors (squeeze-and-excitation, gating) is not supported");
    std::string list;
    for (const std::string& s : supported_onnx_ops()) list += (list.empty() ? "" : ", ") + s;
    refuse(index, node, "op not supported (supported: " + list + ")");
  }

  void constant_node(int index, const onnx::NodeProto& node) {
    const auto* value = attribute(node, "value");
    if (!value || !value->has_t()) refuse(index, node, "only a Constant with a tensor 'value' is supported");
    constants_[node.output(0)] = &value->t();
  }

  void require_image(int index, const onnx::NodeProto& node, const Trace& in) const {
    if (in.shape.form != TensorForm::Image)
      refuse(index, node, detail::concat("needs an image [C, H, W], got ", in.shape.str(), " after ", in.after));
  }

  /// kernel, stride and symmetric padding of a 2-D Conv or pool; refuses what the spec cannot say.
  void window(int index, const onnx::NodeProto& node, LayerSpec& layer, std::vector<std::int64_t> kernel) const {
    const auto* auto_pad = attribute(node, "auto_pad");
    if (auto_pad && auto_pad->s() != "NOTSET" && auto_pad->s() != "VALID")
      refuse(index, node, "auto_pad " + auto_pad->s() + " is not supported (export with explicit pads)");
    if (kernel.empty()) kernel = ints_attr(node, "kernel_shape");
    if (kernel.size() != 2) refuse(index, node, detail::concat("a 2-D kernel is supported, got ", kernel.size(), " dimensions"));
    std::vector<std::int64_t> strides = ints_attr(node, "strides");
    if (strides.empty()) strides = {1, 1};
    std::vector<std::int64_t> pads = ints_attr(node, "pads");
    if (pads.empty()) pads = {0, 0, 0, 0};
    if (strides.size() != 2 || pads.size() != 4) refuse(index, node, "strides and pads must be 2-D");
    if (pads[0] != pads[2] || pads[1] != pads[3])
      refuse(index, node, detail::concat("asymmetric padding (", pads[0], ",", pads[1], ",", pads[2], ",", pads[3],
                                         ") is not supported: the spec pads both sides alike"));
    std::vector<std::int64_t> dilations = ints_attr(node, "dilations");
    if (!dilations.empty() && (dilations.size() != 2 || dilations[0] < 1 || dilations[1] < 1))
      refuse(index, node, "dilations must be two positive integers");
    if (!dilations.empty() && (dilations[0] != 1 || dilations[1] != 1)) {
      if (layer.type != LayerType::Conv2d)
        refuse(index, node, "a dilated pool is not supported");
      layer.dilation = {dilations[0], dilations[1]};
    }
    const auto positive = [&](const char* what, const std::vector<std::int64_t>& v, std::int64_t least) {
      for (std::int64_t x : v)
        if (x < least || x > SpecLimits::max_kernel)
          refuse(index, node, detail::concat(what, " ", x, " is outside ", least, "..", SpecLimits::max_kernel));
    };
    positive("kernel", kernel, 1);
    positive("stride", strides, 1);
    positive("padding", pads, 0);
    layer.kernel = {kernel[0], kernel[1]};
    layer.stride = {strides[0], strides[1]};
    layer.padding = {pads[0], pads[1]};
  }

  void conv(int index, const onnx::NodeProto& node) {
    const Trace& in = computed(index, node, 0);
    require_image(index, node, in);
    const onnx::TensorProto* weight = node.input_size() > 1 ? constant(node.input(1)) : nullptr;
    if (!weight) refuse(index, node, "its weight must be an initializer (a weight computed at run time is not a layer)");
    const std::vector<std::int64_t> w = dims_of(*weight);
    if (w.size() != 4) refuse(index, node, detail::concat("a 2-D convolution is supported; its weight has ", w.size(), " dimensions"));
    LayerSpec layer;
    layer.type = LayerType::Conv2d;
    layer.groups = int_attr(node, "group", 1);
    if (layer.groups < 1) refuse(index, node, "group must be positive");
    window(index, node, layer, {w[2], w[3]});
    const std::int64_t cin = in.shape.channels();
    if (w[1] * layer.groups != cin)
      refuse(index, node, detail::concat("its weight ", w[0], "x", w[1], "x", w[2], "x", w[3], " with group ", layer.groups,
                                         " reads ", w[1] * layer.groups, " channels, its input has ", cin));
    if (layer.groups > 1 && layer.groups == cin && w[0] == cin) {
      layer.depthwise = true;  // its width is tied to its input's (docs/model-spec.md, "Tied widths")
      layer.groups = 1;
    }
    layer.bias = node.input_size() > 2 && !node.input(2).empty();
    if (layer.bias) {
      const onnx::TensorProto* b = constant(node.input(2));
      if (!b || dims_of(*b) != std::vector<std::int64_t>{w[0]})
        refuse(index, node, detail::concat("its bias must be an initializer of ", w[0], " values"));
    }
    append(index, node, in, layer, w[0]);
  }

  void batchnorm(int index, const onnx::NodeProto& node) {
    const Trace& in = computed(index, node, 0);
    require_image(index, node, in);
    const onnx::TensorProto* scale = node.input_size() > 1 ? constant(node.input(1)) : nullptr;
    if (!scale || dims_of(*scale) != std::vector<std::int64_t>{in.shape.channels()})
      refuse(index, node, detail::concat("its scale must be an initializer of ", in.shape.channels(), " values"));
    LayerSpec layer;
    layer.type = LayerType::BatchNorm2d;
    append(index, node, in, layer, 0);
  }

  void activation(int index, const onnx::NodeProto& node, LayerType type) {
    const Trace& in = computed(index, node, 0);
    LayerSpec layer;
    layer.type = type;
    append(index, node, in, layer, 0);
  }

  void hard_sigmoid(int index, const onnx::NodeProto& node) {
    const double alpha = float_attr(node, "alpha", 0.2), beta = float_attr(node, "beta", 0.5);
    if (std::abs(alpha - 1.0 / 6) > 1e-4 || std::abs(beta - 0.5) > 1e-4)
      refuse(index, node, detail::concat("alpha ", alpha, ", beta ", beta,
                                         ": only PyTorch's hardsigmoid (alpha 1/6, beta 0.5) is supported"));
    activation(index, node, LayerType::HardSigmoid);
  }

  void clip(int index, const onnx::NodeProto& node) {
    double low, high;
    if (opset_ < 11) {
      low = float_attr(node, "min", -INFINITY);
      high = float_attr(node, "max", INFINITY);
    } else {
      low = scalar_input(index, node, 1, -INFINITY);
      high = scalar_input(index, node, 2, INFINITY);
    }
    if (low == 0 && high == 6) return activation(index, node, LayerType::Relu6);
    if (low == 0 && std::isinf(high) && high > 0) return activation(index, node, LayerType::Relu);
    refuse(index, node, detail::concat("Clip(", low, ", ", high, "): only Clip(0, 6) (ReLU6) and Clip(0) (ReLU) are supported"));
  }

  void pool(int index, const onnx::NodeProto& node) {
    const Trace& in = computed(index, node, 0);
    require_image(index, node, in);
    LayerSpec layer;
    layer.type = node.op_type() == "MaxPool" ? LayerType::MaxPool2d : LayerType::AvgPool2d;
    if (int_attr(node, "ceil_mode", 0) != 0) refuse(index, node, "ceil_mode 1 is not supported");
    window(index, node, layer, {});
    if (layer.type == LayerType::AvgPool2d && int_attr(node, "count_include_pad", 0) == 0 &&
        (layer.padding[0] > 0 || layer.padding[1] > 0))
      refuse(index, node, "padding that the mean leaves out (count_include_pad 0) is not supported: the spec's "
                          "avgpool2d counts the padding, as PyTorch's default does");
    append(index, node, in, layer, 0);
  }

  /// GlobalAveragePool and ReduceMean over H and W: an image C×1×1 (keepdims) or flat [C].
  void global_pool(int index, const onnx::NodeProto& node, bool keep_dims) {
    const Trace& in = computed(index, node, 0);
    require_image(index, node, in);
    LayerSpec layer;
    if (keep_dims) {
      layer.type = LayerType::AdaptiveAvgPool2d;
      layer.output = {1, 1};
    } else {
      layer.type = LayerType::GlobalAvgPool;
    }
    append(index, node, in, layer, 0);
  }

  void reduce_mean(int index, const onnx::NodeProto& node) {
    std::vector<std::int64_t> axes = ints_attr(node, "axes");
    if (axes.empty() && node.input_size() > 1 && !node.input(1).empty()) {
      const onnx::TensorProto* t = constant(node.input(1));
      if (!t) refuse(index, node, "its axes must be a constant");
      for (double v : values_of(*t, index, node)) axes.push_back(static_cast<std::int64_t>(v));
    }
    for (std::int64_t& a : axes)
      if (a < 0) a += 4;
    std::sort(axes.begin(), axes.end());
    if (axes != std::vector<std::int64_t>{2, 3})
      refuse(index, node, "only a mean over H and W (axes 2, 3) is supported");
    global_pool(index, node, int_attr(node, "keepdims", 1) != 0);
  }

  /// Image → flat; folds a preceding GlobalAveragePool into global_avgpool.
  void to_flat(int index, const onnx::NodeProto& node, const Trace& in) {
    if (in.shape.form == TensorForm::Flat) return alias(node, in);  // already flat: nothing to do
    require_image(index, node, in);
    if (!in.layers.empty() && in.layers.back().type == LayerType::AdaptiveAvgPool2d &&
        in.layers.back().output == std::array<std::int64_t, 2>{1, 1}) {
      Trace folded = in;
      folded.layers.back().type = LayerType::GlobalAvgPool;
      folded.shape = TensorShape{TensorForm::Flat, {in.shape.dims[0]}};
      folded.produced.back() = node.output(0);
      folded.after = "GlobalAveragePool";
      values_[node.output(0)] = std::move(folded);
      return;
    }
    LayerSpec layer;
    layer.type = LayerType::Flatten;
    append(index, node, in, layer, 0);
  }

  void flatten(int index, const onnx::NodeProto& node) {
    if (int_attr(node, "axis", 1) != 1) refuse(index, node, "only Flatten(axis=1) (keep the batch) is supported");
    to_flat(index, node, computed(index, node, 0));
  }

  void reshape(int index, const onnx::NodeProto& node) {
    const Trace& in = computed(index, node, 0);
    const onnx::TensorProto* t = node.input_size() > 1 ? constant(node.input(1)) : nullptr;
    if (!t) refuse(index, node, "its shape must be a constant");
    std::vector<double> shape = values_of(*t, index, node);
    const double features = static_cast<double>(in.shape.elements());
    const bool keeps_batch = shape.size() == 2 && (shape[0] == 0 || shape[0] == -1 || shape[0] == batch_hint_);
    const bool flattens = keeps_batch && (shape[1] == -1 || shape[1] == features);
    if (!flattens) refuse(index, node, "only a Reshape to [batch, features] (a flatten) is supported");
    to_flat(index, node, in);
  }

  void dropout(int index, const onnx::NodeProto& node) {
    const Trace& in = computed(index, node, 0);
    double p = opset_ < 12 ? float_attr(node, "ratio", 0.5) : scalar_input(index, node, 1, 0.5);
    if (!(p >= 0 && p < 1)) refuse(index, node, detail::concat("ratio ", p, " is outside [0, 1)"));
    LayerSpec layer;
    layer.type = LayerType::Dropout;
    layer.p = p;
    append(index, node, in, layer, 0);
  }

  void linear(int index, const onnx::NodeProto& node, const Trace& in, std::int64_t fan_in, std::int64_t width, bool bias) {
    if (in.shape.form != TensorForm::Flat)
      refuse(index, node, detail::concat("needs flat features [F] (put a Flatten first), got ", in.shape.str(), " after ", in.after));
    if (fan_in != in.shape.channels())
      refuse(index, node, detail::concat("its weight reads ", fan_in, " features, its input has ", in.shape.channels()));
    LayerSpec layer;
    layer.type = LayerType::Linear;
    layer.bias = bias;
    append(index, node, in, layer, width);
  }

  void gemm(int index, const onnx::NodeProto& node) {
    const Trace& in = computed(index, node, 0);
    if (int_attr(node, "transA", 0) != 0) refuse(index, node, "transA 1 is not supported");
    if (float_attr(node, "alpha", 1) != 1 || float_attr(node, "beta", 1) != 1)
      refuse(index, node, "alpha and beta other than 1 are not supported");
    const onnx::TensorProto* weight = node.input_size() > 1 ? constant(node.input(1)) : nullptr;
    if (!weight || weight->dims_size() != 2) refuse(index, node, "its weight B must be a 2-D initializer");
    const bool trans_b = int_attr(node, "transB", 0) != 0;
    const std::int64_t out = trans_b ? weight->dims(0) : weight->dims(1);
    const std::int64_t fan_in = trans_b ? weight->dims(1) : weight->dims(0);
    const bool bias = node.input_size() > 2 && !node.input(2).empty();
    if (bias) {
      const onnx::TensorProto* c = constant(node.input(2));
      if (!c || dims_of(*c) != std::vector<std::int64_t>{out})
        refuse(index, node, detail::concat("its bias C must be an initializer of ", out, " values"));
    }
    linear(index, node, in, fan_in, out, bias);
  }

  void matmul(int index, const onnx::NodeProto& node) {
    const Trace& in = computed(index, node, 0);
    const onnx::TensorProto* weight = node.input_size() > 1 ? constant(node.input(1)) : nullptr;
    if (!weight || weight->dims_size() != 2) refuse(index, node, "its second input must be a 2-D initializer (a weight)");
    linear(index, node, in, weight->dims(0), weight->dims(1), false);
    values_[node.output(0)].open_matmul = true;
  }

  void add(int index, const onnx::NodeProto& node) {
    if (node.input_size() != 2) refuse(index, node, "Add needs two inputs");
    const bool first_const = constant(node.input(0)) != nullptr, second_const = constant(node.input(1)) != nullptr;
    if (first_const || second_const) {
      if (first_const && second_const) refuse(index, node, "an Add of two constants is not a layer");
      const Trace& in = computed(index, node, first_const ? 1 : 0);
      const onnx::TensorProto* bias = constant(node.input(first_const ? 0 : 1));
      const std::int64_t width = in.shape.channels();
      if (!in.open_matmul || dims_of(*bias) != std::vector<std::int64_t>{width})
        refuse(index, node, "an Add of a constant is supported only as a MatMul's bias (a vector of its output width)");
      Trace out = in;
      out.layers.back().bias = true;
      out.produced.back() = node.output(0);
      out.open_matmul = false;
      values_[node.output(0)] = std::move(out);
      return;
    }
    residual(index, node, computed(index, node, 0), computed(index, node, 1));
  }

  /// An Add of two computed branches: a residual join. One branch is the shortcut (the value they
  /// forked from, or a 1×1 conv + batch norm projection of it), the other the body.
  void residual(int index, const onnx::NodeProto& node, const Trace& a, const Trace& b) {
    std::size_t fork = 0;
    while (fork < a.origins.size() && fork < b.origins.size() && a.origins[fork] == b.origins[fork]) ++fork;
    auto extra = [&](const Trace& t) { return t.layers.size() - fork; };
    auto is_projection = [&](const Trace& t) {
      if (extra(t) != 2) return false;
      const LayerSpec& conv = t.layers[fork];
      return conv.type == LayerType::Conv2d && conv.kernel == std::array<std::int64_t, 2>{1, 1} && conv.groups == 1 &&
             !conv.bias && conv.padding == std::array<std::int64_t, 2>{0, 0} &&
             conv.dilation == std::array<std::int64_t, 2>{1, 1} && t.layers[fork + 1].type == LayerType::BatchNorm2d;
    };
    const Trace* body = nullptr;
    const Trace* shortcut = nullptr;
    if (extra(b) == 0 || (extra(a) != 0 && is_projection(b) && !is_projection(a))) body = &a, shortcut = &b;
    else if (extra(a) == 0 || is_projection(a)) body = &b, shortcut = &a;
    if (!body || extra(*body) == 0 || !(extra(*shortcut) == 0 || is_projection(*shortcut)))
      refuse(index, node, "a join of two branches is supported as a residual whose shortcut is the value both start "
                          "from or a 1×1 conv (no bias, no padding) + batch norm projection of it");
    const std::string fork_value = fork == 0 ? input_name_ : a.produced[fork - 1];
    forks_.insert(fork_value);
    if (uses_.at(fork_value) != 2)
      refuse(index, node, detail::concat("the value its branches start from ('", fork_value, "') feeds ",
                                         uses_.at(fork_value), " nodes; a residual's fork feeds exactly two"));
    LayerSpec block;
    block.type = LayerType::Residual;
    bool has_conv = false;
    for (std::size_t i = fork; i < body->layers.size(); ++i) {
      const LayerSpec& l = body->layers[i];
      if (l.type == LayerType::Residual)
        refuse(index, node, "a residual inside another residual's body is not supported");
      if (is_parametric(l.type) && l.type != LayerType::Conv2d)
        refuse(index, node, detail::concat("a residual's body may hold conv2d and per-element layers only; it holds ",
                                           layer_type_name(l.type), " (", l.path, ")"));
      if (is_reshape(l.type) || l.type == LayerType::GlobalAvgPool)
        refuse(index, node, detail::concat("a residual's body cannot change the tensor's form (", l.path, ")"));
      has_conv = has_conv || l.type == LayerType::Conv2d;
      block.inner.push_back(l);
    }
    if (!has_conv) refuse(index, node, "a residual's body needs at least one Conv");
    tie_inner_widths(block, extra(*shortcut) == 0, body->shape.channels());
    const Trace& start = values_.at(fork_value);
    const bool changes_shape = !(body->shape == start.shape);
    if (extra(*shortcut) == 0 && changes_shape)
      refuse(index, node, detail::concat("an identity shortcut adds ", start.shape.str(), " to ", body->shape.str()));
    if (extra(*shortcut) != 0) {
      if (!changes_shape)
        refuse(index, node, "a projection shortcut on a body that keeps the shape is not supported (the spec projects "
                            "exactly when the body changes channels or size)");
      const LayerSpec& projection = shortcut->layers[fork];
      const std::int64_t sh = start.shape.dims[1] / body->shape.dims[1], sw = start.shape.dims[2] / body->shape.dims[2];
      if (projection.stride != std::array<std::int64_t, 2>{sh, sw} ||
          start.shape.dims[1] % body->shape.dims[1] != 0 || start.shape.dims[2] % body->shape.dims[2] != 0)
        refuse(index, node, detail::concat("the projection's stride ", projection.stride[0], "x", projection.stride[1],
                                           " is not the body's size reduction ", start.shape.str(), " → ",
                                           body->shape.str()));
    }
    append(index, node, start, block, body->shape.channels());
  }

  /// Writes a residual body's widths in their tied form (docs/model-spec.md, "Tied widths"), so a
  /// family made from the model keeps its structure: an identity residual's last conv follows the
  /// block's input; earlier convs are the block's width (omitted) or a ratio of it.
  static void tie_inner_widths(LayerSpec& block, bool identity, std::int64_t block_width) {
    LayerSpec* last = last_conv2d(block);
    if (identity && !last->depthwise) last->width_given = false;
    for (LayerSpec& inner : block.inner) {
      if (&inner == last || inner.type != LayerType::Conv2d || inner.depthwise) continue;
      const std::int64_t w = inner.width.min;
      inner.width_given = false;
      if (w != block_width) inner.width_ratio = static_cast<double>(w) / static_cast<double>(block_width);
    }
  }

  void finish(ModelSpec& spec) {
    const std::string output = resolve(graph_.output(0).name());
    auto it = values_.find(output);
    AMPERE_REQUIRE(it != values_.end(), source_, ": the graph output '", output, "' is not produced by any node");
    Trace& trace = it->second;
    AMPERE_REQUIRE(trace.shape.form == TensorForm::Flat, source_, ": the graph output is ", trace.shape.str(),
                   "; a classifier's output is its logits [classes]");
    auto last = std::find_if(trace.layers.rbegin(), trace.layers.rend(),
                             [](const LayerSpec& l) { return is_parametric(l.type); });
    AMPERE_REQUIRE(last != trace.layers.rend() && last->type == LayerType::Linear, source_,
                   ": the graph does not end in a linear classifier (Gemm or MatMul)");
    spec.classes = trace.shape.channels();
    if (options_.classes) {
      AMPERE_REQUIRE(*options_.classes >= 1, source_, ": --classes must be positive, got ", *options_.classes);
      last->width = ChannelRange{*options_.classes, *options_.classes, 1};
      spec.classes = *options_.classes;
    }
    for (LayerSpec& l : trace.layers) l.path.clear();
    spec.layers = std::move(trace.layers);
    spec.spec_version = required_spec_version(spec.layers);
    try {
      spec = parse_model_spec(to_json(spec));
    } catch (const InputError& e) {
      throw InputError(detail::concat(source_, ": the imported spec does not validate: ", e.what()));
    }
  }

  const onnx::ModelProto& model_;
  const onnx::GraphProto& graph_;
  std::string source_;
  OnnxImportOptions options_;
  std::int64_t opset_ = 13;
  double batch_hint_ = -1;
  std::map<std::string, const onnx::TensorProto*> constants_;
  std::map<std::string, std::string> alias_;
  std::map<std::string, int> uses_;
  std::set<std::string> forks_;
  std::map<std::string, Trace> values_;
  std::string input_name_;
};

}  // namespace

const std::vector<std::string>& supported_onnx_ops() {
  static const std::vector<std::string> ops{
      "Conv", "Gemm", "MatMul", "Add", "BatchNormalization", "Relu", "Clip", "Sigmoid", "Tanh", "HardSigmoid",
      "HardSwish", "MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean", "Flatten", "Reshape",
      "Dropout", "Identity", "Constant"};
  return ops;
}

ModelSpec import_onnx_bytes(const std::string& bytes, const std::string& source, const OnnxImportOptions& options) {
  onnx::ModelProto model;
  AMPERE_REQUIRE(!bytes.empty(), source, ": empty file, not an ONNX model");
  AMPERE_REQUIRE(model.ParseFromString(bytes), source,
                 ": not an ONNX model (the protobuf does not parse: not ONNX, or truncated)");
  AMPERE_REQUIRE(model.ir_version() > 0 && model.has_graph() && model.graph().node_size() > 0, source,
                 ": not an ONNX model (no IR version or no graph nodes; truncated?)");
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    std::string why;  // one line: the checker's message and its context
    for (char c : std::string(e.what())) {
      if (c == '\n') c = ' ';
      if (!(c == ' ' && !why.empty() && why.back() == ' ')) why += c;
    }
    while (!why.empty() && why.back() == ' ') why.pop_back();
    throw InputError(detail::concat(source, ": fails ONNX's own checker (truncated or malformed?): ", why));
  }
  ModelSpec spec = Importer(model, source, options).run();
  // What the import made must be a spec the rest of the product takes, within its limits
  // (docs/model-spec.md, "Limits"): checked by the spec parser itself, the one set of rules.
  try {
    (void)parse_model_spec(to_json(spec));
  } catch (const InputError& e) {
    throw InputError(detail::concat(source, ": the model is outside what a model spec may hold: ", e.what()));
  }
  return spec;
}

ModelSpec import_onnx_file(const std::filesystem::path& file, const OnnxImportOptions& options) {
  std::ifstream in(file, std::ios::binary);
  AMPERE_REQUIRE(in.good(), file.string(), ": cannot read");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  OnnxImportOptions named = options;
  if (named.name.empty()) named.name = file.stem().string();
  return import_onnx_bytes(buffer.str(), file.string(), named);
}

}  // namespace ampere
