// Any bytes as a frame on either coordinator socket, dispatched by a real CoordinatorServer (a fake
// transport, a real SQLite store in a temp file): the first byte picks the socket (even: agents,
// odd: clients), the rest is the frame. One server lives across inputs, with a registered agent
// and a running campaign, so results, work requests and client requests meet real state. Must
// never crash, and the loop must keep answering.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "common/clock.hpp"
#include "common/model_spec.hpp"
#include "coordinator/server/coordinator_server.hpp"
#include "protocol.capnp.h"
#include "wire_codec.hpp"
#include "wire_convert.hpp"

namespace {

class FakeTransport final : public ampere::Transport {
 public:
  std::deque<ampere::Incoming> inbox;
  std::size_t sent = 0;
  std::optional<ampere::Incoming> receive(std::chrono::milliseconds) override {
    if (inbox.empty()) return std::nullopt;
    ampere::Incoming in = inbox.front();
    inbox.pop_front();
    return in;
  }
  void send_to_agent(const std::string&, const std::string&) override { ++sent; }
  void reply_to_client(const std::string&, const std::string&) override { ++sent; }
};

struct Loop {
  std::string db = (std::filesystem::temp_directory_path() / ("ampere-fuzz-" + std::to_string(::getpid()) + ".db")).string();
  ampere::SystemClock clock;
  FakeTransport transport;
  ampere::CoordinatorMetrics metrics;
  ampere::StorePtr store;
  std::unique_ptr<ampere::CoordinatorServer> server;
  Loop() {
    spdlog::set_level(spdlog::level::off);  // every refusal is logged: not what is fuzzed
    std::filesystem::remove(db);
    store = ampere::open_store("sqlite:" + db);
    ampere::CoordinatorConfig config;
    config.holdout_models = 0;
    server = std::make_unique<ampere::CoordinatorServer>(transport, *store, clock, nullptr, config, metrics);
    deliver(ampere::Incoming::From::Agent, ampere::make_frame([](ampere::wire::Envelope::Body::Builder b) {
      auto r = b.initRegister();
      r.setAgentId("a");
      r.setDeviceClass("sim-x");
    }));
    const std::string family =
        R"({"name": "f", "input": {"shape": [1, 8, 8]}, "batch_size": 2, "classes": 3, "layers": [
            {"type": "conv2d", "out_channels": {"min": 1, "max": 16}, "kernel": 3, "padding": 1}, {"type": "relu"},
            {"type": "flatten"}, {"type": "linear", "out_features": 3}]})";
    deliver(ampere::Incoming::From::Client, ampere::make_frame([&](ampere::wire::Envelope::Body::Builder b) {
      auto s = b.initStartCampaign();
      s.setFamilySpecJson(family);
      s.setDeviceClass("sim-x");
      s.setBudgetPerKind(4);
    }));
    deliver(ampere::Incoming::From::Agent,
            ampere::make_frame([](ampere::wire::Envelope::Body::Builder b) { b.initWorkRequest().setAgentId("a"); }));
  }
  void deliver(ampere::Incoming::From from, const std::string& frame) {
    transport.inbox.push_back({from, from == ampere::Incoming::From::Agent ? "a" : "client", frame});
    server->turn(std::chrono::milliseconds(0));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Loop* loop = new Loop();  // one server across inputs (reachable: never reported as a leak)
  if (size == 0) return 0;
  const auto from = (data[0] & 1) == 0 ? ampere::Incoming::From::Agent : ampere::Incoming::From::Client;
  const std::size_t before = loop->transport.sent;
  loop->deliver(from, std::string(reinterpret_cast<const char*>(data + 1), size - 1));
  // a client request is always answered (an error frame at least)
  if (from == ampere::Incoming::From::Client && loop->transport.sent == before) __builtin_trap();
  return 0;
}
