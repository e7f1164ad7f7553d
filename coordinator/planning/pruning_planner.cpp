#include "coordinator/planning/pruning_planner.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/layer_shapes.hpp"
#include "common/model_family.hpp"

namespace ampere {
namespace {

using nlohmann::json;

/// One free width of the family: where it sits, its range, and the model's own value (the top).
struct Slot {
  FreeWidthSlot at;
  ChannelRange range;
  std::int64_t top = 0;
  std::string path;

  std::int64_t lowest() const { return range.lowest(); }
  std::int64_t highest() const { return range.highest(); }
  std::int64_t snap(double value) const {
    const auto m = static_cast<double>(range.multiple_of);
    const auto v = static_cast<std::int64_t>(std::llround(value / m)) * range.multiple_of;
    return std::clamp(v, lowest(), highest());
  }
  /// 5% of the model's width, in whole multiples.
  std::int64_t step() const {
    const auto m = static_cast<double>(range.multiple_of);
    return std::max<std::int64_t>(1, std::llround(0.05 * static_cast<double>(top) / m)) * range.multiple_of;
  }
};

struct Cost {
  double mean = 0, std = 0, bound = 0;
  std::int64_t parameters = 0;
  double flops = 0;
};

class Planner {
 public:
  Planner(const Estimator& estimator, const PruneRequest& request)
      : estimator_(estimator), request_(request), family_(free_widths_family(request.model, request.min_fraction)) {
    z_ = request.confidence ? normal_quantile(*request.confidence) : 0.0;
    for (const FreeWidthSlot& at : free_width_slots(family_)) {
      const ChannelRange& range = width_at(family_, at);
      slots_.push_back({at, range, range.max, "layers[" + std::to_string(at.layer) + "]"});
    }
    AMPERE_REQUIRE(!slots_.empty(), request.model.name, ": no width to prune (every width is tied or the classifier's)");
  }

  std::vector<std::int64_t> tops() const {
    std::vector<std::int64_t> w;
    for (const Slot& s : slots_) w.push_back(s.highest());
    return w;
  }
  std::vector<std::int64_t> lowest() const {
    std::vector<std::int64_t> w;
    for (const Slot& s : slots_) w.push_back(s.lowest());
    return w;
  }
  std::vector<std::int64_t> uniform(double multiplier) const {
    std::vector<std::int64_t> w;
    for (const Slot& s : slots_) w.push_back(s.snap(multiplier * static_cast<double>(s.top)));
    return w;
  }

  ModelSpec member(const std::vector<std::int64_t>& widths) const {
    ModelSpec m = family_;
    for (std::size_t k = 0; k < slots_.size(); ++k) set_width_at(m, slots_[k].at, widths[k]);
    m.name = request_.model.name + "-pruned";
    return parse_model_spec(to_json(m));
  }

  Cost cost(const std::vector<std::int64_t>& widths) {
    const auto key = widths;
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    const ModelSpec m = member(widths);
    const json e = estimator_.estimate(m, request_.device_class, request_.iterations);
    const json& figure = e.at("total").at(request_.by_energy ? "joules" : "seconds");
    AMPERE_REQUIRE(!figure.is_null(), "device class '", request_.device_class, "' has no energy estimates (meter: ",
                   e.at("meter").get<std::string>(), "); plan by time (--by time)");
    meter_ = e.at("meter").get<std::string>();
    Cost c;
    c.mean = figure.at("mean").get<double>();
    c.std = figure.at("std").get<double>();
    c.bound = c.mean + z_ * c.std;
    const ModelCost mc = model_cost(m);
    c.parameters = mc.parameters;
    c.flops = mc.training_flops_per_iteration;
    cache_.emplace(key, c);
    return c;
  }

