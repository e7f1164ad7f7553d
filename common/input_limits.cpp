#include "common/input_limits.hpp"

#include <cstdint>

#include "common/error.hpp"

namespace ampere {

bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char c = byte(i);
    std::size_t extra = 0;
    std::uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;  // truncated
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((byte(i + k) & 0xC0) != 0x80) return false;
      code = (code << 6) | (byte(i + k) & 0x3F);
    }
    static const std::uint32_t lowest[] = {0, 0x80, 0x800, 0x10000};
    if (code < lowest[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

void require_name(std::string_view value, const char* field, std::size_t max_bytes) {
  AMPERE_REQUIRE(!value.empty(), field, ": must not be empty");
  AMPERE_REQUIRE(value.size() <= max_bytes, field, ": ", value.size(), " bytes, at most ", max_bytes);
  AMPERE_REQUIRE(valid_utf8(value), field, ": not valid UTF-8");
  for (const char c : value)
    AMPERE_REQUIRE(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F, field, ": contains a control character");
}

}  // namespace ampere
