// What a standby coordinator (--ha, not holding the lease) does with the messages that reach its
// sockets: it answers every request with a "not the leader" error (ErrorCode::NotLeader), so an
// agent or a client moves on to the next endpoint of its list at once instead of waiting out a
// timeout; heartbeats are dropped. It holds no state and touches no store.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "coordinator/server/transport.hpp"

namespace ampere {

class StandbyResponder {
 public:
  /// `transport` must outlive the responder; `leader` names the leader when known (for messages).
  explicit StandbyResponder(Transport& transport) : transport_(transport) {}
  void set_leader(std::string leader) { leader_ = std::move(leader); }
  /// Answers what arrives within `wait` (at least the first message waited for, then all waiting).
  /// Returns how many messages were answered.
  std::size_t serve(std::chrono::milliseconds wait);

 private:
  Transport& transport_;
  std::string leader_;
};

}  // namespace ampere
