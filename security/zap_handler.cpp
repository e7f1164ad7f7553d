#include "security/zap_handler.hpp"

#include "security/multipart.hpp"

#include <vector>

namespace ampere {

ZapHandler::ZapHandler(zmq::context_t& context, const AuthorizedPeers& peers)
    : socket_(context, zmq::socket_type::rep), peers_(peers) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.bind("inproc://zeromq.zap.01");
  thread_ = std::thread([this] { serve(); });
}

ZapHandler::~ZapHandler() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ZapHandler::serve() {
  while (!stop_.load()) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    try {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) == 0) continue;
    } catch (const zmq::error_t&) {
      continue;  // a signal
    }
    const std::vector<zmq::message_t> frames = receive_multipart(socket_);
    // version, request id, domain, address, identity, mechanism, credentials...
    const auto text = [&](std::size_t i) { return i < frames.size() ? frames[i].to_string() : std::string(); };
    std::string user_id;
    bool admit = false;
    if (frames.size() >= 7 && text(0) == "1.0" && text(5) == "CURVE" && frames[6].size() == 32) {
      char z85[41];
      if (zmq_z85_encode(z85, static_cast<const std::uint8_t*>(frames[6].data()), 32) != nullptr) {
        const std::string key = z85;
        const std::string domain = text(2);
        admit = domain == kAgentsDomain ? peers_.agent(key).has_value()
                : domain == kClientsDomain ? peers_.client(key).has_value()
                                           : false;
        if (admit) user_id = key;
      }
    }
    ++(admit ? admitted_ : refused_);
    const std::string status = admit ? "200" : "400";
    const std::string reason = admit ? "OK" : "not an authorized key for this socket";
    socket_.send(zmq::buffer(std::string("1.0")), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(text(1)), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(status), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(reason), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(user_id), zmq::send_flags::sndmore);
    socket_.send(zmq::message_t(), zmq::send_flags::none);
  }
}

std::string peer_key_of(zmq::message_t& message) {
  const char* value = zmq_msg_gets(message.handle(), "User-Id");
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace ampere
