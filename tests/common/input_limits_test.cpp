// The limits every input meets before any work proportional to what it claims (docs/security.md):
// JSON nesting, names, model spec maxima, tensor sizes.
#include <doctest/doctest.h>

#include "common/error.hpp"
#include "common/input_limits.hpp"
#include "common/json_text.hpp"
#include "common/layer_shapes.hpp"
#include "common/model_spec.hpp"

using namespace ampere;
using nlohmann::json;

namespace {

std::string error_of(const json& spec) {
  try {
    parse_model_spec(spec);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

json cnn(const json& channels) {
  json spec = json::parse(R"({"name": "cnn", "input": {"shape": [1, 28, 28]}, "batch_size": 10, "classes": 10,
    "layers": [{"type": "conv2d", "out_channels": 16, "kernel": 3, "padding": 1}, {"type": "relu"},
               {"type": "flatten"}, {"type": "linear", "out_features": 10}]})");
  spec["layers"][0]["out_channels"] = channels;
  return spec;
}

}  // namespace

TEST_CASE("JSON nesting is measured without parsing, strings and escapes skipped") {
  CHECK(json_nesting_depth("{}") == 1);
  CHECK(json_nesting_depth(R"({"a": [1, {"b": []}]})") == 4);
  CHECK(json_nesting_depth(R"(["[[[[", "\"[[["])") == 1);  // brackets inside strings do not count
  CHECK(json_nesting_depth(std::string(1000000, '['), 64) == 65);  // stops counting past the limit
  CHECK(parse_json(std::string(64, '[') + std::string(64, ']'), "x").is_array());
  CHECK_THROWS_WITH_AS(parse_json(std::string(65, '[') + std::string(65, ']'), "body"),
                       "body: nested deeper than 64 arrays or objects (refused before parsing)", InputError);
  CHECK_THROWS_WITH_AS(parse_json("{oops", "family"), doctest::Contains("family: not valid JSON"), InputError);
  // found by fuzz_model_spec: a number past double's range is nlohmann's out_of_range, not a parse error
  CHECK_THROWS_WITH_AS(parse_json(R"({"batch_size": 1e999})", "model"), doctest::Contains("model: not valid JSON"), InputError);
}

TEST_CASE("names are 1 to 128 bytes of valid UTF-8 without control characters") {
  CHECK_NOTHROW(require_name("jetson-orin-01", "agentId"));
  CHECK_NOTHROW(require_name("g\xc3\xa9" "ant-\xe2\x82\xac-\xf0\x9f\x94\x8b", "deviceClass"));  // é, €, 🔋
  CHECK_NOTHROW(require_name(std::string(128, 'a'), "agentId"));
  CHECK_THROWS_WITH_AS(require_name(std::string(129, 'a'), "agentId"), "agentId: 129 bytes, at most 128", InputError);
  CHECK_THROWS_WITH_AS(require_name("", "agentId"), "agentId: must not be empty", InputError);
  CHECK_THROWS_WITH_AS(require_name("a\tb", "agentId"), doctest::Contains("control character"), InputError);
  CHECK_FALSE(valid_utf8("\xff"));
  CHECK_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(valid_utf8("\xed\xa0\x80"));      // a surrogate
  CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  CHECK_FALSE(valid_utf8("\xe2\x82"));          // truncated
  CHECK(valid_utf8("plain ascii"));
}

TEST_CASE("model specs past their documented maxima are refused naming the field and the limit") {
  CHECK(error_of(cnn(65536)).empty());
  CHECK(error_of(cnn(65537)) == "layers[0].out_channels: at most 65536 (docs/model-spec.md, \"Limits\"), got 65537");
  CHECK(error_of(cnn({{"min", 1}, {"max", 100000000000LL}})) ==
        "layers[0].out_channels.max: at most 65536 (docs/model-spec.md, \"Limits\"), got 100000000000");
  CHECK(error_of(cnn(json::parse("18446744073709551615"))).find("must be a positive integer") != std::string::npos);
  json big_kernel = cnn(16);
  big_kernel["layers"][0]["kernel"] = 2048;
  CHECK(error_of(big_kernel).find("layers[0].kernel: at most 1024") == 0);
  json huge_batch = cnn(16);
  huge_batch["batch_size"] = 1 << 20;
  CHECK(error_of(huge_batch).find("batch_size: at most 65536") == 0);
  json many = cnn(16);
  for (int i = 0; i < 1100; ++i) many["layers"].insert(many["layers"].begin() + 1, json{{"type", "relu"}});
  CHECK(error_of(many).find("layers: 1104 layers, at most 1024") == 0);
}

TEST_CASE("a layer whose tensor passes 2^31 elements per sample is refused naming it") {
  json wide = cnn(65536);
  wide["input"]["shape"] = {1, 1024, 1024};  // 65536 x 1024 x 1024 outputs
  CHECK(error_of(wide).find("layers[0]: a tensor of 68719476736 elements per sample") == 0);
  TensorShape overflowing;
  overflowing.dims = {1ll << 40, 1ll << 40};
  CHECK_THROWS_WITH_AS(overflowing.elements(), doctest::Contains("too many elements"), InputError);
}

TEST_CASE("whole numbers from JSON are checked for type and range before conversion") {
  CHECK(whole_number<std::uint32_t>(json(7), "n") == 7u);
  CHECK(whole_number<std::uint64_t>(json(18446744073709551615ull), "n") == 18446744073709551615ull);
  for (const json& bad : {json(-1), json(2.5), json(2.2e45), json("7"), json(nullptr), json(4294967296ull)})
    CHECK_THROWS_WITH_AS(whole_number<std::uint32_t>(bad, "spool line: iterations"),
                         doctest::Contains("spool line: iterations: must be a whole number in 0..4294967295"), InputError);
}
