#include "common/layer_parser.hpp"

#include <algorithm>
#include <cstdio>
#include <numeric>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace ampere {
namespace {

std::string pair_str(const std::array<std::int64_t, 2>& v) {
  return std::to_string(v[0]) + "x" + std::to_string(v[1]);
}

/// A layer's contribution to a kind key: its type and every hyper-parameter except the channel
/// width (which is a GP input). Inner residual conv2d widths that are fixed are part of the key.
std::string layer_key(const LayerSpec& layer, bool fixed_width_is_structure = false) {
  std::string out = layer_type_name(layer.type);
  char buffer[32];
  switch (layer.type) {
    case LayerType::Conv2d:
      out += "(k=" + pair_str(layer.kernel) + ",s=" + pair_str(layer.stride) + ",p=" + pair_str(layer.padding);
      if (is_dilated(layer)) out += ",d=" + pair_str(layer.dilation);  // undilated keys stay as they were
      out += ",g=" + (layer.depthwise ? std::string("dw") : std::to_string(layer.groups)) + ",bias=" + (layer.bias ? "1" : "0");
      if (fixed_width_is_structure && layer.width_given && layer.width.is_fixed()) out += ",w=" + std::to_string(layer.width.min);
      if (layer.width_ratio > 0) {
        std::snprintf(buffer, sizeof buffer, ",r=%g", layer.width_ratio);
        out += buffer;
      }
      out += ")";
      break;
    case LayerType::Linear: out += std::string("(bias=") + (layer.bias ? "1" : "0") + ")"; break;
    case LayerType::Lstm: out += "(layers=" + std::to_string(layer.num_layers) + ")"; break;
    case LayerType::TransformerEncoder:
      out += "(nhead=" + std::to_string(layer.nhead) + ",ff=" + std::to_string(layer.dim_feedforward) + ")";
      break;
    case LayerType::Embedding: out += "(vocab=" + std::to_string(layer.vocab) + ")"; break;
    case LayerType::MaxPool2d:
    case LayerType::AvgPool2d:
      out += "(k=" + pair_str(layer.kernel) + ",s=" + pair_str(layer.stride) + ",p=" + pair_str(layer.padding) + ")";
      break;
    case LayerType::AdaptiveAvgPool2d: out += "(out=" + pair_str(layer.output) + ")"; break;
    case LayerType::Dropout:
      std::snprintf(buffer, sizeof buffer, "(p=%g)", layer.p);
      out += buffer;
      break;
    case LayerType::Residual: {
      // The last conv2d's width is the block's channel (a GP input); earlier fixed widths are structure.
      std::size_t width_source = layer.inner.size();
      for (std::size_t i = 0; i < layer.inner.size(); ++i)
        if (layer.inner[i].type == LayerType::Conv2d) width_source = i;
      if (width_follows_input(layer)) out += "(w=in)";  // an identity residual: one GP input, not two
      out += "[";
      for (std::size_t i = 0; i < layer.inner.size(); ++i)
        out += (i ? "+" : "") + layer_key(layer.inner[i], i != width_source);
      out += "]";
      break;
    }
    default: break;
  }
  return out;
}

KindKey make_key(const ModelSpec& spec, BlockRole role, const TensorShape& in, const std::vector<LayerSpec>& layers) {
  std::string text = std::string("v1|") + block_role_name(role) + "|in=" + in.spatial_str();
  if (role == BlockRole::Input) text += "|data=" + std::to_string(in.channels());
  text += "|";
  for (std::size_t i = 0; i < layers.size(); ++i) text += (i ? "+" : "") + layer_key(layers[i]);
  if (role == BlockRole::Output) text += "|classes=" + std::to_string(spec.classes);
  text += "|batch=" + std::to_string(spec.batch_size) + "|dtype=" + spec.dtype;
  return KindKey(text);
}

/// Layers that lead the block after them (docs/method.md §1): reshapes, and a global pooling,
/// which is how a classifier head reads a feature map (resnet's adaptive_avgpool2d → flatten →
/// linear is one output block). Its output helpers then pool too: cheap, certain estimates.
bool leads_next_block(LayerType type) {
  return is_reshape(type) || type == LayerType::AdaptiveAvgPool2d || type == LayerType::GlobalAvgPool;
}

/// Sets a block's parametric width to a concrete value (a residual's last inner conv2d, and the
/// inner ones that inherit it, follow).
void set_width(LayerSpec& layer, std::int64_t value) {
  ChannelRange fixed{value, value, 1};
  if (width_follows_input(layer)) return;
  layer.width = fixed;
  if (layer.type == LayerType::Residual) {
    last_conv2d(layer)->width = fixed;
  }
}

ChannelRange unite(const ChannelRange& a, const ChannelRange& b) {
  return ChannelRange{std::min(a.min, b.min), std::max(a.max, b.max), std::gcd(a.multiple_of, b.multiple_of)};
}

ModelSpec one_model(const ModelSpec& family, const std::string& name, TensorShape data, std::vector<LayerSpec> layers) {
  ModelSpec model;
  model.name = name;
  model.input_shape = data.dims;
  model.batch_size = family.batch_size;
  model.classes = family.classes;
  model.dtype = family.dtype;
  model.layers = std::move(layers);
  model.spec_version = required_spec_version(model.layers);  // a variant network says the format its layers need
  return parse_model_spec(to_json(model));  // fresh JSON paths, full validation
}

/// Builds the plan of a family: its own kinds plus the auxiliary ones.
class PlanBuilder {
 public:
  explicit PlanBuilder(const ModelSpec& family) : family_(family), blocks_(parse_blocks(family)) {}

