#include "coordinator/client/coordinator_client.hpp"

#include <cmath>

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

}  // namespace

CoordinatorClient::CoordinatorClient(zmq::context_t& context, std::string endpoint, std::chrono::milliseconds timeout,
                                     std::optional<CurveClientKeys> curve)
    : context_(context), endpoint_(std::move(endpoint)), timeout_(timeout), curve_(std::move(curve)) {}

std::unique_ptr<DecodedEnvelope> CoordinatorClient::request(const std::string& frame) {
  // A fresh REQ socket per request: a timed-out REQ socket cannot be reused.
  zmq::socket_t socket(context_, zmq::socket_type::req);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::maxmsgsize, kMaxReplyFrameBytes);
  if (curve_) apply_curve_client(socket, *curve_);
  socket.connect(endpoint_);
  socket.send(zmq::buffer(frame), zmq::send_flags::none);
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, timeout_);
  if ((item.revents & ZMQ_POLLIN) == 0)
    throw InputError(detail::concat("coordinator at ", endpoint_, " did not answer within ", timeout_.count() / 1000.0,
                                    " s (is ampere-coordinator running with --clients ", endpoint_, "?)"),
                     ErrorCode::Unavailable);
  zmq::message_t reply;
  (void)socket.recv(reply, zmq::recv_flags::none);
  auto decoded = std::make_unique<DecodedEnvelope>(reply.to_string());
  const auto body = decoded->envelope().getBody();
  if (body.which() == wire::Envelope::Body::ERROR)
    throw InputError(body.getError().getMessage().cStr(), from_wire(body.getError().getCode()));
  return decoded;
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
  }));
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
