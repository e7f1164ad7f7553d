// Frames <-> protocol Envelopes. Decoding never trusts the bytes: a malformed frame or another
// protocol version becomes an InputError with the reason, never a crash.
#pragma once

#include <memory>
#include <string>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "protocol.capnp.h"

namespace ampere {

/// The bytes of one ZeroMQ frame holding `message` (an Envelope).
std::string encode_frame(capnp::MessageBuilder& message);

/// A decoded frame; owns the words the reader points into. Not thread safe.
class DecodedEnvelope {
 public:
  /// Throws InputError when `frame` is not a valid Envelope of this protocol version.
  explicit DecodedEnvelope(const std::string& frame);
  wire::Envelope::Reader envelope() const { return envelope_; }

 private:
  kj::Array<capnp::word> words_;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
  wire::Envelope::Reader envelope_;
};

}  // namespace ampere
