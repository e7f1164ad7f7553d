// The loop driven turn by turn: a fake transport carries the frames, a fake clock makes the
// heartbeat timeout pass without sleeping, a real SQLite store in a temp dir keeps the jobs.
#include "coordinator/server/coordinator_server.hpp"

#include <doctest/doctest.h>

#include "agent/simulated_device.hpp"
#include "support/coordinator_fixture.hpp"

using namespace ampere;
using ampere::testing::FakeClock;
using ampere::testing::Fixture;
using ampere::testing::start_frame;
using namespace std::chrono_literals;

namespace {

/// A plain, plausible measurement: three repeats of about 10 ms, the simulated meter.
Measurement plain_measurement() {
  Measurement m;
  m.seconds_per_iteration = {0.01, 0.0101, 0.0102};
  m.joules_per_iteration = {0.1, 0.101, 0.102};
  m.meter = MeterSource::Simulated;
  m.iterations = 10;
  m.threads = 1;
  return m;
}

/// `m` sent as agent `id`'s result for `job`; returns the reply frame.
std::string send_result(Fixture& f, const std::string& id, std::uint64_t job, const Measurement& m = plain_measurement()) {
  return f.agent(id, make_frame([&](wire::Envelope::Body::Builder b) {
    auto r = b.initResult();
    r.setJobId(job);
    r.setAgentId(id);
    fill_result(r, m);
  }));
}

wire::Ack::Reader ack_of(const DecodedEnvelope& d) {
  REQUIRE(d.envelope().getBody().which() == wire::Envelope::Body::ACK);
  return d.envelope().getBody().getAck();
}

}  // namespace

TEST_CASE("a lost agent's job is re-queued at the heartbeat timeout and handed to the next agent") {
  Fixture f;
  f.register_agent("a");
  REQUIRE(DecodedEnvelope(f.client(start_frame("sim-x"))).envelope().getBody().which() == wire::Envelope::Body::CAMPAIGN_STATUS);
  const std::uint64_t job = f.ask_work("a");
  REQUIRE(job != 0);
  CHECK(f.stored_job(job).state == JobState::Running);
  f.clock.advance(5000ms);
  f.agent("a#heartbeat", make_frame([](wire::Envelope::Body::Builder b) { b.initHeartbeat().setAgentId("a"); }));
  f.clock.advance(6000ms);  // 6 s since the heartbeat: not lost yet
  f.server->turn(0ms);
  CHECK(f.stored_job(job).state == JobState::Running);
  f.clock.advance(501ms);  // past the timeout, and the next maintenance tick is due
  f.server->turn(0ms);
  CHECK(f.stored_job(job).state == JobState::Queued);
  CHECK(f.metrics.text().find("ampere_agents_lost_total{device_class=\"sim-x\"} 1") != std::string::npos);
  // a's work request now finds it unregistered; b gets the very job a lost, first in line
  CHECK(DecodedEnvelope(f.agent("a", make_frame([](wire::Envelope::Body::Builder b) { b.initWorkRequest().setAgentId("a"); })))
            .envelope().getBody().getError().getCode() == wire::ErrorCode::NOT_FOUND);
  f.register_agent("b");
  CHECK(f.ask_work("b") == job);
  CHECK(f.stored_job(job).agent_id == "b");
  CHECK(f.stored_job(job).attempts == 2);
}

TEST_CASE("a job that fails on every attempt is given up after the last, its point skipped") {
  Fixture f;
  f.register_agent("a");
  f.client(start_frame("sim-x"));
  const std::uint64_t job = f.ask_work("a");
  REQUIRE(job != 0);
  CHECK_FALSE(f.fail("a", job));  // attempt 1: re-queued
  CHECK(f.stored_job(job).state == JobState::Queued);
  CHECK(f.ask_work("a") == job);
  CHECK_FALSE(f.fail("a", job));  // attempt 2: re-queued
  CHECK(f.ask_work("a") == job);
  CHECK_FALSE(f.fail("a", job));  // attempt 3 of 3: given up
  const JobRecord given_up = f.stored_job(job);
  CHECK(given_up.state == JobState::Failed);
  CHECK(given_up.attempts == 3);
  CHECK(f.metrics.text().find("ampere_jobs_failed_total{device_class=\"sim-x\"} 1") != std::string::npos);
  const std::uint64_t next = f.ask_work("a");
  CHECK(next != 0);
  CHECK(next != job);  // never handed out again
  CHECK_FALSE(f.fail("a", job));  // a late result for it: unknown or finished
}

