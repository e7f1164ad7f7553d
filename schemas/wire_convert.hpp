// Domain values <-> protocol messages, shared by agent and coordinator.
#pragma once

#include <string>

#include "common/error.hpp"
#include "common/measurement.hpp"
#include "protocol.capnp.h"

namespace ampere {

wire::MeterSource to_wire(MeterSource source);
MeterSource from_wire(wire::MeterSource source);
wire::ErrorCode to_wire(ErrorCode code);
ErrorCode from_wire(wire::ErrorCode code);

/// An Error frame: `message` for people, `code` for programs, `request` the request type it answers.
std::string error_frame(ErrorCode code, const std::string& message, const std::string& request);

/// Fills a Result's figures from a measurement.
void fill_result(wire::Result::Builder result, const Measurement& m);
/// The measurement a Result carries (not validated: see validate_measurement).
Measurement measurement_of(wire::Result::Reader result);

/// An Envelope of this protocol version holding what `fill` puts in its body, as frame bytes.
template <typename Fill>
std::string make_frame(Fill fill);

}  // namespace ampere

#include <capnp/message.h>

#include "wire_codec.hpp"

namespace ampere {
template <typename Fill>
std::string make_frame(Fill fill) {
  capnp::MallocMessageBuilder message;
  auto envelope = message.initRoot<wire::Envelope>();
  envelope.setVersion(wire::PROTOCOL_VERSION);
  fill(envelope.initBody());
  return encode_frame(message);
}
}  // namespace ampere
