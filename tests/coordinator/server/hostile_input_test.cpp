// Hostile input against the loop (docs/security.md): forged and misrouted results, implausible
// figures and claims, unbounded specs, stored rows that cannot be used. Each case checks the
// refusal and its code or reason, that nothing is stored that should not be, and that the
// coordinator keeps serving (and restarts) afterwards. Every case is named "hostile: ...":
// `ctest -R '^hostile:'` runs the suite and prints its count.
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "security/allow_list.hpp"
#include "security/certificate.hpp"
#include "support/coordinator_fixture.hpp"

using namespace ampere;
using ampere::testing::Fixture;
using ampere::testing::start_frame;
using namespace std::chrono_literals;

namespace {

std::string result_frame(std::uint64_t job, const std::string& agent_id, const std::vector<double>& seconds) {
  return make_frame([&](wire::Envelope::Body::Builder b) {
    auto r = b.initResult();
    r.setJobId(job);
    r.setAgentId(agent_id);
    auto s = r.initSecondsPerIteration(static_cast<unsigned>(seconds.size()));
    for (unsigned i = 0; i < seconds.size(); ++i) s.set(i, seconds[i]);
    r.setMeter(wire::MeterSource::SIMULATED);
    r.setIterations(10);
  });
}

/// The Ack a result frame got: (stored, reason).
std::pair<bool, std::string> ack_of(const std::string& reply) {
  const DecodedEnvelope d(reply);
  REQUIRE(d.envelope().getBody().which() == wire::Envelope::Body::ACK);
  return {d.envelope().getBody().getAck().getStored(), d.envelope().getBody().getAck().getReason().cStr()};
}

/// The error code of a reply that must be an Error.
ErrorCode error_code_of(const std::string& reply) {
  const DecodedEnvelope d(reply);
  REQUIRE(d.envelope().getBody().which() == wire::Envelope::Body::ERROR);
  return from_wire(d.envelope().getBody().getError().getCode());
}

std::string register_frame(const std::string& id, const std::string& device_class, std::uint64_t memory_bytes = 0) {
  return make_frame([&](wire::Envelope::Body::Builder b) {
    auto r = b.initRegister();
    r.setAgentId(id);
    r.setDeviceClass(device_class);
    r.setBackend("simulated");
    r.initHardware().setMemoryBytes(memory_bytes);
  });
}

bool alive(Fixture& f) {
  const DecodedEnvelope d(f.client(make_frame([](wire::Envelope::Body::Builder b) { b.initDeviceClassesRequest(); })));
  return d.envelope().getBody().which() == wire::Envelope::Body::DEVICE_CLASSES;
}

std::size_t results_stored(Fixture& f) { return f.store->results(1).size(); }

bool metric_has(Fixture& f, const std::string& line) { return f.metrics.text().find(line) != std::string::npos; }

/// A family whose first conv's out_channels range is `range` (JSON text).
std::string family_with_range(const std::string& range) {
  return R"({"name": "wide", "input": {"shape": [1, 8, 8]}, "batch_size": 2, "classes": 3, "layers": [
    {"type": "conv2d", "out_channels": )" + range + R"(, "kernel": 3, "padding": 1}, {"type": "relu"},
    {"type": "flatten"}, {"type": "linear", "out_features": 3}]})";
}

std::string start_with_family(const std::string& family) {
  return make_frame([&](wire::Envelope::Body::Builder b) {
    auto s = b.initStartCampaign();
    s.setFamilySpecJson(family);
    s.setDeviceClass("sim-x");
    s.setBudgetPerKind(4);
  });
}

/// A campaign running with agent "a" holding its first job; returns the job.
std::uint64_t campaign_with_job(Fixture& f) {
  f.register_agent("a");
  f.client(start_frame("sim-x"));
  const std::uint64_t job = f.ask_work("a");
  REQUIRE(job != 0);
  return job;
}

}  // namespace

TEST_CASE("hostile: a result from an unregistered sender for another agent's job is refused, not stored") {
  Fixture f;
  const std::uint64_t job = campaign_with_job(f);
  const auto [stored, reason] = ack_of(f.agent("intruder", result_frame(job, "intruder", {0.01})));
  CHECK_FALSE(stored);
  CHECK(reason.find("not registered") != std::string::npos);
  CHECK(results_stored(f) == 0);
  CHECK(f.stored_job(job).state == JobState::Running);  // a's work untouched: not failed, not re-queued
  CHECK(f.stored_job(job).attempts == 1);
  CHECK(metric_has(f, "ampere_results_refused_total{reason=\"unregistered\"} 1"));
  CHECK(alive(f));
}

