// The store contract against a real PostgreSQL 15 started by the test.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <doctest/doctest.h>
#include <pqxx/pqxx>

#include "common/error.hpp"
#include "coordinator/store/change_feed.hpp"
#include "coordinator/store/leadership.hpp"
#include "coordinator/store/store_contract.hpp"
#include "integration/postgres_server.hpp"

using namespace ampere;

TEST_CASE("the PostgreSQL store keeps the store contract against a real server") {
  testing::PostgresServer server;
  const std::string url = server.create_database();
  testing::check_store_contract([&] { return open_store(url); });
}

TEST_CASE("PostgreSQL migrations are versioned and idempotent") {
  testing::PostgresServer server;
  const std::string url = server.create_database();
  open_store(url);
  open_store(url);  // a second coordinator start migrates nothing
  pqxx::connection c(url);
  pqxx::read_transaction w(c);
  const auto versions = w.exec("SELECT version FROM schema_migrations ORDER BY version");
  REQUIRE(versions.size() == 7);
  CHECK(versions[0][0].as<int>() == 1);
  CHECK(versions[1][0].as<int>() == 2);
  CHECK(versions[2][0].as<int>() == 3);  // campaigns.estimator
  CHECK(versions[3][0].as<int>() == 4);  // results.reference_seconds / reference_joules
  CHECK(versions[4][0].as<int>() == 5);  // campaigns.only_kinds_json (profile on demand)
  CHECK(versions[5][0].as<int>() == 6);  // results.meter_parts_json (composite meters)
  CHECK(versions[6][0].as<int>() == 7);  // leadership (--ha)
  CHECK(w.exec("SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'results' AND "
               "column_name IN ('reference_seconds', 'reference_joules')")[0][0].as<int>() == 2);
  CHECK(w.exec("SELECT column_default FROM information_schema.columns WHERE table_name = 'campaigns' AND "
               "column_name = 'estimator'")[0][0].as<std::string>() == "'subtractive'::text");
}

TEST_CASE("a database that accepts connections but never answers fails within the connect timeout, not forever") {
  // A loopback port whose listen queue completes the TCP handshake but where nothing speaks.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, 8) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const std::string url = "postgresql://nobody@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/none";
  const auto started = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH_AS(open_store(url), doctest::Contains("cannot connect"), InputError);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  CHECK(seconds < 10);  // connect_timeout=3 (an operator's own connect_timeout in the URL wins)
  ::close(fd);
}

namespace {

CampaignRecord campaign_record() {
  CampaignRecord c;
  c.family_json = "{}";
  c.device_class = "sim-x";
  c.budget_per_kind = 4;
  c.acquisition = "variance";
  return c;
}

}  // namespace

TEST_CASE("the leader lease: one instance holds it, a takeover grows the epoch, and the deposed leader's writes fail") {
  testing::PostgresServer server;
  const std::string url = server.create_database();
  open_store(url);  // migrated, as every coordinator's start does
  LeaderLease first(url, "first"), second(url, "second");
  CHECK_FALSE(first.current().has_value());  // nobody has led yet
  const std::optional<std::uint64_t> epoch1 = first.try_acquire();
  REQUIRE(epoch1.has_value());
  CHECK(*epoch1 == 1);
  CHECK(first.still_held());
  CHECK_FALSE(second.try_acquire().has_value());  // held: the other stands by
  REQUIRE(first.current().has_value());
  CHECK(first.current()->holder == "first");

  auto fence1 = std::make_shared<LeadershipFence>(*epoch1);
  StorePtr leader = open_fenced_store(url, fence1);
  const std::uint64_t campaign = leader->create_campaign(campaign_record());  // the leader writes
  CHECK_FALSE(fence1->lost());

  // the leader steps down (unlocking, then ending its session): the standby takes over at epoch 2
  // at once (a killed leader's lock goes once the server notices its connection closed)
  first.release(true);
  const std::optional<std::uint64_t> epoch2 = second.try_acquire();
  REQUIRE(epoch2.has_value());
  CHECK(*epoch2 == 2);
  CHECK(second.current()->holder == "second");

  // the old leader's store still works as a connection, but every write is fenced off
  CHECK_THROWS_WITH_AS(leader->set_campaign_state(campaign, CampaignState::Done), doctest::Contains("deposed"),
                       StoreUnavailable);
  CHECK(fence1->lost());
  CHECK(fence1->reason() == LeadershipFence::Reason::Fenced);
  CHECK_THROWS_AS(leader->create_campaign(campaign_record()), StoreUnavailable);
  CHECK(leader->campaigns().size() == 1);  // reads still work; nothing of the writes landed
  CHECK(leader->campaigns()[0].state == CampaignState::Running);
  // the new leader's fenced store writes
  auto fence2 = std::make_shared<LeadershipFence>(*epoch2);
  StorePtr next = open_fenced_store(url, fence2);
  next->set_campaign_state(campaign, CampaignState::Done);
  CHECK(next->campaigns()[0].state == CampaignState::Done);
  CHECK_FALSE(fence2->lost());
  // a fenced store is for PostgreSQL only
  CHECK_THROWS_WITH_AS(open_fenced_store("sqlite:/tmp/x.db", fence2), doctest::Contains("PostgreSQL"), InputError);
}

