#include "coordinator/client/coordinator_client.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>
#include <cmath>
#include <thread>

#include "common/error.hpp"
#include "common/json_text.hpp"
#include "protocol.capnp.h"
#include "wire_convert.hpp"

namespace ampere {
namespace {

nlohmann::json status_json(wire::CampaignStatus::Reader status) {
  nlohmann::json out = nlohmann::json::array();
  for (auto c : status.getCampaigns()) {
    nlohmann::json kinds = nlohmann::json::array();
    for (auto k : c.getKinds()) {
      nlohmann::json convergence = nlohmann::json::array();
      for (auto step : k.getConvergence()) convergence.push_back({step.getPoints(), step.getMaxRelativeStd()});
      const double std = k.getMaxRelativeStd();
      kinds.push_back({{"kind", k.getKindKey().cStr()},
                       {"role", k.getRole().cStr()},
                       {"points", k.getPoints()},
                       {"budget", k.getBudget()},
                       {"max_relative_std", std::isnan(std) ? nlohmann::json(nullptr) : nlohmann::json(std)},
                       {"convergence", convergence},
                       {"state", k.getState().cStr()}});
      if (k.getFitError().size() > 0) kinds.back()["fit_error"] = k.getFitError().cStr();
    }
    nlohmann::json quarantined = nlohmann::json::array();
    for (auto row : c.getQuarantined()) quarantined.push_back(row.cStr());
    out.push_back({{"id", c.getCampaignId()},
                   {"family", c.getFamily().cStr()},
                   {"device_class", c.getDeviceClass().cStr()},
                   {"state", c.getState().cStr()},
                   {"jobs_queued", c.getJobsQueued()},
                   {"jobs_running", c.getJobsRunning()},
                   {"points", c.getJobsDone()},
                   {"points_remaining_at_most", c.getPointsRemainingAtMost()},
                   {"eta_seconds", std::isnan(c.getEtaSeconds()) ? nlohmann::json(nullptr) : nlohmann::json(c.getEtaSeconds())},
                   {"kinds", kinds},
                   {"quarantined", quarantined}});
  }
  return out;
}

/// The disconnects of one socket, from libzmq's socket monitor (set before the socket connects).
class ConnectionWatch {
 public:
  ConnectionWatch(zmq::context_t& context, zmq::socket_t& socket)
      : socket_(socket), endpoint_("inproc://ampere-client-watch-" + std::to_string(next_id())), monitor_(context, zmq::socket_type::pair) {
    if (zmq_socket_monitor(socket.handle(), endpoint_.c_str(), ZMQ_EVENT_DISCONNECTED) != 0) throw zmq::error_t();
    monitor_.set(zmq::sockopt::linger, 0);
    monitor_.connect(endpoint_);
  }
  ~ConnectionWatch() { zmq_socket_monitor(socket_.handle(), nullptr, 0); }
  ConnectionWatch(const ConnectionWatch&) = delete;
  ConnectionWatch& operator=(const ConnectionWatch&) = delete;

  /// Waits up to `timeout` for a reply on `socket`, returning early when its connection closes.
  void wait_reply_or_disconnect(zmq::socket_t& socket, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return;
      zmq::pollitem_t items[] = {{socket.handle(), 0, ZMQ_POLLIN, 0}, {monitor_.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 2, left);
      if ((items[0].revents & ZMQ_POLLIN) != 0) return;
      if ((items[1].revents & ZMQ_POLLIN) != 0) {
        zmq::message_t event, address;
        if (monitor_.recv(event, zmq::recv_flags::dontwait) && event.more()) (void)monitor_.recv(address, zmq::recv_flags::dontwait);
        std::uint16_t id = 0;
        if (event.size() >= sizeof id) std::memcpy(&id, event.data(), sizeof id);
        if (id == ZMQ_EVENT_DISCONNECTED) return;  // its peer is gone: no reply will come
      }
    }
  }

