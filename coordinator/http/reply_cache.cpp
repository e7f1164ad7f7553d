#include "coordinator/http/reply_cache.hpp"

namespace ampere {

std::optional<std::pair<int, std::string>> ReplyCache::find(std::uint64_t generation, const std::string& request) {
  if (capacity_ == 0) return std::nullopt;
  std::lock_guard<std::mutex> lock(mutex_);
  if (generation_ != generation) return std::nullopt;
  const auto found = index_.find(request);
  if (found == index_.end()) return std::nullopt;
  entries_.splice(entries_.begin(), entries_, found->second);
  return found->second->second;
}

void ReplyCache::remember(std::uint64_t generation, const std::string& request, int status, const std::string& reply) {
  if (capacity_ == 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (generation_ != generation) {  // a new snapshot: every cached reply is stale
    index_.clear();
    entries_.clear();
    generation_ = generation;
  }
  if (index_.count(request) != 0) return;
  entries_.emplace_front(request, std::make_pair(status, reply));
  index_.emplace(entries_.front().first, entries_.begin());
  if (entries_.size() > capacity_) {
    index_.erase(entries_.back().first);
    entries_.pop_back();
  }
}

}  // namespace ampere
