// CURVE on a real coordinator (docs/security.md): keys made by `ampere keys generate`, allow-lists
// of public certificates, roles. A peer without a listed key can neither register, report, start
// or stop campaigns, nor read status; a reader cannot start or stop; an operator can.
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <doctest/doctest.h>

#include "common/error.hpp"
#include "coordinator/client/coordinator_client.hpp"
#include "integration/process.hpp"
#include "protocol.capnp.h"
#include "security/curve_client.hpp"
#include "wire_convert.hpp"

using ampere::testing::BackgroundProcess;
using ampere::testing::run_binary;
using ampere::testing::TempDir;
using namespace std::chrono_literals;

namespace {

std::string models(const std::string& name) { return std::string(AMPERE_MODELS_DIR) + "/" + name + ".json"; }

/// Keys for a coordinator, two agents (one listed), an operator, a reader and a stranger.
struct Keys {
  explicit Keys(const TempDir& dir) : root(dir.path() + "/keys") {
    generate("coordinator", "");
    generate("agents/listed", "");
    generate("operator", "operator");
    generate("reader", "reader");
    generate("stranger", "operator");
    generate("unlisted-agent", "");
    std::filesystem::create_directories(root + "/clients");
    for (const char* name : {"operator", "reader"})
      std::filesystem::copy_file(root + "/" + name + ".key", root + "/clients/" + name + ".key");
  }
  void generate(const std::string& name, const std::string& role) {
    std::vector<std::string> args = {"keys", "generate", root + "/" + name};
    if (!role.empty()) args.insert(args.end(), {"--role", role});
    const auto r = run_binary("ampere", args);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  }
  std::string secret(const std::string& name) const { return root + "/" + name + ".key_secret"; }
  std::string coordinator_public() const { return root + "/coordinator.key"; }
  std::string root;
};

/// The CLI as `who` (a key name), against `clients`.
ampere::testing::ProcessResult ampere_as(const Keys& keys, const std::string& who, const std::string& clients,
                                         std::vector<std::string> args) {
  std::vector<std::string> all = {"--coordinator", clients, "--timeout", "3", "--key", keys.secret(who), "--coordinator-key",
                                  keys.coordinator_public()};
  all.insert(all.end(), args.begin(), args.end());
  return run_binary("ampere", all);
}

}  // namespace

