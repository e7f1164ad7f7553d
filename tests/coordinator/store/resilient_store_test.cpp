// The resilient store against a store that goes away, on fake time: no sleeping, exact back-off.
#include "coordinator/store/resilient_store.hpp"

#include <doctest/doctest.h>

#include "coordinator/store/flaky_store.hpp"
#include "support/fake_clock.hpp"

using namespace ampere;
using ampere::testing::Dir;
using ampere::testing::FakeClock;
using ampere::testing::FlakyStore;
using ampere::testing::measurement;
using namespace std::chrono_literals;

namespace {

struct Health final : StoreHealthListener {
  int errors = 0;
  bool up = true;
  std::size_t replayed = 0, depth = 0;
  void store_error(const std::string&) override { ++errors; }
  void store_up(bool u) override { up = u; }
  void spool_replayed(std::size_t n) override { replayed += n; }
  void spool_depth(std::size_t n, std::size_t) override { depth = n; }
};

}  // namespace

TEST_CASE("an away store is probed with back-off, 1 s doubling to 10 s, and not tried in between") {
  FlakyStore store;  // away
  FakeClock clock;
  Health health;
  ResilientStore resilient(store, clock, nullptr, health);
  int writes = 0;
  CHECK_FALSE(resilient.try_write("create_jobs", [&] { ++writes, store.fingerprint(); }));
  CHECK_FALSE(resilient.up());
  CHECK_FALSE(health.up);
  CHECK(health.errors == 1);
  CHECK(resilient.next_probe() == clock.now() + 1s);
  // the waits between probes: 1, 2, 4, 8, then capped at 10 s
  for (const auto wait : {1000ms, 2000ms, 4000ms, 8000ms, 10000ms, 10000ms}) {
    CAPTURE(wait.count());
    clock.advance(wait - 1ms);
    const int before = store.probes + writes;
    resilient.maintain();  // not due yet: nothing touches the store
    CHECK_FALSE(resilient.try_write("set_job_state", [&] { ++writes; }));
    CHECK(store.probes + writes == before);
    clock.advance(1ms);
    resilient.maintain();  // due: one probe, which fails and backs off further
    CHECK(store.probes + writes == before + 1);
    CHECK_FALSE(resilient.up());
  }
  CHECK(resilient.backoff() == 10000ms);
  // back: the next probe finds it, and the back-off starts over
  store.up = true;
  clock.advance(10s);
  resilient.maintain();
  CHECK(resilient.up());
  CHECK(health.up);
  CHECK(resilient.backoff() == 1000ms);
  CHECK(resilient.try_write("set_job_state", [&] { ++writes; }));
}

TEST_CASE("results spooled while the store is away are written oldest first when a probe finds it back") {
  Dir dir;
  FlakyStore store;  // away
  FakeClock clock;
  Health health;
  ResilientStore resilient(store, clock, std::make_unique<ResultSpool>(dir.file("spool.jsonl"), 10), health);
  CHECK(resilient.store_result({3, "a", measurement(0.3)}) == ResultFate::Spooled);
  CHECK(store.result_tries == 1);  // the first try found it away
  // while away and before the probe is due, results go straight to the spool
  CHECK(resilient.store_result({1, "a", measurement(0.1)}) == ResultFate::Spooled);
  CHECK(resilient.store_result({2, "b", measurement(0.2)}) == ResultFate::Spooled);
  CHECK(store.result_tries == 1);
  CHECK(health.depth == 3);
  clock.advance(1s);
  resilient.maintain();  // due: the replay is the probe, and the store is still away
  CHECK(resilient.spool()->size() == 3);
  CHECK_FALSE(resilient.up());
  store.up = true;
  clock.advance(2s);
  resilient.maintain();
  CHECK(resilient.up());
  CHECK(resilient.spool()->size() == 0);
  CHECK(health.replayed == 3);
  REQUIRE(store.stored.size() == 3);
  CHECK(store.stored[0].job_id == 3);  // in the order they arrived, not by job id
  CHECK(store.stored[1].job_id == 1);
  CHECK(store.stored[2].job_id == 2);
  // a resend of a stored result counts as stored; a fresh one is committed
  CHECK(resilient.store_result({1, "a", measurement(0.1)}) == ResultFate::AlreadyStored);
  CHECK(resilient.store_result({4, "a", measurement(0.4)}) == ResultFate::Stored);
}

TEST_CASE("a result neither the store nor the full spool takes is not acknowledged") {
  Dir dir;
  FlakyStore store;
  FakeClock clock;
  Health health;
  ResilientStore resilient(store, clock, std::make_unique<ResultSpool>(dir.file("spool.jsonl"), 1), health);
  CHECK(resilient.store_result({1, "a", measurement(0.1)}) == ResultFate::Spooled);
  CHECK(resilient.store_result({2, "a", measurement(0.2)}) == ResultFate::NotAcknowledged);
  FlakyStore other;
  ResilientStore no_spool(other, clock, nullptr, health);
  CHECK(no_spool.store_result({1, "a", measurement(0.1)}) == ResultFate::NotAcknowledged);
}

TEST_CASE("a spool left from before is written first on start, and a store that is away then stops the start") {
  Dir dir;
  const std::string path = dir.file("spool.jsonl");
  {
    ResultSpool spool(path, 10);
    REQUIRE(spool.append({5, "a", measurement(0.5)}));
    REQUIRE(spool.append({6, "a", measurement(0.6)}));
  }
  FakeClock clock;
  Health health;
  FlakyStore away;
  ResilientStore refused(away, clock, std::make_unique<ResultSpool>(path, 10), health);
  CHECK_THROWS_WITH_AS(refused.replay_on_start(), doctest::Contains("not starting on a partial store"), InputError);
  FlakyStore store;
  store.up = true;
  ResilientStore resilient(store, clock, std::make_unique<ResultSpool>(path, 10), health);
  resilient.replay_on_start();
  REQUIRE(store.stored.size() == 2);
  CHECK(store.stored[0].job_id == 5);
  CHECK(resilient.spool()->size() == 0);
}
