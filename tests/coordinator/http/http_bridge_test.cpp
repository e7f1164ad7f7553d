// The bridge with its authority handed in: a fixed snapshot and a fake coordinator behind the
// client, which refuses with chosen codes and misleading messages, so a status chosen by message
// text would show.
#include "coordinator/http/http_bridge.hpp"

#include <set>

#include <atomic>
#include <deque>
#include <thread>

#include <tuple>

#include <doctest/doctest.h>

#include <functional>
#include <httplib.h>

#include "coordinator/http/openapi.hpp"
#include "coordinator/http/reply_cache.hpp"
#include "coordinator/http/routes.hpp"
#include "integration/process.hpp"
#include "protocol.capnp.h"
#include "wire_convert.hpp"

using namespace ampere;
using ampere::testing::free_port;

namespace {

/// Answers each request with the next (code, message) Error, on an inproc REP socket.
class FakeCoordinator {
 public:
  FakeCoordinator(zmq::context_t& context, std::deque<std::pair<ErrorCode, std::string>> replies)
      : socket_(context, zmq::socket_type::rep), replies_(std::move(replies)) {
    socket_.bind("inproc://coordinator");
    thread_ = std::thread([this] {
      while (!stop_) {
        zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, std::chrono::milliseconds(50));
        if ((item.revents & ZMQ_POLLIN) == 0) continue;
        zmq::message_t request;
        (void)socket_.recv(request);
        const auto [code, message] = replies_.front();
        replies_.pop_front();
        socket_.send(zmq::buffer(error_frame(code, message, "test")), zmq::send_flags::none);
      }
    });
  }
  ~FakeCoordinator() {
    stop_ = true;
    thread_.join();
  }

 private:
  zmq::socket_t socket_;
  std::deque<std::pair<ErrorCode, std::string>> replies_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// A started bridge on a free port, with no snapshot, asking the FakeCoordinator on `context`;
/// `token`: the write token ("" writes disabled).
struct BridgeOnFake {
  BridgeOnFake(zmq::context_t& context, const std::string& token) : config(make_config(token)) {
    bridge = std::make_unique<HttpBridge>(snapshots, [&context] {
      return std::make_unique<CoordinatorClient>(context, "inproc://coordinator", std::chrono::milliseconds(2000));
    }, config);
    bridge->start();
  }
  ~BridgeOnFake() { bridge->stop(); }
  static BridgeConfig make_config(const std::string& token) {
    BridgeConfig c;
    c.port = free_port();
    c.token = token;
    return c;
  }
  FixedSnapshotSource snapshots{nullptr};
  BridgeConfig config;
  std::unique_ptr<HttpBridge> bridge;
  httplib::Client http{"127.0.0.1", config.port};
};

}  // namespace

TEST_CASE("the bridge answers a coordinator's refusal by its code, never by its message text") {
  zmq::context_t context;
  // messages that the old text matching would have mapped to other statuses
  FakeCoordinator coordinator(context, {{ErrorCode::Unprocessable, "device class 'x' has no registered agents"},
                                        {ErrorCode::NotFound, "did not answer"},
                                        {ErrorCode::Unavailable, "no campaign 5"},
                                        {ErrorCode::NotFound, "nothing"},
                                        {ErrorCode::Unavailable, "store away"}});
  BridgeOnFake on_fake(context, "t");
  httplib::Client& http = on_fake.http;
  const httplib::Headers auth = {{"Authorization", "Bearer t"}};
  const std::string start = R"({"family": {}, "device_class": "x"})";
  auto post = [&](const std::string& body) { return http.Post("/v1/campaigns", auth, body, "application/json"); };
  auto r = post(start);
  REQUIRE(r);
  CHECK(r->status == 422);
  CHECK(r->body.find("has no registered agents") != std::string::npos);
  r = post(start);
  REQUIRE(r);
  CHECK(r->status == 404);
  r = http.Get("/v1/campaigns/5");
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(http.Get("/v1/campaigns/5")->status == 404);
  CHECK(http.Get("/v1/campaigns")->status == 503);
  // no snapshot loaded yet: not ready, and estimates say so
  CHECK(http.Get("/readyz")->status == 503);
  CHECK(http.Post("/v1/estimate", R"({"model": {}, "device_class": "x"})", "application/json")->status == 503);
  CHECK(http.Post("/v1/campaigns", R"({})", "application/json")->status == 401);  // no token
}