TEST_CASE("hostile: a registered agent's result for a job handed to another agent is refused, not stored") {
  Fixture f;
  const std::uint64_t job = campaign_with_job(f);
  f.register_agent("b");
  CHECK_FALSE(ack_of(f.agent("b", result_frame(job, "b", {0.01}))).first);
  CHECK(results_stored(f) == 0);
  CHECK(f.stored_job(job).state == JobState::Running);
  CHECK(metric_has(f, "ampere_results_refused_total{reason=\"wrong-agent\"} 1"));
  // a's own result is stored afterwards
  CHECK(ack_of(f.agent("a", result_frame(job, "a", {0.01, 0.011}))).first);
  CHECK(results_stored(f) == 1);
}

TEST_CASE("hostile: a result under a registered agent's name from another connection is refused") {
  Fixture f;
  const std::uint64_t job = campaign_with_job(f);
  CHECK_FALSE(ack_of(f.agent("elsewhere", result_frame(job, "a", {0.01}))).first);
  CHECK(results_stored(f) == 0);
  CHECK(f.stored_job(job).attempts == 1);
  CHECK(metric_has(f, "ampere_results_refused_total{reason=\"wrong-sender\"} 1"));
}

TEST_CASE("hostile: a forged result of 1.7e308 s is refused as implausible and a restart still starts") {
  Fixture f;
  const std::uint64_t job = campaign_with_job(f);
  const auto [stored, reason] = ack_of(f.agent("a", result_frame(job, "a", {1.7e308, 1e-9})));
  CHECK_FALSE(stored);
  CHECK(reason.find("must be within") != std::string::npos);
  CHECK(results_stored(f) == 0);
  CHECK(metric_has(f, "ampere_results_refused_total{reason=\"implausible\"} 1"));
  CHECK_NOTHROW(f.restart());
  CHECK(alive(f));
}

TEST_CASE("hostile: repeats that differ a thousandfold, or imply 10 MW, are refused as implausible") {
  Fixture f;
  const std::uint64_t job = campaign_with_job(f);
  CHECK_FALSE(ack_of(f.agent("a", result_frame(job, "a", {0.001, 1.0}))).first);
  CHECK(f.ask_work("a") == job);  // a failed attempt: re-queued, handed out again
  auto frame = make_frame([&](wire::Envelope::Body::Builder b) {
    auto r = b.initResult();
    r.setJobId(job);
    r.setAgentId("a");
    r.initSecondsPerIteration(1).set(0, 0.01);
    r.initJoulesPerIteration(1).set(0, 1e5);  // 10 MW
    r.setMeter(wire::MeterSource::RAPL);
  });
  const auto [stored, reason] = ack_of(f.agent("a", frame));
  CHECK_FALSE(stored);
  CHECK(reason.find("implies") != std::string::npos);
  CHECK(results_stored(f) == 0);
}

TEST_CASE("hostile: an implausible result stored behind the coordinator's back is set aside at restart, the rest restored") {
  Fixture f;
  const std::uint64_t job = campaign_with_job(f);
  CHECK(ack_of(f.agent("a", result_frame(job, "a", {0.01}))).first);
  const std::uint64_t second = f.ask_work("a");
  REQUIRE(second != 0);
  ResultRecord forged{second, "a", {}};
  forged.measurement.seconds_per_iteration = {1.7e308, 1e-9};
  f.store->store_result(forged);  // as a forger with database access, or an older coordinator, would have
  CHECK_NOTHROW(f.restart());
  CHECK(alive(f));
  CHECK(f.metrics_after_restart.text().find("ampere_stored_rows_quarantined{row=\"result\"} 1") != std::string::npos);
  const DecodedEnvelope status(f.client(make_frame([](wire::Envelope::Body::Builder b) { b.initCampaignStatusRequest(); })));
  const auto campaigns = status.envelope().getBody().getCampaignStatus().getCampaigns();
  REQUIRE(campaigns.size() == 1);
  REQUIRE(campaigns[0].getQuarantined().size() == 1);
  CHECK(std::string(campaigns[0].getQuarantined()[0].cStr()).find("result of job " + std::to_string(second)) != std::string::npos);
  CHECK(campaigns[0].getJobsDone() >= 1);  // the good result was replayed
  CHECK(f.store->results(1).size() == 2);  // nothing deleted: the row stays for an operator to inspect
}