TEST_CASE("client refusals carry their code: unknown class, bad family, unknown campaign, unprofiled estimate") {
  Fixture f;
  auto code = [](const std::string& frame) {
    const DecodedEnvelope d(frame);
    REQUIRE(d.envelope().getBody().which() == wire::Envelope::Body::ERROR);
    return from_wire(d.envelope().getBody().getError().getCode());
  };
  CHECK(code(f.client(start_frame("nowhere"))) == ErrorCode::NotFound);
  f.register_agent("a");
  CHECK(code(f.client(make_frame([](wire::Envelope::Body::Builder b) {
          auto s = b.initStartCampaign();
          s.setFamilySpecJson("{not json");
          s.setDeviceClass("sim-x");
        }))) == ErrorCode::Unprocessable);
  CHECK(code(f.client(make_frame([](wire::Envelope::Body::Builder b) {
          auto s = b.initStartCampaign();
          s.setFamilySpecJson(to_json(load_model_spec(std::string(AMPERE_MODELS_DIR) + "/lstm.json")).dump());
          s.setDeviceClass("sim-x");
          s.setEstimator("kriging");
        }))) == ErrorCode::Unprocessable);
  CHECK(code(f.client(make_frame([](wire::Envelope::Body::Builder b) { b.initCampaignStatusRequest().setCampaignId(42); }))) ==
        ErrorCode::NotFound);
  CHECK(code(f.client(make_frame([](wire::Envelope::Body::Builder b) { b.initStopCampaign().setCampaignId(42); }))) ==
        ErrorCode::NotFound);
  const std::string model = to_json(sample_model(load_model_spec(std::string(AMPERE_MODELS_DIR) + "/lstm.json"), 1)).dump();
  CHECK(code(f.client(make_frame([&](wire::Envelope::Body::Builder b) {
          auto e = b.initEstimateRequest();
          e.setModelSpecJson(model);
          e.setDeviceClass("sim-x");
        }))) == ErrorCode::NotFound);  // nothing profiled on the class yet
  CHECK(code(f.client(make_frame([](wire::Envelope::Body::Builder b) {
          auto e = b.initEstimateRequest();
          e.setModelSpecJson("{oops");
          e.setDeviceClass("sim-x");
        }))) == ErrorCode::InvalidInput);
  CHECK(code(f.client("not a frame at all")) == ErrorCode::InvalidInput);
}

TEST_CASE("a result whose reference reading is far off the class's is refused, a drifted one kept, a missing one counted") {
  Fixture f;
  f.register_agent("a");
  f.client(start_frame("sim-x"));
  // Returns whether the Ack said stored.
  auto report = [&](std::uint64_t job, double reference) {
    Measurement m = plain_measurement();
    m.reference_seconds = reference;
    const DecodedEnvelope d(send_result(f, "a", job, m));
    return ack_of(d).getStored();
  };
  for (int i = 0; i < 3; ++i) {  // three readings of 2 ms: the class's median
    const std::uint64_t job = f.ask_work("a");
    REQUIRE(job != 0);
    CHECK(report(job, 0.002));
  }
  const std::uint64_t far = f.ask_work("a");
  REQUIRE(far != 0);
  CHECK_FALSE(report(far, 0.006));  // 3x the median: another kind of machine
  CHECK(f.stored_job(far).state == JobState::Queued);  // a failed attempt: another agent may take it
  CHECK(f.store->results(1).size() == 3);               // nothing stored for it, nothing lost
  const std::uint64_t drifted = f.ask_work("a");
  REQUIRE(drifted != 0);
  CHECK(report(drifted, 0.0022));  // 10% off: a drift spike, stored with its reading
  const std::uint64_t missing = f.ask_work("a");
  REQUIRE(missing != 0);
  CHECK(report(missing, std::nan("")));  // an older agent: stored, fitted as measured
  const std::string text = f.metrics.text();
  CHECK(text.find("ampere_reference_readings_total{device_class=\"sim-x\",verdict=\"off-class\"} 1") != std::string::npos);
  CHECK(text.find("ampere_reference_readings_total{device_class=\"sim-x\",verdict=\"drift\"} 1") != std::string::npos);
  CHECK(text.find("ampere_reference_readings_total{device_class=\"sim-x\",verdict=\"missing\"} 1") != std::string::npos);
  CHECK(f.store->results(1).size() == 5);
  bool kept = false;
  for (const ResultRecord& r : f.store->results(1)) kept = kept || (r.job_id == drifted && r.measurement.reference_seconds == 0.0022);
  CHECK(kept);
}

