// Who may connect, by CURVE public key (docs/security.md): the coordinator's
// `--authorized-agents DIR` and `--authorized-clients DIR`, directories of public certificates
// (`*.key`), re-read on SIGHUP. A client certificate's role is its metadata `role` (reader or
// operator; none: reader). Thread safe: the ZAP handler's thread reads while the loop reloads.
#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace ampere {

/// What a peer may do: agents register, heartbeat, take work and report; readers ask status,
/// estimates, device classes and plans; operators also start and stop campaigns and profile on
/// demand.
enum class PeerRole { Agent, Reader, Operator };
const char* peer_role_name(PeerRole role);

class AuthorizedPeers {
 public:
  /// Reads both directories. Throws InputError naming a certificate that does not load or a role
  /// that is not reader or operator.
  AuthorizedPeers(std::filesystem::path agents_dir, std::filesystem::path clients_dir);
  /// Re-reads both directories (SIGHUP); on an error the lists stay as they were, and it throws.
  void reload();
  /// A client key that is not in any directory and survives reloads (the in-process bridge's own).
  void add_client(const std::string& public_key, PeerRole role);

  std::optional<PeerRole> agent(const std::string& public_key) const;
  std::optional<PeerRole> client(const std::string& public_key) const;
  std::size_t agents() const;
  std::size_t clients() const;

 private:
  using Keys = std::map<std::string, PeerRole>;
  static Keys read_directory(const std::filesystem::path& dir, bool clients);
  std::filesystem::path agents_dir_, clients_dir_;
  mutable std::mutex mutex_;
  Keys agents_, clients_, extra_clients_;
};

}  // namespace ampere
