// The coordinator's sockets: a ROUTER for agents (DEALER peers) and a ROUTER for clients (REQ
// peers), bound on construction. main() builds it and hands it to the loop.
#pragma once

#include <deque>
#include <string>

#include <zmq.hpp>

#include "coordinator/server/transport.hpp"
#include "security/zap_handler.hpp"

namespace ampere {

class ZmqTransport final : public Transport {
 public:
  /// Binds both endpoints; throws InputError naming them when either cannot be bound. With a
  /// `curve_secret_key` (Z85) both sockets are CURVE servers whose handshakes the ZAP handler
  /// (security/zap_handler.hpp, started first) admits, domain by domain, and every Incoming
  /// carries its peer's public key. Without one, only loopback endpoints are accepted.
  ZmqTransport(zmq::context_t& context, const std::string& agents_endpoint, const std::string& clients_endpoint,
               const std::string& curve_secret_key = "", const ZapHandler* zap = nullptr);

  std::optional<Incoming> receive(std::chrono::milliseconds timeout) override;
  void send_to_agent(const std::string& peer, const std::string& frame) override;
  void reply_to_client(const std::string& peer, const std::string& frame) override;

 private:
  /// Reads what waits on the sockets the poll marked ready into pending_.
  void drain(bool agents_ready, bool clients_ready);

  zmq::socket_t agents_;
  zmq::socket_t clients_;
  std::deque<Incoming> pending_;
};

}  // namespace ampere
