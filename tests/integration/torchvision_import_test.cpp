// Real architectures nobody here wrote (docs/byom.md §2): torchvision's resnet18, resnet50 and
// mobilenet_v2, exported to ONNX at test time by scripts/export-torchvision.py (random weights,
// nothing downloaded; the ctest fixture torchvision_onnx), imported by `ampere model import`,
// compared with torchvision's own parameter counts and weight shapes, and trained through the
// trainer.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <map>

#include "common/layer_parser.hpp"
#include "common/layer_shapes.hpp"
#include "common/model_family.hpp"
#include "common/model_spec.hpp"
#include "integration/process.hpp"

using ampere::testing::run_binary;
using ampere::testing::slurp_file;
using ampere::testing::TempDir;
using nlohmann::json;

namespace {

const std::array<const char*, 3> kArchitectures{"resnet18", "resnet50", "mobilenet_v2"};

std::string exported(const std::string& file) { return std::string(AMPERE_TORCHVISION_DIR) + "/" + file; }

/// The weight shapes of a spec's convolutions and linears in torchvision's module order (a
/// residual's inner convs, then its projection when the body changes the shape), and its batch norms.
struct WeightShapes {
  std::vector<std::vector<std::int64_t>> conv, linear;
  int batchnorms = 0;
};

WeightShapes weight_shapes(const ampere::ModelSpec& m) {
  WeightShapes out;
  const auto shapes = ampere::infer_shapes(m);
  auto visit = [&](const ampere::LayerSpec& l, const ampere::TensorShape& in, std::int64_t width) {
    if (l.type == ampere::LayerType::Conv2d)
      out.conv.push_back({width, in.dims[0] / ampere::conv_groups(l, in.dims[0]), l.kernel[0], l.kernel[1]});
    if (l.type == ampere::LayerType::Linear) out.linear.push_back({width, in.channels()});
    if (l.type == ampere::LayerType::BatchNorm2d) ++out.batchnorms;
  };
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    const ampere::LayerSpec& l = m.layers[i];
    const std::int64_t width = ampere::resolved_width(l, shapes[i].in, l.width.min);
    if (l.type != ampere::LayerType::Residual) {
      visit(l, shapes[i].in, width);
      continue;
    }
    ampere::TensorShape x = shapes[i].in;
    for (const ampere::LayerSpec& inner : l.inner) {
      const std::int64_t w = ampere::resolved_width(inner, x, ampere::inner_width(inner, width));
      visit(inner, x, w);
      x = ampere::infer_layer(inner, x, w).out;
    }
    if (!(x == shapes[i].in)) {
      out.conv.push_back({x.dims[0], shapes[i].in.dims[0], 1, 1});
      ++out.batchnorms;
    }
  }
  return out;
}

ampere::ModelSpec import_with_cli(const std::string& onnx, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"model", "import", onnx};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto r = run_binary("ampere", args);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return ampere::parse_model_spec(json::parse(r.out));
}

}  // namespace

TEST_CASE("torchvision resnet18, resnet50 and mobilenet_v2 import with torchvision's own parameter counts and weight shapes") {
  for (const char* name : kArchitectures) {
    CAPTURE(name);
    const json reference = json::parse(slurp_file(exported(std::string(name) + ".json")));
    const ampere::ModelSpec m = import_with_cli(exported(std::string(name) + ".onnx"));
    CHECK(m.name == name);
    CHECK(m.batch_size == reference.at("batch").get<std::int64_t>());
    CHECK(m.classes == reference.at("classes").get<std::int64_t>());
    CHECK(m.input_shape == reference.at("input_shape").get<std::vector<std::int64_t>>());
    CHECK(ampere::model_cost(m).parameters == reference.at("parameters").get<std::int64_t>());
    const WeightShapes shapes = weight_shapes(m);
    CHECK(shapes.conv == reference.at("conv_weights").get<std::vector<std::vector<std::int64_t>>>());
    CHECK(shapes.linear == reference.at("linear_weights").get<std::vector<std::vector<std::int64_t>>>());
    CHECK(shapes.batchnorms == reference.at("batchnorms").get<int>());
  }
}

