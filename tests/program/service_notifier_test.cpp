// sd_notify's datagrams as systemd receives them: a real AF_UNIX datagram socket stands in for the
// service manager (the protocol of sd_notify(3); no systemd runs in the tests).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <string>
#include <thread>

#include <doctest/doctest.h>

#include "program/service_notifier.hpp"

using ampere::ServiceNotifier;

namespace {

/// A datagram socket bound at `name` (a path, or "@..." abstract), as systemd's notify socket.
class ServiceManager {
 public:
  explicit ServiceManager(const std::string& name) : name_(name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, name.data(), name.size());
    socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    if (name[0] == '@') address.sun_path[0] = '\0';
    else length += 1;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) == 0);
    timeval timeout{0, 200000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~ServiceManager() {
    ::close(fd_);
    if (name_[0] == '/') ::unlink(name_.c_str());
  }
  /// The next datagram, or "" after 200 ms.
  std::string receive() {
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : "";
  }

 private:
  std::string name_;
  int fd_ = -1;
};

ampere::EnvironmentLookup environment(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

}  // namespace

TEST_CASE("READY, STATUS, STOPPING and a watchdog ping at most every half interval reach the notify socket") {
  const std::string path = "/tmp/ampere-notify-test-" + std::to_string(getpid());
  ServiceManager manager(path);
  ServiceNotifier notifier(environment({{"NOTIFY_SOCKET", path}, {"WATCHDOG_USEC", "400000"}}));
  REQUIRE(notifier.enabled());
  CHECK(notifier.watchdog_interval() == std::chrono::milliseconds(400));
  notifier.ready();
  CHECK(manager.receive() == "READY=1");
  notifier.status("serving");
  CHECK(manager.receive() == "STATUS=serving");
  notifier.keep_alive();
  CHECK(manager.receive() == "WATCHDOG=1");
  notifier.keep_alive();  // within half the interval: not again
  CHECK(manager.receive() == "");
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  notifier.keep_alive();
  CHECK(manager.receive() == "WATCHDOG=1");
  notifier.stopping();
  CHECK(manager.receive() == "STOPPING=1");
}

TEST_CASE("an abstract notify socket works, and without NOTIFY_SOCKET or with another process's WATCHDOG_PID nothing is sent") {
  const std::string name = "@ampere-notify-test-" + std::to_string(getpid());
  ServiceManager manager(name);
  ServiceNotifier abstract(environment({{"NOTIFY_SOCKET", name}}));
  abstract.ready();
  CHECK(manager.receive() == "READY=1");
  abstract.keep_alive();  // no WATCHDOG_USEC: no watchdog
  CHECK(manager.receive() == "");
  ServiceNotifier other(environment({{"NOTIFY_SOCKET", name}, {"WATCHDOG_USEC", "1000"}, {"WATCHDOG_PID", "1"}}));
  CHECK(other.watchdog_interval().count() == 0);
  ServiceNotifier none(environment({}));
  CHECK_FALSE(none.enabled());
  CHECK_FALSE(none.send("READY=1"));
  ServiceNotifier relative(environment({{"NOTIFY_SOCKET", "relative/path"}}));
  CHECK_FALSE(relative.enabled());
}
