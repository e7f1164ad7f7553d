#include "common/model_spec.hpp"
#include "common/input_limits.hpp"
#include "common/json_text.hpp"

#include <algorithm>
#include <fstream>
#include <functional>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/layer_shapes.hpp"

namespace ampere {
namespace {

using nlohmann::json;

struct TypeInfo {
  LayerType type;
  const char* name;
  bool parametric;
  const char* width_field;             // nullptr when none
  std::vector<const char*> fields;     // allowed fields besides "type"
};

const std::vector<TypeInfo>& type_table() {
  static const std::vector<TypeInfo> table = {
      {LayerType::Conv2d, "conv2d", true, "out_channels",
       {"out_channels", "kernel", "stride", "padding", "dilation", "groups", "depthwise", "width_ratio", "bias"}},
      {LayerType::Linear, "linear", true, "out_features", {"out_features", "bias"}},
      {LayerType::Lstm, "lstm", true, "hidden_size", {"hidden_size", "num_layers"}},
      {LayerType::TransformerEncoder, "transformer_encoder", true, "d_model",
       {"d_model", "nhead", "dim_feedforward"}},
      {LayerType::Embedding, "embedding", true, "dim", {"dim", "vocab"}},
      {LayerType::Residual, "residual", true, nullptr, {"layers"}},
      {LayerType::Relu, "relu", false, nullptr, {}},
      {LayerType::Gelu, "gelu", false, nullptr, {}},
      {LayerType::Tanh, "tanh", false, nullptr, {}},
      {LayerType::Sigmoid, "sigmoid", false, nullptr, {}},
      {LayerType::Relu6, "relu6", false, nullptr, {}},
      {LayerType::HardSigmoid, "hardsigmoid", false, nullptr, {}},
      {LayerType::HardSwish, "hardswish", false, nullptr, {}},
      {LayerType::GlobalAvgPool, "global_avgpool", false, nullptr, {}},
      {LayerType::MaxPool2d, "maxpool2d", false, nullptr, {"kernel", "stride", "padding"}},
      {LayerType::AvgPool2d, "avgpool2d", false, nullptr, {"kernel", "stride", "padding"}},
      {LayerType::AdaptiveAvgPool2d, "adaptive_avgpool2d", false, nullptr, {"output"}},
      {LayerType::Flatten, "flatten", false, nullptr, {}},
      {LayerType::Dropout, "dropout", false, nullptr, {"p"}},
      {LayerType::BatchNorm2d, "batchnorm2d", false, nullptr, {}},
      {LayerType::LayerNorm, "layernorm", false, nullptr, {}},
      {LayerType::LastStep, "last_step", false, nullptr, {}},
  };
  return table;
}

const TypeInfo& info(LayerType type) {
  for (const auto& entry : type_table())
    if (entry.type == type) return entry;
  throw std::logic_error("layer type missing from the type table");
}

std::string known_types() {
  std::string out;
  for (const auto& entry : type_table()) out += (out.empty() ? "" : ", ") + std::string(entry.name);
  return out;
}

std::string show(const json& value) { return value.dump(); }

void reject_unknown_fields(const json& object, const std::vector<const char*>& allowed,
                           const std::string& path) {
  for (const auto& item : object.items()) {
    const std::string& key = item.key();  // a plain reference: lambdas may capture it (C++17)
    if (std::any_of(allowed.begin(), allowed.end(), [&](const char* name) { return key == name; })) continue;
    std::string list;
    for (const char* name : allowed) list += (list.empty() ? "" : ", ") + std::string(name);
    throw InputError(path + "." + key + ": unknown field (allowed here: " + list + ")");
  }
}

std::int64_t positive_int(const json& value, const std::string& path, std::int64_t min = 1,
                          std::int64_t max = SpecLimits::max_channels) {
  AMPERE_REQUIRE(value.is_number_integer() && value.get<std::int64_t>() >= min, path,
                 min == 1 ? ": must be a positive integer, got " : ": must be an integer >= ",
                 min == 1 ? "" : std::to_string(min) + ", got ", show(value));
  // a huge unsigned value reads as negative above: refused there
  AMPERE_REQUIRE(value.get<std::int64_t>() <= max, path, ": at most ", max, " (docs/model-spec.md, \"Limits\"), got ",
                 show(value));
  return value.get<std::int64_t>();
}

std::array<std::int64_t, 2> pair_field(const json& value, const std::string& path, std::int64_t min) {
  constexpr std::int64_t max = SpecLimits::max_kernel;
  if (value.is_array()) {
    AMPERE_REQUIRE(value.size() == 2, path, ": must be an integer or [h, w], got ", show(value));
    return {positive_int(value[0], path + "[0]", min, max), positive_int(value[1], path + "[1]", min, max)};
  }
  std::int64_t v = positive_int(value, path, min, max);
  return {v, v};
}

ChannelRange channel_field(const json& value, const std::string& path) {
  ChannelRange range;
  if (value.is_object()) {
    reject_unknown_fields(value, {"min", "max", "multiple_of"}, path);
    AMPERE_REQUIRE(value.contains("min") && value.contains("max"), path,
                   ": a range needs both \"min\" and \"max\", got ", show(value));
    range.min = positive_int(value["min"], path + ".min");
    range.max = positive_int(value["max"], path + ".max");
    if (value.contains("multiple_of"))
      range.multiple_of = positive_int(value["multiple_of"], path + ".multiple_of");
    AMPERE_REQUIRE(range.min <= range.max, path, ": min (", range.min, ") exceeds max (", range.max, ")");
    std::int64_t first = (range.min + range.multiple_of - 1) / range.multiple_of * range.multiple_of;
    AMPERE_REQUIRE(first <= range.max, path, ": no multiple of ", range.multiple_of, " in [",
                   range.min, ", ", range.max, "]");
    return range;
  }
  AMPERE_REQUIRE(value.is_number_integer(), path,
                 ": must be a positive integer or {\"min\": a, \"max\": b}, got ", show(value));
  range.min = range.max = positive_int(value, path);
  return range;
}

LayerSpec parse_layer(const json& value, const std::string& path, bool inside_residual) {
  AMPERE_REQUIRE(value.is_object(), path, ": must be an object with a \"type\", got ", show(value));
  AMPERE_REQUIRE(value.contains("type") && value["type"].is_string(), path,
                 ".type: missing (one of: ", known_types(), ")");
  const std::string name = value["type"].get<std::string>();
  const TypeInfo* found = nullptr;
  for (const auto& entry : type_table())
    if (name == entry.name) found = &entry;
  AMPERE_REQUIRE(found != nullptr, path, ".type: unknown layer type '", name, "' (known: ", known_types(), ")");
  std::vector<const char*> allowed = found->fields;
  allowed.push_back("type");
  reject_unknown_fields(value, allowed, path);

  LayerSpec layer;
  layer.type = found->type;
  layer.path = path;
  AMPERE_REQUIRE(inside_residual || !value.contains("width_ratio"), path,
                 ".width_ratio: only a conv2d inside a residual has one (a ratio of the block's width)");
  if (found->width_field != nullptr) {
    if (value.contains(found->width_field)) {
      layer.width = channel_field(value[found->width_field], path + "." + found->width_field);
      layer.width_given = true;
    } else {
      bool may_omit = layer.type == LayerType::TransformerEncoder ||
                      (inside_residual && layer.type == LayerType::Conv2d) ||
                      (layer.type == LayerType::Conv2d && value.value("depthwise", false) == true);
      AMPERE_REQUIRE(may_omit, path, ".", found->width_field, ": missing");
    }
  }
  auto opt_pair = [&](const char* field, std::array<std::int64_t, 2>& into, std::int64_t min) {
    if (value.contains(field)) into = pair_field(value[field], path + "." + field, min);
  };
  switch (layer.type) {
    case LayerType::Conv2d:
      AMPERE_REQUIRE(value.contains("kernel"), path, ".kernel: missing");
      opt_pair("kernel", layer.kernel, 1);
      opt_pair("stride", layer.stride, 1);
      opt_pair("padding", layer.padding, 0);
      opt_pair("dilation", layer.dilation, 1);
      if (value.contains("groups")) layer.groups = positive_int(value["groups"], path + ".groups");
      if (value.contains("depthwise")) {
        AMPERE_REQUIRE(value["depthwise"].is_boolean(), path, ".depthwise: must be true or false, got ", show(value["depthwise"]));
        layer.depthwise = value["depthwise"].get<bool>();
        AMPERE_REQUIRE(!layer.depthwise || (!value.contains("groups") && !layer.width_given), path,
                       ".depthwise: a depthwise conv2d's groups and out_channels are its input's channels; omit both");
      }
      if (value.contains("width_ratio")) {
        AMPERE_REQUIRE(inside_residual, path, ".width_ratio: only a conv2d inside a residual has one (a ratio of the block's width)");
        AMPERE_REQUIRE(value["width_ratio"].is_number() && value["width_ratio"].get<double>() > 0 &&
                           value["width_ratio"].get<double>() <= 1024,
                       path, ".width_ratio: must be a number in (0, 1024], got ", show(value["width_ratio"]));
        AMPERE_REQUIRE(!layer.width_given && !layer.depthwise, path,
                       ".width_ratio: gives the width; omit out_channels and depthwise");
        layer.width_ratio = value["width_ratio"].get<double>();
      }
      break;
    case LayerType::MaxPool2d:
    case LayerType::AvgPool2d:
      AMPERE_REQUIRE(value.contains("kernel"), path, ".kernel: missing");
      opt_pair("kernel", layer.kernel, 1);
      layer.stride = layer.kernel;  // docs/model-spec.md: stride defaults to the kernel
      opt_pair("stride", layer.stride, 1);
      opt_pair("padding", layer.padding, 0);
      break;
    case LayerType::AdaptiveAvgPool2d:
      AMPERE_REQUIRE(value.contains("output"), path, ".output: missing");
      opt_pair("output", layer.output, 1);
      break;
    case LayerType::Lstm:
      if (value.contains("num_layers"))
        layer.num_layers = positive_int(value["num_layers"], path + ".num_layers", 1, SpecLimits::max_lstm_layers);
      break;
    case LayerType::TransformerEncoder:
      AMPERE_REQUIRE(value.contains("nhead"), path, ".nhead: missing");
      AMPERE_REQUIRE(value.contains("dim_feedforward"), path, ".dim_feedforward: missing");
      layer.nhead = positive_int(value["nhead"], path + ".nhead");
      layer.dim_feedforward = positive_int(value["dim_feedforward"], path + ".dim_feedforward", 1, SpecLimits::max_feedforward);
      break;
    case LayerType::Embedding:
      AMPERE_REQUIRE(value.contains("vocab"), path, ".vocab: missing");
      layer.vocab = positive_int(value["vocab"], path + ".vocab", 1, SpecLimits::max_vocab);
      break;
    case LayerType::Dropout:
      if (value.contains("p")) {
        const json& p = value["p"];
        AMPERE_REQUIRE(p.is_number() && p.get<double>() >= 0 && p.get<double>() < 1, path,
                       ".p: must be a number in [0, 1), got ", show(p));
        layer.p = p.get<double>();
      }
      break;
    case LayerType::Residual: {
      AMPERE_REQUIRE(!inside_residual, path, ": a residual cannot contain another residual");
      AMPERE_REQUIRE(value.contains("layers") && value["layers"].is_array() && !value["layers"].empty(),
                     path, ".layers: must be a non-empty list of layers");
      AMPERE_REQUIRE(value["layers"].size() <= SpecLimits::max_inner_layers, path, ".layers: ", value["layers"].size(),
                     " layers, at most ", SpecLimits::max_inner_layers);
      for (std::size_t i = 0; i < value["layers"].size(); ++i) {
        std::string inner_path = path + ".layers[" + std::to_string(i) + "]";
        LayerSpec inner = parse_layer(value["layers"][i], inner_path, true);
        AMPERE_REQUIRE(inner.type == LayerType::Conv2d || !is_parametric(inner.type), inner_path,
                       ": a residual holds conv2d and non-parametric layers only, got ",
                       layer_type_name(inner.type));
        AMPERE_REQUIRE(!is_reshape(inner.type), inner_path, ": ", layer_type_name(inner.type),
                       " cannot be inside a residual (its output is added to its input)");
        layer.inner.push_back(std::move(inner));
      }
      // The block's width is its last conv2d's; earlier ones are fixed or inherit it.
      auto last = std::find_if(layer.inner.rbegin(), layer.inner.rend(),
                               [](const LayerSpec& l) { return l.type == LayerType::Conv2d; });
      AMPERE_REQUIRE(last != layer.inner.rend(), path, ".layers: a residual needs at least one conv2d");
      AMPERE_REQUIRE(last->width_ratio == 0, last->path, ".width_ratio: the last conv2d of a residual sets the block's "
                     "width; give out_channels, or omit it for the block's input width");
      // A last conv2d without out_channels (version 2): the block keeps its input's width.
      for (auto it = last + 1; it != layer.inner.rend(); ++it)
        AMPERE_REQUIRE(it->type != LayerType::Conv2d || !it->width_given || it->width.is_fixed(),
                       it->path, ".out_channels: only the last conv2d of a residual may be a range; "
                       "omit it to use the block's width");
      layer.width = last->width;  // the block's channel range; not written back to JSON
      break;
    }
    default:
      break;
  }
  if (value.contains("bias")) {
    AMPERE_REQUIRE(value["bias"].is_boolean(), path, ".bias: must be true or false, got ", show(value["bias"]));
    layer.bias = value["bias"].get<bool>();
  }
  return layer;
}

json pair_json(const std::array<std::int64_t, 2>& v) {
  return v[0] == v[1] ? json(v[0]) : json::array({v[0], v[1]});
}

json channel_json(const ChannelRange& range) {
  if (range.is_fixed()) return range.min;
  json out = {{"min", range.min}, {"max", range.max}};
  if (range.multiple_of != 1) out["multiple_of"] = range.multiple_of;
  return out;
}

json layer_json(const LayerSpec& layer) {
  const TypeInfo& t = info(layer.type);
  json out = {{"type", t.name}};
  if (t.width_field != nullptr && layer.width_given) out[t.width_field] = channel_json(layer.width);
  switch (layer.type) {
    case LayerType::Conv2d:
      out["kernel"] = pair_json(layer.kernel);
      out["stride"] = pair_json(layer.stride);
      out["padding"] = pair_json(layer.padding);
      if (is_dilated(layer)) out["dilation"] = pair_json(layer.dilation);  // version 1 specs stay as they were
      if (layer.depthwise) out["depthwise"] = true;
      else out["groups"] = layer.groups;
      if (layer.width_ratio > 0) out["width_ratio"] = layer.width_ratio;
      out["bias"] = layer.bias;
      break;
    case LayerType::Linear: out["bias"] = layer.bias; break;
    case LayerType::MaxPool2d:
    case LayerType::AvgPool2d:
      out["kernel"] = pair_json(layer.kernel);
      out["stride"] = pair_json(layer.stride);
      out["padding"] = pair_json(layer.padding);
      break;
    case LayerType::AdaptiveAvgPool2d: out["output"] = pair_json(layer.output); break;
    case LayerType::Lstm: out["num_layers"] = layer.num_layers; break;
    case LayerType::TransformerEncoder:
      out["nhead"] = layer.nhead;
      out["dim_feedforward"] = layer.dim_feedforward;
      break;
    case LayerType::Embedding: out["vocab"] = layer.vocab; break;
    case LayerType::Dropout: out["p"] = layer.p; break;
    case LayerType::Residual:
      out["layers"] = json::array();
      for (const auto& inner : layer.inner) out["layers"].push_back(layer_json(inner));
      break;
    default: break;
  }
  return out;
}

bool any_range(const std::vector<LayerSpec>& layers) {
  return std::any_of(layers.begin(), layers.end(), [](const LayerSpec& l) {
    return (l.width_given && !l.width.is_fixed()) || any_range(l.inner);
  });
}

/// Portable draw: mt19937_64's sequence is fixed by the standard; distributions are not.
std::int64_t draw(std::mt19937_64& rng, const ChannelRange& range) {
  std::int64_t first = (range.min + range.multiple_of - 1) / range.multiple_of;
  std::int64_t last = range.max / range.multiple_of;
  auto count = static_cast<std::uint64_t>(last - first + 1);
  return (first + static_cast<std::int64_t>(rng() % count)) * range.multiple_of;
}

void sample_layers(std::vector<LayerSpec>& layers, std::mt19937_64& rng) {
  for (auto& layer : layers) {
    if (layer.width_given && !layer.width.is_fixed()) {
      std::int64_t value = draw(rng, layer.width);
      layer.width = ChannelRange{value, value, 1};
    }
    sample_layers(layer.inner, rng);
    if (layer.type == LayerType::Residual) {
      const LayerSpec* last = last_conv2d(layer);
      if (last != nullptr && last->width_given) layer.width = last->width;  // else: its input's
    }
  }
}

}  // namespace

const char* layer_type_name(LayerType type) { return info(type).name; }
bool is_parametric(LayerType type) { return info(type).parametric; }
bool is_reshape(LayerType type) { return type == LayerType::Flatten || type == LayerType::LastStep; }

bool ModelSpec::is_family() const { return any_range(layers); }

namespace {
/// What of version 2 a layer itself uses ("type" or "dilation"), or nullptr.
const char* version2_feature(const LayerSpec& l) {
  if (l.type == LayerType::Relu6 || l.type == LayerType::HardSigmoid || l.type == LayerType::HardSwish ||
      l.type == LayerType::GlobalAvgPool)
    return "type";
  if (is_dilated(l)) return "dilation";
  if (l.depthwise) return "depthwise";
  if (l.width_ratio > 0) return "width_ratio";
  if (l.type == LayerType::Residual && width_follows_input(l)) return "layers";
  return nullptr;
}
}  // namespace

const LayerSpec* last_conv2d(const LayerSpec& residual) {
  auto last = std::find_if(residual.inner.rbegin(), residual.inner.rend(),
                           [](const LayerSpec& l) { return l.type == LayerType::Conv2d; });
  return last == residual.inner.rend() ? nullptr : &*last;
}

LayerSpec* last_conv2d(LayerSpec& residual) {
  return const_cast<LayerSpec*>(last_conv2d(static_cast<const LayerSpec&>(residual)));
}

bool width_follows_input(const LayerSpec& layer) {
  switch (layer.type) {
    case LayerType::TransformerEncoder: return !layer.width_given;
    case LayerType::Conv2d: return layer.depthwise;
    case LayerType::Residual: {
      const LayerSpec* last = last_conv2d(layer);
      return last != nullptr && !last->width_given && !last->depthwise;
    }
    default: return false;
  }
}

bool is_dilated(const LayerSpec& layer) {
  return layer.type == LayerType::Conv2d && layer.dilation != std::array<std::int64_t, 2>{1, 1};
}

int required_spec_version(const std::vector<LayerSpec>& layers) {
  int version = 1;
  for (const LayerSpec& l : layers)
    version = std::max({version, version2_feature(l) ? 2 : 1, required_spec_version(l.inner)});
  return version;
}

ModelSpec parse_model_spec(const json& value) {
  AMPERE_REQUIRE(value.is_object(), "(root): a model spec must be a JSON object, got ", show(value).substr(0, 60));
  reject_unknown_fields(value, {"spec_version", "name", "input", "batch_size", "classes", "dtype", "layers"}, "(root)");
  ModelSpec spec;
  if (value.contains("spec_version")) {
    const json& v = value["spec_version"];
    AMPERE_REQUIRE(v.is_number_integer() && (v.get<int>() == 1 || v.get<int>() == 2),
                   "spec_version: this build reads versions 1 and 2, got ", show(v));
    spec.spec_version = v.get<int>();
  }
  AMPERE_REQUIRE(value.contains("name") && value["name"].is_string() && !value["name"].get<std::string>().empty(),
                 "name: must be a non-empty string");
  require_name(value["name"].get<std::string>(), "name", 2 * kMaxNameBytes);  // a family's own: 128 (campaign start)
  spec.name = value["name"].get<std::string>();

  AMPERE_REQUIRE(value.contains("input") && value["input"].is_object(), "input: must be an object with a \"shape\"");
  reject_unknown_fields(value["input"], {"shape"}, "input");
  const json& shape = value["input"].value("shape", json());
  AMPERE_REQUIRE(shape.is_array() && !shape.empty() && shape.size() <= 3, "input.shape: must be [C, H, W], [T, F], [F] or [T], got ",
                 show(shape));
  for (std::size_t i = 0; i < shape.size(); ++i)
    spec.input_shape.push_back(positive_int(shape[i], "input.shape[" + std::to_string(i) + "]", 1, SpecLimits::max_input_extent));

  AMPERE_REQUIRE(value.contains("batch_size"), "batch_size: missing");
  spec.batch_size = positive_int(value["batch_size"], "batch_size", 1, SpecLimits::max_batch);
  AMPERE_REQUIRE(value.contains("classes"), "classes: missing");
  spec.classes = positive_int(value["classes"], "classes");
  if (value.contains("dtype")) {
    const json& dtype = value["dtype"];
    static const std::set<std::string> known = {"float32", "float64", "float16", "bfloat16"};
    AMPERE_REQUIRE(dtype.is_string() && known.count(dtype.get<std::string>()) == 1,
                   "dtype: must be one of float32, float64, float16, bfloat16, got ", show(dtype));
    spec.dtype = dtype.get<std::string>();
  }

  AMPERE_REQUIRE(value.contains("layers") && value["layers"].is_array() && !value["layers"].empty(),
                 "layers: must be a non-empty list");
  AMPERE_REQUIRE(value["layers"].size() <= SpecLimits::max_layers, "layers: ", value["layers"].size(), " layers, at most ",
                 SpecLimits::max_layers);
  for (std::size_t i = 0; i < value["layers"].size(); ++i)
    spec.layers.push_back(parse_layer(value["layers"][i], "layers[" + std::to_string(i) + "]", false));

  // Layer types of format 2 need the spec to say so: a reader of version 1 would refuse them anyway,
  // and the version says which readers can.
  std::function<void(const std::vector<LayerSpec>&)> require_version = [&](const std::vector<LayerSpec>& layers) {
    for (const LayerSpec& l : layers) {
      const char* feature = version2_feature(l);
      const std::string what = std::string(feature ? feature : "");
      AMPERE_REQUIRE(!feature || spec.spec_version >= 2, l.path, ".", what, ": ",
                     what == "type"       ? layer_type_name(l.type)
                     : what == "dilation" ? "a dilated conv2d"
                     : what == "layers"   ? "a residual whose last conv2d omits out_channels (its input's width)"
                                          : what.c_str(),
                     " needs \"spec_version\": 2 (docs/model-spec.md)");
      require_version(l.inner);
    }
  };
  require_version(spec.layers);

  auto last = std::find_if(spec.layers.rbegin(), spec.layers.rend(),
                           [](const LayerSpec& l) { return is_parametric(l.type); });
  AMPERE_REQUIRE(last != spec.layers.rend(), "layers: a model needs at least one parametric layer "
                 "(conv2d, linear, lstm, transformer_encoder, embedding, residual)");
  AMPERE_REQUIRE(last->type == LayerType::Linear || last->type == LayerType::Conv2d, last->path,
                 ": the last parametric layer is the classifier and must be linear or conv2d, got ",
                 layer_type_name(last->type));
  AMPERE_REQUIRE(last->width.is_fixed() && last->width.min == spec.classes, last->path,
                 ".", info(last->type).width_field, ": the last parametric layer's width must equal classes (",
                 spec.classes, "), got ", show(channel_json(last->width)));

  infer_shapes(spec);  // shape rules; throws naming the layer
  return spec;
}

ModelSpec load_model_spec(const std::filesystem::path& file) {
  std::ifstream in(file);
  AMPERE_REQUIRE(in.good(), file.string(), ": cannot open model spec");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const json value = parse_json(text, file.string().c_str());
  try {
    return parse_model_spec(value);
  } catch (const InputError& e) {
    throw InputError(file.string() + ": " + e.what());
  }
}

json to_json(const ModelSpec& spec) {
  json out = {{"name", spec.name},
              {"input", {{"shape", spec.input_shape}}},
              {"batch_size", spec.batch_size},
              {"classes", spec.classes},
              {"dtype", spec.dtype},
              {"layers", json::array()}};
  for (const auto& layer : spec.layers) out["layers"].push_back(layer_json(layer));
  if (spec.spec_version != 1) out["spec_version"] = spec.spec_version;  // version 1 stays as it always was
  return out;
}

ModelSpec sample_model(const ModelSpec& family, std::uint64_t seed) {
  ModelSpec model = family;
  std::mt19937_64 rng(seed);
  sample_layers(model.layers, rng);
  infer_shapes(model);  // e.g. groups must divide the drawn channels
  return model;
}

}  // namespace ampere
