// The coordinators a peer may talk to (docs/operations.md, "High availability"): `--coordinator`
// takes a comma list, e.g. tcp://10.0.0.1:5555,tcp://10.0.0.2:5555. A peer talks to one at a
// time and moves on to the next when the current one cannot be reached, does not answer, or
// answers "not the leader" (a standby, ErrorCode::NotLeader).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <zmq.hpp>

namespace ampere {

class CoordinatorEndpoints {
 public:
  /// Throws InputError naming the option for an empty list or an empty item.
  explicit CoordinatorEndpoints(const std::string& comma_list, const std::string& option = "--coordinator");
  CoordinatorEndpoints(const CoordinatorEndpoints& other) : endpoints_(other.endpoints_), index_(other.index_.load()) {}
  /// The one talked to now. Thread safe.
  const std::string& current() const { return endpoints_[index_.load() % endpoints_.size()]; }
  /// Which one that is (it changes with each advance). Thread safe.
  std::size_t index() const { return index_.load(); }
  std::size_t size() const { return endpoints_.size(); }
  bool several() const { return endpoints_.size() > 1; }
  /// On to the next one (after the last: the first). Returns true when this wrapped around to the
  /// first of the list (every endpoint was tried once since: time for a short pause).
  bool advance();
  /// "a, b, c" for messages.
  std::string describe() const;

 private:
  std::vector<std::string> endpoints_;
  std::atomic<std::size_t> index_{0};
};

/// For a socket with ZMQ_IMMEDIATE set (messages queue only to completed connections): waits up
/// to `timeout` until a connection is up to send on. False: the endpoint cannot be reached now,
/// and nothing was sent (so any request may go to the next endpoint, even one that is not
/// idempotent).
bool wait_connected(zmq::socket_t& socket, std::chrono::milliseconds timeout);

}  // namespace ampere
