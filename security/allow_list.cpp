#include "security/allow_list.hpp"

#include "common/error.hpp"
#include "security/certificate.hpp"

namespace ampere {

const char* peer_role_name(PeerRole role) {
  switch (role) {
    case PeerRole::Agent: return "agent";
    case PeerRole::Reader: return "reader";
    case PeerRole::Operator: return "operator";
  }
  return "?";
}

AuthorizedPeers::AuthorizedPeers(std::filesystem::path agents_dir, std::filesystem::path clients_dir)
    : agents_dir_(std::move(agents_dir)), clients_dir_(std::move(clients_dir)) {
  reload();
}

AuthorizedPeers::Keys AuthorizedPeers::read_directory(const std::filesystem::path& dir, bool clients) {
  Keys keys;
  if (dir.empty()) return keys;  // nobody of this kind
  AMPERE_REQUIRE(std::filesystem::is_directory(dir), dir.string(), ": not a directory of public certificates");
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".key") continue;  // NAME.key_secret is never read here
    const Certificate c = load_certificate(entry.path());
    PeerRole role = PeerRole::Agent;
    if (clients) {
      const auto found = c.metadata.find("role");
      const std::string name = found == c.metadata.end() ? "reader" : found->second;
      AMPERE_REQUIRE(name == "reader" || name == "operator", entry.path().string(), ": role \"", name,
                     "\" (known: reader, operator)");
      role = name == "operator" ? PeerRole::Operator : PeerRole::Reader;
    }
    keys[c.public_key] = role;
  }
  return keys;
}

void AuthorizedPeers::reload() {
  Keys agents = read_directory(agents_dir_, false), clients = read_directory(clients_dir_, true);
  const std::lock_guard<std::mutex> lock(mutex_);
  agents_ = std::move(agents);
  clients_ = std::move(clients);
}

void AuthorizedPeers::add_client(const std::string& public_key, PeerRole role) {
  const std::lock_guard<std::mutex> lock(mutex_);
  extra_clients_[public_key] = role;
}

std::optional<PeerRole> AuthorizedPeers::agent(const std::string& public_key) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  const auto found = agents_.find(public_key);
  return found == agents_.end() ? std::nullopt : std::optional<PeerRole>(found->second);
}

std::optional<PeerRole> AuthorizedPeers::client(const std::string& public_key) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (const auto extra = extra_clients_.find(public_key); extra != extra_clients_.end()) return extra->second;
  const auto found = clients_.find(public_key);
  return found == clients_.end() ? std::nullopt : std::optional<PeerRole>(found->second);
}

std::size_t AuthorizedPeers::agents() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return agents_.size();
}

std::size_t AuthorizedPeers::clients() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return clients_.size() + extra_clients_.size();
}

}  // namespace ampere
