// Frames <-> protocol Envelopes. Decoding never trusts the bytes: a malformed frame or another
// protocol version becomes an InputError with the reason, never a crash.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "protocol.capnp.h"

namespace ampere {

/// The largest frame a peer may send the coordinator (ZMQ_MAXMSGSIZE on its sockets: a larger
/// one closes that connection before it is read whole). Our largest requests, a model spec inside
/// an EstimateRequest, are tens of kilobytes.
inline constexpr std::int64_t kMaxRequestFrameBytes = 4 << 20;
/// The largest reply an agent or client accepts from the coordinator (a status of many campaigns).
inline constexpr std::int64_t kMaxReplyFrameBytes = 64 << 20;
/// Cap'n Proto's reader limits, set explicitly: the words a reader may traverse and the deepest
/// nesting (ours is 5). A decoder first walks the whole message within twice the frame's words,
/// so a message whose pointers make a reader read more (amplification) is refused.
inline constexpr std::uint64_t kTraversalLimitWords = kMaxReplyFrameBytes / 8 * 2;
inline constexpr int kNestingLimit = 16;

/// The bytes of one ZeroMQ frame holding `message` (an Envelope).
std::string encode_frame(capnp::MessageBuilder& message);

/// A decoded frame; owns the words the reader points into. Not thread safe.
class DecodedEnvelope {
 public:
  /// Throws InputError when `frame` is not a valid Envelope of this protocol version; every
  /// pointer in it is checked here, so reading any field afterwards cannot fail.
  explicit DecodedEnvelope(const std::string& frame);
  wire::Envelope::Reader envelope() const { return envelope_; }

 private:
  kj::Array<capnp::word> words_;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
  wire::Envelope::Reader envelope_;
};

}  // namespace ampere
