// Any bytes as one line of the agent <-> trainer pipe (docs/trainer-protocol.md). Must never crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/trainer_link/messages.hpp"
#include "common/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)ampere::decode_trainer_message(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const ampere::InputError&) {
  }
  return 0;
}
