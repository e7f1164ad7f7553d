#include "coordinator/http/http_bridge.hpp"

#include <fstream>

#include <httplib.h>
#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "coordinator/http/reply_cache.hpp"
#include "coordinator/http/routes.hpp"

namespace ampere {

namespace {

std::string first_line(const std::string& file, const char* option) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  AMPERE_REQUIRE(!line.empty(), option, " ", file, ": empty");
  return line;
}

}  // namespace

void apply_bridge_options(BridgeConfig& config, const std::string& http, const std::string& token_file,
                          const std::string& read_token_file) {
  const auto colon = http.rfind(':');
  AMPERE_REQUIRE(colon != std::string::npos, "--http: expected ADDR:PORT, got '", http, "'");
  config.host = http.substr(0, colon);
  try {
    config.port = std::stoi(http.substr(colon + 1));
  } catch (const std::exception&) {
    throw InputError("--http: bad port in '" + http + "'");
  }
  if (!token_file.empty()) config.token = first_line(token_file, "--token-file");
  if (!read_token_file.empty()) config.read_token = first_line(read_token_file, "--read-token-file");
}

HttpBridge::HttpBridge(SnapshotSource& snapshots, ClientFactory client, BridgeConfig config, CoordinatorMetrics* metrics)
    : snapshots_(snapshots),
      client_(std::move(client)),
      config_(std::move(config)),
      metrics_(metrics),
      server_(std::make_unique<httplib::Server>()),
      cache_(std::make_unique<ReplyCache>(config_.cache_entries)),
      latest_plan_(std::make_unique<LatestPlan>()) {}

HttpBridge::~HttpBridge() { stop(); }

void HttpBridge::start() {
  httplib::Server& s = *server_;
  s.set_payload_max_length(config_.max_body_bytes);
  // A keep-alive connection holds a handler thread while it is open: size the pool for the clients.
  const std::size_t threads = std::max<std::size_t>(2, config_.threads);
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // httplib listens with a backlog of 5 (compiled into Debian's library): many clients connecting at
  // once would see dropped SYNs and 1 s retransmits. Keep the socket to widen the backlog after bind.
  int listening = -1;
  s.set_socket_options([&listening](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listening = sock;
  });
  s.set_tcp_nodelay(true);  // small JSON replies: Nagle + delayed ACK would add ~40 ms each
  routes_ = std::make_unique<RouteContext>(RouteContext{snapshots_, client_, config_, metrics_, *cache_, *latest_plan_});
  add_routes(s, *routes_);
  if (!s.bind_to_port(config_.host, config_.port))
    throw InputError("bridge: cannot bind http://" + config_.host + ":" + std::to_string(config_.port));
  if (listening >= 0) ::listen(listening, SOMAXCONN);  // Linux updates the backlog of a listening socket
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  serving_ = std::thread([this] { server_->listen_after_bind(); });
  spdlog::info("bridge serving http://{}:{} (writes {})", config_.host, config_.port,
               config_.token.empty() ? "disabled" : "need the bearer token");
}

void HttpBridge::stop() {
  if (stopped_) return;
  stopped_ = true;
  server_->stop();
  if (serving_.joinable()) serving_.join();
}

}  // namespace ampere
