// The coordinator's loop on a fake transport and a fake clock, with a real SQLite store in a temp
// dir: frames delivered by hand, one turn at a time (coordinator_server_test, hostile_input_test).
#pragma once

#include <unistd.h>

#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>

#include <doctest/doctest.h>

#include "common/model_spec.hpp"
#include "coordinator/server/coordinator_server.hpp"
#include "protocol.capnp.h"
#include "support/fake_clock.hpp"
#include "wire_codec.hpp"
#include "wire_convert.hpp"

namespace ampere::testing {

using namespace std::chrono_literals;


class FakeTransport final : public Transport {
 public:
  std::deque<Incoming> inbox;
  std::map<std::string, std::vector<std::string>> sent;  ///< frames per peer, agents and clients alike
  std::optional<Incoming> receive(std::chrono::milliseconds) override {
    if (inbox.empty()) return std::nullopt;
    Incoming in = inbox.front();
    inbox.pop_front();
    return in;
  }
  void send_to_agent(const std::string& peer, const std::string& frame) override { sent[peer].push_back(frame); }
  void reply_to_client(const std::string& peer, const std::string& frame) override { sent[peer].push_back(frame); }
};

struct Fixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("ampere-server-" + std::to_string(::getpid()));
  FakeClock clock;
  FakeTransport transport;
  CoordinatorMetrics metrics;
  StorePtr store;
  std::unique_ptr<CoordinatorServer> server;

  CoordinatorConfig config;

  explicit Fixture(bool calibration_correction = false, const std::function<void(CoordinatorConfig&)>& adjust = {}) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    store = open_store("sqlite:" + (dir / "ampere.db").string());
    config.heartbeat_timeout = 6000ms;
    config.max_attempts = 3;
    config.holdout_models = 0;
    config.calibration_correction = calibration_correction;
    if (adjust) adjust(config);
    server = std::make_unique<CoordinatorServer>(transport, *store, clock, nullptr, config, metrics);
  }
  /// Stops the server and starts a new one on the same store (a restart).
  void restart() {
    server.reset();
    server = std::make_unique<CoordinatorServer>(transport, *store, clock, nullptr, config, metrics_after_restart);
  }
  CoordinatorMetrics metrics_after_restart;
  ~Fixture() {
    server.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }

  /// Delivers one frame, runs one turn, returns the reply (empty when none was sent).
  std::string deliver(Incoming::From from, const std::string& peer, const std::string& frame) {
    const std::size_t before = transport.sent[peer].size();
    transport.inbox.push_back({from, peer, frame});
    server->turn(0ms);
    return transport.sent[peer].size() > before ? transport.sent[peer].back() : std::string();
  }
  std::string agent(const std::string& id, const std::string& frame) { return deliver(Incoming::From::Agent, id, frame); }
  std::string client(const std::string& frame) { return deliver(Incoming::From::Client, "client", frame); }

  void register_agent(const std::string& id) {
    const std::string reply = agent(id, make_frame([&](wire::Envelope::Body::Builder b) {
      auto r = b.initRegister();
      r.setAgentId(id);
      r.setDeviceClass("sim-x");
      r.setBackend("simulated");
    }));
    REQUIRE(DecodedEnvelope(reply).envelope().getBody().which() == wire::Envelope::Body::ACK);
  }
  /// The job id handed to `id` (0 for NoWork, or no reply yet: the request is parked).
  std::uint64_t ask_work(const std::string& id) {
    const std::string reply = agent(id, make_frame([&](wire::Envelope::Body::Builder b) { b.initWorkRequest().setAgentId(id); }));
    if (reply.empty()) return 0;
    const DecodedEnvelope d(reply);
    return d.envelope().getBody().which() == wire::Envelope::Body::JOB ? d.envelope().getBody().getJob().getJobId() : 0;
  }
  /// A failed attempt reported by `id`; returns whether the Ack said stored.
  bool fail(const std::string& id, std::uint64_t job) {
    const DecodedEnvelope d(agent(id, make_frame([&](wire::Envelope::Body::Builder b) {
      auto r = b.initResult();
      r.setJobId(job);
      r.setAgentId(id);
      r.setError("out of memory");
    })));
    REQUIRE(d.envelope().getBody().which() == wire::Envelope::Body::ACK);
    return d.envelope().getBody().getAck().getStored();
  }
  JobRecord stored_job(std::uint64_t id) {
    for (const JobRecord& j : store->jobs(1))
      if (j.id == id) return j;
    FAIL("job ", id, " not stored");
    return {};
  }
};

inline std::string start_frame(const std::string& device_class, const std::string& estimator = "") {
  const std::string family = to_json(load_model_spec(std::string(AMPERE_MODELS_DIR) + "/lstm.json")).dump();
  return make_frame([&](wire::Envelope::Body::Builder b) {
    auto s = b.initStartCampaign();
    s.setFamilySpecJson(family);
    s.setDeviceClass(device_class);
    s.setBudgetPerKind(4);
    s.setEstimator(estimator);
  });
}


}  // namespace ampere::testing
