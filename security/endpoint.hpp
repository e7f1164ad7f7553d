// Which ZeroMQ endpoints a coordinator without CURVE keys may bind (docs/security.md): only
// endpoints no other machine can reach.
#pragma once

#include <string>

namespace ampere {

/// True for inproc://, ipc://, and tcp:// on 127.0.0.0/8, localhost or [::1].
bool is_loopback_endpoint(const std::string& endpoint);

}  // namespace ampere