TEST_CASE("ampere keys generate writes a ZPL certificate pair, the secret one 0600, never overwriting") {
  TempDir dir;
  const auto r = run_binary("ampere", {"keys", "generate", dir.path() + "/k/op", "--role", "operator"});
  REQUIRE(r.exit_code == 0);
  const std::string pub = ampere::testing::slurp_file(dir.path() + "/k/op.key");
  const std::string secret = ampere::testing::slurp_file(dir.path() + "/k/op.key_secret");
  CHECK(pub.find("curve\n    public-key = \"") != std::string::npos);
  CHECK(pub.find("secret-key") == std::string::npos);
  CHECK(pub.find("metadata\n    role = \"operator\"") != std::string::npos);
  CHECK(secret.find("    secret-key = \"") != std::string::npos);
  struct stat st {};
  REQUIRE(::stat((dir.path() + "/k/op.key_secret").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const auto again = run_binary("ampere", {"keys", "generate", dir.path() + "/k/op"});
  CHECK(again.exit_code != 0);
  CHECK(again.err.find("exists") != std::string::npos);
}

TEST_CASE("without --curve-secret-key the coordinator refuses an endpoint other machines could reach, naming the flag") {
  TempDir dir;
  const auto r = run_binary("ampere-coordinator", {"--store", "sqlite:" + dir.path() + "/s.db", "--agents",
                                                   "tcp://0.0.0.0:" + std::to_string(ampere::testing::free_port()),
                                                   "--clients", "tcp://127.0.0.1:" + std::to_string(ampere::testing::free_port())});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("--curve-secret-key") != std::string::npos);
}

TEST_CASE("with CURVE only listed keys connect, and a reader cannot start or stop campaigns") {
  TempDir dir;
  const Keys keys(dir);
  const std::string agents = "tcp://127.0.0.1:" + std::to_string(ampere::testing::free_port());
  const std::string clients = "tcp://127.0.0.1:" + std::to_string(ampere::testing::free_port());
  BackgroundProcess coordinator("ampere-coordinator",
                                {"--store", "sqlite:" + dir.path() + "/store.db", "--agents", agents, "--clients", clients,
                                 "--data-dir", dir.path(), "--curve-secret-key", keys.secret("coordinator"),
                                 "--authorized-agents", keys.root + "/agents", "--authorized-clients", keys.root + "/clients"},
                                dir.path() + "/coordinator.log");
  // the operator's client is the readiness probe
  zmq::context_t context;
  ampere::CoordinatorClient op(context, clients, 1000ms,
                               ampere::curve_client_keys(keys.secret("operator"), keys.coordinator_public()));
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    try {
      op.device_classes();
      up = true;
    } catch (const ampere::InputError&) {
      std::this_thread::sleep_for(50ms);
    }
  }
  REQUIRE_MESSAGE(up, ampere::testing::slurp_file(dir.path() + "/coordinator.log"));

  // a client without a key, or with an unlisted one, reads nothing: its handshake is refused
  const auto plain = run_binary("ampere", {"--coordinator", clients, "--timeout", "2", "device-classes"});
  CHECK(plain.exit_code == 4);  // unavailable: no answer
  CHECK(ampere_as(keys, "stranger", clients, {"device-classes"}).exit_code == 4);
  CHECK(ampere_as(keys, "stranger", clients, {"campaign", "status"}).exit_code == 4);

  // an unlisted agent never registers; the listed one does
  BackgroundProcess intruder("ampere-agent", {"--coordinator", agents, "--backend", "simulated", "--profile", "xavier",
                                              "--device-class", "sim-x", "--agent-id", "intruder", "--key",
                                              keys.secret("unlisted-agent"), "--coordinator-key", keys.coordinator_public()},
                             dir.path() + "/intruder.log");
  BackgroundProcess agent("ampere-agent", {"--coordinator", agents, "--backend", "simulated", "--profile", "xavier",
                                           "--device-class", "sim-x", "--agent-id", "listed", "--key", keys.secret("agents/listed"),
                                           "--coordinator-key", keys.coordinator_public()},
                          dir.path() + "/agent.log");
  unsigned registered = 0;
  for (int i = 0; i < 200 && registered == 0; ++i) {
    for (const auto& d : op.device_classes())
      if (d.at("name") == "sim-x") registered = d.at("agents").get<unsigned>();
    std::this_thread::sleep_for(50ms);
  }
  CHECK(registered == 1);  // the listed agent alone
  std::this_thread::sleep_for(500ms);
  for (const auto& d : op.device_classes())
    if (d.at("name") == "sim-x") CHECK(d.at("agents").get<unsigned>() == 1);
  const std::string log = ampere::testing::slurp_file(dir.path() + "/coordinator.log");
  CHECK(log.find("agent intruder registered") == std::string::npos);

  agent.stop();  // the class stays known; with no agent, the campaign below stays running until stopped

  // a reader reads but may not start or stop; the operator may
  CHECK(ampere_as(keys, "reader", clients, {"device-classes"}).exit_code == 0);
  const auto refused = ampere_as(keys, "reader", clients,
                                 {"campaign", "start", "--family", models("lenet5"), "--device-class", "sim-x", "--budget", "4"});
  CHECK(refused.exit_code == 6);
  CHECK(refused.err.find("may not start or stop campaigns") != std::string::npos);
  const auto started = ampere_as(keys, "operator", clients,
                                 {"campaign", "start", "--family", models("lenet5"), "--device-class", "sim-x", "--budget", "4"});
  REQUIRE_MESSAGE(started.exit_code == 0, started.err);
  CHECK(ampere_as(keys, "reader", clients, {"campaign", "status", "--json"}).exit_code == 0);
  const auto stop = [](std::uint64_t id) {
    return ampere::make_frame([id](ampere::wire::Envelope::Body::Builder b) { b.initStopCampaign().setCampaignId(id); });
  };
  ampere::CoordinatorClient reader(context, clients, 3000ms,
                                   ampere::curve_client_keys(keys.secret("reader"), keys.coordinator_public()));
  try {
    reader.request(stop(1));
    FAIL("a reader stopped a campaign");
  } catch (const ampere::InputError& e) {
    CHECK(e.code() == ampere::ErrorCode::Forbidden);
  }
  ampere::CoordinatorClient stranger(context, clients, 1500ms,
                                     ampere::curve_client_keys(keys.secret("stranger"), keys.coordinator_public()));
  try {
    stranger.request(stop(1));
    FAIL("an unlisted key stopped a campaign");
  } catch (const ampere::InputError& e) {
    CHECK(e.code() == ampere::ErrorCode::Unavailable);  // never admitted: no answer
  }
  CHECK(op.campaign_status(1).at(0).at("state") == "running");
  CHECK_NOTHROW(op.request(stop(1)));
  CHECK(op.campaign_status(1).at(0).at("state") == "stopped");
  CHECK(coordinator.running());
}