  std::vector<ProfileKind> build() {
    const TensorShape data = input_tensor(family_);
    for (const Block& block : blocks_) add(make_kind(block, block.role == BlockRole::Input ? data : block.in, false));
    // Helpers depend on the (united) bounds of what they serve: hidden → I′, O″; inputs → O′.
    for (std::size_t i = 0; i < kinds_.size(); ++i) {
      if (kinds_[i].role != BlockRole::Hidden) continue;
      const std::vector<ChannelRange> ch = kinds_[i].block.channels;
      const ChannelRange cin = ch.front(), cout = ch.back();
      ProfileKind helper_in = input_for(kinds_[i].block.in, cin);
      ProfileKind helper_out = output_for(kinds_[i].block.out, cout);
      kinds_[i].input_helper = helper_in.key;
      kinds_[i].output_helper = helper_out.key;
      add(std::move(helper_in));
      add(std::move(helper_out));
    }
    for (std::size_t i = 0; i < kinds_.size(); ++i) {
      if (kinds_[i].role != BlockRole::Input) continue;
      ProfileKind helper_out = output_for(kinds_[i].block.out, kinds_[i].block.channels.front());
      kinds_[i].output_helper = helper_out.key;
      add(std::move(helper_out));
    }
    std::vector<ProfileKind> ordered;
    for (BlockRole role : {BlockRole::Output, BlockRole::Input, BlockRole::Hidden})
      for (const ProfileKind& kind : kinds_)
        if (kind.role == role) ordered.push_back(kind);
    return ordered;
  }

 private:
  ProfileKind make_kind(const Block& block, const TensorShape& data, bool auxiliary) const {
    ProfileKind kind;
    kind.key = block.kind;
    kind.role = block.role;
    kind.auxiliary = auxiliary;
    kind.block = block;
    kind.data = data;
    kind.data_dtype = family_.dtype;
    kind.batch_size = family_.batch_size;
    kind.classes = family_.classes;
    if (data.form == TensorForm::Tokens) kind.vocab = block.parametric().vocab;
    return kind;
  }

  void add(ProfileKind kind) {
    for (ProfileKind& existing : kinds_) {
      if (existing.key != kind.key) continue;
      for (std::size_t d = 0; d < existing.block.channels.size(); ++d)
        existing.block.channels[d] = unite(existing.block.channels[d], kind.block.channels[d]);
      existing.auxiliary = existing.auxiliary && kind.auxiliary;
      return;
    }
    kinds_.push_back(std::move(kind));
  }