TEST_CASE("hostile: a stored family that does not parse sets its campaign aside, listed as quarantined, others restored") {
  Fixture f;
  campaign_with_job(f);
  CampaignRecord broken{0, "{\"name\": [[[[", "sim-x", 4, "max-variance"};
  const std::uint64_t id = f.store->create_campaign(broken);
  CHECK_NOTHROW(f.restart());
  const DecodedEnvelope status(f.client(make_frame([](wire::Envelope::Body::Builder b) { b.initCampaignStatusRequest(); })));
  const auto campaigns = status.envelope().getBody().getCampaignStatus().getCampaigns();
  REQUIRE(campaigns.size() == 2);
  bool listed = false;
  for (auto c : campaigns)
    if (c.getCampaignId() == id) listed = std::string(c.getState().cStr()) == "quarantined" && c.getQuarantined().size() == 1;
  CHECK(listed);
  f.register_agent("a");  // the restarted coordinator knows no agents yet
  CHECK(f.ask_work("a") != 0);  // campaign 1 goes on
}

TEST_CASE("hostile: a stored kind model that is not JSON is set aside and refitted, the campaign restored") {
  Fixture f;
  campaign_with_job(f);
  f.store->save_kind_model(1, "v1|not-a-kind", "[[[[");
  CHECK_NOTHROW(f.restart());
  CHECK(f.metrics_after_restart.text().find("ampere_stored_rows_quarantined{row=\"kind model\"} 1") != std::string::npos);
  CHECK(alive(f));
}

TEST_CASE("hostile: an agent claiming 2 bytes of memory is refused and cannot block its class") {
  Fixture f;
  CHECK(error_code_of(f.agent("tiny", register_frame("tiny", "sim-x", 2))) == ErrorCode::InvalidInput);
  CHECK(metric_has(f, "ampere_registrations_refused_total{reason=\"implausible\"} 1"));
  f.register_agent("a");
  const DecodedEnvelope started(f.client(start_frame("sim-x")));
  CHECK(started.envelope().getBody().which() == wire::Envelope::Body::CAMPAIGN_STATUS);
}

TEST_CASE("hostile: one small but plausible memory claim among a class's agents does not block new campaigns") {
  Fixture f;
  f.agent("a", register_frame("a", "sim-x", 16ull << 30));
  f.agent("b", register_frame("b", "sim-x", 16ull << 30));
  f.agent("small", register_frame("small", "sim-x", 64ull << 20));  // the least plausible: 64 MiB
  const DecodedEnvelope started(f.client(start_frame("sim-x")));
  CHECK(started.envelope().getBody().which() == wire::Envelope::Body::CAMPAIGN_STATUS);
}

TEST_CASE("hostile: agent ids and classes past 128 bytes, empty, or not UTF-8 are refused at registration") {
  Fixture f;
  CHECK(error_code_of(f.agent("long", register_frame(std::string(129, 'a'), "sim-x"))) == ErrorCode::InvalidInput);
  CHECK(error_code_of(f.agent("bad", register_frame("bad", "sim-\xff\xfe"))) == ErrorCode::InvalidInput);
  CHECK(error_code_of(f.agent("ctl", register_frame("c\ntl", "sim-x"))) == ErrorCode::InvalidInput);
  CHECK(error_code_of(f.agent("empty", register_frame("", "sim-x"))) == ErrorCode::InvalidInput);
  CHECK(metric_has(f, "ampere_registrations_refused_total{reason=\"invalid\"} 4"));
  CHECK(alive(f));
}

