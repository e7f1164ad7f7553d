#include "common/model_family.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace ampere {

ModelSpec free_widths_family(const ModelSpec& model, double min_fraction, double max_factor) {
  AMPERE_REQUIRE(!model.is_family(), model.name, ": already a family (its widths are ranges)");
  AMPERE_REQUIRE(min_fraction > 0 && min_fraction <= 1, "--min-fraction must be in (0, 1], got ", min_fraction);
  AMPERE_REQUIRE(max_factor >= 1 && max_factor <= 16, "the ranges' top factor must be in [1, 16], got ", max_factor);
  ModelSpec family = model;
  std::size_t classifier = family.layers.size();
  for (std::size_t i = 0; i < family.layers.size(); ++i)
    if (is_parametric(family.layers[i].type)) classifier = i;
  auto widen = [&](ChannelRange& range) {
    const std::int64_t c = range.max;
    const auto low = static_cast<std::int64_t>(std::ceil(min_fraction * static_cast<double>(c) - 1e-9));
    const auto high = static_cast<std::int64_t>(std::floor(max_factor * static_cast<double>(c) + 1e-9));
    range = ChannelRange{std::max<std::int64_t>(1, low), std::max(c, high), 1};
  };
  // The range that sets the width now flowing (to make it a multiple of a grouped conv's groups).
  ChannelRange* feeding = nullptr;
  auto require_multiple = [](ChannelRange* range, std::int64_t groups) {
    if (range == nullptr || groups <= 1) return;
    range->multiple_of = std::lcm(range->multiple_of, groups);
    range->min = (range->min + range->multiple_of - 1) / range->multiple_of * range->multiple_of;
    range->min = std::min(range->min, range->max);
  };
  for (std::size_t i = 0; i < family.layers.size(); ++i) {
    LayerSpec& layer = family.layers[i];
    if (!is_parametric(layer.type) || i == classifier || width_follows_input(layer)) continue;
    if (layer.type == LayerType::Residual) {
      LayerSpec* last = last_conv2d(layer);
      widen(last->width);
      layer.width = last->width;
      feeding = &last->width;
      continue;
    }
    if (!layer.width_given) continue;
    widen(layer.width);
    if (layer.type == LayerType::Conv2d && layer.groups > 1) {
      require_multiple(&layer.width, layer.groups);
      require_multiple(feeding, layer.groups);
    }
    feeding = &layer.width;
  }
  family.name = model.name + "-family";
  return parse_model_spec(to_json(family));  // fresh paths, full validation
}

std::vector<FreeWidthSlot> free_width_slots(const ModelSpec& family) {
  std::vector<FreeWidthSlot> slots;
  for (std::size_t i = 0; i < family.layers.size(); ++i) {
    const LayerSpec& layer = family.layers[i];
    const bool own = layer.type == LayerType::Residual ? !width_follows_input(layer) : layer.width_given;
    if (own && !width_at(family, {i}).is_fixed()) slots.push_back({i});
  }
  return slots;
}

const ChannelRange& width_at(const ModelSpec& spec, const FreeWidthSlot& slot) {
  const LayerSpec& layer = spec.layers.at(slot.layer);
  return layer.type == LayerType::Residual ? last_conv2d(layer)->width : layer.width;
}

void set_width_at(ModelSpec& spec, const FreeWidthSlot& slot, std::int64_t value) {
  LayerSpec& layer = spec.layers.at(slot.layer);
  const ChannelRange fixed{value, value, 1};
  if (layer.type == LayerType::Residual) last_conv2d(layer)->width = fixed;
  layer.width = fixed;
}

std::size_t free_width_count(const ModelSpec& family) { return free_width_slots(family).size(); }

}  // namespace ampere