TEST_CASE("a subtractive campaign measures calibration models only when the coordinator corrects by them") {
  for (const bool correction : {false, true}) {
    CAPTURE(correction);
    Fixture f(correction);
    f.register_agent("a");
    REQUIRE(DecodedEnvelope(f.client(start_frame("sim-x", "subtractive"))).envelope().getBody().which() ==
            wire::Envelope::Body::CAMPAIGN_STATUS);
    std::size_t calibration = 0;
    for (const JobRecord& j : f.store->jobs(1)) calibration += j.calibration() ? 1 : 0;
    CHECK(calibration == (correction ? 3u : 0u));
  }
  Fixture joint;  // a joint campaign's fit reads them either way
  joint.register_agent("a");
  joint.client(start_frame("sim-x", "joint"));
  std::size_t calibration = 0;
  for (const JobRecord& j : joint.store->jobs(1)) calibration += j.calibration() ? 1 : 0;
  CHECK(calibration == 3u);
}

TEST_CASE("a forged far result is held out of the fit, measured again by another agent, and discarded, and a restart keeps it out") {
  Fixture f;
  f.register_agent("honest");
  f.register_agent("liar");
  const std::string family = R"({"name": "f", "input": {"shape": [3, 16, 16]}, "batch_size": 4, "classes": 10, "layers": [
      {"type": "conv2d", "out_channels": {"min": 4, "max": 64}, "kernel": 3, "padding": 1}, {"type": "relu"},
      {"type": "flatten"}, {"type": "linear", "out_features": 10}]})";
  f.client(make_frame([&](wire::Envelope::Body::Builder b) {
    auto s = b.initStartCampaign();
    s.setFamilySpecJson(family);
    s.setDeviceClass("sim-x");
    s.setBudgetPerKind(16);
  }));
  const SimulatedDevice device(simulated_profile("tx2"));
  std::uint64_t seed = 0;
  std::map<std::uint64_t, std::size_t> measured_before;  // per job: results stored when it was handed out
  const auto report = [&](const std::string& agent, std::uint64_t job, double factor) {
    const JobRecord record = f.stored_job(job);
    Measurement m = device.measure(parse_model_spec(nlohmann::json::parse(record.variant_json)), 3, ++seed);
    for (double& s : m.seconds_per_iteration) s *= factor;
    for (double& j : m.joules_per_iteration) j *= factor;
    const DecodedEnvelope d(f.agent(agent, make_frame([&](wire::Envelope::Body::Builder b) {
      auto r = b.initResult();
      r.setJobId(job);
      r.setAgentId(agent);
      fill_result(r, m);
    })));
    REQUIRE(d.envelope().getBody().which() == wire::Envelope::Body::ACK);
    CHECK(d.envelope().getBody().getAck().getStored());  // stored: nothing measured is lost
  };
  // The liar forges its results tenfold once the kinds have points enough to be judged.
  std::uint64_t forged = 0, confirmation = 0;
  JobRecord forged_job;
  for (int round = 0; round < 400 && confirmation == 0; ++round) {
    const std::string who = round % 2 == 0 ? "honest" : "liar";
    const std::uint64_t job = f.ask_work(who);
    if (job == 0) continue;
    const JobRecord record = f.stored_job(job);
    if (record.kind_key == kHoldoutKind || record.kind_key == kCalibrationKind) {
      report(who, job, 1);
      continue;
    }
    if (forged != 0 && record.kind_key == forged_job.kind_key && record.channels == forged_job.channels) {
      CHECK(who == "honest");  // the confirmation never goes to the agent that measured the point
      confirmation = job;
      break;
    }
    std::size_t kind_points = 0;  // results of the job's kind so far
    for (const JobRecord& j : f.store->jobs(1)) kind_points += j.kind_key == record.kind_key && j.state == JobState::Done;
    const bool forge = who == "liar" && forged == 0 && kind_points >= kFarQuorum;
    report(who, job, forge ? 10 : 1);
    if (forge && f.metrics.text().find("outcome=\"held\"} 1") != std::string::npos) {
      forged = job;
      forged_job = record;
    }
  }
  REQUIRE(forged != 0);
  REQUIRE(confirmation != 0);
  CHECK(f.stored_job(forged).state == JobState::Done);  // stored, held out of the fit
  // a restart while the confirmation is out: the far point stays held, the confirmation not for the liar
  f.restart();
  f.register_agent("honest");
  f.register_agent("liar");
  CHECK(f.ask_work("liar") != confirmation);
  std::uint64_t again = 0;
  for (int i = 0; i < 50 && again != confirmation; ++i) {
    again = f.ask_work("honest");
    if (again != 0 && again != confirmation) report("honest", again, 1);
  }
  REQUIRE(again == confirmation);
  report("honest", confirmation, 1);
  CHECK(f.metrics_after_restart.text().find("ampere_far_points_total{device_class=\"sim-x\",outcome=\"kept-second\"} 1") !=
        std::string::npos);
  CHECK(f.stored_job(forged).state == JobState::Failed);  // discarded: out of the fit after any restart
  CHECK(f.stored_job(confirmation).state == JobState::Done);
  bool kept = false;
  for (const ResultRecord& r : f.store->results(1)) kept = kept || r.job_id == forged;
  CHECK(kept);  // its result stays stored
}