TEST_CASE("hostile: a work request under a registered agent's name from another connection gets no job and moves nothing") {
  Fixture f;
  const std::uint64_t job = campaign_with_job(f);
  CHECK(error_code_of(f.agent("thief", make_frame([](wire::Envelope::Body::Builder b) { b.initWorkRequest().setAgentId("a"); }))) ==
        ErrorCode::NotFound);
  CHECK(f.stored_job(job).state == JobState::Running);  // still a's, not re-queued
  CHECK(ack_of(f.agent("a", result_frame(job, "a", {0.01}))).first);
}

TEST_CASE("hostile: heartbeats under an agent's name from a foreign connection do not keep it alive") {
  Fixture f;
  const std::uint64_t job = campaign_with_job(f);
  for (int i = 0; i < 3; ++i) {
    f.clock.advance(3000ms);
    f.agent("someone", make_frame([](wire::Envelope::Body::Builder b) { b.initHeartbeat().setAgentId("a"); }));
  }
  f.clock.advance(501ms);
  f.server->turn(0ms);
  CHECK(f.stored_job(job).state == JobState::Queued);  // a was lost; its job goes to the next agent
}

TEST_CASE("hostile: a job past its deadline is re-queued by the coordinator and its late result refused") {
  Fixture f;
  const std::uint64_t job = campaign_with_job(f);
  f.clock.advance(f.config.job_deadline + f.config.deadline_grace - 1000ms);
  f.agent("a#heartbeat", make_frame([](wire::Envelope::Body::Builder b) { b.initHeartbeat().setAgentId("a"); }));
  CHECK(f.stored_job(job).state == JobState::Running);
  f.clock.advance(2000ms);
  f.agent("a#heartbeat", make_frame([](wire::Envelope::Body::Builder b) { b.initHeartbeat().setAgentId("a"); }));
  CHECK(f.stored_job(job).state == JobState::Queued);
  CHECK(metric_has(f, "ampere_job_deadlines_passed_total{device_class=\"sim-x\"} 1"));
  CHECK_FALSE(ack_of(f.agent("a", result_frame(job, "a", {0.01}))).first);  // too late: not running any more
  CHECK(results_stored(f) == 0);
}

TEST_CASE("hostile: re-queues for passed deadlines honour the attempt limit") {
  Fixture f;
  const std::uint64_t job = campaign_with_job(f);
  for (std::uint32_t attempt = 1; attempt <= f.config.max_attempts; ++attempt) {
    if (attempt > 1) REQUIRE(f.ask_work("a") == job);
    f.clock.advance(f.config.job_deadline + f.config.deadline_grace + 1000ms);
    f.agent("a#heartbeat", make_frame([](wire::Envelope::Body::Builder b) { b.initHeartbeat().setAgentId("a"); }));
  }
  CHECK(f.stored_job(job).state == JobState::Failed);
  CHECK(f.stored_job(job).attempts == f.config.max_attempts);
  CHECK(f.ask_work("a") != job);
}

TEST_CASE("hostile: an agent that registers again keeps its running job and its result is stored") {
  Fixture f;
  const std::uint64_t job = campaign_with_job(f);
  f.register_agent("a");  // a reconnect, mid-job
  CHECK(f.stored_job(job).state == JobState::Running);
  CHECK(ack_of(f.agent("a", result_frame(job, "a", {0.01}))).first);
  CHECK(results_stored(f) == 1);
}

TEST_CASE("hostile: a family whose range reaches 1e11 channels is refused at once, naming the limit") {
  Fixture f;
  f.register_agent("a");
  const DecodedEnvelope d(f.client(start_with_family(family_with_range(R"({"min": 1, "max": 100000000000})"))));
  REQUIRE(d.envelope().getBody().which() == wire::Envelope::Body::ERROR);
  CHECK(from_wire(d.envelope().getBody().getError().getCode()) == ErrorCode::Unprocessable);
  CHECK(std::string(d.envelope().getBody().getError().getMessage().cStr()).find("at most 65536") != std::string::npos);
  CHECK(alive(f));
}

TEST_CASE("hostile: a family nested 400,000 deep is refused before parsing, and the loop keeps serving") {
  Fixture f;
  f.register_agent("a");
  const std::string deep = std::string(400000, '[') + std::string(400000, ']');
  const DecodedEnvelope d(f.client(start_with_family(deep)));
  REQUIRE(d.envelope().getBody().which() == wire::Envelope::Body::ERROR);
  CHECK(std::string(d.envelope().getBody().getError().getMessage().cStr()).find("nested deeper than 64") != std::string::npos);
  const std::string deep_model = std::string(200000, '{');
  CHECK(error_code_of(f.client(make_frame([&](wire::Envelope::Body::Builder b) {
          auto e = b.initEstimateRequest();
          e.setModelSpecJson(deep_model);
          e.setDeviceClass("sim-x");
        }))) == ErrorCode::InvalidInput);
  CHECK(alive(f));
}

