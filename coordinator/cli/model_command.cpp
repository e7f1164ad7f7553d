#include "coordinator/cli/model_command.hpp"

#include <iomanip>

#include <nlohmann/json.hpp>

#include "common/layer_parser.hpp"

namespace ampere {
namespace {

std::string channels_str(const std::vector<ChannelRange>& channels) {
  std::string out;
  for (const ChannelRange& c : channels)
    out += (out.empty() ? "" : ", ") + (c.is_fixed() ? std::to_string(c.min)
                                                     : std::to_string(c.min) + ".." + std::to_string(c.max));
  return "(" + out + ")";
}

}  // namespace

void run_model_show(const ModelSpec& spec, std::ostream& out) {
  const std::vector<Block> blocks = parse_blocks(spec);
  out << spec.name << (spec.is_family() ? " (family)" : "") << ": " << blocks.size() << " blocks, batch "
      << spec.batch_size << ", " << spec.dtype << "\n";
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    const Block& block = blocks[b];
    out << "  [" << b << "] " << std::left << std::setw(7) << block_role_name(block.role) << std::right
        << layer_type_name(block.parametric().type) << " channels " << channels_str(block.channels) << "  "
        << block.in.str() << " -> " << block.out.str();
    if (!spec.is_family()) out << "  fwd " << block.forward_flops << " FLOPs, " << block.parameters << " params";
    out << "\n      kind " << block.kind.str() << "\n";
  }
  if (!spec.is_family()) {
    const ModelCost cost = model_cost(spec);
    out << "  total: forward " << cost.forward_flops_per_sample << " FLOPs/sample, training "
        << cost.training_flops_per_iteration << " FLOPs/iteration, " << cost.parameters << " parameters\n";
  }
}

void run_model_kinds(const std::filesystem::path& family_file, std::ostream& out) {
  const ModelSpec family = load_model_spec(family_file);
  const std::vector<ProfileKind> plan = derive_profile_kinds(family);
  out << family.name << ": " << plan.size() << " kinds to profile (dependency order)\n";
  for (const ProfileKind& kind : plan) {
    out << "  " << std::left << std::setw(7) << block_role_name(kind.role) << std::right
        << (kind.auxiliary ? " aux " : "     ") << channels_str(kind.bounds()) << "  " << kind.key.str() << "\n";
    if (!kind.input_helper.str().empty()) out << "        after I' " << kind.input_helper.str() << "\n";
    if (!kind.output_helper.str().empty()) out << "        before O' " << kind.output_helper.str() << "\n";
  }
}

void run_model_sample(const std::filesystem::path& family_file, std::uint64_t seed, std::ostream& out) {
  out << to_json(sample_model(load_model_spec(family_file), seed)).dump(2) << "\n";
}

}  // namespace ampere
