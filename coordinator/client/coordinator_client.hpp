// The client side of the coordinator's client socket (the ampere CLI, scripts, tests).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "security/coordinator_endpoints.hpp"
#include "security/curve_client.hpp"

#include "wire_codec.hpp"

namespace ampere {

/// One request at a time to a coordinator. Not thread safe.
class CoordinatorClient {
 public:
  /// `endpoint` may be a comma list of every coordinator's client endpoint (--ha): a request goes
  /// to one at a time, moving on from one that cannot be reached, does not answer, or is a
  /// standby, until one answers or `timeout` has passed. With `curve`, every request's socket is
  /// a CURVE client of the coordinator (docs/security.md; every instance may share one key pair).
  CoordinatorClient(zmq::context_t& context, std::string endpoint,
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(30000),
                    std::optional<CurveClientKeys> curve = std::nullopt);
  /// Sends a frame, waits for the reply. Throws InputError coded Unavailable when no coordinator
  /// answers in time (or, for a request that is not `idempotent`, when one that got it did not
  /// answer: it may or may not have been done, so it is not sent to another), or with the Error's
  /// message and code when it refuses.
  std::unique_ptr<DecodedEnvelope> request(const std::string& frame, bool idempotent = true);

  /// The common requests; each throws InputError with the coordinator's message and code on refusal.
  /// `estimator` empty: the coordinator's default (joint).
  nlohmann::json start_campaign(const std::string& family_json, const std::string& device_class, std::uint32_t budget,
                                const std::string& acquisition, const std::string& estimator = "");
  nlohmann::json campaign_status(std::uint64_t campaign_id);
  /// Stops a running campaign (its queued jobs are dropped, running ones finish); stopping one
  /// that is done or stopped changes nothing. Returns its status. Throws coded NotFound for an
  /// unknown id, Forbidden for a reader, Unavailable when the store cannot record it.
  nlohmann::json stop_campaign(std::uint64_t campaign_id);
  nlohmann::json estimate(const std::string& model_json, const std::string& device_class, std::uint64_t iterations);
  /// An estimate, or with `profile_missing` the campaign profiling the kinds it lacks: first is
  /// true when profiling was started or is running (second is {campaign_id, missing_kinds, state}).
  std::pair<bool, nlohmann::json> estimate_or_profile(const std::string& model_json, const std::string& device_class,
                                                      std::uint64_t iterations, bool profile_missing,
                                                      std::uint32_t budget_per_kind = 0);
  /// A pruning plan; `request` is the JSON of `POST /v1/plan:prune` (docs/method.md §13).
  nlohmann::json plan_prune(const nlohmann::json& request);
  nlohmann::json device_classes();

 private:
  zmq::context_t& context_;
  CoordinatorEndpoints endpoints_;
  std::chrono::milliseconds timeout_;
  std::optional<CurveClientKeys> curve_;
};

}  // namespace ampere