  json describe(const std::vector<std::int64_t>& widths) {
    const Cost c = cost(widths);
    json list = json::array();
    for (std::size_t k = 0; k < slots_.size(); ++k)
      list.push_back({{"layer", slots_[k].path}, {"top", slots_[k].top}, {"width", widths[k]}});
    return {{"widths", list},
            {"model", to_json(member(widths))},
            {"estimate", {{"mean", c.mean}, {"std", c.std}, {"bound", c.bound}}},
            {"parameters", c.parameters},
            {"training_flops_per_iteration", c.flops}};
  }

  /// The largest uniform multiplier in [lo, 1] whose member passes `fits` (bisection; `fits(lo)` holds).
  template <typename Fits>
  double largest_multiplier(double lo, Fits fits) {
    double hi = 1.0;
    if (fits(uniform(hi))) return hi;
    for (int i = 0; i < 24; ++i) {
      const double mid = 0.5 * (lo + hi);
      if (fits(uniform(mid))) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  /// Greedy: from the model, narrow the width whose step saves the most cost per parameter lost
  /// until the bound fits; then widen back, most parameters first, while it still fits.
  std::vector<std::int64_t> greedy(double budget) {
    std::vector<std::int64_t> w = tops();
    while (cost(w).bound > budget) {
      const Cost now = cost(w);
      std::size_t best = slots_.size();
      double best_score = -std::numeric_limits<double>::infinity();
      for (std::size_t k = 0; k < slots_.size(); ++k) {
        if (w[k] <= slots_[k].lowest()) continue;
        std::vector<std::int64_t> c = w;
        c[k] = std::max(slots_[k].lowest(), w[k] - slots_[k].step());
        const Cost next = cost(c);
        const double saved = now.bound - next.bound;
        const double lost = static_cast<double>(std::max<std::int64_t>(1, now.parameters - next.parameters));
        const double score = saved / lost;
        if (score > best_score) best_score = score, best = k;
      }
      if (best == slots_.size()) break;  // every width at its lowest (infeasible budgets are refused before)
      w[best] = std::max(slots_[best].lowest(), w[best] - slots_[best].step());
    }
    for (bool grew = true; grew;) {
      grew = false;
      std::size_t best = slots_.size();
      std::int64_t best_gain = 0;
      for (std::size_t k = 0; k < slots_.size(); ++k) {
        if (w[k] >= slots_[k].highest()) continue;
        std::vector<std::int64_t> c = w;
        c[k] = std::min(slots_[k].highest(), w[k] + slots_[k].range.multiple_of);
        const Cost next = cost(c);
        const std::int64_t gain = next.parameters - cost(w).parameters;
        if (next.bound <= budget && gain > best_gain) best_gain = gain, best = k;
      }
      if (best != slots_.size()) {
        w[best] = std::min(slots_[best].highest(), w[best] + slots_[best].range.multiple_of);
        grew = true;
      }
    }
    return w;
  }

  const std::string& meter() const { return meter_; }
  std::size_t slots() const { return slots_.size(); }
  std::size_t evaluations() const { return cache_.size(); }

 private:
  const Estimator& estimator_;
  const PruneRequest& request_;
  ModelSpec family_;
  std::vector<Slot> slots_;
  double z_ = 0;
  std::string meter_;
  std::map<std::vector<std::int64_t>, Cost> cache_;
};

const char* budget_name(PruneBudgetKind kind) {
  switch (kind) {
    case PruneBudgetKind::Joules: return "joules";
    case PruneBudgetKind::Seconds: return "seconds";
    case PruneBudgetKind::Fraction: return "fraction";
  }
  return "?";
}

}  // namespace

double normal_quantile(double p) {
  AMPERE_REQUIRE(p > 0 && p < 1, "confidence must be in (0, 1), got ", p);
  double lo = -10, hi = 10;
  for (int i = 0; i < 100; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

PruneRequest parse_prune_request(const json& body) {
  AMPERE_REQUIRE(body.is_object(), "plan:prune: the request must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    (void)value;
    static const std::vector<std::string> allowed{"model", "device_class", "budget", "by", "confidence", "iterations",
                                                  "min_fraction"};
    AMPERE_REQUIRE(std::find(allowed.begin(), allowed.end(), key) != allowed.end(), "unknown field '", key,
                   "' (allowed: model, device_class, budget, by, confidence, iterations, min_fraction)");
  }
  AMPERE_REQUIRE(body.contains("model"), "needs \"model\" (a model spec)");
  AMPERE_REQUIRE(body.contains("device_class") && body.at("device_class").is_string(), "needs \"device_class\" (a string)");
  PruneRequest r;
  try {
    r.model = parse_model_spec(body.at("model"));
  } catch (const InputError& e) {
    throw InputError(std::string("model: ") + e.what());
  }
  AMPERE_REQUIRE(!r.model.is_family(), "model: give the concrete model to prune (its widths are the tops), not a family");
  r.device_class = body.at("device_class").get<std::string>();
  AMPERE_REQUIRE(body.contains("budget") && body.at("budget").is_object() && body.at("budget").size() == 1,
                 "budget: one of {\"joules\": x}, {\"seconds\": x}, {\"fraction\": f}");
  // the budget's one member, read through a named iterator (a binding to *items().begin() would
  // outlive the temporary it reads: fuzz_http found it, ASan's stack-use-after-scope)
  const json& budget = body.at("budget");
  const auto member = budget.begin();
  const std::string kind = member.key();
  const json& value = member.value();
  AMPERE_REQUIRE(value.is_number() && value.get<double>() > 0, "budget.", kind, ": must be a positive number, got ",
                 value.dump());
  r.budget = value.get<double>();
  if (kind == "joules") r.budget_kind = PruneBudgetKind::Joules;
  else if (kind == "seconds") r.budget_kind = PruneBudgetKind::Seconds;
  else if (kind == "fraction") r.budget_kind = PruneBudgetKind::Fraction;
  else throw InputError("budget: unknown kind '" + kind + "' (joules, seconds, fraction)");
  AMPERE_REQUIRE(r.budget_kind != PruneBudgetKind::Fraction || r.budget <= 1, "budget.fraction: must be in (0, 1], got ", r.budget);
  AMPERE_REQUIRE(!body.contains("by") || body.at("by").is_string(), "by: energy or time, got ", body.value("by", json()).dump());
  const std::string by = body.value("by", std::string(r.budget_kind == PruneBudgetKind::Seconds ? "time" : "energy"));
  AMPERE_REQUIRE(by == "energy" || by == "time", "by: energy or time, got '", by, "'");
  r.by_energy = by == "energy";
  AMPERE_REQUIRE(!(r.budget_kind == PruneBudgetKind::Joules && !r.by_energy), "budget.joules bounds energy: use \"by\": \"energy\"");
  AMPERE_REQUIRE(!(r.budget_kind == PruneBudgetKind::Seconds && r.by_energy), "budget.seconds bounds time: use \"by\": \"time\"");
  if (body.contains("confidence") && !body.at("confidence").is_null()) {
    const json& p = body.at("confidence");
    AMPERE_REQUIRE(p.is_number() && p.get<double>() >= 0.5 && p.get<double>() < 1, "confidence: must be in [0.5, 1), got ",
                   p.dump());
    r.confidence = p.get<double>();
  }
  if (body.contains("iterations")) {
    AMPERE_REQUIRE(body.at("iterations").is_number_unsigned() && body.at("iterations").get<std::uint64_t>() > 0,
                   "iterations: must be a positive integer");
    r.iterations = body.at("iterations").get<std::uint64_t>();
  }
  if (body.contains("min_fraction")) {
    AMPERE_REQUIRE(body.at("min_fraction").is_number(), "min_fraction: must be a number in (0, 1]");
    r.min_fraction = body.at("min_fraction").get<double>();
  }
  AMPERE_REQUIRE(r.min_fraction > 0 && r.min_fraction <= 1, "min_fraction: must be in (0, 1], got ", r.min_fraction);
  return r;
}

json plan_prune(const Estimator& estimator, const PruneRequest& request) {
  Planner planner(estimator, request);
  const std::vector<std::int64_t> tops = planner.tops(), narrowest = planner.lowest();
  const Cost original = planner.cost(tops);
  const double budget = request.budget_kind == PruneBudgetKind::Fraction ? request.budget * original.mean : request.budget;
  const char* unit = request.by_energy ? "joules" : "seconds";
  const Cost least = planner.cost(narrowest);
  if (least.bound > budget)
    throw InputError(detail::concat("budget ", budget, " ", unit, " is below what the narrowest model of the family costs: ",
                                    least.bound, " ", unit, request.confidence ? " (upper bound)" : "", " at widths ",
                                    request.min_fraction, " of the model's (min_fraction)"),
                     ErrorCode::Unprocessable);
  auto fits = [&](const std::vector<std::int64_t>& w) { return planner.cost(w).bound <= budget; };
  // The uniform multiplier, and the greedy search.
  const double multiplier = planner.largest_multiplier(request.min_fraction, fits);
  const std::vector<std::int64_t> uniform = planner.uniform(multiplier);
  const std::vector<std::int64_t> greedy = planner.greedy(budget);
  // FLOPs-proportional pruning: cost taken as proportional to training FLOPs, so the budget's
  // share of the model's own estimate is the FLOPs share it keeps.
  const double share = budget / original.mean;
  const double flops_multiplier = planner.largest_multiplier(request.min_fraction, [&](const std::vector<std::int64_t>& w) {
    return planner.cost(w).flops <= share * original.flops;
  });
  const std::vector<std::int64_t> flops_plan = planner.uniform(flops_multiplier);

  json plans = json::object();
  plans["uniform"] = planner.describe(uniform);
  plans["uniform"]["multiplier"] = multiplier;
  plans["greedy"] = planner.describe(greedy);
  json flops = planner.describe(flops_plan);
  flops["multiplier"] = flops_multiplier;
  flops["within_budget"] = planner.cost(flops_plan).bound <= budget;
  flops["miss"] = (planner.cost(flops_plan).bound - budget) / budget;  // + over, − under the budget
  const bool greedy_wins = planner.cost(greedy).parameters >= planner.cost(uniform).parameters && fits(greedy);
  // The curve behind the convergence page's plot: cost against a uniform multiplier.
  json curve = json::array();
  for (int i = 0; i <= 12; ++i) {
    const double m = request.min_fraction + (1.0 - request.min_fraction) * i / 12.0;
    const Cost c = planner.cost(planner.uniform(m));
    curve.push_back({{"multiplier", m}, {"ampere", c.mean}, {"ampere_std", c.std},
                     {"flops_proportional", original.mean * c.flops / original.flops}});
  }
  return {{"model", request.model.name},
          {"device_class", request.device_class},
          {"by", request.by_energy ? "energy" : "time"},
          {"unit", unit},
          {"meter", planner.meter()},
          {"iterations", request.iterations},
          {"budget", {{"kind", budget_name(request.budget_kind)}, {"value", request.budget}, {unit, budget}}},
          {"confidence", request.confidence ? json(*request.confidence) : json(nullptr)},
          {"objective", "parameters kept"},
          {"min_fraction", request.min_fraction},
          {"free_widths", planner.slots()},
          {"original", {{"estimate", {{"mean", original.mean}, {"std", original.std}, {"bound", original.bound}}},
                        {"parameters", original.parameters},
                        {"training_flops_per_iteration", original.flops}}},
          {"narrowest", {{"estimate", {{"mean", least.mean}, {"std", least.std}, {"bound", least.bound}}},
                         {"parameters", least.parameters}}},
          {"plans", plans},
          {"flops_proportional", flops},
          {"chosen", greedy_wins ? "greedy" : "uniform"},
          {"curve", curve},
          {"estimates_evaluated", planner.evaluations()}};
}

}  // namespace ampere
