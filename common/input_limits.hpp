// Bounds on names that cross a boundary (the wire, a spec, the store): agent ids, device classes,
// backends, family and model names. docs/security.md lists these with the other limits.
#pragma once

#include <cstddef>
#include <string_view>

namespace ampere {

/// The longest name we accept, in bytes.
inline constexpr std::size_t kMaxNameBytes = 128;

/// True when `text` is well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
bool valid_utf8(std::string_view text);

/// Throws InputError naming `field` unless `value` is 1..`max_bytes` bytes of valid UTF-8 with no
/// control characters.
void require_name(std::string_view value, const char* field, std::size_t max_bytes = kMaxNameBytes);

}  // namespace ampere
