// A family from a concrete model (docs/model-spec.md, "Tied widths"; docs/byom.md): every free
// width becomes a range [ceil(f·C), C] with the model's own C at the top. Widths tied to another
// (a depthwise conv, an identity residual, a width_ratio inside a residual) are not free: they
// move with the width they follow. The classifier's output stays fixed.
#pragma once

#include <vector>

#include "common/model_spec.hpp"

namespace ampere {

/// The family of `model` whose free widths range over [ceil(min_fraction·C), C]; min_fraction in
/// (0, 1]. A grouped (not depthwise) conv2d keeps its groups dividing every member: its width and
/// the width feeding it become multiples of its groups. Throws InputError for a family given, or a
/// fraction outside (0, 1].
/// With `max_factor` above 1 the ranges reach above the model too, [ceil(f·C), max_factor·C]
/// (profile-on-demand profiles [ceil(C/2), 2C] around a model, docs/byom.md §3).
ModelSpec free_widths_family(const ModelSpec& model, double min_fraction, double max_factor = 1.0);

/// Where a free width (a range) of a family sits: a top-level layer's own width, or, for a
/// residual, its last conv2d's (the block's width).
struct FreeWidthSlot {
  std::size_t layer = 0;
};
/// The free widths of a family in layer order, each tie once (tied widths follow, they are not free).
std::vector<FreeWidthSlot> free_width_slots(const ModelSpec& family);
/// The range at `slot` (a residual's last conv2d's).
const ChannelRange& width_at(const ModelSpec& spec, const FreeWidthSlot& slot);
/// Sets the width at `slot` to `value` (a residual's last conv2d and the block's copy alike).
void set_width_at(ModelSpec& spec, const FreeWidthSlot& slot, std::int64_t value);

/// How many widths of a family are free: free_width_slots(family).size().
std::size_t free_width_count(const ModelSpec& family);

}  // namespace ampere
