#include "security/curve_client.hpp"

#include <cstdlib>

#include "common/error.hpp"

namespace ampere {

std::optional<CurveClientKeys> curve_client_keys(std::string key_file, std::string coordinator_key_file) {
  const auto from_env = [](std::string& value, const char* name) {
    if (value.empty())
      if (const char* set = std::getenv(name)) value = set;
  };
  from_env(key_file, "AMPERE_KEY");
  from_env(coordinator_key_file, "AMPERE_COORDINATOR_KEY");
  if (key_file.empty() && coordinator_key_file.empty()) return std::nullopt;
  AMPERE_REQUIRE(!key_file.empty() && !coordinator_key_file.empty(),
                 "CURVE needs both --key (this peer's secret certificate) and --coordinator-key (the coordinator's "
                 "public certificate), or AMPERE_KEY and AMPERE_COORDINATOR_KEY");
  const Certificate own = load_certificate(key_file);
  AMPERE_REQUIRE(own.has_secret(), key_file, ": --key needs a secret certificate (NAME.key_secret)");
  const Certificate server = load_certificate(coordinator_key_file);
  return CurveClientKeys{own.public_key, own.secret_key, server.public_key};
}

void apply_curve_client(zmq::socket_t& socket, const CurveClientKeys& keys) {
  socket.set(zmq::sockopt::curve_serverkey, keys.server_key);
  socket.set(zmq::sockopt::curve_publickey, keys.public_key);
  socket.set(zmq::sockopt::curve_secretkey, keys.secret_key);
}

}  // namespace ampere
