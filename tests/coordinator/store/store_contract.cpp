#include "coordinator/store/store_contract.hpp"

#include <cmath>
#include <set>

#include <doctest/doctest.h>

#include "common/error.hpp"

namespace ampere::testing {

void check_store_contract(const std::function<StorePtr()>& reopen) {
  std::uint64_t campaign = 0, job = 0;
  {
    StorePtr store = reopen();
    CHECK(store->campaigns().empty());
    std::set<std::string> fingerprints{store->fingerprint()};
    auto changed = [&] { return fingerprints.insert(store->fingerprint()).second; };
    campaign = store->create_campaign({0, "{}", "server", 20, "max-variance", CampaignState::Running, "joint", {}});
    // a profile-on-demand campaign keeps the kinds it was asked for
    store->create_campaign({0, "{}", "server", 8, "max-variance", CampaignState::Running, "subtractive", {"v1|a", "v1|b"}});
    CHECK(changed());
    JobRecord j;
    j.campaign_id = campaign;
    j.kind_key = "v1|output|in=flat|linear(bias=1)|classes=10|batch=10|dtype=float32";
    j.channels = {12, 7};
    j.variant_json = "{\"name\": \"v\"}";
    const auto ids = store->create_jobs({j, j});
    REQUIRE(ids.size() == 2);
    CHECK(ids[0] != ids[1]);
    job = ids[0];
    store->set_job_state(job, JobState::Running, "agent-1");
    Measurement m;
    m.seconds_per_iteration = {0.1, 0.11};
    m.joules_per_iteration = {1.0, 1.1};
    m.meter = MeterSource::Simulated;
    m.iterations = 10;
    m.threads = 1;
    m.idle_watts = std::nan("");
    store->store_result({job, "agent-1", m});
    CHECK(changed());
    CHECK_THROWS_AS(store->store_result({job, "agent-1", m}), DuplicateResult);  // never twice
    CHECK_FALSE(changed());
    CHECK_THROWS_AS(store->store_result({999999, "agent-1", m}), InputError);
    Measurement with_idle = m;
    with_idle.idle_watts = 3.5;
    with_idle.meter = MeterSource::Composite;  // a whole node: each part's joules kept beside the sum
    with_idle.meter_parts = {{MeterSource::Rapl, {0.6, 0.7}}, {MeterSource::Nvml, {0.4, 0.4}}};
    with_idle.reference_seconds = 0.0042;  // a reference reading beside the job; energy: none

    store->store_result({ids[1], "agent-2", with_idle});
    store->save_kind_model(campaign, "k", "{\"v\": 1}");
    CHECK(changed());
    store->save_kind_model(campaign, "k", "{\"v\": 2}");  // replaced, not duplicated (same length)
    CHECK(changed());
    store->set_campaign_state(campaign, CampaignState::Done);
    CHECK(changed());
  }
  StorePtr store = reopen();  // everything survives a reopen (a coordinator restart)
  REQUIRE(store->campaigns().size() == 2);
  CHECK(store->campaigns()[0].only_kinds.empty());
  CHECK(store->campaigns()[1].only_kinds == std::vector<std::string>{"v1|a", "v1|b"});
  CHECK(store->campaigns()[0].device_class == "server");
  CHECK(store->campaigns()[0].state == CampaignState::Done);
  CHECK(store->campaigns()[0].budget_per_kind == 20);
  CHECK(store->campaigns()[0].estimator == "joint");
  const auto jobs = store->jobs(campaign);
  REQUIRE(jobs.size() == 2);
  CHECK(jobs[0].state == JobState::Done);
  CHECK(jobs[0].attempts == 1);
  CHECK(jobs[0].agent_id == "agent-1");
  CHECK(jobs[0].channels == std::vector<std::int64_t>{12, 7});
  const auto results = store->results(campaign);
  REQUIRE(results.size() == 2);
  CHECK(results[0].measurement.joules_per_iteration[1] == 1.1);
  CHECK(results[0].measurement.meter == MeterSource::Simulated);
  CHECK(std::isnan(results[0].measurement.idle_watts));
  CHECK(results[1].measurement.idle_watts == 3.5);
  CHECK(meter_label_of(results[1].measurement).str() == "rapl+nvml");
  REQUIRE(results[1].measurement.meter_parts.size() == 2);
  CHECK(results[1].measurement.meter_parts[0].joules_per_iteration == std::vector<double>{0.6, 0.7});
  CHECK(results[1].measurement.meter_parts[1].source == MeterSource::Nvml);
  CHECK(results[0].measurement.meter_parts.empty());
  CHECK_FALSE(results[0].measurement.has_reference());  // none taken: NULL, read back as NaN
  CHECK(results[1].measurement.reference_seconds == 0.0042);
  CHECK(std::isnan(results[1].measurement.reference_joules));
  const auto models = store->kind_models(campaign);
  REQUIRE(models.size() == 1);
  CHECK(models[0].second == "{\"v\": 2}");
  CHECK(store->jobs(campaign + 100).empty());
  // whose result a job has: a coordinator that took over acknowledges its agent's re-sent result
  CHECK(store->result_agent(job) == std::optional<std::string>("agent-1"));
  CHECK(store->result_agent(jobs[1].id) == std::optional<std::string>("agent-2"));
  CHECK_FALSE(store->result_agent(999999).has_value());

  // A late running-state write (a fast agent's job finished within the turn that handed it out)
  // never takes a done job back.
  store->set_job_state(job, JobState::Running, "agent-9");
  store->set_job_states({{job, JobState::Queued, ""}});
  CHECK(store->jobs(campaign)[0].state == JobState::Done);

  // A group of results: stored, a duplicate and an unknown job, each with its own outcome, the
  // others unaffected.
  JobRecord j;
  j.campaign_id = campaign;
  j.kind_key = "v1|output|in=flat|linear(bias=1)|classes=10|batch=10|dtype=float32";
  j.channels = {3, 4};
  j.variant_json = "{\"name\": \"w\"}";
  const auto more = store->create_jobs({j, j});
  store->set_job_states({{more[0], JobState::Running, "agent-3"}, {more[1], JobState::Running, "agent-4"}});
  Measurement m = results[0].measurement;
  const auto outcomes =
      store->store_results({{more[0], "agent-3", m}, {job, "agent-1", m}, {999999, "agent-1", m}, {more[1], "agent-4", m}});
  REQUIRE(outcomes.size() == 4);
  CHECK(outcomes[0].kind == GroupedResultOutcome::Kind::Stored);
  CHECK(outcomes[1].kind == GroupedResultOutcome::Kind::Duplicate);
  CHECK(outcomes[2].kind == GroupedResultOutcome::Kind::Refused);
  CHECK(outcomes[2].message.find("unknown job 999999") != std::string::npos);
  CHECK(outcomes[3].kind == GroupedResultOutcome::Kind::Stored);
  CHECK(store->results(campaign).size() == 4);
  const auto after = store->jobs(campaign);
  CHECK(after[2].state == JobState::Done);
  CHECK(after[2].attempts == 1);
  CHECK(after[3].agent_id == "agent-4");

  // A done job whose result another agent's reading outvoted (a far point): failed from now on,
  // its result kept; a job that is not done is left as it is.
  const auto third = store->create_jobs({j});
  store->discard_result(more[0]);
  store->discard_result(third[0]);
  const auto discarded = store->jobs(campaign);
  CHECK(discarded[2].state == JobState::Failed);
  CHECK(discarded[2].agent_id == "agent-3");
  CHECK(discarded[3].state == JobState::Done);
  CHECK(discarded[4].state == JobState::Queued);
  CHECK(store->results(campaign).size() == 4);
}

}  // namespace ampere::testing
