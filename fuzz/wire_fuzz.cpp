// Any bytes as a ZeroMQ frame: decoded as the coordinator decodes every frame, then every field
// of its body read (Cap'n Proto's reader limits bound the traversal). Must never crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "protocol.capnp.h"
#include "wire_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const ampere::DecodedEnvelope decoded(std::string(reinterpret_cast<const char*>(data), size));
    const auto body = decoded.envelope().getBody();
    std::size_t touched = 0;
    switch (body.which()) {
      case ampere::wire::Envelope::Body::RESULT: {
        const auto r = body.getResult();
        touched += r.getAgentId().size() + r.getError().size();
        for (double s : r.getSecondsPerIteration()) touched += s > 0;
        for (double j : r.getJoulesPerIteration()) touched += j > 0;
        break;
      }
      case ampere::wire::Envelope::Body::REGISTER: {
        const auto r = body.getRegister();
        touched += r.getAgentId().size() + r.getDeviceClass().size() + r.getHardware().getCpuModel().size();
        break;
      }
      case ampere::wire::Envelope::Body::START_CAMPAIGN:
        touched += body.getStartCampaign().getFamilySpecJson().size();
        break;
      case ampere::wire::Envelope::Body::ESTIMATE_REQUEST:
        touched += body.getEstimateRequest().getModelSpecJson().size();
        break;
      case ampere::wire::Envelope::Body::CAMPAIGN_STATUS:
        for (auto c : body.getCampaignStatus().getCampaigns())
          for (auto k : c.getKinds()) touched += k.getKindKey().size() + k.getConvergence().size();
        break;
      default: break;
    }
    (void)touched;
  } catch (const ampere::InputError&) {
    // refused with a reason: what must happen to bad frames
  }
  return 0;
}
