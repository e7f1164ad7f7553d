#include "coordinator/server/job_queue.hpp"

#include <doctest/doctest.h>

#include "support/fake_clock.hpp"

using namespace ampere;
using ampere::testing::FakeClock;
using namespace std::chrono_literals;

namespace {

JobRecord job(std::uint64_t id, std::uint64_t campaign = 1) {
  JobRecord j;
  j.id = id;
  j.campaign_id = campaign;
  j.kind_key = "k";
  return j;
}

}  // namespace

TEST_CASE("jobs leave in order per class, a re-queued one goes first, attempts count up to the give-up") {
  FakeClock clock;
  JobQueue jobs(clock, 3);
  jobs.add("sim-x", job(1));
  jobs.add("sim-x", job(2));
  jobs.add("sim-y", job(3));
  JobRecord* first = jobs.start_next("sim-x", "a");
  REQUIRE(first != nullptr);
  CHECK(first->id == 1);
  CHECK(first->state == JobState::Running);
  CHECK(first->agent_id == "a");
  CHECK(first->attempts == 1);
  CHECK(jobs.counts_for_campaign(1).running == 1);
  CHECK(jobs.counts_for_campaign(1).queued == 2);
  // a failed attempt goes back to the front, ahead of job 2
  REQUIRE(jobs.requeue(1));
  for (std::uint32_t attempt = 2; attempt <= 3; ++attempt) {
    JobRecord* again = jobs.start_next("sim-x", "b");
    REQUIRE(again != nullptr);
    CHECK(again->id == 1);
    CHECK(again->attempts == attempt);
    CHECK(jobs.may_retry(*again) == (attempt < 3));
    if (jobs.may_retry(*again)) jobs.requeue(1);
  }
  jobs.give_up(1);
  CHECK(jobs.find(1) == nullptr);
  CHECK(jobs.start_next("sim-x", "b")->id == 2);
  CHECK(jobs.start_next("sim-x", "b") == nullptr);
  CHECK_FALSE(jobs.requeue(99));
}

TEST_CASE("a stopped campaign's queued jobs leave the queue, running ones finish, durations feed the ETA") {
  FakeClock clock;
  JobQueue jobs(clock, 3);
  jobs.add("sim-x", job(1, 7));
  jobs.add("sim-x", job(2, 7));
  jobs.add("sim-x", job(3, 8));
  REQUIRE(jobs.start_next("sim-x", "a")->id == 1);
  jobs.drop_queued(7);
  CHECK(jobs.counts_for_campaign(7).queued == 0);
  CHECK(jobs.counts_for_campaign(7).running == 1);
  CHECK(jobs.has_queued("sim-x"));  // campaign 8's job
  CHECK_FALSE(jobs.mean_job_seconds("sim-x"));
  clock.advance(2000ms);
  jobs.finish(1);
  REQUIRE(jobs.mean_job_seconds("sim-x"));
  CHECK(*jobs.mean_job_seconds("sim-x") == doctest::Approx(2.0));
  REQUIRE(jobs.start_next("sim-x", "a")->id == 3);  // job 2 was dropped
  clock.advance(1000ms);
  jobs.finish(3);
  CHECK(*jobs.mean_job_seconds("sim-x") == doctest::Approx(0.8 * 2.0 + 0.2 * 1.0));  // moving average
  CHECK_FALSE(jobs.has_queued("sim-x"));
}

TEST_CASE("a job running at start waits for its agent: claimed when it registers, listed for re-queueing when it does not") {
  FakeClock clock;
  JobQueue jobs(clock, 3);
  JobRecord a = job(1);
  a.agent_id = "a";
  a.attempts = 1;
  JobRecord b = job(2);
  b.agent_id = "b";
  jobs.adopt_running("sim-x", a);
  jobs.adopt_running("sim-x", b);
  CHECK(jobs.find(1)->state == JobState::Running);
  CHECK(jobs.counts_per_class()["sim-x"].running == 2);
  CHECK_FALSE(jobs.has_queued("sim-x"));
  CHECK(jobs.claim_orphan("a", "sim-y") == 0);  // back for another class: not its job any more
  CHECK(jobs.claim_orphan("a", "sim-x") == 1);
  CHECK(jobs.claim_orphan("a", "sim-x") == 0);  // claimed once
  clock.advance(1000ms);
  CHECK(jobs.orphans_older_than(2000ms).empty());
  clock.advance(1001ms);
  CHECK(jobs.orphans_older_than(2000ms) == std::vector<std::uint64_t>{2});  // a's is claimed: an ordinary running job
  CHECK(jobs.requeue(2));
  CHECK(jobs.orphans_older_than(0ms).empty());
  JobRecord* next = jobs.start_next("sim-x", "c");
  REQUIRE(next != nullptr);
  CHECK(next->id == 2);
  CHECK(next->attempts == 1);
}
