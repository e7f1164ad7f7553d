#include "coordinator/planning/pruning_planner.hpp"

#include <doctest/doctest.h>

#include "agent/simulated_device.hpp"
#include "common/layer_shapes.hpp"
#include "common/model_family.hpp"
#include "coordinator/planning/campaign.hpp"

using namespace ampere;
using nlohmann::json;

namespace {

// A small residual network in tied form (tests/data/models/mini-resnet.json): stem → identity residual →
// projection residual → conv → classifier.
ModelSpec small_resnet() { return load_model_spec(std::string(AMPERE_TEST_DATA_DIR) + "/models/mini-resnet.json"); }

/// The family of the model profiled on a simulated device: the estimator a coordinator would hold.
const Estimator& profiled() {
  static const Estimator estimator = [] {
    const SimulatedDevice device(simulated_profile("tx2"));
    CampaignSettings settings;
    settings.budget_per_kind = 10;
    Campaign campaign(1, free_widths_family(small_resnet(), 0.25), "sim-tx2", settings);
    std::uint64_t seed = 0;
    for (int round = 0; round < 1000 && !campaign.done(); ++round)
      for (const PlannedJob& job : campaign.plan(4)) campaign.add_result(job.kind, job.channels, device.measure(job.variant, 3, ++seed));
    REQUIRE(campaign.done());
    Estimator e;
    e.set_models("sim-tx2", campaign.models());
    return e;
  }();
  return estimator;
}

json request(const std::string& budget_kind, double value, const std::string& by) {
  return {{"model", to_json(small_resnet())}, {"device_class", "sim-tx2"}, {"budget", {{budget_kind, value}}}, {"by", by}};
}

}  // namespace

TEST_CASE("the planner keeps a half-energy budget with both searches and prunes fewer parameters than it must not") {
  const json plan = plan_prune(profiled(), parse_prune_request(request("fraction", 0.5, "energy")));
  const double budget = plan.at("budget").at("joules").get<double>();
  CHECK(budget == doctest::Approx(0.5 * plan.at("original").at("estimate").at("mean").get<double>()));
  CHECK(plan.at("free_widths") == 3);  // the stem (the identity residual follows it), the projection residual, the 1×1 conv
  CHECK(plan.at("meter") == "simulated");  // a simulated joule says so
  const std::int64_t all = plan.at("original").at("parameters"), least = plan.at("narrowest").at("parameters");
  for (const char* search : {"uniform", "greedy"}) {
    CAPTURE(search);
    const json& p = plan.at("plans").at(search);
    CHECK(p.at("estimate").at("bound").get<double>() <= budget);
    CHECK(p.at("estimate").at("mean").get<double>() >= 0.8 * budget);  // not pruned far below what it may spend
    CHECK(p.at("parameters").get<std::int64_t>() < all);
    CHECK(p.at("parameters").get<std::int64_t>() > least);
    // the plan's model is a concrete member that estimates to what the plan says
    const ModelSpec member = parse_model_spec(p.at("model"));
    CHECK_FALSE(member.is_family());
    CHECK(profiled().estimate(member, "sim-tx2", 1).at("joules_per_iteration").at("mean").get<double>() ==
          doctest::Approx(p.at("estimate").at("mean").get<double>()));
    CHECK(model_cost(member).parameters == p.at("parameters").get<std::int64_t>());
  }
  const std::string chosen = plan.at("chosen");
  CHECK(plan.at("plans").at(chosen).at("parameters") >=
        plan.at("plans").at(chosen == "greedy" ? "uniform" : "greedy").at("parameters"));
  // FLOPs-proportional pruning and what AMPERE says it costs, beside the plan
  const json& flops = plan.at("flops_proportional");
  CHECK(flops.at("training_flops_per_iteration").get<double>() <=
        0.5 * plan.at("original").at("training_flops_per_iteration").get<double>() * 1.0001);
  CHECK(flops.at("miss").get<double>() ==
        doctest::Approx(flops.at("estimate").at("bound").get<double>() / budget - 1));
  CHECK(plan.at("curve").size() == 13);
}

TEST_CASE("with a confidence the upper bound must fit, which keeps no more than the mean does") {
  json r = request("fraction", 0.5, "time");
  const json mean_plan = plan_prune(profiled(), parse_prune_request(r));
  r["confidence"] = 0.9;
  const json bound_plan = plan_prune(profiled(), parse_prune_request(r));
  const json& p = bound_plan.at("plans").at("greedy");
  const double budget = bound_plan.at("budget").at("seconds").get<double>();
  CHECK(p.at("estimate").at("bound").get<double>() ==
        doctest::Approx(p.at("estimate").at("mean").get<double>() + normal_quantile(0.9) * p.at("estimate").at("std").get<double>()));
  CHECK(p.at("estimate").at("bound").get<double>() <= budget);
  CHECK(p.at("parameters") <= mean_plan.at("plans").at("greedy").at("parameters"));
  CHECK(normal_quantile(0.9) == doctest::Approx(1.2816).epsilon(1e-4));
  CHECK(normal_quantile(0.5) == doctest::Approx(0).scale(1));
}

TEST_CASE("a budget below the narrowest member is refused with that cost, and nothing is planned") {
  try {
    plan_prune(profiled(), parse_prune_request(request("fraction", 0.01, "energy")));
    FAIL("expected a refusal");
  } catch (const InputError& e) {
    CHECK(e.code() == ErrorCode::Unprocessable);
    CHECK(doctest::String(e.what()) == doctest::Contains("is below what the narrowest model of the family costs: "));
  }
  // an absolute budget in joules above the model's own cost: the model itself is the plan
  const json whole = plan_prune(profiled(), parse_prune_request(request("joules", 1e6, "energy")));
  CHECK(whole.at("plans").at("greedy").at("parameters") == whole.at("original").at("parameters"));
  CHECK(whole.at("plans").at("uniform").at("multiplier") == 1.0);
}

TEST_CASE("plan requests are checked field by field") {
  auto refused = [](json body) {
    try {
      parse_prune_request(body);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  json r = request("fraction", 0.5, "energy");
  CHECK(refused(r) == "(accepted)");
  json bad = r;
  bad["budget"] = {{"watts", 3}};
  CHECK(doctest::String(refused(bad).c_str()) == doctest::Contains("budget: unknown kind 'watts'"));
  bad["budget"] = {{"fraction", 1.5}};
  CHECK(doctest::String(refused(bad).c_str()) == doctest::Contains("budget.fraction: must be in (0, 1]"));
  bad = r;
  bad["budget"] = {{"seconds", 3}};
  CHECK(doctest::String(refused(bad).c_str()) == doctest::Contains("budget.seconds bounds time"));
  bad = r;
  bad["confidence"] = 1.0;
  CHECK(doctest::String(refused(bad).c_str()) == doctest::Contains("confidence: must be in [0.5, 1)"));
  bad = r;
  bad["by"] = 5;  // found by fuzz_http: a json type error used to escape (a 500)
  CHECK(doctest::String(refused(bad).c_str()) == doctest::Contains("by: energy or time, got 5"));
  bad = r;
  bad["colour"] = "red";
  CHECK(doctest::String(refused(bad).c_str()) == doctest::Contains("unknown field 'colour'"));
  bad = r;
  bad["model"] = to_json(free_widths_family(small_resnet(), 0.5));
  CHECK(doctest::String(refused(bad).c_str()) == doctest::Contains("give the concrete model to prune"));
  bad = r;
  bad["by"] = "carbon";
  CHECK(doctest::String(refused(bad).c_str()) == doctest::Contains("by: energy or time"));
}
