#include "security/coordinator_endpoints.hpp"

#include "common/comma_list.hpp"
#include "common/error.hpp"

namespace ampere {

CoordinatorEndpoints::CoordinatorEndpoints(const std::string& comma_list, const std::string& option)
    : endpoints_(split_comma_list(comma_list)) {
  AMPERE_REQUIRE(!endpoints_.empty(), option, ": no coordinator endpoint given");
  for (std::size_t i = 0; i < endpoints_.size(); ++i)
    AMPERE_REQUIRE(!endpoints_[i].empty(), option, ": endpoint ", i + 1, " of '", comma_list, "' is empty");
}

bool CoordinatorEndpoints::advance() { return (++index_ % endpoints_.size()) == 0; }

std::string CoordinatorEndpoints::describe() const {
  std::string out;
  for (const std::string& e : endpoints_) out += (out.empty() ? "" : ", ") + e;
  return out;
}

bool wait_connected(zmq::socket_t& socket, std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLOUT, 0};
  zmq::poll(&item, 1, timeout);
  return (item.revents & ZMQ_POLLOUT) != 0;
}

}  // namespace ampere
