#include <cmath>

#include <capnp/message.h>
#include <doctest/doctest.h>

#include "common/error.hpp"
#include "protocol.capnp.h"
#include "wire_codec.hpp"
#include "wire_convert.hpp"

using ampere::DecodedEnvelope;
using ampere::make_frame;
namespace wire = ampere::wire;

namespace {

/// Builds an envelope with `fill` and returns it decoded from its frame bytes.
template <typename Fill>
std::unique_ptr<DecodedEnvelope> round_trip(Fill fill) {
  capnp::MallocMessageBuilder message;
  auto envelope = message.initRoot<wire::Envelope>();
  envelope.setVersion(wire::PROTOCOL_VERSION);
  fill(envelope.initBody());
  return std::make_unique<DecodedEnvelope>(ampere::encode_frame(message));
}

}  // namespace

TEST_CASE("Register round-trips with hardware, meters and library versions") {
  auto decoded = round_trip([](wire::Envelope::Body::Builder body) {
    auto r = body.initRegister();
    r.setAgentId("agent-7");
    r.setDeviceClass("xeon-2c");
    r.setThreads(1);
    r.setBackend("torch");
    auto hw = r.initHardware();
    hw.setCpuModel("Intel Xeon");
    hw.setCores(2);
    hw.setMemoryBytes(24ull << 30);
    auto meters = r.initMeters(2);
    meters.set(0, wire::MeterSource::RAPL);
    meters.set(1, wire::MeterSource::TIME_SURROGATE);
    auto libs = r.initLibraries(1);
    libs[0].setName("libtorch");
    libs[0].setVersion("1.13.1");
  });
  auto body = decoded->envelope().getBody();
  REQUIRE(body.which() == wire::Envelope::Body::REGISTER);
  auto r = body.getRegister();
  CHECK(std::string(r.getAgentId().cStr()) == "agent-7");
  CHECK(std::string(r.getDeviceClass().cStr()) == "xeon-2c");
  CHECK(r.getHardware().getCores() == 2);
  CHECK(r.getHardware().getMemoryBytes() == (24ull << 30));
  CHECK(r.getMeters()[1] == wire::MeterSource::TIME_SURROGATE);
  CHECK(std::string(r.getLibraries()[0].getVersion().cStr()) == "1.13.1");
}

TEST_CASE("Job and Result round-trip with per-repeat figures and the meter label") {
  auto job = round_trip([](wire::Envelope::Body::Builder body) {
    auto j = body.initJob();
    j.setJobId(42);
    j.setCampaignId(3);
    j.setVariantSpecJson("{\"name\": \"variant\"}");
    j.setWarmupIterations(5);
    j.setIterations(10);
    j.setRepeats(5);
    j.setDeadlineUnixMillis(1700000000000);
  });
  auto j = job->envelope().getBody().getJob();
  CHECK(j.getJobId() == 42);
  CHECK(j.getRepeats() == 5);
  CHECK(j.getDeadlineUnixMillis() == 1700000000000);
  CHECK(std::string(j.getVariantSpecJson().cStr()) == "{\"name\": \"variant\"}");

  auto result = round_trip([](wire::Envelope::Body::Builder body) {
    auto r = body.initResult();
    r.setJobId(42);
    r.setAgentId("a");
    auto seconds = r.initSecondsPerIteration(3);
    auto joules = r.initJoulesPerIteration(3);
    for (unsigned i = 0; i < 3; ++i) {
      seconds.set(i, 0.01 * (i + 1));
      joules.set(i, 0.2 * (i + 1));
    }
    r.setMeter(wire::MeterSource::SIMULATED);
    r.setIdleWatts(std::nan(""));
  });
  auto r = result->envelope().getBody().getResult();
  CHECK(r.getSecondsPerIteration()[2] == doctest::Approx(0.03));
  CHECK(r.getJoulesPerIteration()[1] == doctest::Approx(0.4));
  CHECK(r.getMeter() == wire::MeterSource::SIMULATED);
  CHECK(std::isnan(r.getIdleWatts()));
  CHECK(std::string(r.getError().cStr()).empty());
}

