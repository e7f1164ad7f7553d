#include "coordinator/server/standby_responder.hpp"

#include <doctest/doctest.h>

#include "support/coordinator_fixture.hpp"

using namespace ampere;
using ampere::testing::FakeTransport;
using namespace std::chrono_literals;

TEST_CASE("a standby answers every request with not-the-leader, naming the leader, and drops heartbeats") {
  FakeTransport transport;
  StandbyResponder standby(transport);
  standby.set_leader("host-a pid 7");
  transport.inbox.push_back({Incoming::From::Agent, "a", make_frame([](wire::Envelope::Body::Builder b) {
                               b.initRegister().setAgentId("a");
                             })});
  transport.inbox.push_back({Incoming::From::Agent, "a#heartbeat", make_frame([](wire::Envelope::Body::Builder b) {
                               b.initHeartbeat().setAgentId("a");
                             })});
  transport.inbox.push_back({Incoming::From::Client, "client", make_frame([](wire::Envelope::Body::Builder b) {
                               b.initCampaignStatusRequest();
                             })});
  transport.inbox.push_back({Incoming::From::Agent, "junk", "not a frame"});
  CHECK(standby.serve(0ms) == 3);
  for (const char* peer : {"a", "client", "junk"}) {
    CAPTURE(peer);
    REQUIRE(transport.sent[peer].size() == 1);
    const DecodedEnvelope d(transport.sent[peer][0]);
    REQUIRE(d.envelope().getBody().which() == wire::Envelope::Body::ERROR);
    CHECK(from_wire(d.envelope().getBody().getError().getCode()) == ErrorCode::NotLeader);
    CHECK(std::string(d.envelope().getBody().getError().getMessage().cStr()).find("host-a pid 7") != std::string::npos);
  }
  CHECK(transport.sent["a#heartbeat"].empty());
  CHECK(standby.serve(0ms) == 0);
}
