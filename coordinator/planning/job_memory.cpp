#include "coordinator/planning/job_memory.hpp"

#include <cstdint>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/layer_shapes.hpp"

namespace ampere {

namespace {
std::string megabytes(double bytes) {
  char text[64];
  std::snprintf(text, sizeof text, "%.0f MB", bytes / 1e6);
  return text;
}
}  // namespace

void require_jobs_fit(const std::vector<ProfileKind>& plan, const std::string& family, double limit_bytes) {
  for (const ProfileKind& kind : plan) {
    std::vector<std::int64_t> largest;
    for (const ChannelRange& range : kind.bounds()) largest.push_back(range.max);
    const ModelSpec variant = variant_network(kind, largest, plan).model;
    const TrainingMemory memory = training_memory(variant);
    if (memory.bytes <= limit_bytes) continue;
    const LayerSpec& layer = variant.layers[memory.largest_layer];
    throw InputError(family + ": the variant network for kind " + kind.key.str() + " at channels " +
                     nlohmann::json(largest).dump() + " needs about " + megabytes(memory.bytes) + " (" +
                     std::to_string(static_cast<long long>(memory.bytes)) + " bytes) to train, over the job memory limit of " +
                     megabytes(limit_bytes) + "; its largest layer: layers[" + std::to_string(memory.largest_layer) + "] " +
                     layer_type_name(layer.type) + ", " + megabytes(memory.largest_layer_bytes) +
                     ". Narrow the family's channel ranges.");
  }
}

}  // namespace ampere
