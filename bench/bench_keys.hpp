// CURVE keys for a bench's fleet (bench/fleet, bench/ha): one key pair for the coordinator(s), one
// key for the whole simulated fleet (every agent id binds to it), an operator for the bench's own
// client (and its bridges). Header-only, for the benches that link ampere::security.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "security/certificate.hpp"
#include "security/curve_client.hpp"

namespace ampere {

struct BenchKeys {
  std::vector<std::string> coordinator_args;  ///< --curve-secret-key, --authorized-agents, --authorized-clients
  std::vector<std::string> fleet_args;        ///< --key, --coordinator-key for ampere-agent
  std::vector<std::string> operator_args;     ///< --key, --coordinator-key for an operator (ampere-bridge)
  CurveClientKeys operator_keys;              ///< the bench's own client
};

/// Generates the keys under `dir` (coordinator, agents/fleet, clients/bench) and the options naming them.
inline BenchKeys write_bench_keys(const std::filesystem::path& dir) {
  const Certificate coordinator = generate_certificate(), fleet = generate_certificate();
  Certificate op = generate_certificate();
  op.metadata["role"] = "operator";
  write_certificate_pair(dir / "coordinator", coordinator);
  write_certificate_pair(dir / "agents" / "fleet", fleet);
  write_certificate_pair(dir / "clients" / "bench", op);
  BenchKeys k;
  k.coordinator_args = {"--curve-secret-key", (dir / "coordinator.key_secret").string(), "--authorized-agents",
                        (dir / "agents").string(), "--authorized-clients", (dir / "clients").string()};
  k.fleet_args = {"--key", (dir / "agents" / "fleet.key_secret").string(), "--coordinator-key", (dir / "coordinator.key").string()};
  k.operator_args = {"--key", (dir / "clients" / "bench.key_secret").string(), "--coordinator-key", (dir / "coordinator.key").string()};
  k.operator_keys = CurveClientKeys{op.public_key, op.secret_key, coordinator.public_key};
  return k;
}

}  // namespace ampere