TEST_CASE("a stopped campaign shows as stopped, hands out no more jobs, and its series leave /metrics after a while") {
  Fixture f;
  f.register_agent("a");
  f.client(start_frame("sim-x"));
  const std::uint64_t job = f.ask_work("a");
  REQUIRE(job != 0);
  f.clock.advance(501ms);
  f.server->turn(0ms);  // a maintenance tick publishes the campaign's series
  CHECK(f.metrics.text().find("ampere_campaign_running{campaign=\"1\"") != std::string::npos);
  const DecodedEnvelope stopped(f.client(make_frame([](wire::Envelope::Body::Builder b) { b.initStopCampaign().setCampaignId(1); })));
  REQUIRE(stopped.envelope().getBody().which() == wire::Envelope::Body::CAMPAIGN_STATUS);
  CHECK(std::string(stopped.envelope().getBody().getCampaignStatus().getCampaigns()[0].getState().cStr()) == "stopped");
  f.register_agent("b");
  CHECK(f.ask_work("b") == 0);  // its queued jobs were dropped
  CHECK(f.stored_job(job).state == JobState::Running);  // the running one finishes
  f.clock.advance(501ms);
  f.server->turn(0ms);  // its last values stay a while: dashboards see how it ended
  const std::string ended = f.metrics.text();
  CHECK(ended.find("ampere_campaign_running{campaign=\"1\",device_class=\"sim-x\"") != std::string::npos);
  CHECK(ended.find("campaign=\"1\",device_class=\"sim-x\",family=\"lstm\"} 0") != std::string::npos);
  f.clock.advance(std::chrono::minutes(10));
  f.server->turn(0ms);
  CHECK(f.metrics.text().find("campaign=\"1\"") == std::string::npos);  // every per-campaign series removed
  // stopping it again changes nothing and is not an error
  const DecodedEnvelope again(f.client(make_frame([](wire::Envelope::Body::Builder b) { b.initStopCampaign().setCampaignId(1); })));
  CHECK(again.envelope().getBody().which() == wire::Envelope::Body::CAMPAIGN_STATUS);
}