TEST_CASE("a leader whose lease session is ended by the server sees it at its next check, and the lock is free") {
  testing::PostgresServer server;
  const std::string url = server.create_database();
  open_store(url);
  LeaderLease lease(url, "leader"), standby(url, "standby");
  REQUIRE(lease.try_acquire().has_value());
  CHECK(lease.still_held());
  {  // an administrator (or a network partition) ends the lease's session
    pqxx::connection c(url);
    pqxx::nontransaction n(c);
    CHECK(n.exec("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = 7274618")[0][0].as<bool>());
  }
  CHECK_FALSE(lease.still_held());
  const std::optional<std::uint64_t> epoch = standby.try_acquire();
  REQUIRE(epoch.has_value());
  CHECK(*epoch == 2);
}

TEST_CASE("a takeover waits for a write of the old leader in flight, so no write of the old epoch lands after it") {
  testing::PostgresServer server;
  const std::string url = server.create_database();
  open_store(url);
  LeaderLease first(url, "first"), second(url, "second");
  REQUIRE(first.try_acquire() == std::optional<std::uint64_t>(1));
  // the old leader's write transaction has checked its fence (the row held FOR SHARE) and not committed yet
  pqxx::connection old_leader(url);
  pqxx::work in_flight(old_leader);
  REQUIRE(in_flight.exec("SELECT epoch FROM leadership WHERE id = 1 FOR SHARE")[0][0].as<int>() == 1);
  first.release(true);  // unlocked at once (its session's end would free it a little later)
  std::atomic<std::uint64_t> taken{0};
  std::thread takeover([&] { taken = second.try_acquire().value_or(99); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(taken.load() == 0);  // the increment waits for the write in flight
  in_flight.exec("INSERT INTO campaigns(family_json, device_class, budget_per_kind, acquisition, state) VALUES ('{}', 'x', 1, 'v', 'running')");
  in_flight.commit();
  takeover.join();
  CHECK(taken.load() == 2);
}

TEST_CASE("a write the server picks as a deadlock's victim is StoreUnavailable (spooled, retried), never a refusal") {
  testing::PostgresServer server;
  const std::string url = server.create_database();
  StorePtr store = open_store(url);
  const std::uint64_t campaign = store->create_campaign(campaign_record());
  JobRecord j;
  j.campaign_id = campaign;
  j.kind_key = "v1|k";
  j.channels = {8};
  j.variant_json = "{}";
  const std::uint64_t job = store->create_jobs({j}).at(0);
  Measurement m;
  m.seconds_per_iteration = {0.1};
  m.joules_per_iteration = {1.0};
  m.meter = MeterSource::Simulated;
  m.iterations = 1;
  m.threads = 1;
  // an operator's session takes results; store_result holds its job row (FOR UPDATE) and waits for
  // results; the operator then asks for jobs: a cycle. The operator's session waits 10 s before it
  // looks for deadlocks, the store's 1 s (the server's default), so the store's transaction is the one chosen.
  pqxx::connection operator_session(url);
  pqxx::work held(operator_session);
  held.exec("SET LOCAL deadlock_timeout = '10s'");
  held.exec("LOCK TABLE results IN ACCESS EXCLUSIVE MODE");
  std::atomic<int> outcome{0};  // 1: StoreUnavailable, 2: anything else, 3: stored
  std::string said;
  std::thread writer([&] {
    try {
      store->store_result({job, "agent-1", m});
      outcome = 3;
    } catch (const StoreUnavailable& e) {
      said = e.what();
      outcome = 1;
    } catch (const std::exception& e) {
      said = e.what();
      outcome = 2;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the writer waits for results by now
  held.exec("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE");        // granted once the writer is rolled back
  held.commit();
  writer.join();
  INFO(said);
  CHECK(outcome.load() == 1);
  CHECK(said.find("deadlock") != std::string::npos);
  CHECK(store->results(campaign).empty());  // nothing half-written
  store->store_result({job, "agent-1", m});  // the retry lands
  CHECK(store->results(campaign).size() == 1);
}

TEST_CASE("the change feed hears every write readers see, at its commit, and nothing else") {
  testing::PostgresServer server;
  const std::string url = server.create_database();
  StorePtr store = open_store(url);
  std::unique_ptr<ChangeFeed> feed = open_change_feed(url);
  REQUIRE(feed != nullptr);
  CHECK_FALSE(feed->wait(std::chrono::milliseconds(200)));  // nothing written yet
  const std::uint64_t campaign = store->create_campaign(campaign_record());
  CHECK(feed->wait(std::chrono::milliseconds(2000)));
  store->jobs(campaign);  // a read: no word
  CHECK_FALSE(feed->wait(std::chrono::milliseconds(200)));
  store->set_campaign_state(campaign, CampaignState::Done);
  store->save_kind_model(campaign, "k", "{}");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // both notifications arrived meanwhile
  CHECK(feed->wait(std::chrono::milliseconds(2000)));  // both taken at once
  CHECK_FALSE(feed->wait(std::chrono::milliseconds(200)));
  CHECK(open_change_feed("sqlite:/tmp/none.db") == nullptr);  // SQLite: none, readers poll
  server.stop();  // the feed's connection is gone: said, so the reader opens a new one and reads once
  CHECK_THROWS_AS(feed->wait(std::chrono::milliseconds(2000)), StoreUnavailable);
}
