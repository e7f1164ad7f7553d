// What the benches share (each bench is its own binary; this header is all they share).
#pragma once

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "common/error.hpp"

namespace ampere {

/// bin/NAME beside this bench's binary (the benches start ampere-trainer, -agent, -coordinator).
inline std::string beside_this_binary(const std::string& name) {
  char self[4096] = {0};
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  AMPERE_REQUIRE(n > 0, "bench: cannot find its own binary");
  return std::filesystem::path(std::string(self, static_cast<std::size_t>(n))).parent_path() / name;
}

/// Wall seconds since `start`.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace ampere
