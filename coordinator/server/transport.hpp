// How the coordinator's loop hears agents and clients and answers them. The loop takes a
// Transport& (only main() opens the network, as in KJ): ZmqTransport binds the two ROUTER
// sockets, a unit test hands in a fake that queues frames by hand.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace ampere {

/// One message for the loop.
struct Incoming {
  enum class From { Agent, Client };
  From from = From::Agent;
  std::string peer;   ///< who to answer: an agent's routing id, or a client request's return address
  std::string frame;  ///< the Envelope's bytes
  /// The sender's CURVE public key (Z85) its connection was admitted with; empty without CURVE.
  std::string key{};
};

/// Used from the loop's thread only.
class Transport {
 public:
  virtual ~Transport() = default;
  /// The next message, waiting up to `timeout`; nullopt when none came.
  virtual std::optional<Incoming> receive(std::chrono::milliseconds timeout) = 0;
  /// A frame to an agent; an agent that is gone is logged, not an error.
  virtual void send_to_agent(const std::string& peer, const std::string& frame) = 0;
  /// The one reply to a client's request.
  virtual void reply_to_client(const std::string& peer, const std::string& frame) = 0;
};

}  // namespace ampere
