#include "coordinator/server/zmq_transport.hpp"

#include <cerrno>

#include <vector>

#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "security/endpoint.hpp"
#include "security/multipart.hpp"
#include "security/zap_handler.hpp"
#include "wire_codec.hpp"

namespace ampere {

ZmqTransport::ZmqTransport(zmq::context_t& context, const std::string& agents_endpoint, const std::string& clients_endpoint,
                           const std::string& curve_secret_key, const ZapHandler* zap)
    : agents_(context, zmq::socket_type::router), clients_(context, zmq::socket_type::router) {
  if (curve_secret_key.empty()) {
    for (const std::string& endpoint : {agents_endpoint, clients_endpoint})
      AMPERE_REQUIRE(is_loopback_endpoint(endpoint), "coordinator: ", endpoint,
                     " is reachable from other machines; without --curve-secret-key only loopback endpoints "
                     "(tcp://127.0.0.1:PORT, ipc://, inproc://) are bound (docs/security.md)");
  } else {
    // libzmq admits everyone when no ZAP handler answers: one must be running before the bind
    AMPERE_REQUIRE(zap != nullptr, "coordinator: CURVE sockets need the ZAP handler started first");
    for (auto [socket, domain] : {std::pair<zmq::socket_t*, const char*>{&agents_, kAgentsDomain}, {&clients_, kClientsDomain}}) {
      socket->set(zmq::sockopt::curve_server, 1);
      socket->set(zmq::sockopt::curve_secretkey, curve_secret_key);
      socket->set(zmq::sockopt::zap_domain, domain);  // the handler (running: the constructor takes it) decides
    }
  }
  agents_.set(zmq::sockopt::linger, 0);
  clients_.set(zmq::sockopt::linger, 0);
  agents_.set(zmq::sockopt::router_mandatory, 1);  // a vanished agent is an error we log, not a silent drop
  agents_.set(zmq::sockopt::maxmsgsize, kMaxRequestFrameBytes);  // larger: the peer is disconnected unread
  clients_.set(zmq::sockopt::maxmsgsize, kMaxRequestFrameBytes);
  try {
    agents_.bind(agents_endpoint);
    clients_.bind(clients_endpoint);
  } catch (const zmq::error_t& e) {
    throw InputError("coordinator: cannot bind " + agents_endpoint + " / " + clients_endpoint + ": " + e.what());
  }
}

void ZmqTransport::drain(bool agents_ready, bool clients_ready) {
  if (agents_ready) {
    std::vector<zmq::message_t> frames = receive_multipart(agents_);
    if (frames.size() >= 2)
      pending_.push_back(
          {Incoming::From::Agent, frames.front().to_string(), frames.back().to_string(), peer_key_of(frames.back())});
    else if (!frames.empty()) spdlog::warn("agent message dropped: {} frame(s), expected identity + payload", frames.size());
  }
  if (clients_ready) {
    std::vector<zmq::message_t> frames = receive_multipart(clients_);
    if (frames.size() >= 3)
      pending_.push_back(
          {Incoming::From::Client, frames.front().to_string(), frames.back().to_string(), peer_key_of(frames.back())});
    else if (!frames.empty()) spdlog::warn("client message dropped: {} frame(s)", frames.size());  // REQ: identity, empty, payload
  }
}

std::optional<Incoming> ZmqTransport::receive(std::chrono::milliseconds timeout) {
  if (pending_.empty()) {
    zmq::pollitem_t items[] = {{agents_.handle(), 0, ZMQ_POLLIN, 0}, {clients_.handle(), 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 2, timeout);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) return std::nullopt;  // a signal (SIGTERM: the loop sees its stop flag next)
      throw;
    }
    drain((items[0].revents & ZMQ_POLLIN) != 0, (items[1].revents & ZMQ_POLLIN) != 0);
  }
  if (pending_.empty()) return std::nullopt;
  Incoming next = std::move(pending_.front());
  pending_.pop_front();
  return next;
}

void ZmqTransport::send_to_agent(const std::string& peer, const std::string& frame) {
  try {
    agents_.send(zmq::buffer(peer), zmq::send_flags::sndmore);
    agents_.send(zmq::buffer(frame), zmq::send_flags::none);
  } catch (const zmq::error_t& e) {
    spdlog::warn("cannot reach agent {}: {}", peer, e.what());
  }
}

void ZmqTransport::reply_to_client(const std::string& peer, const std::string& frame) {
  clients_.send(zmq::buffer(peer), zmq::send_flags::sndmore);
  clients_.send(zmq::message_t(), zmq::send_flags::sndmore);
  clients_.send(zmq::buffer(frame), zmq::send_flags::none);
}

}  // namespace ampere