TEST_CASE("hostile: frames that are not whole words, or not an Envelope, are refused and the loop keeps serving") {
  Fixture f;
  f.register_agent("a");
  CHECK(error_code_of(f.agent("a", "garbage")) == ErrorCode::InvalidInput);
  // a segment table claiming four billion words in an eight-byte frame
  const std::string lying("\x00\x00\x00\x00\xff\xff\xff\xff", 8);
  CHECK(error_code_of(f.client(lying)) == ErrorCode::InvalidInput);
  CHECK(alive(f));
}

namespace {

/// Keys for the loop's allow-lists, in a temp dir: two agents and a reader and an operator client.
struct CurveKeys {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("ampere-hostile-keys-" + std::to_string(::getpid()));
  Certificate agent1 = generate_certificate(), agent2 = generate_certificate(), reader = generate_certificate(),
              op = generate_certificate();
  std::unique_ptr<AuthorizedPeers> peers;
  CurveKeys() {
    std::filesystem::remove_all(dir);
    op.metadata["role"] = "operator";
    write_certificate_pair(dir / "agents" / "a1", agent1);
    write_certificate_pair(dir / "agents" / "a2", agent2);
    write_certificate_pair(dir / "clients" / "reader", reader);
    write_certificate_pair(dir / "clients" / "op", op);
    peers = std::make_unique<AuthorizedPeers>(dir / "agents", dir / "clients");
  }
  ~CurveKeys() { std::filesystem::remove_all(dir); }
};

/// Delivers `frame` from `peer` whose connection was admitted with `key`; returns the reply.
std::string as_key(Fixture& f, Incoming::From from, const std::string& peer, const std::string& key, const std::string& frame) {
  const std::size_t before = f.transport.sent[peer].size();
  Incoming in{from, peer, frame};
  in.key = key;
  f.transport.inbox.push_back(in);
  f.server->turn(0ms);
  return f.transport.sent[peer].size() > before ? f.transport.sent[peer].back() : std::string();
}

}  // namespace

TEST_CASE("hostile: with keys, an agent id registered under one key is refused under another, and its results too") {
  Fixture f;
  CurveKeys keys;
  f.server->require_keys(*keys.peers);
  const auto agent_frame = [](const std::string& id) { return register_frame(id, "sim-x"); };
  CHECK(DecodedEnvelope(as_key(f, Incoming::From::Agent, "a", keys.agent1.public_key, agent_frame("a"))).envelope().getBody().which() ==
        wire::Envelope::Body::ACK);
  CHECK(error_code_of(as_key(f, Incoming::From::Agent, "a", keys.agent2.public_key, agent_frame("a"))) == ErrorCode::InvalidInput);
  CHECK(metric_has(f, "ampere_registrations_refused_total{reason=\"key-mismatch\"} 1"));
  // a client key is no agent's; no key at all is nobody's
  CHECK(error_code_of(as_key(f, Incoming::From::Agent, "x", keys.op.public_key, agent_frame("x"))) == ErrorCode::Unauthorized);
  CHECK(error_code_of(as_key(f, Incoming::From::Agent, "y", "", agent_frame("y"))) == ErrorCode::Unauthorized);
  // the operator starts a campaign; a reader may not
  CHECK(error_code_of(as_key(f, Incoming::From::Client, "c1", keys.reader.public_key, start_frame("sim-x"))) == ErrorCode::Forbidden);
  CHECK(DecodedEnvelope(as_key(f, Incoming::From::Client, "c2", keys.op.public_key, start_frame("sim-x"))).envelope().getBody().which() ==
        wire::Envelope::Body::CAMPAIGN_STATUS);
  const DecodedEnvelope job(as_key(f, Incoming::From::Agent, "a", keys.agent1.public_key,
                                   make_frame([](wire::Envelope::Body::Builder b) { b.initWorkRequest().setAgentId("a"); })));
  REQUIRE(job.envelope().getBody().which() == wire::Envelope::Body::JOB);
  const std::uint64_t id = job.envelope().getBody().getJob().getJobId();
  // agent2's key under a's connection and name: refused; a's own: stored
  CHECK_FALSE(ack_of(as_key(f, Incoming::From::Agent, "a", keys.agent2.public_key, result_frame(id, "a", {0.01}))).first);
  CHECK(results_stored(f) == 0);
  CHECK(ack_of(as_key(f, Incoming::From::Agent, "a", keys.agent1.public_key, result_frame(id, "a", {0.01}))).first);
  // revoked (its certificate removed, the lists re-read): its next message is refused
  std::filesystem::remove(keys.dir / "agents" / "a1.key");
  keys.peers->reload();
  CHECK(error_code_of(as_key(f, Incoming::From::Agent, "a", keys.agent1.public_key,
                             make_frame([](wire::Envelope::Body::Builder b) { b.initWorkRequest().setAgentId("a"); }))) ==
        ErrorCode::Unauthorized);
}

