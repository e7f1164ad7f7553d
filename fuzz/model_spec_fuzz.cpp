// Any bytes as a model spec (an HTTP body, a spec inside a frame, a stored row): parsed with the
// nesting limit, validated against the spec limits, then everything a valid spec feeds: shapes,
// FLOPs, training memory, blocks and kinds, a sampled member. Must never crash or overflow.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "common/json_text.hpp"
#include "common/layer_parser.hpp"
#include "common/layer_shapes.hpp"
#include "common/model_spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const ampere::ModelSpec spec =
        ampere::parse_model_spec(ampere::parse_json(std::string(reinterpret_cast<const char*>(data), size), "fuzz"));
    const ampere::ModelSpec model = spec.is_family() ? ampere::sample_model(spec, size) : spec;
    (void)ampere::model_cost(model);
    (void)ampere::training_memory(model);
    for (const ampere::Block& b : ampere::parse_blocks(model)) (void)b.kind.str();
    (void)ampere::to_json(model).dump();
  } catch (const ampere::InputError&) {
    // refused naming the field: what must happen to a bad spec (anything else escaping is a bug)
  }
  return 0;
}