 private:
  static unsigned next_id() {
    static std::atomic<unsigned> id{0};
    return id++;
  }
  zmq::socket_t& socket_;
  std::string endpoint_;
  zmq::socket_t monitor_;
};

}  // namespace

CoordinatorClient::CoordinatorClient(zmq::context_t& context, std::string endpoint, std::chrono::milliseconds timeout,
                                     std::optional<CurveClientKeys> curve)
    : context_(context), endpoints_(endpoint), timeout_(timeout), curve_(std::move(curve)) {}

std::unique_ptr<DecodedEnvelope> CoordinatorClient::request(const std::string& frame, bool idempotent) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout_;
  const auto left = [&] {
    return std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
  };
  std::string tried;  // what each endpoint did, for the message when none answers
  const auto next = [&](const std::string& what) {
    tried += (tried.empty() ? "" : "; ") + endpoints_.current() + " " + what;
    if (endpoints_.advance()) std::this_thread::sleep_for(std::min(std::chrono::milliseconds(250), left()));
  };
  do {
    // A fresh REQ socket per attempt: a timed-out REQ socket cannot be reused.
    zmq::socket_t socket(context_, zmq::socket_type::req);
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::maxmsgsize, kMaxReplyFrameBytes);
    if (endpoints_.several()) socket.set(zmq::sockopt::immediate, 1);  // a dead endpoint is seen at once
    if (curve_) apply_curve_client(socket, *curve_);
    // Several endpoints: a coordinator killed while it holds the request closes its connection;
    // the socket's monitor says so at once, instead of the whole timeout passing in silence.
    std::optional<ConnectionWatch> watch;
    if (endpoints_.several()) watch.emplace(context_, socket);
    socket.connect(endpoints_.current());
    if (endpoints_.several() && !wait_connected(socket, std::min(std::chrono::milliseconds(1000), left()))) {
      next("could not be reached");
      continue;
    }
    socket.send(zmq::buffer(frame), zmq::send_flags::none);
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    if (watch) watch->wait_reply_or_disconnect(socket, left());
    else zmq::poll(&item, 1, timeout_);
    zmq::poll(&item, 1, std::chrono::milliseconds(0));
    if ((item.revents & ZMQ_POLLIN) == 0) {
      if (!endpoints_.several())
        throw InputError(detail::concat("coordinator at ", endpoints_.current(), " did not answer within ", timeout_.count() / 1000.0,
                                        " s (is ampere-coordinator running with --clients ", endpoints_.current(), "?)"),
                         ErrorCode::Unavailable);
      if (!idempotent)
        throw InputError(detail::concat("coordinator at ", endpoints_.current(),
                                        " took the request but did not answer: it may or may not have been done (not sent to "
                                        "another coordinator; check before trying again)"),
                         ErrorCode::Unavailable);
      next("did not answer");
      continue;
    }
    zmq::message_t reply;
    (void)socket.recv(reply, zmq::recv_flags::none);
    auto decoded = std::make_unique<DecodedEnvelope>(reply.to_string());
    const auto body = decoded->envelope().getBody();
    if (body.which() == wire::Envelope::Body::ERROR) {
      const ErrorCode code = from_wire(body.getError().getCode());
      if (code == ErrorCode::NotLeader && endpoints_.several()) {  // a standby did nothing: the next one
        next("stands by");
        continue;
      }
      throw InputError(body.getError().getMessage().cStr(), code);
    }
    return decoded;
  } while (Clock::now() < deadline);
  throw InputError(detail::concat("no coordinator answered as the leader within ", timeout_.count() / 1000.0, " s (", tried, ")"),
                   ErrorCode::Unavailable);
}

nlohmann::json CoordinatorClient::start_campaign(const std::string& family_json, const std::string& device_class,
                                                 std::uint32_t budget, const std::string& acquisition,
                                                 const std::string& estimator) {
  auto reply = request(make_frame([&](wire::Envelope::Body::Builder body) {
    auto s = body.initStartCampaign();
    s.setFamilySpecJson(family_json);
    s.setDeviceClass(device_class);
    s.setBudgetPerKind(budget);
    s.setAcquisition(acquisition);
    s.setEstimator(estimator);
  }), /*idempotent=*/false);
  return status_json(reply->envelope().getBody().getCampaignStatus()).at(0);
}

nlohmann::json CoordinatorClient::campaign_status(std::uint64_t campaign_id) {
  auto reply = request(make_frame([&](wire::Envelope::Body::Builder body) {
    body.initCampaignStatusRequest().setCampaignId(campaign_id);
  }));
  return status_json(reply->envelope().getBody().getCampaignStatus());
}

nlohmann::json CoordinatorClient::stop_campaign(std::uint64_t campaign_id) {
  auto reply = request(make_frame([&](wire::Envelope::Body::Builder body) {
    body.initStopCampaign().setCampaignId(campaign_id);
  }));
  return status_json(reply->envelope().getBody().getCampaignStatus()).at(0);
}

nlohmann::json CoordinatorClient::estimate(const std::string& model_json, const std::string& device_class,
                                           std::uint64_t iterations) {
  return estimate_or_profile(model_json, device_class, iterations, false).second;
}

std::pair<bool, nlohmann::json> CoordinatorClient::estimate_or_profile(const std::string& model_json,
                                                                       const std::string& device_class, std::uint64_t iterations,
                                                                       bool profile_missing, std::uint32_t budget_per_kind) {
  auto reply = request(make_frame([&](wire::Envelope::Body::Builder body) {
    auto e = body.initEstimateRequest();
    e.setModelSpecJson(model_json);
    e.setDeviceClass(device_class);
    e.setIterations(iterations);
    e.setProfileMissing(profile_missing);
    e.setBudgetPerKind(budget_per_kind);
  }));
  const auto r = reply->envelope().getBody().getEstimateReply();
  return {r.getAccepted(), parse_json(r.getJson().cStr(), "estimate reply")};
}

nlohmann::json CoordinatorClient::plan_prune(const nlohmann::json& request_json) {
  auto reply = request(make_frame([&](wire::Envelope::Body::Builder body) {
    body.initPlanPruneRequest().setRequestJson(request_json.dump());
  }));
  return parse_json(reply->envelope().getBody().getPlanPruneReply().getJson().cStr(), "plan:prune reply");
}

nlohmann::json CoordinatorClient::device_classes() {
  auto reply = request(make_frame([](wire::Envelope::Body::Builder body) { body.initDeviceClassesRequest(); }));
  nlohmann::json out = nlohmann::json::array();
  for (auto c : reply->envelope().getBody().getDeviceClasses().getClasses())
    out.push_back({{"name", c.getName().cStr()}, {"agents", c.getAgents()}});
  return out;
}

}  // namespace ampere