TEST_CASE("each imported torchvision model trains two iterations through the trainer, LibTorch counting torchvision's parameters") {
  TempDir dir;
  for (const char* name : kArchitectures) {
    CAPTURE(name);
    const json reference = json::parse(slurp_file(exported(std::string(name) + ".json")));
    const std::string spec = dir.file(std::string(name) + ".json",
                                      ampere::to_json(import_with_cli(exported(std::string(name) + ".onnx"))).dump());
    const auto r = run_binary("ampere-trainer", {"measure", "--model", spec, "--meter", "time-surrogate", "--iterations", "2",
                                                 "--repeats", "1", "--warmup", "0", "--idle-seconds", "0"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const json out = json::parse(r.out);
    CHECK(out.at("parameters").get<std::int64_t>() == reference.at("parameters").get<std::int64_t>());
    CHECK(out.at("seconds_per_iteration").at("value").get<double>() > 0);
  }
}

TEST_CASE("a graph exported with symbolic height and width needs --input-shape, and a symbolic batch --batch") {
  const std::string onnx = std::string(AMPERE_TORCHVISION_DIR) + "/dynamic/resnet18.onnx";
  const auto refused = run_binary("ampere", {"model", "import", onnx});
  CHECK(refused.exit_code != 0);
  CHECK(doctest::String(refused.err.c_str()) == doctest::Contains("symbolic batch dimension ('batch'); give the training batch (--batch N)"));
  const auto no_shape = run_binary("ampere", {"model", "import", onnx, "--batch", "4"});
  CHECK(doctest::String(no_shape.err.c_str()) == doctest::Contains("dimension 2 is symbolic ('height'); give the shape (--input-shape"));
  const ampere::ModelSpec m = import_with_cli(onnx, {"--batch", "4", "--input-shape", "3x64x64"});
  CHECK(m.batch_size == 4);
  CHECK(m.input_shape == std::vector<std::int64_t>{3, 64, 64});
  const json reference = json::parse(slurp_file(exported("resnet18.json")));
  CHECK(ampere::model_cost(m).parameters == reference.at("parameters").get<std::int64_t>());
  const auto bad_shape = run_binary("ampere", {"model", "import", onnx, "--batch", "4", "--input-shape", "3x64"});
  CHECK(doctest::String(bad_shape.err.c_str()) == doctest::Contains("--input-shape has 2 dimensions"));
}

TEST_CASE("ampere model import refuses a file that is not ONNX and a truncated one, naming the file") {
  TempDir dir;
  const std::string text = dir.file("notes.onnx", "these are not the weights you are looking for\n");
  const auto r = run_binary("ampere", {"model", "import", text});
  CHECK(r.exit_code != 0);
  CHECK(doctest::String(r.err.c_str()) == doctest::Contains("notes.onnx: not an ONNX model"));
  const std::string whole = slurp_file(exported("mobilenet_v2.onnx"));
  const std::string cut = dir.file("cut.onnx", whole.substr(0, whole.size() / 2));
  const auto truncated = run_binary("ampere", {"model", "import", cut});
  CHECK(truncated.exit_code != 0);
  CHECK(doctest::String(truncated.err.c_str()) == doctest::Contains("cut.onnx: "));
  const auto show = run_binary("ampere", {"model", "show", "--model", exported("resnet18.onnx")});
  CHECK(show.exit_code == 0);
  CHECK(doctest::String(show.out.c_str()) == doctest::Contains("11181642 parameters"));
}

TEST_CASE("ampere model import --family: ties keep each torchvision model's structure, every member builds in LibTorch") {
  // Free widths: resnet18 the stem and one per stage (identity blocks follow); resnet50 the stem and
  // four projection blocks (bottleneck widths are ratios); mobilenet_v2 every conv that is neither
  // depthwise nor an identity residual's.
  const std::map<std::string, std::size_t> free_widths{{"resnet18", 4}, {"resnet50", 5}, {"mobilenet_v2", 15}};
  TempDir dir;
  for (const char* name : kArchitectures) {
    CAPTURE(name);
    const auto r = run_binary("ampere", {"model", "import", exported(std::string(name) + ".onnx"), "--family", "--min-fraction", "0.5"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const ampere::ModelSpec family = ampere::parse_model_spec(json::parse(r.out));
    CHECK(ampere::free_width_count(family) == free_widths.at(name));
    CHECK_FALSE(ampere::derive_profile_kinds(family).empty());
    const ampere::ModelSpec original = ampere::parse_model_spec(json::parse(run_binary("ampere", {"model", "import", exported(std::string(name) + ".onnx")}).out));
    // The family's blocks are the model's kinds: an estimate of the original needs no other kind.
    const auto kinds = ampere::derive_profile_kinds(family);
    for (const ampere::Block& block : ampere::parse_blocks(original)) {
      bool found = false;
      for (const auto& kind : kinds) found = found || kind.key == block.kind;
      CHECK_MESSAGE(found, block.kind.str());
    }
    const ampere::ModelSpec member = ampere::sample_model(family, 11);
    const std::string file = dir.file(std::string(name) + "-member.json", ampere::to_json(member).dump());
    const auto trained = run_binary("ampere-trainer", {"measure", "--model", file, "--meter", "time-surrogate", "--iterations", "1",
                                                       "--repeats", "1", "--warmup", "0", "--idle-seconds", "0"});
    REQUIRE_MESSAGE(trained.exit_code == 0, trained.err);
    CHECK(json::parse(trained.out).at("parameters").get<std::int64_t>() == ampere::model_cost(member).parameters);
    CHECK(ampere::model_cost(member).parameters < ampere::model_cost(original).parameters);
  }
}