TEST_CASE("POST /v1/campaigns/ID:stop is a write: 403 without a write token configured, 401 without the token, the coordinator's code otherwise") {
  zmq::context_t context;
  FakeCoordinator coordinator(context, {{ErrorCode::NotFound, "no campaign 7"}, {ErrorCode::Forbidden, "a reader may not"}});
  const httplib::Headers auth = {{"Authorization", "Bearer t"}};
  {
    BridgeOnFake on_fake(context, "t");
    httplib::Client& http = on_fake.http;
    CHECK(http.Post("/v1/campaigns/7:stop", "", "application/json")->status == 401);
    CHECK(http.Post("/v1/campaigns/7:stop", {{"Authorization", "Bearer x"}}, "", "application/json")->status == 401);
    auto r = http.Post("/v1/campaigns/7:stop", auth, "", "application/json");
    REQUIRE(r);
    CHECK(r->status == 404);
    CHECK(r->body.find("no campaign 7") != std::string::npos);
    CHECK(http.Post("/v1/campaigns/7:stop", auth, "", "application/json")->status == 403);
    CHECK(http.Post("/v1/campaigns/0:stop", auth, "", "application/json")->status == 404);  // never reaches the coordinator
  }
  BridgeOnFake writes_disabled(context, "");
  CHECK(writes_disabled.http.Post("/v1/campaigns/7:stop", auth, "", "application/json")->status == 403);
}

TEST_CASE("estimates from a fixed snapshot: an unknown class is 404, a bad spec 400 naming the field") {
  zmq::context_t context;
  auto snapshot = std::make_shared<BridgeSnapshot>();
  snapshot->generation = 1;
  FixedSnapshotSource snapshots(snapshot);
  BridgeConfig config;
  config.port = free_port();
  HttpBridge bridge(snapshots, [&context] {
    return std::make_unique<CoordinatorClient>(context, "inproc://nobody", std::chrono::milliseconds(100));
  }, config);
  bridge.start();
  httplib::Client http("127.0.0.1", config.port);
  const std::string model = R"({"name": "m", "input": {"shape": [1, 8, 8]}, "batch_size": 2, "classes": 3,
    "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 3}]})";
  auto r = http.Post("/v1/estimate", R"({"model": )" + model + R"(, "device_class": "phone"})", "application/json");
  REQUIRE(r);
  CHECK(r->status == 404);
  CHECK(r->body.find("device class 'phone'") != std::string::npos);
  r = http.Post("/v1/estimate", R"({"model": {"name": "m"}, "device_class": "phone"})", "application/json");
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(r->body.find("model: ") != std::string::npos);
  CHECK(http.Get("/readyz")->status == 200);
  bridge.stop();
}

namespace {
/// A bridge on a free port over an empty snapshot and no coordinator (the hostile HTTP cases);
/// `adjust` changes its config (tokens) before it starts.
struct HostileBridge {
  zmq::context_t context;
  FixedSnapshotSource snapshots{std::make_shared<BridgeSnapshot>()};
  BridgeConfig config;
  std::unique_ptr<HttpBridge> bridge;
  explicit HostileBridge(const std::function<void(BridgeConfig&)>& adjust = {}) {
    config.port = free_port();
    config.token = "t0ken";
    if (adjust) adjust(config);
    bridge = std::make_unique<HttpBridge>(snapshots, [this] {
      return std::make_unique<CoordinatorClient>(context, "inproc://nobody", std::chrono::milliseconds(100));
    }, config);
    bridge->start();
  }
  ~HostileBridge() { bridge->stop(); }
  httplib::Client http() const { return httplib::Client("127.0.0.1", config.port); }
};
}  // namespace

TEST_CASE("hostile: a 400,000-deep JSON array posted to /v1/estimate is refused 400, and the bridge keeps answering") {
  HostileBridge b;
  const BridgeConfig& config = b.config;
  auto http = b.http();
  for (const char* open : {"[", "{\"a\":"}) {
    std::string deep;
    for (int i = 0; i < 400000 && deep.size() < config.max_body_bytes - 2; ++i) deep += open;
    const auto r = http.Post("/v1/estimate", deep, "application/json");
    REQUIRE(r);
    CHECK((r->status == 400 || r->status == 413));
    if (r->status == 400) CHECK(r->body.find("nested deeper than 64") != std::string::npos);
  }
  const std::string deep_array = std::string(200000, '[') + std::string(200000, ']');
  const auto r = http.Post("/v1/estimate", deep_array, "application/json");
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(r->body.find("nested deeper than 64") != std::string::npos);
  CHECK(http.Get("/healthz")->status == 200);
  b.bridge->stop();
}

