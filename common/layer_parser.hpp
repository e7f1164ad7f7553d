// Layer parsing (docs/method.md §1) and the profiling plan of a family (docs/method.md §2).
//
// A block is one parametric layer with the non-parametric layers after it; reshaping layers
// (flatten, last_step) and whatever follows them up to the next parametric layer lead the next
// block instead (docs/architecture.md explains why). The first block is the input block, the last
// the output block, the rest hidden; a one-block network is an output block alone.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/layer_shapes.hpp"
#include "common/model_spec.hpp"

namespace ampere {

enum class BlockRole { Input, Hidden, Output };
const char* block_role_name(BlockRole role);

/// The canonical identity of a layer kind: blocks with equal keys share one GP. The string is
/// stable across versions (tests pin it); it starts with a format version ("v1|").
class KindKey {
 public:
  KindKey() = default;
  explicit KindKey(std::string text) : text_(std::move(text)) {}
  const std::string& str() const { return text_; }
  bool operator==(const KindKey& o) const { return text_ == o.text_; }
  bool operator!=(const KindKey& o) const { return text_ != o.text_; }
  bool operator<(const KindKey& o) const { return text_ < o.text_; }

 private:
  std::string text_;
};

/// One block of a model or family.
struct Block {
  BlockRole role = BlockRole::Output;
  std::vector<LayerSpec> layers;  ///< pre (reshapes) + parametric + post, as in the spec
  std::size_t parametric_index = 0;  ///< index of the parametric layer within `layers`
  std::string path;               ///< the parametric layer's JSON path
  TensorShape in;                 ///< input shape (channels at their minimum for a family)
  TensorShape out;
  KindKey kind;
  /// The GP's inputs: input block {C_out}; output block {C_in}; hidden {C_in, C_out}, or {d} for a
  /// transformer_encoder (its width is tied to its input). Ranges for a family, fixed for a model.
  std::vector<ChannelRange> channels;
  double forward_flops = 0;       ///< per sample (meaningful for a concrete model)
  std::int64_t parameters = 0;

  const LayerSpec& parametric() const { return layers[parametric_index]; }
  /// Concrete channel values (each range's min; for a model these are the channels).
  std::vector<std::int64_t> channel_values() const;
};

/// Splits a model or family into blocks with roles, channels and kind keys.
std::vector<Block> parse_blocks(const ModelSpec& spec);

/// A kind to profile, with what its variant networks are built from.
struct ProfileKind {
  KindKey key;
  BlockRole role = BlockRole::Output;
  bool auxiliary = false;          ///< derived for subtraction only; no model of the family has it
  Block block;                     ///< the template block (channels = union of the bounds needed)
  TensorShape data;                ///< synthetic data shape (for an output kind: channels vary)
  std::string data_dtype;
  std::int64_t batch_size = 1;
  std::int64_t classes = 1;
  std::int64_t vocab = 0;          ///< token data only
  KindKey input_helper;            ///< hidden: I′ (the input kind feeding it)
  KindKey output_helper;           ///< input and hidden: O′ / O″ (the output kind after it)

  std::vector<ChannelRange> bounds() const { return block.channels; }
};

/// Every kind a family needs profiled, auxiliary kinds included, in dependency order: outputs,
/// then inputs, then hidden (docs/method.md §2). Bounds of a kind needed several times are united.
std::vector<ProfileKind> derive_profile_kinds(const ModelSpec& family);

/// A variant network to train and what to subtract from its measurement.
struct VariantNetwork {
  ModelSpec model;
  /// The kinds whose estimates are subtracted, with the channels at which to evaluate them.
  std::vector<std::pair<KindKey, std::vector<std::int64_t>>> subtract;
};

/// The variant network that measures `kind` at `channels` (one value per GP input): the kind
/// alone (output), kind + O′ (input), or I′ + kind + O″ (hidden). `plan` must hold the helpers.
VariantNetwork variant_network(const ProfileKind& kind, const std::vector<std::int64_t>& channels,
                               const std::vector<ProfileKind>& plan);

}  // namespace ampere
