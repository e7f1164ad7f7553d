#include "coordinator/store/resilient_store.hpp"

#include <spdlog/spdlog.h>

namespace ampere {

ResilientStore::ResilientStore(Store& store, const Clock& clock, std::unique_ptr<ResultSpool> spool,
                               StoreHealthListener& listener)
    : store_(store), clock_(clock), spool_(std::move(spool)), listener_(listener) {
  listener_.store_up(true);
  if (spool_) listener_.spool_depth(spool_->size(), spool_->capacity());
}

void ResilientStore::replay_on_start() {
  if (!spool_ || spool_->size() == 0) return;
  spdlog::warn("spool {} holds {} result(s) from before; writing them to the store first", spool_->path(), spool_->size());
  const SpoolReplay r = spool_->replay(store_);
  AMPERE_REQUIRE(r.left == 0, "spool ", spool_->path(), ": the store went away while replaying (", r.left,
                 " result(s) left); not starting on a partial store");
  listener_.spool_replayed(r.stored);
  listener_.spool_depth(spool_->size(), spool_->capacity());
}

bool ResilientStore::may_be_tried() const { return up_ || clock_.now() >= retry_at_; }

bool ResilientStore::try_write(const char* operation, const std::function<void()>& write) {
  if (!may_be_tried()) return false;  // away: not retried before its next probe
  try {
    write();
    back();
    return true;
  } catch (const StoreUnavailable& e) {
    down(operation, e);
    return false;
  }
}

ResultFate ResilientStore::store_result(const ResultRecord& result) {
  const bool tried = may_be_tried();
  try {
    if (!tried) throw StoreUnavailable("away since an earlier failure; next probe pending");
    store_.store_result(result);
    back();
    return ResultFate::Stored;
  } catch (const DuplicateResult& e) {
    spdlog::warn("job {}: {}; acknowledging", result.job_id, e.what());
    return ResultFate::AlreadyStored;
  } catch (const StoreUnavailable& e) {
    if (tried) down("store_result", e);
  }
  return spool(result);
}

std::vector<ResultFate> ResilientStore::store_results(const std::vector<ResultRecord>& results) {
  std::vector<ResultFate> fates;
  if (results.empty()) return fates;
  const bool tried = may_be_tried();
  try {
    if (!tried) throw StoreUnavailable("away since an earlier failure; next probe pending");
    const std::vector<GroupedResultOutcome> outcomes = store_.store_results(results);
    back();
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      switch (outcomes[i].kind) {
        case GroupedResultOutcome::Kind::Stored: fates.push_back(ResultFate::Stored); break;
        case GroupedResultOutcome::Kind::Duplicate:
          spdlog::warn("job {}: {}; acknowledging", results[i].job_id, outcomes[i].message);
          fates.push_back(ResultFate::AlreadyStored);
          break;
        case GroupedResultOutcome::Kind::Refused:
          spdlog::error("job {} from {}: the store refused its result: {}", results[i].job_id, results[i].agent_id,
                        outcomes[i].message);
          fates.push_back(ResultFate::Refused);
          break;
      }
    }
    return fates;
  } catch (const StoreUnavailable& e) {
    if (tried) down("store_results", e);
  }
  for (const ResultRecord& r : results) fates.push_back(spool(r));
  return fates;
}

ResultFate ResilientStore::spool(const ResultRecord& result) {
  if (!spool_) {
    spdlog::error("job {} from {}: not acknowledged (store unreachable, no spool); the agent will send it again",
                  result.job_id, result.agent_id);
    return ResultFate::NotAcknowledged;
  }
  bool appended = false;
  try {
    appended = spool_->append(result);
  } catch (const std::exception& e) {  // disk full, permissions: the loop stays up, the agent re-sends
    listener_.store_error("spool_append");
    spdlog::error("job {} from {}: not acknowledged: store unreachable and the spool cannot be written ({}); the agent "
                  "will send it again",
                  result.job_id, result.agent_id, e.what());
    return ResultFate::NotAcknowledged;
  }
  if (!appended) {
    spdlog::error("job {} from {}: not acknowledged: store unreachable and spool {} full ({} results); the agent will "
                  "send it again",
                  result.job_id, result.agent_id, spool_->path(), spool_->capacity());
    return ResultFate::NotAcknowledged;
  }
  spdlog::warn("job {} result spooled to {} ({} waiting for the store)", result.job_id, spool_->path(), spool_->size());
  listener_.spool_depth(spool_->size(), spool_->capacity());
  return ResultFate::Spooled;
}

void ResilientStore::maintain() {
  const bool spooled = spool_ && spool_->size() > 0;
  if (up_ ? !spooled : clock_.now() < retry_at_) return;
  if (spooled) replay();
  else try_write("probe", [&] { store_.fingerprint(); });
  if (spool_) listener_.spool_depth(spool_->size(), spool_->capacity());
}

void ResilientStore::replay() {
  const std::size_t before = spool_->size();
  SpoolReplay r;
  try {
    r = spool_->replay(store_);
  } catch (const std::exception& e) {  // the spool file itself (disk): keep the records, say so
    spdlog::error("spool {}: replay failed: {}", spool_->path(), e.what());
    return;
  }
  listener_.spool_replayed(r.stored);
  if (r.stored + r.duplicate + r.rejected > 0) {
    back();
    spdlog::info("spool: {} of {} result(s) written to the store ({} already there, {} rejected), {} left", r.stored, before,
                 r.duplicate, r.rejected, r.left);
  }
  if (r.left > 0 && r.stored + r.duplicate + r.rejected == 0) down("spool_replay", StoreUnavailable("the store is still unreachable"));
}

void ResilientStore::down(const char* operation, const std::exception& e) {
  listener_.store_error(operation);
  if (up_) spdlog::error("store unreachable ({}): {}; results go to the spool until it is back", operation, e.what());
  up_ = false;
  listener_.store_up(false);
  // Probe again later, backing off: a store that does not answer can hold the loop for the
  // connect timeout on every try.
  retry_at_ = clock_.now() + backoff_;
  backoff_ = std::min<std::chrono::milliseconds>(backoff_ * 2, kMaxBackoff);
}

void ResilientStore::back() {
  if (!up_) spdlog::info("store reachable again");
  up_ = true;
  backoff_ = kMinBackoff;
  listener_.store_up(true);
}

}  // namespace ampere
