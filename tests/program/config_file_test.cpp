// The configuration file reader: the TOML subset, and a clear error, with its line, for the rest.
#include <doctest/doctest.h>

#include "common/error.hpp"
#include "program/config_file.hpp"

using ampere::ConfigEntry;
using ampere::InputError;
using ampere::parse_config_text;

TEST_CASE("a configuration file's keys, strings, numbers, booleans and arrays") {
  const auto entries = parse_config_text(
      "# the coordinator\n"
      "\n"
      "store = \"sqlite:/var/lib/ampere/ampere.db\"   # a comment after a value\n"
      "heartbeat_timeout_ms = 6_000\n"
      "agreement = 1.5e-2\n"
      "calibration-correction = true\n"
      "token-file = 'C:\\not\\escaped'\n"
      "rails = [\"VDD_IN\", 'VDD_CPU', ]\n"
      "quoted = \"a \\\"b\\\" # not a comment\\tc\"\n"
      "empty = []\r\n",
      "c.toml");
  REQUIRE(entries.size() == 8);
  CHECK(entries[0].key == "store");
  CHECK(entries[0].values == std::vector<std::string>{"sqlite:/var/lib/ampere/ampere.db"});
  CHECK(entries[0].line == 3);
  CHECK(entries[1].values == std::vector<std::string>{"6000"});
  CHECK(entries[2].values == std::vector<std::string>{"1.5e-2"});
  CHECK(entries[3].values == std::vector<std::string>{"true"});
  CHECK(entries[4].values == std::vector<std::string>{"C:\\not\\escaped"});
  CHECK(entries[5].values == std::vector<std::string>{"VDD_IN", "VDD_CPU"});
  CHECK(entries[6].values == std::vector<std::string>{"a \"b\" # not a comment\tc"});
  CHECK(entries[7].values.empty());
}

TEST_CASE("what the reader does not take is refused with the file, the line and the reason") {
  auto refused = [](const std::string& text) {
    try {
      parse_config_text(text, "c.toml");
    } catch (const InputError& e) {
      CHECK(e.code() == ampere::ErrorCode::InvalidInput);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(refused("a = 1\n[coordinator]\n") == "c.toml:2: tables ([section]) are not read: put every option at the top level");
  CHECK(refused("store = sqlite:/x\n") == "c.toml:1: 'sqlite:/x' is not a TOML value (a string needs quotes: \"sqlite:/x\")");
  CHECK(refused("a = 1\na = 2\n") == "c.toml:2: a is set twice");
  CHECK(refused("a = \"open\n") == "c.toml:1: a string without its closing '\"' (strings take one line)");
  CHECK(refused("a = 1 2\n") == "c.toml:1: unexpected text after the value of a");
  CHECK(refused("a\n") == "c.toml:1: expected '=' after a");
  CHECK(refused("a.b = 1\n") == "c.toml:1: dotted keys are not read: write the option's name bare");
  CHECK(refused("= 1\n") == "c.toml:1: expected an option name (letters, digits, '-', '_')");
  CHECK(refused("a = [1, [2]]\n") == "c.toml:1: nested arrays are not read");
  CHECK(refused("a = [1, 2\n") == "c.toml:1: an array must close on its line (']')");
  CHECK(refused("a = \"\\u00e9\"\n") == "c.toml:1: the escape \\u is not read (\\\" \\\\ \\n \\t \\r are)");
  CHECK(refused("a = 01\n").find("is not a TOML value") != std::string::npos);  // TOML has no leading zeros
  CHECK(refused("a = 1__0\n").find("is not a TOML value") != std::string::npos);
  CHECK(refused("a = True\n").find("is not a TOML value") != std::string::npos);
}

TEST_CASE("a configuration file that cannot be read is named") {
  CHECK_THROWS_WITH_AS(ampere::read_config_file("/nonexistent/ampere.toml"), "--config /nonexistent/ampere.toml: cannot read it",
                       InputError);
}
