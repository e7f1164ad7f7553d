#include "common/layer_parser.hpp"

#include <set>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using ampere::Block;
using ampere::BlockRole;
using ampere::ModelSpec;
using ampere::ProfileKind;
using nlohmann::json;

namespace {

ModelSpec family(const std::string& name) {
  return ampere::load_model_spec(std::string(AMPERE_MODELS_DIR) + "/" + name + ".json");
}

const std::string kConv3 = "conv2d(k=3x3,s=1x1,p=1x1,g=1,bias=1)";
const std::string kConv1 = "conv2d(k=1x1,s=1x1,p=0x0,g=1,bias=1)";
const std::string kPool = "maxpool2d(k=2x2,s=2x2,p=0x0)";
const std::string kTail = "|batch=10|dtype=float32";

}  // namespace

TEST_CASE("cnn5 splits into blocks with roles, channels and canonical kind keys") {
  const std::vector<Block> blocks = ampere::parse_blocks(family("cnn5"));
  REQUIRE(blocks.size() == 5);
  CHECK(blocks[0].role == BlockRole::Input);
  CHECK(blocks[1].role == BlockRole::Hidden);
  CHECK(blocks[4].role == BlockRole::Output);
  CHECK(blocks[0].kind.str() == "v1|input|in=image:28x28|data=1|" + kConv3 + "+relu+" + kPool + kTail);
  CHECK(blocks[1].kind.str() == "v1|hidden|in=image:14x14|" + kConv3 + "+relu+" + kPool + kTail);
  CHECK(blocks[2].kind.str() == "v1|hidden|in=image:7x7|" + kConv3 + "+relu" + kTail);
  // flatten leads the block that consumes it
  CHECK(blocks[3].kind.str() == "v1|hidden|in=image:7x7|flatten+linear(bias=1)+relu" + kTail);
  CHECK(blocks[4].kind.str() == "v1|output|in=flat|linear(bias=1)|classes=10" + kTail);
  // channels: input C_out; hidden (C_in, C_out); output C_in
  REQUIRE(blocks[0].channels.size() == 1);
  CHECK(blocks[0].channels[0].max == 32);
  REQUIRE(blocks[1].channels.size() == 2);
  CHECK(blocks[1].channels[0].max == 32);
  CHECK(blocks[1].channels[1].max == 64);
  CHECK(blocks[3].channels[0].max == 64);
  CHECK(blocks[3].channels[1].max == 128);
  REQUIRE(blocks[4].channels.size() == 1);
  CHECK(blocks[4].channels[0].max == 128);
}