  /// O′ / O″: the family's classifier block fed with `in`, adapted to it (flatten for an image,
  /// last_step for a sequence, when the classifier needs flat input).
  ProfileKind output_for(const TensorShape& in, const ChannelRange& bounds) const {
    const Block& classifier = blocks_.back();
    std::vector<LayerSpec> layers;
    const bool needs_flat = classifier.parametric().type == LayerType::Linear;
    // The classifier's own leading layers except its reshapes (a global pooling stays, in front),
    // then the reshape this input needs, then the classifier itself.
    for (std::size_t i = 0; i < classifier.parametric_index; ++i)
      if (!is_reshape(classifier.layers[i].type)) layers.push_back(classifier.layers[i]);
    if (needs_flat && in.form == TensorForm::Image) layers.push_back(adapter(LayerType::Flatten));
    if (needs_flat && in.form == TensorForm::Sequence) layers.push_back(adapter(LayerType::LastStep));
    for (std::size_t i = classifier.parametric_index; i < classifier.layers.size(); ++i) layers.push_back(classifier.layers[i]);
    const TensorShape data = in.with_channels(bounds.min);
    ModelSpec model;
    try {
      model = one_model(family_, "output-kind", data, layers);
    } catch (const InputError& e) {
      throw InputError(detail::concat(classifier.path, ": cannot build the auxiliary output kind that sees ",
                                      in.str(), " (", e.what(), ")"));
    }
    Block block = parse_blocks(model).front();
    block.channels = {bounds};
    return make_kind(block, data, true);
  }

  /// I′: the cheapest input block that produces `in` with `bounds` channels from synthetic data of
  /// the family's data channels (a 1×1 conv2d for images, an embedding for token sequences, a
  /// linear otherwise).
  ProfileKind input_for(const TensorShape& in, const ChannelRange& bounds) const {
    const TensorShape family_data = input_tensor(family_);
    const std::int64_t data_channels = family_data.channels();
    LayerSpec layer;
    layer.width = bounds;
    layer.width_given = true;
    TensorShape data;
    switch (in.form) {
      case TensorForm::Image:
        layer.type = LayerType::Conv2d;
        data = TensorShape{TensorForm::Image, {data_channels, in.dims[1], in.dims[2]}};
        break;
      case TensorForm::Sequence:
        if (family_data.form == TensorForm::Tokens) {
          layer.type = LayerType::Embedding;
          layer.vocab = blocks_.front().parametric().vocab;
          data = TensorShape{TensorForm::Tokens, {in.dims[0]}};
        } else {
          layer.type = LayerType::Linear;
          data = TensorShape{TensorForm::Sequence, {in.dims[0], data_channels}};
        }
        break;
      default:
        layer.type = LayerType::Linear;
        data = TensorShape{TensorForm::Flat, {data_channels}};
        break;
    }
    // A one-input-block + classifier model gives the input block its key.
    ProfileKind out = output_for(in, bounds);
    std::vector<LayerSpec> layers{layer};
    set_width(layers.front(), bounds.min);
    for (const LayerSpec& l : out.block.layers) layers.push_back(l);
    ModelSpec model = one_model(family_, "input-kind", data, layers);
    Block block = parse_blocks(model).front();
    block.channels = {bounds};
    return make_kind(block, data, true);
  }

  static LayerSpec adapter(LayerType type) {
    LayerSpec layer;
    layer.type = type;
    return layer;
  }

  const ModelSpec& family_;
  std::vector<Block> blocks_;
  std::vector<ProfileKind> kinds_;
};

const ProfileKind& find_kind(const std::vector<ProfileKind>& plan, const KindKey& key) {
  for (const ProfileKind& kind : plan)
    if (kind.key == key) return kind;
  throw InputError("profile plan: helper kind missing: " + key.str());
}

std::vector<LayerSpec> with_block_width(const Block& block, std::int64_t width) {
  std::vector<LayerSpec> layers = block.layers;
  set_width(layers[block.parametric_index], width);
  return layers;
}

}  // namespace

const char* block_role_name(BlockRole role) {
  switch (role) {
    case BlockRole::Input: return "input";
    case BlockRole::Hidden: return "hidden";
    case BlockRole::Output: return "output";
  }
  return "?";
}

std::vector<std::int64_t> Block::channel_values() const {
  std::vector<std::int64_t> values;
  for (const ChannelRange& range : channels) values.push_back(range.min);
  return values;
}

