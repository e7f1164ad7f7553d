// Certificates, allow-lists and the loopback rule (docs/security.md), against a temp dir.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "common/error.hpp"
#include "security/allow_list.hpp"
#include "security/certificate.hpp"
#include "security/endpoint.hpp"

using namespace ampere;

namespace {

struct Dir {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("ampere-security-" + std::to_string(::getpid()));
  Dir() {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~Dir() { std::filesystem::remove_all(path); }
};

void write(const std::filesystem::path& file, const std::string& text) { std::ofstream(file) << text; }

}  // namespace

TEST_CASE("a certificate pair round-trips through its ZPL files, metadata and all") {
  Dir dir;
  Certificate c = generate_certificate();
  c.metadata["role"] = "operator";
  write_certificate_pair(dir.path / "op", c);
  const Certificate secret = load_certificate(dir.path / "op.key_secret");
  CHECK(secret.public_key == c.public_key);
  CHECK(secret.secret_key == c.secret_key);
  CHECK(secret.metadata.at("role") == "operator");
  const Certificate pub = load_certificate(dir.path / "op.key");
  CHECK(pub.public_key == c.public_key);
  CHECK_FALSE(pub.has_secret());
  CHECK_THROWS_WITH_AS(write_certificate_pair(dir.path / "op", generate_certificate()), doctest::Contains("exists"), InputError);
}

TEST_CASE("a certificate is refused when others may read its secret, its keys do not match, or it holds no key") {
  Dir dir;
  const Certificate c = generate_certificate();
  write_certificate_pair(dir.path / "a", c);
  ::chmod((dir.path / "a.key_secret").c_str(), 0644);
  CHECK_THROWS_WITH_AS(load_certificate(dir.path / "a.key_secret"), doctest::Contains("chmod 600"), InputError);
  const Certificate other = generate_certificate();
  write(dir.path / "mixed", "curve\n    public-key = \"" + c.public_key + "\"\n    secret-key = \"" + other.secret_key + "\"\n");
  ::chmod((dir.path / "mixed").c_str(), 0600);
  CHECK_THROWS_WITH_AS(load_certificate(dir.path / "mixed"), doctest::Contains("does not belong to its public-key"), InputError);
  write(dir.path / "empty", "metadata\ncurve\n");
  CHECK_THROWS_WITH_AS(load_certificate(dir.path / "empty"), doctest::Contains("no curve public-key"), InputError);
  write(dir.path / "short", "curve\n    public-key = \"abc\"\n");
  CHECK_THROWS_AS(load_certificate(dir.path / "short"), InputError);
  CHECK_THROWS_WITH_AS(load_certificate(dir.path / "missing"), doctest::Contains("cannot read"), InputError);
}

TEST_CASE("an allow-list reads public certificates only, with client roles, and a reload that fails keeps the old lists") {
  Dir dir;
  std::filesystem::create_directories(dir.path / "agents");
  std::filesystem::create_directories(dir.path / "clients");
  const Certificate agent = generate_certificate(), reader = generate_certificate();
  Certificate op = generate_certificate();
  op.metadata["role"] = "operator";
  write_certificate_pair(dir.path / "agents" / "a1", agent);
  write_certificate_pair(dir.path / "clients" / "reader", reader);  // no role: a reader
  write_certificate_pair(dir.path / "clients" / "op", op);
  AuthorizedPeers peers(dir.path / "agents", dir.path / "clients");
  CHECK(peers.agent(agent.public_key) == PeerRole::Agent);
  CHECK_FALSE(peers.agent(op.public_key).has_value());  // a client key is no agent's
  CHECK(peers.client(reader.public_key) == PeerRole::Reader);
  CHECK(peers.client(op.public_key) == PeerRole::Operator);
  CHECK_FALSE(peers.client(agent.public_key).has_value());
  // revoking: remove the file, reload
  std::filesystem::remove(dir.path / "clients" / "op.key");
  peers.reload();
  CHECK_FALSE(peers.client(op.public_key).has_value());
  // a bad certificate: the reload throws, the lists stay
  write(dir.path / "clients" / "bad.key", "curve\n    public-key = \"nope\"\n");
  CHECK_THROWS_AS(peers.reload(), InputError);
  CHECK(peers.client(reader.public_key) == PeerRole::Reader);
  std::filesystem::remove(dir.path / "clients" / "bad.key");
  Certificate admin = generate_certificate();
  admin.metadata["role"] = "admin";
  write_certificate_pair(dir.path / "clients" / "admin", admin);
  CHECK_THROWS_WITH_AS(peers.reload(), doctest::Contains("role \"admin\" (known: reader, operator)"), InputError);
}

TEST_CASE("only loopback endpoints count as loopback") {
  for (const char* e : {"tcp://127.0.0.1:5555", "tcp://127.1.2.3:1", "tcp://localhost:5556", "tcp://[::1]:5555", "ipc:///tmp/a",
                        "inproc://x"})
    CHECK(is_loopback_endpoint(e));
  for (const char* e : {"tcp://*:5555", "tcp://0.0.0.0:5555", "tcp://10.0.0.1:5555", "tcp://eth0:5555",
                        "tcp://127.evil.example:5555", "tcp://[::]:5555", "udp://127.0.0.1:5555"})
    CHECK_FALSE(is_loopback_endpoint(e));
}