TEST_CASE("blocks with equal structure share a kind, a different batch size does not") {
  json spec = json::parse(R"({"name": "deep", "input": {"shape": [3, 16, 16]}, "batch_size": 4, "classes": 5,
    "layers": [{"type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1}, {"type": "relu"},
               {"type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1}, {"type": "relu"},
               {"type": "conv2d", "out_channels": 16, "kernel": 3, "padding": 1}, {"type": "relu"},
               {"type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1, "bias": false}, {"type": "relu"},
               {"type": "flatten"}, {"type": "linear", "out_features": 5}]})");
  const auto blocks = ampere::parse_blocks(ampere::parse_model_spec(spec));
  REQUIRE(blocks.size() == 5);
  CHECK(blocks[1].kind == blocks[2].kind);  // channels are GP inputs, not part of the key
  CHECK(blocks[2].kind != blocks[3].kind);  // bias changes the kind
  std::set<std::string> unique;
  for (const auto& b : blocks) unique.insert(b.kind.str());
  CHECK(unique.size() == 4);
  spec["batch_size"] = 8;
  CHECK(ampere::parse_blocks(ampere::parse_model_spec(spec))[1].kind != blocks[1].kind);
}

TEST_CASE("a one-block network is an output block alone") {
  const auto blocks = ampere::parse_blocks(ampere::parse_model_spec(json::parse(
      R"({"name": "logreg", "input": {"shape": [1, 28, 28]}, "batch_size": 10, "classes": 10,
          "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}]})")));
  REQUIRE(blocks.size() == 1);
  CHECK(blocks[0].role == BlockRole::Output);
  CHECK(blocks[0].kind.str() == "v1|output|in=image:28x28|flatten+linear(bias=1)|classes=10" + kTail);
}

TEST_CASE("cnn5's profiling plan derives the auxiliary kinds in dependency order") {
  const std::vector<ProfileKind> plan = ampere::derive_profile_kinds(family("cnn5"));
  std::vector<std::string> keys;
  for (const auto& k : plan) keys.push_back(k.key.str());
  const std::string out_flat = "v1|output|in=flat|linear(bias=1)|classes=10" + kTail;
  const std::string out7 = "v1|output|in=image:7x7|flatten+linear(bias=1)|classes=10" + kTail;
  const std::string out14 = "v1|output|in=image:14x14|flatten+linear(bias=1)|classes=10" + kTail;
  const std::string in28 = "v1|input|in=image:28x28|data=1|" + kConv3 + "+relu+" + kPool + kTail;
  const std::string in14 = "v1|input|in=image:14x14|data=1|" + kConv1 + kTail;
  const std::string in7 = "v1|input|in=image:7x7|data=1|" + kConv1 + kTail;
  const std::vector<std::string> expected = {
      out_flat, out7, out14, in28, in14, in7,
      "v1|hidden|in=image:14x14|" + kConv3 + "+relu+" + kPool + kTail,
      "v1|hidden|in=image:7x7|" + kConv3 + "+relu" + kTail,
      "v1|hidden|in=image:7x7|flatten+linear(bias=1)+relu" + kTail};
  CHECK(keys == expected);

  // auxiliary flags and united bounds
  CHECK_FALSE(plan[0].auxiliary);  // the family's own output (also O″ of the linear hidden block)
  CHECK(plan[1].auxiliary);
  CHECK(plan[1].bounds()[0].max == 64);   // O″ of two 7×7 hidden blocks
  CHECK(plan[2].bounds()[0].max == 32);   // O′ of the input block
  CHECK(plan[4].bounds()[0].max == 32);   // I′ of the 14×14 hidden block
  CHECK(plan[5].bounds()[0].max == 64);   // I′ shared by the two 7×7 hidden blocks
  CHECK(plan[8].input_helper.str() == in7);
  CHECK(plan[8].output_helper.str() == out_flat);
  CHECK(plan[3].output_helper.str() == out14);
}

TEST_CASE("a global pooling leads the classifier block, and resnet's output helpers pool as its classifier does") {
  const std::vector<Block> blocks = ampere::parse_blocks(family("resnet"));
  const std::string tail = "|classes=10|batch=8|dtype=float32";
  CHECK(blocks.back().kind.str() == "v1|output|in=image:4x4|adaptive_avgpool2d(out=1x1)+flatten+linear(bias=1)" + tail);
  CHECK(blocks[blocks.size() - 2].layers.back().type == ampere::LayerType::Relu);  // the pool left the last residual
  std::set<std::string> outputs;
  for (const ProfileKind& kind : ampere::derive_profile_kinds(family("resnet")))
    if (kind.role == BlockRole::Output) outputs.insert(kind.key.str());
  // O″ of each hidden size reads the whole feature map through the family's own pooling: a small
  // linear over C inputs, never a linear over C·H·W.
  const std::set<std::string> expected = {
      "v1|output|in=image:32x32|adaptive_avgpool2d(out=1x1)+flatten+linear(bias=1)" + tail,
      "v1|output|in=image:16x16|adaptive_avgpool2d(out=1x1)+flatten+linear(bias=1)" + tail,
      "v1|output|in=image:8x8|adaptive_avgpool2d(out=1x1)+flatten+linear(bias=1)" + tail,
      "v1|output|in=image:4x4|adaptive_avgpool2d(out=1x1)+flatten+linear(bias=1)" + tail};
  CHECK(outputs == expected);
  // cnn5 reads its feature map unpooled: its helpers keep the flatten.
  for (const ProfileKind& kind : ampere::derive_profile_kinds(family("cnn5")))
    CHECK(kind.key.str().find("adaptive_avgpool2d") == std::string::npos);
}

TEST_CASE("every variant network re-parses into exactly the kinds it measures and subtracts") {
  for (const std::string name : {"lenet5", "cnn5", "har", "lstm", "transformer", "resnet"}) {
    CAPTURE(name);
    const std::vector<ProfileKind> plan = ampere::derive_profile_kinds(family(name));
    for (const ProfileKind& kind : plan) {
      CAPTURE(kind.key.str());
      std::vector<std::int64_t> channels;
      for (const auto& range : kind.bounds()) channels.push_back(range.max);
      const ampere::VariantNetwork variant = ampere::variant_network(kind, channels, plan);
      const std::vector<Block> blocks = ampere::parse_blocks(variant.model);
      REQUIRE(blocks.size() == variant.subtract.size() + 1);
      std::set<std::string> measured;
      for (const Block& b : blocks) measured.insert(b.kind.str());
      CHECK(measured.count(kind.key.str()) == 1);
      for (const auto& [key, at] : variant.subtract) {
        CHECK(measured.count(key.str()) == 1);
        CHECK(at.size() == 1);
      }
      // the measured block sits at its role and has the requested channels
      const Block& target = kind.role == BlockRole::Output ? blocks.back()
                            : kind.role == BlockRole::Input ? blocks.front() : blocks[1];
      CHECK(target.kind == kind.key);
      CHECK(target.channel_values() == channels);
    }
  }
}

TEST_CASE("transformer hidden blocks have one channel input: d_model is tied to their input") {
  const auto blocks = ampere::parse_blocks(family("transformer"));
  REQUIRE(blocks.size() == 4);
  CHECK(blocks[1].role == BlockRole::Hidden);
  REQUIRE(blocks[1].channels.size() == 1);
  CHECK(blocks[1].channels[0].multiple_of == 4);
  CHECK(blocks[1].kind == blocks[2].kind);
  CHECK(blocks[3].kind.str() == "v1|output|in=sequence:32|last_step+linear(bias=1)|classes=2|batch=8|dtype=float32");
}

TEST_CASE("a concrete model's blocks have the kinds its family profiles") {
  for (const std::string name : {"lenet5", "cnn5", "har", "lstm", "transformer", "resnet"}) {
    CAPTURE(name);
    const ModelSpec fam = family(name);
    std::set<std::string> planned;
    for (const ProfileKind& kind : ampere::derive_profile_kinds(fam)) planned.insert(kind.key.str());
    for (std::uint64_t seed = 0; seed < 5; ++seed)
      for (const Block& block : ampere::parse_blocks(ampere::sample_model(fam, seed))) {
        CAPTURE(block.kind.str());
        CHECK(planned.count(block.kind.str()) == 1);
      }
  }
}

TEST_CASE("a spec version 2 family plans its kinds, and its variant networks say the version their layers need") {
  const ampere::ModelSpec family = ampere::parse_model_spec(nlohmann::json::parse(R"({"spec_version": 2, "name": "gapfam",
    "input": {"shape": [3, 16, 16]}, "batch_size": 4, "classes": 5,
    "layers": [{"type": "conv2d", "out_channels": {"min": 4, "max": 16}, "kernel": 3, "padding": 1}, {"type": "hardswish"},
               {"type": "conv2d", "out_channels": {"min": 4, "max": 16}, "kernel": 3, "padding": 1}, {"type": "relu6"},
               {"type": "global_avgpool"}, {"type": "linear", "out_features": 5}]})"));
  const std::vector<ampere::ProfileKind> plan = ampere::derive_profile_kinds(family);
  REQUIRE(plan.size() == 5);
  for (const ampere::ProfileKind& kind : plan) {
    CAPTURE(kind.key.str());
    const ampere::VariantNetwork v =
        ampere::variant_network(kind, std::vector<std::int64_t>(kind.bounds().size(), 8), plan);
    CHECK(v.model.spec_version == ampere::required_spec_version(v.model.layers));
  }
}
