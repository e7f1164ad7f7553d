#include "coordinator/planning/model_catalog.hpp"

#include <doctest/doctest.h>

using namespace ampere;

namespace {

nlohmann::json spec_with(const nlohmann::json& channels, const std::string& name) {
  return nlohmann::json{{"name", name},
                        {"input", {{"shape", {1, 8, 8}}}},
                        {"batch_size", 2},
                        {"classes", 3},
                        {"layers",
                         {{{"type", "conv2d"}, {"out_channels", channels}, {"kernel", 3}, {"padding", 1}},
                          {{"type", "relu"}},
                          {{"type", "flatten"}},
                          {{"type", "linear"}, {"out_features", 3}}}}};
}

ModelSpec model_with(std::int64_t c, const std::string& name) { return parse_model_spec(spec_with(c, name)); }

/// A GP through seconds = slope · c on the channel range [1, 16].
KindModel line_model(double slope) {
  auto gp = std::make_shared<GaussianProcess>(std::vector<std::pair<double, double>>{{1, 16}});
  Eigen::MatrixXd x(3, 1);
  x << 1, 8, 16;
  gp->set_data(x, Eigen::Vector3d(slope * 1, slope * 8, slope * 16));
  KindModel m;
  m.seconds = gp;
  m.points = 3;
  return m;
}

Measurement seconds(double s) {
  Measurement m;
  m.seconds_per_iteration = {s};
  return m;
}

JobRecord job(std::uint64_t id, const ModelSpec& model, bool holdout) {
  JobRecord j;
  j.id = id;
  j.campaign_id = 1;
  j.kind_key = holdout ? kHoldoutKind : "v1|some-kind";
  j.variant_json = to_json(model).dump();
  j.state = JobState::Done;
  return j;
}

StoredCampaign stored() {
  StoredCampaign c;
  c.record = {1, spec_with({{"min", 1}, {"max", 16}}, "f").dump(), "phone", 10, "max-variance", CampaignState::Done};
  const std::vector<Block> blocks = parse_blocks(model_with(8, "m"));
  REQUIRE(blocks.size() == 2);
  c.kind_models = {{blocks[0].kind.str(), kind_model_to_json(line_model(0.001)).dump()},
                   {blocks[1].kind.str(), kind_model_to_json(line_model(0.0005)).dump()}};
  // two profiled variant networks, one held-out model: truth = 0.0015 · c
  c.jobs = {job(1, model_with(4, "v4"), false), job(2, model_with(12, "v12"), false), job(3, model_with(8, "h8"), true)};
  c.results = {{1, "a", seconds(0.006)}, {2, "a", seconds(0.018)}, {3, "a", seconds(0.012)}};
  return c;
}

}  // namespace

TEST_CASE("the catalog rebuilds estimates, a FLOPs line from variant networks only, and held-out scores") {
  const ModelCatalog catalog = ModelCatalog::from_stored({stored()});
  const nlohmann::json e = catalog.estimator().estimate(model_with(8, "h8"), "phone", 1);
  CHECK(e.at("seconds_per_iteration").at("mean").get<double>() == doctest::Approx(0.012).epsilon(0.02));
  CHECK(e.at("flops_baseline").at("fitted_on_variant_networks") == 2);  // the held-out model is not in the line
  const AccuracyScore score = catalog.heldout_score("phone");
  CHECK(score.models == 1);
  REQUIRE(score.seconds);
  CHECK(*score.seconds < 0.02);
  const auto report = catalog.accuracy_report();
  REQUIRE(report.count("phone") == 1);
  const nlohmann::json& phone = report.at("phone");
  CHECK(phone.at("points").size() == 3);
  CHECK(phone.at("heldout_models") == 1);
  int heldout = 0;
  for (const auto& p : phone.at("points")) heldout += p.at("heldout").get<bool>() ? 1 : 0;
  CHECK(heldout == 1);
  CHECK(catalog.heldout_score("tablet").models == 0);
}

TEST_CASE("results added one by one give the same catalog as rebuilding from the store") {
  const StoredCampaign c = stored();
  ModelCatalog live;
  std::map<KindKey, KindModel> models;
  for (const auto& [key, json] : c.kind_models) models[KindKey(key)] = kind_model_from_json(nlohmann::json::parse(json));
  live.set_models("phone", models);
  for (std::size_t i = 0; i < c.jobs.size(); ++i) live.add_measured("phone", 1, c.jobs[i], c.results[i].measurement);
  const ModelCatalog rebuilt = ModelCatalog::from_stored({c});
  const ModelSpec m = model_with(5, "m5");
  CHECK(live.estimator().estimate(m, "phone", 1).dump() == rebuilt.estimator().estimate(m, "phone", 1).dump());
  CHECK(live.accuracy_report().at("phone").dump() == rebuilt.accuracy_report().at("phone").dump());
}

TEST_CASE("a stored result for a job the campaign does not hold, or a bad model, is left out and the rest kept") {
  const ModelSpec m = model_with(5, "m5");
  const std::string expected = ModelCatalog::from_stored({stored()}).estimator().estimate(m, "phone", 1).dump();
  StoredCampaign c = stored();
  c.results.push_back({99, "a", seconds(0.1)});
  CHECK(ModelCatalog::from_stored({c}).estimator().estimate(m, "phone", 1).dump() == expected);
  StoredCampaign bad = stored();
  bad.jobs[0].variant_json = "{";  // its result goes with it: the FLOPs line has one variant network left
  const nlohmann::json e = ModelCatalog::from_stored({bad}).estimator().estimate(m, "phone", 1);
  CHECK(e.at("flops_baseline").at("fitted_on_variant_networks") < 2);  // one left: too few for a line
  StoredCampaign family = stored();
  family.record.family_json = "[[[[";  // the whole campaign is set aside, nothing thrown
  CHECK(ModelCatalog::from_stored({family}).estimator().device_classes().empty());
}
