#include "security/endpoint.hpp"

namespace ampere {

bool is_loopback_endpoint(const std::string& endpoint) {
  if (endpoint.rfind("inproc://", 0) == 0 || endpoint.rfind("ipc://", 0) == 0) return true;
  if (endpoint.rfind("tcp://", 0) != 0) return false;
  const std::string host = endpoint.substr(6, endpoint.rfind(':') == std::string::npos ? std::string::npos : endpoint.rfind(':') - 6);
  if (host == "localhost" || host == "[::1]") return true;
  if (host.rfind("127.", 0) != 0) return false;
  for (const char c : host)
    if (c != '.' && (c < '0' || c > '9')) return false;  // 127.0.0.1, not 127.evil.example
  return true;
}

}  // namespace ampere