TEST_CASE("hostile: registrations past the agent and class limits are refused, and known agents still re-register") {
  Fixture f(false, [](CoordinatorConfig& c) {
    c.max_agents = 2;
    c.max_device_classes = 1;
  });
  f.register_agent("a");
  f.register_agent("b");
  CHECK(error_code_of(f.agent("c", register_frame("c", "sim-x"))) == ErrorCode::InvalidInput);
  CHECK(metric_has(f, "ampere_registrations_refused_total{reason=\"registry-full\"} 1"));
  f.register_agent("a");  // already known: not a new entry
  f.server->turn(0ms);
  CHECK(error_code_of(f.agent("d", register_frame("d", "sim-other"))) == ErrorCode::InvalidInput);
  f.clock.advance(501ms);
  f.server->turn(0ms);
  CHECK(metric_has(f, "ampere_registry_entries{registry=\"agents\"} 2"));
  CHECK(metric_has(f, "ampere_registry_limit{registry=\"agents\"} 2"));
}

TEST_CASE("hostile: a registration claiming 100,000 threads is refused as implausible") {
  Fixture f;
  CHECK(error_code_of(f.agent("t", make_frame([](wire::Envelope::Body::Builder b) {
          auto r = b.initRegister();
          r.setAgentId("t");
          r.setDeviceClass("sim-x");
          r.setThreads(100000);
        }))) == ErrorCode::InvalidInput);
  CHECK(metric_has(f, "ampere_registrations_refused_total{reason=\"implausible\"} 1"));
}

TEST_CASE("hostile: results with 1001 repeats, mismatched energy repeats, or a zero reference reading are refused") {
  Fixture f;
  const std::uint64_t job = campaign_with_job(f);
  CHECK_FALSE(ack_of(f.agent("a", result_frame(job, "a", std::vector<double>(1001, 0.01)))).first);
  REQUIRE(f.ask_work("a") == job);
  CHECK_FALSE(ack_of(f.agent("a", make_frame([&](wire::Envelope::Body::Builder b) {
                       auto r = b.initResult();
                       r.setJobId(job);
                       r.setAgentId("a");
                       r.initSecondsPerIteration(2).set(0, 0.01);
                       r.getSecondsPerIteration().set(1, 0.01);
                       r.initJoulesPerIteration(1).set(0, 0.1);
                     })))
                  .first);
  REQUIRE(f.ask_work("a") == job);
  CHECK_FALSE(ack_of(f.agent("a", make_frame([&](wire::Envelope::Body::Builder b) {
                       auto r = b.initResult();
                       r.setJobId(job);
                       r.setAgentId("a");
                       r.initSecondsPerIteration(1).set(0, 0.01);
                       r.setReferenceSeconds(0.0);
                     })))
                  .first);
  CHECK(results_stored(f) == 0);
  CHECK(f.stored_job(job).state == JobState::Failed);  // three failed attempts of three
}