TEST_CASE("hostile: campaign ids past 2^63, or 0, are answered 404, never 500") {
  HostileBridge b;
  auto http = b.http();
  for (const char* path : {"/v1/campaigns/99999999999999999999", "/v1/campaigns/9223372036854775808", "/v1/campaigns/0"}) {
    const auto r = http.Get(path);
    REQUIRE(r);
    CHECK(r->status == 404);
  }
  b.bridge->stop();
}

TEST_CASE("hostile: a write with a wrong token of the right length, or a prefix of it, is 401") {
  HostileBridge b([](BridgeConfig& c) { c.token = "s3cret-token"; });
  auto http = b.http();
  for (const char* token : {"s3cret-tokeX", "s3cret", "s3cret-token-and-more", ""}) {
    const httplib::Headers headers = {{"Authorization", std::string("Bearer ") + token}};
    const auto r = http.Post("/v1/campaigns", headers, R"({"family": {}, "device_class": "x"})", "application/json");
    REQUIRE(r);
    CHECK(r->status == 401);
  }
  b.bridge->stop();
}

TEST_CASE("hostile: with a read token, reads under /v1/ without it are 401, with either token answered, probes open") {
  HostileBridge b([](BridgeConfig& c) {
    c.token = "write-token";
    c.read_token = "read-token";
  });
  auto http = b.http();
  const std::string body = R"({"model": {"name": "m"}, "device_class": "phone"})";
  CHECK(http.Post("/v1/estimate", body, "application/json")->status == 401);
  CHECK(http.Get("/v1/device-classes")->status == 401);
  CHECK(http.Post("/v1/estimate", {{"Authorization", "Bearer wrong-token"}}, body, "application/json")->status == 401);
  CHECK(http.Post("/v1/estimate", {{"Authorization", "Bearer read-token"}}, body, "application/json")->status == 400);
  CHECK(http.Post("/v1/estimate", {{"Authorization", "Bearer write-token"}}, body, "application/json")->status == 400);
  CHECK(http.Get("/healthz")->status == 200);
  CHECK(http.Get("/openapi.json")->status == 200);
  b.bridge->stop();
}


TEST_CASE("hostile: a body past --max-body is refused 413 before it is parsed") {
  HostileBridge b;
  auto http = b.http();
  const auto r = http.Post("/v1/estimate", std::string(b.config.max_body_bytes + 1024, ' '), "application/json");
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(http.Get("/healthz")->status == 200);
}

TEST_CASE("hostile: bodies that are not JSON objects, or not JSON at all, or of another type, are refused 4xx with JSON") {
  HostileBridge b;
  auto http = b.http();
  for (const auto& [body, type, status] : std::vector<std::tuple<std::string, std::string, int>>{
           {"[1,2,3]", "application/json", 400}, {"\"text\"", "application/json", 400}, {"{oops", "application/json", 400},
           {"{}", "text/plain", 415}, {"\xff\xfe{}", "application/json", 400}}) {
    const auto r = http.Post("/v1/plan:prune", body, type);
    REQUIRE(r);
    CAPTURE(body);
    CHECK(r->status == status);
    CHECK(nlohmann::json::parse(r->body).contains("error"));
  }
}

