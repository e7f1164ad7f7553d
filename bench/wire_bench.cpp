// What decoding one frame costs the coordinator's loop (docs/security.md, "Fuzzing"): the
// decoder's whole-message check (a typed walk of every pointer through its own tightly limited
// reader) beside the walk it replaced (printing the message, which allocated a string per list
// element), on the frames the loop sees most: a Result, a WorkRequest, a Heartbeat, and a large
// CampaignStatus reply. Run: build/bin/bench_wire [ITERATIONS]. Prints microseconds per frame.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <utility>
#include <string>

#include <capnp/serialize.h>
#include <kj/string.h>

#include "protocol.capnp.h"
#include "wire_codec.hpp"
#include "wire_convert.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double micros_per(int iterations, const std::function<void()>& work) {
  const auto start = Clock::now();
  for (int i = 0; i < iterations; ++i) work();
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / iterations;
}

/// The old check: open a reader and print the whole message.
void print_walk(const std::string& frame) {
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(frame.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), frame.data(), frame.size());
  capnp::ReaderOptions options;
  options.traversalLimitInWords = ampere::kTraversalLimitWords;
  capnp::FlatArrayMessageReader reader(words.asPtr(), options);
  (void)kj::str(reader.getRoot<ampere::wire::Envelope>());
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 20000;
  ampere::Measurement m;
  m.seconds_per_iteration = {0.0101, 0.0102, 0.0100, 0.0103, 0.0101};
  m.joules_per_iteration = {0.101, 0.102, 0.100, 0.103, 0.101};
  m.meter = ampere::MeterSource::Rapl;
  m.iterations = 20;
  m.threads = 4;
  m.reference_seconds = 0.002;
  const std::string result = ampere::make_frame([&](ampere::wire::Envelope::Body::Builder b) {
    auto r = b.initResult();
    r.setJobId(123456);
    r.setAgentId("jetson-017");
    ampere::fill_result(r, m);
  });
  const std::string work = ampere::make_frame([](ampere::wire::Envelope::Body::Builder b) { b.initWorkRequest().setAgentId("jetson-017"); });
  const std::string heartbeat = ampere::make_frame([](ampere::wire::Envelope::Body::Builder b) { b.initHeartbeat().setAgentId("jetson-017"); });
  const std::string status = ampere::make_frame([](ampere::wire::Envelope::Body::Builder b) {
    auto campaigns = b.initCampaignStatus().initCampaigns(200);
    for (unsigned i = 0; i < campaigns.size(); ++i) {
      campaigns[i].setFamily("family-" + std::to_string(i));
      auto kinds = campaigns[i].initKinds(8);
      for (unsigned k = 0; k < kinds.size(); ++k) kinds[k].setKindKey("v1|hidden|conv3x3-" + std::to_string(k));
    }
  });
  std::printf("bench_wire: %d iterations per frame; microseconds per frame (decoder's typed walk | the print walk it replaced)\n",
              iterations);
  for (const auto& [name, frame] : {std::pair<const char*, const std::string*>{"Result", &result}, {"WorkRequest", &work},
                                    {"Heartbeat", &heartbeat}, {"CampaignStatus (200 x 8)", &status}}) {
    const int n = frame == &status ? std::max(1, iterations / 100) : iterations;
    const double decoded = micros_per(n, [&] { const ampere::DecodedEnvelope d(*frame); });
    const double printed = micros_per(n, [&] { print_walk(*frame); });
    std::printf("  %-26s %6zu bytes  %9.2f | %9.2f\n", name, frame->size(), decoded, printed);
  }
  return 0;
}
