#include "wire_codec.hpp"

#include <cstring>

#include <capnp/dynamic.h>
#include <kj/exception.h>
#include <kj/string.h>

#include "common/error.hpp"

namespace ampere {

std::string encode_frame(capnp::MessageBuilder& message) {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  kj::ArrayPtr<const kj::byte> bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

DecodedEnvelope::DecodedEnvelope(const std::string& frame) {
  AMPERE_REQUIRE(!frame.empty() && frame.size() % sizeof(capnp::word) == 0, "frame: ", frame.size(),
                 " bytes is not a whole number of 8-byte words");
  AMPERE_REQUIRE(frame.size() <= static_cast<std::size_t>(kMaxReplyFrameBytes), "frame: ", frame.size(), " bytes, at most ",
                 kMaxReplyFrameBytes);
  words_ = kj::heapArray<capnp::word>(frame.size() / sizeof(capnp::word));
  std::memcpy(words_.begin(), frame.data(), frame.size());
  try {
    capnp::ReaderOptions options;
    options.traversalLimitInWords = kTraversalLimitWords;
    options.nestingLimit = kNestingLimit;
    reader_ = std::make_unique<capnp::FlatArrayMessageReader>(words_.asPtr(), options);
    envelope_ = reader_->getRoot<wire::Envelope>();
    // Cap'n Proto checks a pointer when it is followed, as the field's type: read every field of
    // the message now, typed (the same walk as printing it; within the traversal limit), so no
    // field read later can throw (fuzz_wire found a nested pointer of the wrong kind that did).
    (void)kj::str(envelope_);
    AMPERE_REQUIRE(envelope_.getVersion() == wire::PROTOCOL_VERSION, "frame: protocol version ",
                   envelope_.getVersion(), ", this side speaks ", wire::PROTOCOL_VERSION);
    const auto which = envelope_.getBody().which();
    AMPERE_REQUIRE(static_cast<unsigned>(which) <= static_cast<unsigned>(wire::Envelope::Body::PLAN_PRUNE_REPLY),
                   "frame: unknown message type ", static_cast<unsigned>(which));
  } catch (const kj::Exception& e) {
    throw InputError(std::string("frame: not a valid Envelope: ") + e.getDescription().cStr());
  }
}

}  // namespace ampere
