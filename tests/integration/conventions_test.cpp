// What every binary does the same way (docs/operations.md, "Conventions"): --version, usage errors
// exit 2, options from a config file and AMPERE_* variables, no password on a command line.
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "integration/process.hpp"

using ampere::testing::BackgroundProcess;
using ampere::testing::run_binary;
using ampere::testing::TempDir;
using namespace std::chrono_literals;

namespace {

const char* const kBinaries[] = {"ampere", "ampere-coordinator", "ampere-bridge", "ampere-agent", "ampere-trainer"};

/// Sets environment variables for the processes this test starts, and unsets them after.
struct ScopedEnvironment {
  explicit ScopedEnvironment(std::vector<std::pair<std::string, std::string>> vars) : vars_(std::move(vars)) {
    for (const auto& [name, value] : vars_) setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnvironment() {
    for (const auto& [name, value] : vars_) unsetenv(name.c_str());
  }
  std::vector<std::pair<std::string, std::string>> vars_;
};

/// `ampere device-classes` until it lists `name` (or 20 s pass).
bool class_appears(const std::string& name) {
  for (int i = 0; i < 100; ++i) {
    const auto r = run_binary("ampere", {"--timeout", "2", "device-classes"});
    if (r.exit_code == 0 && r.out.find(name) != std::string::npos) return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

}  // namespace

TEST_CASE("every binary answers --version with its release, git revision and what it speaks, and exits 0") {
  for (const char* binary : kBinaries) {
    CAPTURE(binary);
    const auto r = run_binary(binary, {"--version"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.rfind(std::string(binary) + " " + AMPERE_PROJECT_VERSION + "\nrevision ", 0) == 0);
    CHECK(r.out.find("revision unknown") == std::string::npos);  // built from a git checkout
    CHECK(r.err.empty());
  }
  CHECK(run_binary("ampere", {"--version"}).out.find("\nwire protocol 2\n") != std::string::npos);
  CHECK(run_binary("ampere-agent", {"--version"}).out.find("\ntrainer pipe protocol 1\n") != std::string::npos);
  CHECK(run_binary("ampere-trainer", {"--version"}).out.find("\nlibtorch ") != std::string::npos);
}

TEST_CASE("a usage error exits 2 from every binary, with the reason on stderr") {
  const std::map<std::string, std::vector<std::string>> unknown_option = {
      {"ampere", {"device-classes", "--no-such-option"}},
      {"ampere-coordinator", {"--no-such-option"}},
      {"ampere-bridge", {"--no-such-option"}},
      {"ampere-agent", {"--no-such-option"}},
      {"ampere-trainer", {"serve", "--no-such-option"}}};
  for (const char* binary : kBinaries) {
    CAPTURE(binary);
    const auto unknown = run_binary(binary, unknown_option.at(binary));
    CHECK(unknown.exit_code == 2);
    CHECK(unknown.err.find("--no-such-option") != std::string::npos);
    const auto help = run_binary(binary, {"--help"});
    CHECK(help.exit_code == 0);
    CHECK(help.out.find("Usage:") != std::string::npos);
  }
  const auto bad_value = run_binary("ampere-coordinator", {"--repeats", "many"});
  CHECK(bad_value.exit_code == 2);
  CHECK(bad_value.err.find("--repeats") != std::string::npos);
  CHECK(run_binary("ampere", {}).exit_code == 2);  // a subcommand is required
  CHECK(run_binary("ampere-trainer", {}).exit_code == 2);
  CHECK(run_binary("ampere-trainer", {"measure"}).exit_code == 2);  // --model is required
  CHECK(run_binary("ampere-agent", {"--threads", "0"}).exit_code == 2);
}

TEST_CASE("a coordinator configured by a file, an agent by AMPERE_* variables, the CLI by AMPERE_COORDINATOR") {
  TempDir dir;
  const std::string agents = "tcp://127.0.0.1:" + std::to_string(ampere::testing::free_port());
  const std::string clients = "tcp://127.0.0.1:" + std::to_string(ampere::testing::free_port());
  const std::string config = dir.file("coordinator.toml", "# endpoints and store from the file\n"
                                                          "agents = \"" + agents + "\"\n"
                                                          "clients = \"" + clients + "\"\n"
                                                          "data_dir = \"" + dir.path() + "/data\"\n"
                                                          "heartbeat-timeout-ms = 4000\n"
                                                          "log-format = \"json\"\n");
  BackgroundProcess coordinator("ampere-coordinator", {"--config", config}, dir.path() + "/coordinator.log");
  {
    ScopedEnvironment env({{"AMPERE_COORDINATOR", agents}, {"AMPERE_BACKEND", "simulated"}, {"AMPERE_PROFILE", "xavier"},
                           {"AMPERE_DEVICE_CLASS", "from-environment"}, {"AMPERE_LOG_LEVEL", "warn"},
                           {"AMPERE_PACE_MS", "300"}});
    BackgroundProcess agent("ampere-agent", {}, dir.path() + "/agent.log");
    ScopedEnvironment cli({{"AMPERE_COORDINATOR", clients}});  // the CLI's endpoint, set after the agent started
    REQUIRE_MESSAGE(class_appears("from-environment"), ampere::testing::slurp_file(dir.path() + "/coordinator.log"),
                    ampere::testing::slurp_file(dir.path() + "/agent.log"));
    // ampere campaign stop stops a running campaign (the agent is paced: it cannot finish first)
    const auto started = run_binary("ampere", {"campaign", "start", "--family", std::string(AMPERE_MODELS_DIR) + "/lstm.json",
                                               "--device-class", "from-environment", "--budget", "30", "--json"});
    REQUIRE_MESSAGE(started.exit_code == 0, started.err);
    const auto id = std::to_string(nlohmann::json::parse(started.out).at("id").get<std::uint64_t>());
    CHECK(nlohmann::json::parse(started.out).at("state") == "running");
    const auto stop = run_binary("ampere", {"campaign", "stop", id});
    CHECK_MESSAGE(stop.exit_code == 0, stop.err);
    CHECK(stop.out.find("stopped") != std::string::npos);
    const auto status = run_binary("ampere", {"campaign", "status", "--id", id, "--json"});
    REQUIRE(status.exit_code == 0);
    CHECK(nlohmann::json::parse(status.out).at("state") == "stopped");
    CHECK(run_binary("ampere", {"campaign", "stop", "999"}).exit_code == 3);  // not found
    CHECK(run_binary("ampere", {"campaign", "stop"}).exit_code == 2);         // usage
  }
  CHECK(std::filesystem::exists(dir.path() + "/data/ampere.db"));  // data_dir from the file
  // --log-format json from the file: every line the coordinator logged is a JSON object.
  coordinator.stop();
  const std::string log = ampere::testing::slurp_file(dir.path() + "/coordinator.log");
  std::istringstream lines(log);
  int parsed = 0;
  bool said_where = false;
  for (std::string line; std::getline(lines, line);) {
    CAPTURE(line);
    const auto j = nlohmann::json::parse(line);  // throws (fails the test) on a line that is not JSON
    CHECK(j.contains("time"));
    CHECK(j.contains("level"));
    said_where = said_where || j.at("message").get<std::string>().find("options from " + config) == 0;
    ++parsed;
  }
  CHECK(parsed >= 2);
  CHECK(said_where);
}

TEST_CASE("a PostgreSQL password on the coordinator's command line is refused, in a file it is not") {
  const auto r = run_binary("ampere-coordinator", {"--store", "postgresql://ampere:secret@127.0.0.1:1/none"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--store-password-file") != std::string::npos);
  CHECK(r.err.find("secret") == std::string::npos);
  TempDir dir;  // from a file it passes that check and fails only at connecting (nothing listens on port 1)
  const std::string password = dir.file("password", "secret\n");
  const auto file = run_binary("ampere-coordinator", {"--store", "postgresql://ampere@127.0.0.1:1/none", "--store-password-file",
                                                      password, "--data-dir", dir.path()});
  CHECK(file.exit_code == 4);  // the store is unavailable
  CHECK(file.err.find("password=***") != std::string::npos);  // named, redacted
  CHECK(file.err.find("secret") == std::string::npos);
  // an empty password file, or a password file for an SQLite store, is refused by name before anything opens
  const auto empty = run_binary("ampere-coordinator", {"--store", "postgresql://ampere@127.0.0.1:1/none", "--store-password-file",
                                                       dir.file("empty", ""), "--data-dir", dir.path()});
  CHECK(empty.exit_code == 2);
  CHECK(empty.err.find("--store-password-file: the file holds no password") != std::string::npos);
  const auto missing = run_binary("ampere-coordinator", {"--store", "postgresql://ampere@127.0.0.1:1/none", "--store-password-file",
                                                         dir.path() + "/no-such-file", "--data-dir", dir.path()});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("File does not exist") != std::string::npos);  // CLI11 refuses it by name
  CHECK(missing.err.find("no-such-file") != std::string::npos);
  const auto sqlite = run_binary("ampere-coordinator", {"--store", "sqlite:" + dir.path() + "/x.db", "--store-password-file",
                                                        password, "--data-dir", dir.path()});
  CHECK(sqlite.exit_code == 2);
  CHECK(sqlite.err.find("for a PostgreSQL store only") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/x.db"));
}

TEST_CASE("the shipped example configs are read by their binaries, every key an option") {
  const std::string deploy = std::string(AMPERE_SOURCE_DIR) + "/deploy/config/";
  const auto coordinator = run_binary("ampere-coordinator", {"--config", deploy + "coordinator.toml", "--print-config"});
  CHECK_MESSAGE(coordinator.exit_code == 0, coordinator.err);
  CHECK(coordinator.out.find("store = \"sqlite:/var/lib/ampere/ampere.db\"  # config file\n") != std::string::npos);
  CHECK(coordinator.out.find("heartbeat-timeout-ms = \"6000\"  # config file\n") != std::string::npos);
  const auto agent = run_binary("ampere-agent", {"--config", deploy + "agent.toml", "--print-config", "--threads", "2"});
  CHECK_MESSAGE(agent.exit_code == 0, agent.err);
  CHECK(agent.out.find("coordinator = \"tcp://127.0.0.1:5555\"  # config file\n") != std::string::npos);
  CHECK(agent.out.find("threads = \"2\"  # command line\n") != std::string::npos);
  const auto bridge = run_binary("ampere-bridge", {"--config", deploy + "bridge.toml", "--print-config"});
  CHECK_MESSAGE(bridge.exit_code == 0, bridge.err);
  CHECK(bridge.out.find("refresh-ms = \"5000\"  # config file\n") != std::string::npos);
}

TEST_CASE("--ha is refused with an SQLite store or a spool, naming why, before anything opens") {
  TempDir dir;
  const auto sqlite = run_binary("ampere-coordinator", {"--ha", "--store", "sqlite:" + dir.path() + "/x.db", "--data-dir", dir.path()});
  CHECK(sqlite.exit_code == 2);
  CHECK(sqlite.err.find("--ha: needs a PostgreSQL store") != std::string::npos);
  const auto fallback = run_binary("ampere-coordinator", {"--ha", "--data-dir", dir.path()});  // the default store is SQLite
  CHECK(fallback.exit_code == 2);
  const auto spool = run_binary("ampere-coordinator", {"--ha", "--store", "postgresql://ampere@127.0.0.1:1/none", "--spool",
                                                       dir.path() + "/spool.jsonl", "--data-dir", dir.path()});
  CHECK(spool.exit_code == 2);
  CHECK(spool.err.find("--spool cannot be used") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/x.db"));
  // a bridge's --coordinator list with an empty endpoint is refused by name
  const auto bridge = run_binary("ampere-bridge", {"--store", "sqlite:" + dir.path() + "/y.db", "--coordinator", "tcp://127.0.0.1:1,",
                                                   "--http", "127.0.0.1:1"});
  CHECK(bridge.exit_code == 2);
  CHECK(bridge.err.find("endpoint 2") != std::string::npos);
  // the agent's and the CLI's lists alike, before anything connects
  const auto agent = run_binary("ampere-agent", {"--coordinator", "tcp://127.0.0.1:1,", "--backend", "simulated", "--profile", "server"});
  CHECK(agent.exit_code == 2);
  CHECK(agent.err.find("--coordinator: endpoint 2 of 'tcp://127.0.0.1:1,' is empty") != std::string::npos);
  const auto cli = run_binary("ampere", {"--coordinator", ",tcp://127.0.0.1:1", "device-classes"});
  CHECK(cli.exit_code == 2);
  CHECK(cli.err.find("endpoint 1") != std::string::npos);
  CHECK(cli.out.empty());
  // its --store-password-file is refused as the coordinator's is: empty, or for an SQLite store
  const auto no_password = run_binary("ampere-bridge", {"--store", "postgresql://ampere@127.0.0.1:1/none",
                                                        "--store-password-file", dir.file("empty", ""), "--http", "127.0.0.1:1"});
  CHECK(no_password.exit_code == 2);
  CHECK(no_password.err.find("--store-password-file: the file holds no password") != std::string::npos);
  const auto sqlite_password = run_binary("ampere-bridge", {"--store", "sqlite:" + dir.path() + "/y.db", "--store-password-file",
                                                            dir.file("password", "secret\n"), "--http", "127.0.0.1:1"});
  CHECK(sqlite_password.exit_code == 2);
  CHECK(sqlite_password.err.find("for a PostgreSQL store only") != std::string::npos);
  CHECK(sqlite_password.err.find("secret") == std::string::npos);
}
