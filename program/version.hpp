// What a binary says it is: `--version` on every binary, and the coordinator's ampere_build_info.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ampere {

/// The release: CMake's project version ("0.1.0").
const char* release_version();

/// The git revision the binary was built from (`git describe --always --dirty`: "86825ed1a2b3",
/// "...-dirty" with uncommitted changes), or "unknown" when built outside a git checkout without
/// -DAMPERE_REVISION.
const char* build_revision();

/// What `--version` prints: "PROGRAM VERSION", "revision R", then one "NAME VALUE" line per
/// entry of `speaks` (protocols, libraries: {"wire protocol", "2"}), each line ending in '\n'.
std::string version_text(const std::string& program, const std::vector<std::pair<std::string, std::string>>& speaks);

}  // namespace ampere
