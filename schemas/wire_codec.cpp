#include "wire_codec.hpp"

#include <algorithm>
#include <cstring>

#include <capnp/dynamic.h>
#include <kj/exception.h>

#include "common/error.hpp"

namespace ampere {
namespace {

void touch_value(const capnp::DynamicValue::Reader& value);

// Follows every pointer of `s` as its schema types it (the active union member only): Cap'n Proto
// checks a pointer when it is followed, so after this no read of the message can throw. Reads
// without allocating; the traversal limit bounds the walk.
void touch_struct(const capnp::DynamicStruct::Reader& s) {
  const auto visit = [&](const capnp::StructSchema::Field& field) {
    if (field.getProto().isGroup()) {
      touch_struct(s.get(field).as<capnp::DynamicStruct>());
      return;
    }
    const auto type = field.getType();
    if (type.isStruct() || type.isList() || type.isText() || type.isData() || type.isAnyPointer()) touch_value(s.get(field));
  };
  for (const auto field : s.getSchema().getNonUnionFields()) visit(field);
  KJ_IF_MAYBE (active, s.which()) { visit(*active); }
}

void touch_value(const capnp::DynamicValue::Reader& value) {
  switch (value.getType()) {
    case capnp::DynamicValue::STRUCT: touch_struct(value.as<capnp::DynamicStruct>()); break;
    case capnp::DynamicValue::LIST: {
      const auto list = value.as<capnp::DynamicList>();
      const auto element = list.getSchema().getElementType();
      if (element.isStruct() || element.isList() || element.isText() || element.isData() || element.isAnyPointer())
        for (const auto item : list) touch_value(item);
      break;
    }
    default: break;  // text and data were checked when read; numbers, enums and void need nothing
  }
}

}  // namespace

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
    {
      // Cap'n Proto checks a pointer when it is followed, as the field's type: follow every
      // pointer of the message now, typed, so no field read later can throw (fuzz_wire found a
      // nested pointer of the wrong kind that did). This walk reads through its own reader, whose
      // traversal limit is twice the frame: an honest message is walked once, so only crafted
      // pointers (aliases; lists of empty structs, which Cap'n Proto counts a word each) exceed
      // it. (Printing the message did this walk before, but allocated a string per list element:
      // fuzz_wire's 40-byte list of 16M empty structs took 900 MB.)
      capnp::ReaderOptions tight;
      tight.traversalLimitInWords = std::min<std::uint64_t>(kTraversalLimitWords, 2 * words_.size() + 64);
      tight.nestingLimit = kNestingLimit;
      capnp::FlatArrayMessageReader walker(words_.asPtr(), tight);
      touch_struct(capnp::toDynamic(walker.getRoot<wire::Envelope>()));
    }
    // The handlers' reader: they may read a field more than once, each read counting again.
    capnp::ReaderOptions options;
    options.traversalLimitInWords = kTraversalLimitWords;
    options.nestingLimit = kNestingLimit;
    reader_ = std::make_unique<capnp::FlatArrayMessageReader>(words_.asPtr(), options);
    envelope_ = reader_->getRoot<wire::Envelope>();
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
