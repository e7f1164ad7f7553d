#include "coordinator/server/standby_responder.hpp"

#include "common/error.hpp"
#include "protocol.capnp.h"
#include "wire_codec.hpp"
#include "wire_convert.hpp"

namespace ampere {

std::size_t StandbyResponder::serve(std::chrono::milliseconds wait) {
  const std::string message =
      "this coordinator is a standby, not the leader" + (leader_.empty() ? std::string() : " (the leader: " + leader_ + ")") +
      ": ask the next endpoint";
  std::size_t answered = 0;
  for (std::size_t taken = 0; taken < 1024; ++taken) {
    std::optional<Incoming> in = transport_.receive(taken == 0 ? wait : std::chrono::milliseconds(0));
    if (!in) break;
    if (in->from == Incoming::From::Client) {  // a REQ socket waits for exactly one reply
      transport_.reply_to_client(in->peer, error_frame(ErrorCode::NotLeader, message, "?"));
      ++answered;
      continue;
    }
    try {
      const DecodedEnvelope decoded(in->frame);
      if (decoded.envelope().getBody().which() == wire::Envelope::Body::HEARTBEAT) continue;  // nobody waits for it
    } catch (const InputError&) {  // malformed: answered like any other, with nothing read from it
    }
    transport_.send_to_agent(in->peer, error_frame(ErrorCode::NotLeader, message, "?"));
    ++answered;
  }
  return answered;
}

}  // namespace ampere
