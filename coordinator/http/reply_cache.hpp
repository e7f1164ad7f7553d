// Estimate replies by exact request body, for one snapshot generation (all dropped when the
// snapshot changes); least recently used entries go first. Pipelines ask about the same
// architectures again and again. Thread safe (one mutex; a hit costs a lookup and a splice).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace ampere {

class ReplyCache {
 public:
  /// Holds at most `capacity` replies (0: caches nothing).
  explicit ReplyCache(std::size_t capacity) : capacity_(capacity) {}

  /// (status, body) cached for exactly this request under snapshot `generation`.
  std::optional<std::pair<int, std::string>> find(std::uint64_t generation, const std::string& request);
  void remember(std::uint64_t generation, const std::string& request, int status, const std::string& reply);

 private:
  std::size_t capacity_;
  std::mutex mutex_;
  std::uint64_t generation_ = 0;  ///< of the snapshot the entries belong to
  std::list<std::pair<std::string, std::pair<int, std::string>>> entries_;  ///< most recent first
  std::unordered_map<std::string_view, decltype(entries_)::iterator> index_;
};

}  // namespace ampere