TEST_CASE("heartbeat, work request, ack and client messages round-trip") {
  CHECK(round_trip([](auto body) { body.initHeartbeat().setRunningJobId(9); })
            ->envelope().getBody().getHeartbeat().getRunningJobId() == 9);
  CHECK(std::string(round_trip([](auto body) { body.initWorkRequest().setAgentId("w"); })
                        ->envelope().getBody().getWorkRequest().getAgentId().cStr()) == "w");
  auto ack = round_trip([](auto body) {
    auto a = body.initAck();
    a.setJobId(4);
    a.setStored(false);
    a.setReason("unknown job");
  });
  CHECK_FALSE(ack->envelope().getBody().getAck().getStored());
  CHECK(std::string(ack->envelope().getBody().getAck().getReason().cStr()) == "unknown job");

  auto start = round_trip([](auto body) {
    auto s = body.initStartCampaign();
    s.setDeviceClass("server");
    s.setBudgetPerKind(40);
    s.setAcquisition("max-variance");
  });
  CHECK(start->envelope().getBody().getStartCampaign().getBudgetPerKind() == 40);

  auto status = round_trip([](auto body) {
    auto list = body.initCampaignStatus().initCampaigns(1);
    list[0].setState("done");
    auto kinds = list[0].initKinds(1);
    kinds[0].setPoints(12);
    kinds[0].setMaxRelativeStd(0.04);
  });
  auto info = status->envelope().getBody().getCampaignStatus().getCampaigns()[0];
  CHECK(std::string(info.getState().cStr()) == "done");
  CHECK(info.getKinds()[0].getPoints() == 12);

  auto estimate = round_trip([](auto body) {
    auto e = body.initEstimateRequest();
    e.setDeviceClass("server");
    e.setIterations(1000);
  });
  CHECK(estimate->envelope().getBody().getEstimateRequest().getIterations() == 1000);
  CHECK(round_trip([](auto body) { body.initStopCampaign().setCampaignId(5); })
            ->envelope().getBody().getStopCampaign().getCampaignId() == 5);
  CHECK(round_trip([](auto body) { body.initNoWork().setRetryAfterMillis(250); })
            ->envelope().getBody().getNoWork().getRetryAfterMillis() == 250);
  CHECK(round_trip([](auto body) { body.initDeviceClasses().initClasses(1)[0].setName("oppo"); })
            ->envelope().getBody().getDeviceClasses().getClasses()[0].getName() == "oppo");
}

TEST_CASE("an Error carries its typed code across the wire, every code both ways") {
  using ampere::ErrorCode;
  for (ErrorCode code : {ErrorCode::InvalidInput, ErrorCode::NotFound, ErrorCode::Unprocessable, ErrorCode::Unauthorized,
                         ErrorCode::Conflict, ErrorCode::Unavailable, ErrorCode::Internal, ErrorCode::Forbidden,
                         ErrorCode::NotLeader}) {
    CAPTURE(ampere::error_code_name(code));
    const DecodedEnvelope d(ampere::error_frame(code, "no campaign 7", "campaignStatus"));
    const auto e = d.envelope().getBody().getError();
    CHECK(ampere::from_wire(e.getCode()) == code);
    CHECK(std::string(e.getMessage().cStr()) == "no campaign 7");
    CHECK(std::string(e.getRequestType().cStr()) == "campaignStatus");
  }
  // a peer that sets no code: the zero value reads as internal, never as a client's mistake
  const DecodedEnvelope bare(make_frame([](auto body) { body.initError().setMessage("?"); }));
  CHECK(ampere::from_wire(bare.envelope().getBody().getError().getCode()) == ErrorCode::Internal);
}

TEST_CASE("exit codes of the ampere binaries follow the error code") {
  using ampere::ErrorCode;
  CHECK(ampere::exit_code(ErrorCode::InvalidInput) == 2);  // unchanged from before codes existed
  CHECK(ampere::exit_code(ErrorCode::Unprocessable) == 2);
  CHECK(ampere::exit_code(ErrorCode::NotFound) == 3);
  CHECK(ampere::exit_code(ErrorCode::Unavailable) == 4);
  CHECK(ampere::exit_code(ErrorCode::NotLeader) == 4);  // a standby: like a coordinator that is away
  CHECK(ampere::http_status(ErrorCode::NotLeader) == 503);
  CHECK(std::string(ampere::error_code_name(ErrorCode::NotLeader)) == "not-leader");
  CHECK(ampere::exit_code(ErrorCode::Conflict) == 5);
  CHECK(ampere::exit_code(ErrorCode::Unauthorized) == 6);
  CHECK(ampere::exit_code(ErrorCode::Internal) == 1);
  CHECK(ampere::run_reporting_errors([] { throw ampere::InputError("gone", ErrorCode::NotFound); }) == 3);
  CHECK(ampere::run_reporting_errors([] { throw ampere::InputError("bad"); }) == 2);
  CHECK(ampere::run_reporting_errors([] { throw std::runtime_error("bug"); }) == 1);
}