TEST_CASE("hostile: a composite meter's result whose parts do not sum to its joules is refused, nothing stored, the loop serving") {
  Fixture f;
  f.register_agent("a");
  f.client(start_frame("sim-x"));
  auto report = [&](std::uint64_t job, std::vector<MeterPart> parts) {
    Measurement m = plain_measurement();
    m.seconds_per_iteration = {0.01, 0.0101};
    m.joules_per_iteration = {0.3, 0.3};
    m.meter = MeterSource::Composite;
    m.meter_parts = std::move(parts);
    const DecodedEnvelope d(send_result(f, "a", job, m));
    return ack_of(d).getStored();
  };
  const std::uint64_t forged = f.ask_work("a");
  REQUIRE(forged != 0);
  CHECK_FALSE(report(forged, {{MeterSource::Rapl, {0.1, 0.1}}, {MeterSource::Nvml, {0.1, 0.1}}}));  // 0.2, not 0.3
  CHECK_FALSE(report(forged, {{MeterSource::Rapl, {0.2, 0.2}}, {MeterSource::TimeSurrogate, {0.1, 0.1}}}));  // a surrogate part
  CHECK_FALSE(report(forged, {{MeterSource::Rapl, {0.3, 0.3}}}));  // one part is no composite
  CHECK(f.store->results(1).empty());
  const std::uint64_t honest = f.ask_work("a");
  REQUIRE(honest != 0);
  CHECK(report(honest, {{MeterSource::Rapl, {0.2, 0.2}}, {MeterSource::Nvml, {0.1, 0.1}}}));
  const auto stored = f.store->results(1);
  REQUIRE(stored.size() == 1);
  CHECK(meter_label_of(stored[0].measurement).str() == "rapl+nvml");
  CHECK(stored[0].measurement.meter_parts[1].joules_per_iteration == std::vector<double>{0.1, 0.1});
  CHECK(f.metrics.text().find("ampere_results_stored_total{device_class=\"sim-x\",meter=\"rapl+nvml\"} 1") != std::string::npos);
}

TEST_CASE("after a restart (or a takeover) a running job waits for its agent: it registers again and its result is stored once") {
  Fixture f;
  f.register_agent("a");
  f.register_agent("b");
  f.client(start_frame("sim-x"));
  const std::uint64_t job_a = f.ask_work("a");
  const std::uint64_t job_b = f.ask_work("b");
  REQUIRE(job_a != 0);
  REQUIRE(job_b != 0);
  f.restart();  // the new coordinator knows neither agent; their jobs are running for them
  CHECK(f.stored_job(job_a).state == JobState::Running);
  // a result before registering: refused as "not registered here" (NotFound), so the agent
  // registers and sends it again instead of dropping it
  {
    const DecodedEnvelope d(send_result(f, "a", job_a));
    CHECK_FALSE(ack_of(d).getStored());
    CHECK(from_wire(ack_of(d).getCode()) == ErrorCode::NotFound);
  }
  f.register_agent("a");
  {
    const DecodedEnvelope d(send_result(f, "a", job_a));
    CHECK(ack_of(d).getStored());
  }
  CHECK(f.stored_job(job_a).state == JobState::Done);
  CHECK(f.store->results(1).size() == 1);
  // b never comes back: its job is re-queued once the wait is over, and handed to a
  f.clock.advance(f.config.orphan_wait - 1000ms);
  f.agent("a#heartbeat", make_frame([](wire::Envelope::Body::Builder b) { b.initHeartbeat().setAgentId("a"); }));
  CHECK(f.stored_job(job_b).state == JobState::Running);
  f.clock.advance(1501ms);
  f.agent("a#heartbeat", make_frame([](wire::Envelope::Body::Builder b) { b.initHeartbeat().setAgentId("a"); }));
  CHECK(f.stored_job(job_b).state == JobState::Queued);
  CHECK(f.ask_work("a") == job_b);
}

TEST_CASE("a result sent again after its Ack was lost is acknowledged as stored and never stored twice, another agent claiming it refused") {
  Fixture f;
  f.register_agent("a");
  f.register_agent("b");
  f.client(start_frame("sim-x"));
  const std::uint64_t job = f.ask_work("a");
  REQUIRE(job != 0);
  CHECK(ack_of(DecodedEnvelope(send_result(f, "a", job))).getStored());
  // the coordinator died before the Ack reached the agent: a new one (restart or takeover) gets it again
  f.restart();
  f.register_agent("a");
  f.register_agent("b");
  CHECK(ack_of(DecodedEnvelope(send_result(f, "a", job))).getStored());
  CHECK(f.store->results(1).size() == 1);
  CHECK(f.metrics_after_restart.text().find("ampere_results_resent_total 1") != std::string::npos);
  // the same job claimed by an agent whose result it is not: refused, nothing stored
  const DecodedEnvelope other(send_result(f, "b", job));
  CHECK_FALSE(ack_of(other).getStored());
  CHECK(f.store->results(1).size() == 1);
  CHECK(f.store->result_agent(job) == std::optional<std::string>("a"));
}