std::vector<Block> parse_blocks(const ModelSpec& spec) {
  const std::vector<LayerShape> shapes = infer_shapes(spec);
  std::vector<Block> blocks;
  std::vector<std::size_t> starts;  // index of each block's first layer in spec.layers
  std::vector<LayerSpec> pending;   // layers waiting for the next parametric layer
  std::size_t pending_start = 0;
  bool reshape_seen = false;
  for (std::size_t i = 0; i < spec.layers.size(); ++i) {
    const LayerSpec& layer = spec.layers[i];
    if (is_parametric(layer.type)) {
      Block block;
      block.layers = pending;
      block.parametric_index = pending.size();
      block.layers.push_back(layer);
      block.path = layer.path;
      starts.push_back(pending.empty() ? i : pending_start);
      blocks.push_back(std::move(block));
      pending.clear();
      reshape_seen = false;
    } else if (blocks.empty() || reshape_seen || leads_next_block(layer.type)) {
      if (pending.empty()) pending_start = i;
      pending.push_back(layer);
      reshape_seen = reshape_seen || leads_next_block(layer.type);
    } else {
      blocks.back().layers.push_back(layer);
    }
  }
  for (const LayerSpec& layer : pending) blocks.back().layers.push_back(layer);  // trailing reshapes

  ChannelRange incoming{input_tensor(spec).channels(), input_tensor(spec).channels(), 1};
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    Block& block = blocks[b];
    const std::size_t first = starts[b];
    const std::size_t last = first + block.layers.size() - 1;
    block.in = shapes[first].in;
    block.out = shapes[last].out;
    for (std::size_t i = first; i <= last; ++i) {
      block.forward_flops += shapes[i].forward_flops;
      block.parameters += shapes[i].parameters;
    }
    if (blocks.size() == 1) block.role = BlockRole::Output;
    else block.role = b == 0 ? BlockRole::Input : b + 1 == blocks.size() ? BlockRole::Output : BlockRole::Hidden;

    const LayerSpec& parametric = block.parametric();
    const ChannelRange width = width_follows_input(parametric) ? incoming : parametric.width;
    switch (block.role) {
      case BlockRole::Input: block.channels = {width}; break;
      case BlockRole::Output: block.channels = {incoming}; break;
      case BlockRole::Hidden:
        if (width_follows_input(parametric)) block.channels = {incoming};
        else block.channels = {incoming, width};
        break;
    }
    block.kind = make_key(spec, block.role, block.in, block.layers);
    incoming = width;
  }
  return blocks;
}

std::vector<ProfileKind> derive_profile_kinds(const ModelSpec& family) { return PlanBuilder(family).build(); }

VariantNetwork variant_network(const ProfileKind& kind, const std::vector<std::int64_t>& channels,
                               const std::vector<ProfileKind>& plan) {
  AMPERE_REQUIRE(channels.size() == kind.block.channels.size(), "variant network for ", kind.key.str(),
                 ": needs ", kind.block.channels.size(), " channel values, got ", channels.size());
  for (std::size_t d = 0; d < channels.size(); ++d)
    AMPERE_REQUIRE(channels[d] >= 1, "variant network for ", kind.key.str(), ": channel ", d,
                   " must be positive, got ", channels[d]);
  VariantNetwork variant;
  std::vector<LayerSpec> layers;
  TensorShape data = kind.data;
  switch (kind.role) {
    case BlockRole::Output:
      data = kind.data.with_channels(channels[0]);
      layers = kind.block.layers;
      break;
    case BlockRole::Input: {
      const ProfileKind& after = find_kind(plan, kind.output_helper);
      layers = with_block_width(kind.block, channels[0]);
      for (const LayerSpec& l : after.block.layers) layers.push_back(l);
      variant.subtract.push_back({after.key, {channels[0]}});
      break;
    }
    case BlockRole::Hidden: {
      const ProfileKind& before = find_kind(plan, kind.input_helper);
      const ProfileKind& after = find_kind(plan, kind.output_helper);
      const std::int64_t cin = channels.front(), cout = channels.back();
      data = before.data;
      layers = with_block_width(before.block, cin);
      for (const LayerSpec& l : with_block_width(kind.block, cout)) layers.push_back(l);
      for (const LayerSpec& l : after.block.layers) layers.push_back(l);
      variant.subtract.push_back({before.key, {cin}});
      variant.subtract.push_back({after.key, {cout}});
      break;
    }
  }
  ModelSpec shape_source;
  shape_source.batch_size = kind.batch_size;
  shape_source.classes = kind.classes;
  shape_source.dtype = kind.data_dtype;
  variant.model = one_model(shape_source, "variant " + std::string(block_role_name(kind.role)), data, layers);
  return variant;
}

}  // namespace ampere
