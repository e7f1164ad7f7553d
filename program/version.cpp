#include "program/version.hpp"

#include "ampere_revision.h"

namespace ampere {

const char* release_version() { return AMPERE_VERSION; }

const char* build_revision() { return AMPERE_REVISION; }

std::string version_text(const std::string& program, const std::vector<std::pair<std::string, std::string>>& speaks) {
  std::string text = program + " " + release_version() + "\nrevision " + build_revision() + "\n";
  for (const auto& [name, value] : speaks) text += name + " " + value + "\n";
  return text;
}

}  // namespace ampere
