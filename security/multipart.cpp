#include "security/multipart.hpp"

namespace ampere {

std::vector<zmq::message_t> receive_multipart(zmq::socket_t& socket) {
  std::vector<zmq::message_t> frames;
  zmq::recv_result_t got;
  do {
    zmq::message_t part;
    got = socket.recv(part, zmq::recv_flags::dontwait);
    if (got) frames.push_back(std::move(part));
  } while (got && frames.back().more());
  return frames;
}

}  // namespace ampere
