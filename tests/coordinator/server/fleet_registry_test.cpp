#include "coordinator/server/fleet_registry.hpp"

#include <doctest/doctest.h>

#include "support/fake_clock.hpp"

using namespace ampere;
using ampere::testing::FakeClock;
using namespace std::chrono_literals;

TEST_CASE("an agent silent longer than the heartbeat timeout is lost with its job, heartbeats keep it") {
  FakeClock clock;
  FleetRegistry fleet(clock, 6000ms);
  fleet.register_agent({"a", "route-a", "sim-x", "simulated", {}, 0});
  fleet.register_agent({"b", "route-b", "sim-x", "simulated", {}, 0});
  fleet.find("a")->running_job = 17;
  CHECK(fleet.connected("sim-x") == 2);
  CHECK(fleet.idle("sim-x") == 1);
  clock.advance(5000ms);
  fleet.heard_from("b");  // b's heartbeat
  clock.advance(1000ms);
  CHECK(fleet.expire().empty());  // exactly the timeout: not yet
  clock.advance(1ms);
  const std::vector<AgentInfo> lost = fleet.expire();
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].id == "a");
  CHECK(lost[0].running_job == 17);
  CHECK(fleet.find("a") == nullptr);
  CHECK(fleet.connected("sim-x") == 1);
  clock.advance(5000ms);
  REQUIRE(fleet.expire().size() == 1);  // b went silent too
  CHECK(fleet.connected_per_class().at("sim-x") == 0);  // the class stays known
  CHECK(fleet.knows_class("sim-x"));
}

TEST_CASE("an agent that registers again keeps the job it holds, one that changes class hands it back") {
  FakeClock clock;
  FleetRegistry fleet(clock, 6000ms);
  CHECK(fleet.register_agent({"a", "r1", "sim-x", "simulated", {}, 0}) == 0);
  fleet.find("a")->running_job = 9;
  CHECK(fleet.register_agent({"a", "r2", "sim-x", "simulated", {}, 0}) == 0);  // loses none of its work
  CHECK(fleet.find("a")->running_job == 9);
  CHECK(fleet.find("a")->routing_id == "r2");
  CHECK(fleet.register_agent({"a", "r3", "sim-y", "simulated", {}, 0}) == 9);  // another class: not its job any more
  CHECK(fleet.find("a")->running_job == 0);
  CHECK(fleet.known_classes() == "sim-x, sim-y");
}

TEST_CASE("a class's typical memory is the median its connected agents reported: one claim cannot move it") {
  FakeClock clock;
  FleetRegistry fleet(clock, 6000ms);
  CHECK(fleet.typical_memory("sim-x") == 0);  // no agents: no limit from them
  fleet.register_agent({"a", "route-a", "sim-x", "simulated", {}, 0, 8000000000});
  fleet.register_agent({"b", "route-b", "sim-x", "simulated", {}, 0, 6000000000});
  fleet.register_agent({"c", "route-c", "sim-x", "simulated", {}, 0, 0});  // reported nothing: not counted
  fleet.register_agent({"d", "route-d", "sim-y", "simulated", {}, 0, 1000000000});
  CHECK(fleet.typical_memory("sim-x") == 6000000000);  // the lower middle of two
  CHECK(fleet.typical_memory("sim-y") == 1000000000);
  fleet.register_agent({"e", "route-e", "sim-x", "simulated", {}, 0, 64ull << 20});  // a tiny claim among three
  CHECK(fleet.typical_memory("sim-x") == 6000000000);
  clock.advance(5000ms);
  fleet.heard_from("a");
  clock.advance(2000ms);
  fleet.expire();  // b, c, d and e are lost
  CHECK(fleet.typical_memory("sim-x") == 8000000000);
  CHECK(fleet.typical_memory("sim-y") == 0);
}
