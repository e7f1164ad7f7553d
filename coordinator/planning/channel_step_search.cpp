#include "coordinator/planning/channel_step_search.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"

namespace ampere {

const char* channel_step_search_name(ChannelStepSearch search) {
  return search == ChannelStepSearch::Probe ? "probe" : "off";
}

ChannelStepSearch parse_channel_step_search(const std::string& name) {
  if (name == "off") return ChannelStepSearch::Off;
  if (name == "probe") return ChannelStepSearch::Probe;
  throw InputError("channel steps: unknown '" + name + "' (known: off, probe)");
}
namespace {

/// The odd multiple of `block` with c and c + 1 inside [lo, hi], nearest √(lo·hi); 0 when none.
std::int64_t edge_in(const ChannelRange& range, std::int64_t block) {
  const double middle = std::sqrt(static_cast<double>(std::max<std::int64_t>(1, range.min)) * static_cast<double>(range.max));
  std::int64_t best = 0;
  for (std::int64_t c = block; c + 1 <= range.max; c += 2 * block) {
    if (c < range.min) continue;
    if (best == 0 || std::abs(static_cast<double>(c) - middle) < std::abs(static_cast<double>(best) - middle)) best = c;
  }
  return best;
}

bool probeable(const std::vector<ChannelRange>& bounds) {
  bool any_free = false;
  for (const ChannelRange& r : bounds) {
    if (r.is_fixed()) continue;
    if (r.multiple_of > 1) return false;
    any_free = true;
  }
  return any_free;
}

}  // namespace

std::vector<std::vector<std::int64_t>> step_probe_points(const std::vector<ChannelRange>& bounds, std::size_t max_points) {
  std::vector<std::vector<std::int64_t>> out;
  if (!probeable(bounds)) return out;
  for (std::int64_t block : candidate_step_blocks()) {
    if (out.size() + 2 > max_points) break;
    // one edge of this block that every free dimension holds (its own nearest when they differ)
    std::vector<std::int64_t> below, above;
    bool ok = true;
    for (const ChannelRange& r : bounds) {
      if (r.is_fixed()) {
        below.push_back(r.min);
        above.push_back(r.min);
        continue;
      }
      const std::int64_t c = edge_in(r, block);
      if (c == 0) {
        ok = false;
        break;
      }
      below.push_back(c);
      above.push_back(c + 1);
    }
    if (!ok) continue;
    for (const auto& p : {below, above})
      if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  }
  return out;
}

std::vector<ChannelSteps> candidate_channel_steps(const std::vector<ChannelRange>& bounds) {
  std::vector<ChannelSteps> out = {ChannelSteps()};
  if (!probeable(bounds)) return out;
  for (std::int64_t block : candidate_step_blocks()) {
    bool edge_inside = false;
    for (const ChannelRange& r : bounds)
      if (!r.is_fixed() && (r.min + block - 1) / block * block < r.max) edge_inside = true;
    if (!edge_inside) continue;
    for (double share : candidate_step_shares()) {
      ChannelSteps steps;
      for (const ChannelRange& r : bounds) steps.push_back(r.is_fixed() ? ChannelStep{} : ChannelStep{block, share});
      out.push_back(steps);
    }
  }
  return out;
}

ChannelStepChoice choose_channel_steps(const std::vector<std::pair<double, double>>& bounds,
                                       const std::vector<ChannelSteps>& candidates, GpTrend trend, GpWarp warp,
                                       const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                       const Eigen::VectorXd& extra_noise, const GpFitOptions& options) {
  AMPERE_REQUIRE(!candidates.empty(), "channel steps: no candidate quantization");
  ChannelStepChoice best;
  bool have = false;
  GpFitOptions quick = options;
  quick.restarts = 0;
  double first = std::nan("");
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    auto gp = std::make_shared<GaussianProcess>(bounds, trend, warp, candidates[i]);
    gp->set_data(x, y, extra_noise);
    gp->fit(quick);
    const double lml = gp->log_marginal_likelihood();
    if (!std::isfinite(lml)) continue;
    if (i == 0) first = lml;
    const double margin = i == 0 || !std::isfinite(first) ? 0.0 : kStepEvidenceNats;
    if (!have || lml > std::max(best.log_marginal_likelihood, first + margin)) {
      best.steps = candidates[i];
      best.gp = gp;
      best.log_marginal_likelihood = lml;
      have = true;
    }
  }
  AMPERE_REQUIRE(have, "channel steps: no candidate quantization could be fitted");
  if (options.restarts > 0) {  // the chosen one, fitted in full
    best.gp->fit(options);
    best.log_marginal_likelihood = best.gp->log_marginal_likelihood();
  }
  return best;
}

}  // namespace ampere
