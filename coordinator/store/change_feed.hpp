// Word from the store that it changed, so a reader (the HTTP bridge's snapshot, in the
// coordinator or in `ampere-bridge`) refreshes at once instead of on its next poll. PostgreSQL:
// every write that changes what readers see (a result, a campaign or its state, a kind model)
// sends NOTIFY on kChangeChannel in its transaction (delivered at commit), and the feed LISTENs on
// its own connection. SQLite has no such thing: readers poll.
#pragma once

#include <chrono>
#include <memory>
#include <string>

namespace ampere {

inline constexpr const char* kChangeChannel = "ampere_store";

class ChangeFeed {
 public:
  virtual ~ChangeFeed() = default;
  /// Waits up to `timeout` for the store's word; true when at least one change was notified
  /// (every notification waiting is taken). Throws StoreUnavailable when the connection is lost
  /// (open a new feed: changes made meanwhile were not notified, so read the store once).
  virtual bool wait(std::chrono::milliseconds timeout) = 0;
};

/// A feed on the store at `url` (PostgreSQL), or null for a store that has none (SQLite). Throws
/// StoreUnavailable when PostgreSQL cannot be reached.
std::unique_ptr<ChangeFeed> open_change_feed(const std::string& url);

}  // namespace ampere
