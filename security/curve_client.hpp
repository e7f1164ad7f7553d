// The client side of CURVE (docs/security.md): `ampere-agent`, `ampere` and the bridge connect
// with their own secret certificate (`--key FILE`, or AMPERE_KEY) and the coordinator's public
// certificate (`--coordinator-key FILE`, or AMPERE_COORDINATOR_KEY).
#pragma once

#include <optional>
#include <string>

#include <zmq.hpp>

#include "security/certificate.hpp"

namespace ampere {

struct CurveClientKeys {
  std::string public_key, secret_key;  ///< this peer's (Z85)
  std::string server_key;              ///< the coordinator's public key (Z85)
};

/// The keys named by `key_file` and `coordinator_key_file`, each falling back to its environment
/// variable (AMPERE_KEY, AMPERE_COORDINATOR_KEY) when empty; nullopt when neither names anything
/// (no CURVE). Throws InputError when only one is given, or a file is not a certificate (the
/// key file must hold a secret key).
std::optional<CurveClientKeys> curve_client_keys(std::string key_file, std::string coordinator_key_file);

/// Makes `socket` a CURVE client of the coordinator (before it connects).
void apply_curve_client(zmq::socket_t& socket, const CurveClientKeys& keys);

}  // namespace ampere