TEST_CASE("hostile: a batch whose entries nest deep or are not objects answers each entry, never 500") {
  HostileBridge b;
  auto http = b.http();
  nlohmann::json batch = {{"requests", nlohmann::json::array({1, "x", nullptr, nlohmann::json::array({nlohmann::json::array()})})}};
  const auto r = http.Post("/v1/estimate:batch", batch.dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  for (const auto& result : nlohmann::json::parse(r->body).at("results")) CHECK(result.at("status") == 400);
  const std::string deep = "{\"requests\": " + std::string(100, '[') + std::string(100, ']') + "}";
  CHECK(http.Post("/v1/estimate:batch", deep, "application/json")->status == 400);
}

TEST_CASE("hostile: device class names of 10,000 bytes or with encoded slashes in routes are 404, never 500") {
  HostileBridge b;
  auto http = b.http();
  for (const std::string& name : {std::string(10000, 'x'), std::string("a%2Fb"), std::string("%00")}) {
    const auto r = http.Get("/v1/device-classes/" + name + "/accuracy");
    REQUIRE(r);
    CAPTURE(r->status);
    CHECK(r->status != 500);  // 404, 503 before any snapshot, 414 past httplib's URI limit
    CHECK(r->status >= 400);
  }
}

TEST_CASE("hostile: a plan:prune whose by is not a string (found by fuzz_http) is answered 400, never 500") {
  HostileBridge b;
  auto http = b.http();
  const std::string model = R"({"name": "m", "input": {"shape": [1, 8, 8]}, "batch_size": 2, "classes": 3,
    "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 3}]})";
  const auto r = http.Post("/v1/plan:prune", R"({"model": )" + model + R"(, "device_class": "c", "budget": {"fraction": 0.5}, "by": 5})",
                           "application/json");
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(r->body.find("by: energy or time") != std::string::npos);
  CHECK(http.Get("/healthz")->status == 200);
}

TEST_CASE("every served route has exactly one OpenAPI operation, and the document names each status, schema and security") {
  FixedSnapshotSource snapshots(nullptr);
  const ClientFactory client = [] { return std::unique_ptr<CoordinatorClient>(); };
  BridgeConfig config;
  ReplyCache cache(0);
  LatestPlan plan;
  const RouteContext context{snapshots, client, config, nullptr, cache, plan};
  const std::vector<Route> routes = route_table(context);
  CHECK(routes.size() == bridge_routes().size());
  std::set<std::string> operation_ids;
  for (const Route& route : routes) {
    CAPTURE(route.pattern);
    const RouteDoc* doc = find_route_doc(route.method, route.pattern);
    REQUIRE(doc != nullptr);
    CHECK(operation_ids.insert(doc->operation_id).second);
  }
  const auto openapi = nlohmann::json::parse(openapi_document());
  CHECK(openapi.at("openapi") == "3.0.3");
  for (const RouteDoc& doc : bridge_routes()) {
    CAPTURE(doc.path);
    const auto& op = openapi.at("paths").at(doc.path).at(doc.method);
    CHECK(op.at("operationId") == doc.operation_id);
    for (const auto& [status, schema] : doc.responses) {
      const auto& response = op.at("responses").at(std::to_string(status));
      if (status >= 400)
        CHECK(response.at("content").at("application/problem+json").at("schema").at("$ref") == "#/components/schemas/Problem");
      else if (!schema.empty() && schema != "html")
        CHECK(openapi.at("components").at("schemas").contains(schema));
    }
    // every write requires the bearer token; nothing else does
    const bool write = doc.access == RouteAccess::Write;
    if (write) CHECK(op.at("security") == nlohmann::json::array({{{"bearer", nlohmann::json::array()}}}));
    else CHECK((op.at("security").empty() || op.at("security").at(0) == nlohmann::json::object()));  // optional
    if (write) CHECK(op.at("responses").contains("401"));
    if (doc.method == "post" && doc.path != "/v1/campaigns/{id}:stop") CHECK(op.contains("requestBody"));
  }
  CHECK(openapi.at("paths").at("/v1/campaigns").at("post").at("responses").at("201").at("headers").contains("Location"));
}

TEST_CASE("an error is a problem document: type, title, status, detail and our code, the old error field kept") {
  const auto p = problem_document(404, {{"error", "no campaign 7"}, {"code", "not-found"}});
  CHECK(p.at("type") == "urn:ampere:problem:not-found");
  CHECK(p.at("title") == "Not found");
  CHECK(p.at("status") == 404);
  CHECK(p.at("detail") == "no campaign 7");
  CHECK(p.at("code") == "not-found");
  CHECK(p.at("error") == "no campaign 7");
  const auto missing = problem_document(422, {{"error", "never profiled"}, {"missing_kinds", {"k"}}});
  CHECK(missing.at("code") == "unprocessable");  // from the status when no code is given
  CHECK(missing.at("missing_kinds") == nlohmann::json::array({"k"}));
  CHECK(problem_document(413, {{"error", "too large"}}).at("code") == "too-large");
}
