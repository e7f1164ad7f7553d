// Options from a file, the environment and the command line, in that order of precedence; usage
// errors and --version as every ampere binary answers them.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <doctest/doctest.h>

#include "program/command_line.hpp"
#include "program/version.hpp"

using ampere::OptionSource;
using ampere::parse_command_line;

namespace {

struct Daemon {
  CLI::App app{"test daemon"};
  std::string store = "default-store";
  int heartbeat = 6000;
  bool correction = false;
  std::vector<std::string> peers;
  std::string model;
  CLI::App* measure = nullptr;
  Daemon() {
    app.add_option("--store", store)->capture_default_str();
    app.add_option("--heartbeat-timeout-ms", heartbeat)->check(CLI::Range(1, 100000));
    app.add_flag("--calibration-correction", correction);
    app.add_option("--peer", peers);
    measure = app.add_subcommand("measure");
    measure->add_option("--model", model);
  }
};

struct Run {
  ampere::ParsedCommandLine parsed;
  std::string out, err;
};

Run run(Daemon& d, std::vector<std::string> args, const std::map<std::string, std::string>& env = {},
        ampere::CommandLineConventions conventions = {"ampere-test", {{"wire protocol", "2"}}, true, true}) {
  args.insert(args.begin(), "ampere-test");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  auto lookup = [env](const std::string& name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  std::ostringstream out, err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  Run r;
  r.parsed = parse_command_line(d.app, static_cast<int>(argv.size()), argv.data(), conventions, lookup);
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

std::string config_file(const std::string& text) {
  static int n = 0;
  const auto path = std::filesystem::temp_directory_path() / ("ampere-config-test-" + std::to_string(::getpid()) + "-" +
                                                              std::to_string(++n) + ".toml");
  std::ofstream(path) << text;
  return path.string();
}

}  // namespace

TEST_CASE("precedence: command line over environment over file over default") {
  const std::string file = config_file("store = \"file-store\"\nheartbeat_timeout_ms = 7000\ncalibration-correction = true\n");
  {
    Daemon d;
    const Run r = run(d, {"--config", file});
    REQUIRE_FALSE(r.parsed.exit_status);
    CHECK(d.store == "file-store");
    CHECK(d.heartbeat == 7000);  // an underscore in the file's key is the option's '-'
    CHECK(d.correction);
    CHECK(r.parsed.source("store") == OptionSource::ConfigFile);
    CHECK(r.parsed.config_file == file);
  }
  {
    Daemon d;
    const Run r = run(d, {"--config=" + file}, {{"AMPERE_STORE", "env-store"}, {"AMPERE_CALIBRATION_CORRECTION", "false"}});
    REQUIRE_FALSE(r.parsed.exit_status);
    CHECK(d.store == "env-store");
    CHECK(d.heartbeat == 7000);
    CHECK_FALSE(d.correction);
    CHECK(r.parsed.source("store") == OptionSource::Environment);
    CHECK(r.parsed.source("heartbeat-timeout-ms") == OptionSource::ConfigFile);
  }
  {
    Daemon d;
    const Run r = run(d, {"--store", "flag-store", "measure", "--model", "m.json"},
                      {{"AMPERE_STORE", "env-store"}, {"AMPERE_CONFIG", file}, {"AMPERE_HEARTBEAT_TIMEOUT_MS", ""}});
    REQUIRE_FALSE(r.parsed.exit_status);
    CHECK(d.store == "flag-store");
    CHECK(d.heartbeat == 7000);  // an empty variable is unset: the file's value stays
    CHECK(d.model == "m.json");  // subcommands parse as before
    CHECK(r.parsed.source("store") == OptionSource::CommandLine);
    CHECK(r.parsed.config_file == file);  // found through AMPERE_CONFIG
  }
  {
    Daemon d;
    const Run r = run(d, {});
    REQUIRE_FALSE(r.parsed.exit_status);
    CHECK(d.store == "default-store");
    CHECK(r.parsed.source("store") == OptionSource::Default);
  }
}

TEST_CASE("--print-config prints every option as read, with its source, as a file that reads back the same") {
  const std::string file = config_file("store = \"file \\\"quoted\\\" store\"\npeer = [\"a\", \"b\"]\n");
  Daemon d;
  const Run r = run(d, {"--config", file, "--print-config", "--heartbeat-timeout-ms", "9000"}, {{"AMPERE_CALIBRATION_CORRECTION", "true"}});
  REQUIRE(r.parsed.exit_status == 0);
  CHECK(r.out.find("store = \"file \\\"quoted\\\" store\"  # config file\n") != std::string::npos);
  CHECK(r.out.find("heartbeat-timeout-ms = \"9000\"  # command line\n") != std::string::npos);
  CHECK(r.out.find("calibration-correction = \"true\"  # environment\n") != std::string::npos);
  CHECK(r.out.find("peer = [\"a\", \"b\"]  # config file\n") != std::string::npos);
  // what it printed is a config file that gives the same options
  Daemon again;
  const Run reread = run(again, {"--config", config_file(r.out)});
  REQUIRE_FALSE(reread.parsed.exit_status);
  CHECK(again.store == "file \"quoted\" store");
  CHECK(again.heartbeat == 9000);
  CHECK(again.correction);
  CHECK(again.peers == std::vector<std::string>{"a", "b"});
}

TEST_CASE("an option taking several values gets them from a file's array") {
  Daemon d;
  const Run r = run(d, {"--config", config_file("peer = [\"a\", \"b\"]\n")});
  REQUIRE_FALSE(r.parsed.exit_status);
  CHECK(d.peers == std::vector<std::string>{"a", "b"});
}

TEST_CASE("usage errors exit 2 naming what is wrong and where it came from") {
  {
    Daemon d;
    const Run r = run(d, {"--colour", "red"});
    CHECK(r.parsed.exit_status == 2);
    CHECK(r.err.find("--colour") != std::string::npos);
  }
  {
    Daemon d;
    const Run r = run(d, {}, {{"AMPERE_HEARTBEAT_TIMEOUT_MS", "soon"}});
    CHECK(r.parsed.exit_status == 2);
    CHECK(r.err.find("heartbeat-timeout-ms") != std::string::npos);
    CHECK(r.err.find("(options were also read from AMPERE_HEARTBEAT_TIMEOUT_MS)") != std::string::npos);
  }
  {
    Daemon d;
    const std::string file = config_file("store = \"x\"\nbogus = 1\n");
    const Run r = run(d, {"--config", file});
    CHECK(r.parsed.exit_status == 2);
    CHECK(r.err == "error: " + file + ":2: 'bogus' is not an option of ampere-test (ampere-test --help lists them)\n");
  }
  {
    Daemon d;
    const std::string file = config_file("heartbeat-timeout-ms = 0\n");
    const Run r = run(d, {"--config", file});
    CHECK(r.parsed.exit_status == 2);  // the option's own check refuses the file's value
    CHECK(r.err.find("(options were also read from " + file + ")") != std::string::npos);
  }
  {
    Daemon d;
    const Run r = run(d, {"--config", config_file("store = [\"a\", \"b\"]\n")});
    CHECK(r.parsed.exit_status == 2);
    CHECK(r.err.find("store takes one value, not an array") != std::string::npos);
  }
  {
    Daemon d;
    const Run r = run(d, {"--config", "/nonexistent.toml"});
    CHECK(r.parsed.exit_status == 2);
    CHECK(r.err == "error: --config /nonexistent.toml: cannot read it\n");
  }
  {
    Daemon d;  // a subcommand's options are the command line's only
    const Run r = run(d, {"--config", config_file("model = \"m.json\"\n")});
    CHECK(r.parsed.exit_status == 2);
  }
}

TEST_CASE("--version and --help exit 0 on stdout, and --version names the release, the revision and the protocols") {
  {
    Daemon d;
    const Run r = run(d, {"--version"});
    CHECK(r.parsed.exit_status == 0);
    CHECK(r.out == std::string("ampere-test ") + ampere::release_version() + "\nrevision " + ampere::build_revision() +
                       "\nwire protocol 2\n");
    CHECK(std::string(ampere::release_version()) == AMPERE_PROJECT_VERSION);
    CHECK(std::string(ampere::build_revision()) != "");
  }
  {
    Daemon d;
    const Run r = run(d, {"--help"});
    CHECK(r.parsed.exit_status == 0);
    CHECK(r.out.find("AMPERE_HEARTBEAT_TIMEOUT_MS") != std::string::npos);  // --help names each variable
    CHECK(r.out.find("--config") != std::string::npos);
  }
  {
    Daemon d;  // without a file or the environment: neither is read, nor offered
    const Run r = run(d, {"--help"}, {{"AMPERE_STORE", "env-store"}}, {"ampere-test", {}, false, false});
    CHECK(r.out.find("--config") == std::string::npos);
    CHECK(r.out.find("AMPERE_STORE") == std::string::npos);
    CHECK(d.store == "default-store");
  }
}

TEST_CASE("environment names") {
  CHECK(ampere::environment_name("heartbeat-timeout-ms") == "AMPERE_HEARTBEAT_TIMEOUT_MS");
  CHECK(ampere::environment_name("store") == "AMPERE_STORE");
}
