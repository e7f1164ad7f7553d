// Comma-separated option values ("--profile oppo,tx2", "--rails VDD_IN,VDD_CPU"), read alike by
// every binary.
#pragma once

#include <string>
#include <vector>

namespace ampere {

/// The items of "a,b,c" in order; "" gives none, "a,,b" keeps the empty middle item (the caller
/// refuses it with its own message).
inline std::vector<std::string> split_comma_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (!text.empty()) {
    const std::size_t comma = text.find(',', start);
    out.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace ampere
