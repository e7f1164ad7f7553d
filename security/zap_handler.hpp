// The ZAP handler (ZeroMQ RFC 27) the coordinator's CURVE sockets ask at every handshake: it
// admits a key listed for the socket's domain and names the peer by its key (the ZAP user id,
// which every message from that connection then carries as "User-Id"). It must be running before
// any CURVE socket binds: without a handler libzmq admits everyone.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "security/allow_list.hpp"

namespace ampere {

/// The ZAP domains of the coordinator's two sockets.
inline constexpr const char* kAgentsDomain = "ampere-agents";
inline constexpr const char* kClientsDomain = "ampere-clients";

class ZapHandler {
 public:
  /// Binds inproc://zeromq.zap.01 in `context` and answers on its own thread. `peers` must
  /// outlive the handler.
  ZapHandler(zmq::context_t& context, const AuthorizedPeers& peers);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  /// Handshakes refused so far (an unlisted key, another mechanism, an unknown domain).
  std::size_t refused() const { return refused_.load(); }
  std::size_t admitted() const { return admitted_.load(); }

 private:
  void serve();
  zmq::socket_t socket_;
  const AuthorizedPeers& peers_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> refused_{0}, admitted_{0};
  std::thread thread_;
};

/// The peer's CURVE public key (Z85) a message from a ZAP-authenticated connection carries;
/// empty when the connection has none (no CURVE).
std::string peer_key_of(zmq::message_t& message);

}  // namespace ampere