TEST_CASE("garbage bytes and other protocol versions are refused with a reason") {
  CHECK_THROWS_WITH_AS(DecodedEnvelope("abc"), "frame: 3 bytes is not a whole number of 8-byte words",
                       ampere::InputError);
  CHECK_THROWS_AS(DecodedEnvelope(std::string(64, '\xff')), ampere::InputError);
  CHECK_THROWS_AS(DecodedEnvelope(std::string(16, '\0')), ampere::InputError);  // version 0

  capnp::MallocMessageBuilder message;
  auto envelope = message.initRoot<wire::Envelope>();
  envelope.setVersion(99);
  envelope.initBody().initHeartbeat();
  CHECK_THROWS_WITH_AS(DecodedEnvelope(ampere::encode_frame(message)),
                       "frame: protocol version 99, this side speaks 2", ampere::InputError);
}

TEST_CASE("a frame whose pointers would make a reader walk far more than its size is refused at decode") {
  // Found by fuzz_wire: 40 bytes whose campaign list claims 16M empty structs. Cap'n Proto counts
  // a word per empty struct, so the decoder's walk (limited to twice the frame) refuses it; it
  // used to be accepted after taking 900 MB and seconds to print.
  const unsigned char crafted[] = {0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 2, 0, 10, 0,
                                   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 35, 0, 32, 0, 126, 0};
  CHECK_THROWS_AS(DecodedEnvelope(std::string(reinterpret_cast<const char*>(crafted), sizeof crafted)), ampere::InputError);
}

TEST_CASE("an honest large reply decodes, and its fields can be read more than once") {
  capnp::MallocMessageBuilder message;
  auto envelope = message.initRoot<wire::Envelope>();
  envelope.setVersion(wire::PROTOCOL_VERSION);
  auto campaigns = envelope.initBody().initCampaignStatus().initCampaigns(2000);
  for (unsigned i = 0; i < campaigns.size(); ++i) {
    campaigns[i].setFamily("family-" + std::to_string(i));
    auto kinds = campaigns[i].initKinds(8);
    for (unsigned k = 0; k < kinds.size(); ++k) kinds[k].setKindKey("conv3x3-s1-k" + std::to_string(k));
  }
  const DecodedEnvelope decoded(ampere::encode_frame(message));
  std::size_t letters = 0;
  for (int pass = 0; pass < 5; ++pass)
    for (auto c : decoded.envelope().getBody().getCampaignStatus().getCampaigns())
      for (auto k : c.getKinds()) letters += k.getKindKey().size();
  CHECK(letters == 5u * 2000u * 8u * std::string("conv3x3-s1-k0").size());
}

TEST_CASE("a composite meter's result crosses the wire with its label and each part's joules") {
  ampere::Measurement m;
  m.seconds_per_iteration = {0.1, 0.2};
  m.joules_per_iteration = {3.0, 4.0};
  m.meter = ampere::MeterSource::Composite;
  m.meter_parts = {{ampere::MeterSource::Rapl, {1.0, 1.5}}, {ampere::MeterSource::Nvml, {2.0, 2.5}}};
  m.iterations = 5;
  const std::string frame = make_frame([&](wire::Envelope::Body::Builder b) {
    auto r = b.initResult();
    r.setJobId(7);
    ampere::fill_result(r, m);
  });
  const ampere::DecodedEnvelope decoded(frame);
  const ampere::Measurement back = ampere::measurement_of(decoded.envelope().getBody().getResult());
  CHECK(decoded.envelope().getBody().getResult().getMeter() == wire::MeterSource::COMPOSITE);
  CHECK(ampere::meter_label_of(back).str() == "rapl+nvml");
  REQUIRE(back.meter_parts.size() == 2);
  CHECK(back.meter_parts[1].joules_per_iteration == std::vector<double>{2.0, 2.5});
  ampere::validate_measurement(back);
}