TEST_CASE("hostile: a result for job 0 or a job never planned is refused as unknown, and nothing else moves") {
  Fixture f;
  const std::uint64_t job = campaign_with_job(f);
  CHECK_FALSE(ack_of(f.agent("a", result_frame(0, "a", {0.01}))).first);
  CHECK_FALSE(ack_of(f.agent("a", result_frame(987654321, "a", {0.01}))).first);
  CHECK(metric_has(f, "ampere_results_refused_total{reason=\"unknown-job\"} 2"));
  CHECK(f.stored_job(job).state == JobState::Running);
}

TEST_CASE("hostile: client messages on the agent socket and agent messages on the client socket are refused, nothing started") {
  Fixture f;
  f.register_agent("a");
  CHECK(error_code_of(f.agent("a", start_frame("sim-x"))) == ErrorCode::InvalidInput);
  CHECK(error_code_of(f.client(make_frame([](wire::Envelope::Body::Builder b) { b.initHeartbeat().setAgentId("a"); }))) ==
        ErrorCode::InvalidInput);
  CHECK(f.store->campaigns().empty());
  CHECK(alive(f));
}

TEST_CASE("hostile: an estimate of a model past the spec limits is refused naming the limit, the loop keeps serving") {
  Fixture f;
  f.register_agent("a");
  const std::string huge = R"({"name": "m", "input": {"shape": [1, 8, 8]}, "batch_size": 2, "classes": 3, "layers": [
    {"type": "conv2d", "out_channels": 70000, "kernel": 3}, {"type": "flatten"}, {"type": "linear", "out_features": 3}]})";
  const DecodedEnvelope d(f.client(make_frame([&](wire::Envelope::Body::Builder b) {
    auto e = b.initEstimateRequest();
    e.setModelSpecJson(huge);
    e.setDeviceClass("sim-x");
    e.setIterations(~0ull);
  })));
  REQUIRE(d.envelope().getBody().which() == wire::Envelope::Body::ERROR);
  CHECK(std::string(d.envelope().getBody().getError().getMessage().cStr()).find("at most 65536") != std::string::npos);
  CHECK(alive(f));
}

TEST_CASE("hostile: a plan:prune request nested 100,000 deep is refused before parsing") {
  Fixture f;
  CHECK(error_code_of(f.client(make_frame([](wire::Envelope::Body::Builder b) {
          b.initPlanPruneRequest().setRequestJson(std::string(100000, '[') + std::string(100000, ']'));
        }))) == ErrorCode::InvalidInput);
  CHECK(alive(f));
}

TEST_CASE("hostile: a campaign budget of 4294967295 points per kind is refused, nothing stored") {
  Fixture f;
  f.register_agent("a");
  const std::string family = to_json(load_model_spec(std::string(AMPERE_MODELS_DIR) + "/lstm.json")).dump();
  CHECK(error_code_of(f.client(make_frame([&](wire::Envelope::Body::Builder b) {
          auto s = b.initStartCampaign();
          s.setFamilySpecJson(family);
          s.setDeviceClass("sim-x");
          s.setBudgetPerKind(4294967295u);
        }))) == ErrorCode::Unprocessable);
  CHECK(f.store->campaigns().empty());
}

TEST_CASE("hostile: heartbeats and work requests for agents never registered change nothing") {
  Fixture f;
  f.agent("ghost#heartbeat", make_frame([](wire::Envelope::Body::Builder b) { b.initHeartbeat().setAgentId("ghost"); }));
  CHECK(error_code_of(f.agent("ghost", make_frame([](wire::Envelope::Body::Builder b) { b.initWorkRequest().setAgentId("ghost"); }))) ==
        ErrorCode::NotFound);
  CHECK(alive(f));
}

TEST_CASE("hostile: frames fuzz_wire found (an out-of-bounds nested pointer, a struct pointer that is a list, a 40-byte list of 16M empty structs) are refused, never thrown past the loop") {
  Fixture f;
  f.register_agent("a");
  for (const char* name : {"wire_nested_pointer.bin", "wire_struct_as_list.bin", "wire_empty_struct_list.bin"}) {
    std::ifstream in(std::string(AMPERE_TEST_DATA_DIR) + "/" + name, std::ios::binary);
    const std::string frame((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(frame.size() >= 16);
    CHECK(error_code_of(f.agent("a", frame)) == ErrorCode::InvalidInput);
    CHECK(error_code_of(f.client(frame)) == ErrorCode::InvalidInput);
  }
  CHECK(alive(f));
}
