#include "program/service_notifier.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace ampere {

ServiceNotifier::ServiceNotifier(const EnvironmentLookup& environment) {
  const char* socket = environment("NOTIFY_SOCKET");
  if (socket != nullptr && (socket[0] == '/' || socket[0] == '@') && std::strlen(socket) < sizeof(sockaddr_un{}.sun_path))
    socket_ = socket;
  const char* usec = environment("WATCHDOG_USEC");
  const char* pid = environment("WATCHDOG_PID");
  if (usec != nullptr && (pid == nullptr || std::to_string(getpid()) == pid)) {
    char* end = nullptr;
    const long long value = std::strtoll(usec, &end, 10);
    if (end != usec && *end == '\0' && value > 0) watchdog_ = std::chrono::microseconds(value);
  }
}

void ServiceNotifier::keep_alive() {
  if (!enabled() || watchdog_.count() == 0) return;
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  std::int64_t last = last_ping_us_.load();
  if (last != 0 && now - last < watchdog_.count() / 2) return;
  if (!last_ping_us_.compare_exchange_strong(last, now)) return;  // another thread pings now
  send("WATCHDOG=1");
}

bool ServiceNotifier::send(const std::string& state) {
  if (!enabled()) return false;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, socket_.data(), socket_.size());
  socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_.size());
  if (socket_[0] == '@') address.sun_path[0] = '\0';  // the abstract namespace: no terminating NUL counted
  else length += 1;
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const ssize_t sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&address), length);
  ::close(fd);
  return sent == static_cast<ssize_t>(state.size());
}

}  // namespace ampere
