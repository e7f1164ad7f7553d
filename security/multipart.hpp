// One whole ZeroMQ multipart message off a socket, without blocking: the ZAP handler's requests
// and the coordinator's router sockets read their messages this way.
#pragma once

#include <vector>

#include <zmq.hpp>

namespace ampere {

/// Every frame of one multipart message waiting on `socket` (empty when none waits).
std::vector<zmq::message_t> receive_multipart(zmq::socket_t& socket);

}  // namespace ampere
