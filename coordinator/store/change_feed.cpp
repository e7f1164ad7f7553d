#include "coordinator/store/change_feed.hpp"

#include <pqxx/pqxx>

#include "common/error.hpp"
#include "coordinator/store/backends.hpp"

namespace ampere {
namespace {

class PostgresChangeFeed final : public ChangeFeed {
 public:
  explicit PostgresChangeFeed(const std::string& url) : url_(url) {
    try {
      connection_ = std::make_unique<pqxx::connection>(postgres_url_with_time_limits(url));
      receiver_ = std::make_unique<Receiver>(*connection_, *this);
      connection_->get_notifs();  // the LISTEN is sent now, before anything is read
    } catch (const std::exception& e) {
      throw StoreUnavailable("store " + redact_store_url(url) + ": change feed: " + e.what());
    }
  }
  ~PostgresChangeFeed() override {
    try {
      receiver_.reset();  // UNLISTEN on a live connection
    } catch (...) {
    }
  }

  bool wait(std::chrono::milliseconds timeout) override {
    notified_ = false;
    try {
      const long ms = static_cast<long>(timeout.count());
      if (connection_->get_notifs() == 0 && !notified_) connection_->await_notification(ms / 1000, (ms % 1000) * 1000);
      if (!connection_->is_open()) throw pqxx::broken_connection("connection closed");
    } catch (const std::exception& e) {
      throw StoreUnavailable("store " + redact_store_url(url_) + ": change feed: " + e.what());
    }
    return notified_;
  }

 private:
  struct Receiver final : pqxx::notification_receiver {
    Receiver(pqxx::connection_base& c, PostgresChangeFeed& feed) : pqxx::notification_receiver(c, kChangeChannel), feed(feed) {}
    void operator()(const std::string&, int) override { feed.notified_ = true; }
    PostgresChangeFeed& feed;
  };
  std::string url_;
  std::unique_ptr<pqxx::connection> connection_;
  std::unique_ptr<Receiver> receiver_;
  bool notified_ = false;
};

}  // namespace

std::unique_ptr<ChangeFeed> open_change_feed(const std::string& url) {
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) return std::make_unique<PostgresChangeFeed>(url);
  return nullptr;
}

}  // namespace ampere
