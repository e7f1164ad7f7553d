#include "coordinator/cli/client_commands.hpp"

#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

namespace ampere {
namespace {

std::string pm(const nlohmann::json& v, const char* unit) {
  if (v.is_null()) return "n/a";
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%.4g ± %.2g %s", v.at("mean").get<double>(), v.at("std").get<double>(), unit);
  return buffer;
}

std::string short_kind(const std::string& key) {
  // "v1|hidden|in=image:14x14|conv2d(...)+relu|batch=10|dtype=float32" -> "in=image:14x14|conv2d(...)+relu"
  std::vector<std::string> parts;
  std::stringstream in(key);
  std::string part;
  while (std::getline(in, part, '|')) parts.push_back(part);
  std::string out;
  for (std::size_t i = 2; i < parts.size(); ++i)
    if (parts[i].rfind("batch=", 0) != 0 && parts[i].rfind("dtype=", 0) != 0) out += (out.empty() ? "" : "|") + parts[i];
  return out;
}

}  // namespace

void print_estimate(const nlohmann::json& e, std::ostream& out) {
  const std::string meter = e.at("meter").get<std::string>();
  out << e.at("model").get<std::string>() << " on " << e.at("device_class").get<std::string>() << ", "
      << e.at("iterations").get<std::uint64_t>() << " iteration(s); energy source: " << meter
      << (meter == "time-surrogate" ? " (time x calibrated watts, not a measured joule)"
          : meter == "simulated"    ? " (synthetic device, not a measurement)"
                                    : "")
      << "\n";
  for (const auto& b : e.at("blocks")) {
    std::string channels;
    for (const auto& c : b.at("channels")) channels += (channels.empty() ? "" : ",") + std::to_string(c.get<long long>());
    out << "  [" << b.at("index").get<int>() << "] " << std::left << std::setw(7) << b.at("role").get<std::string>()
        << std::setw(12) << ("(" + channels + ")") << std::right << std::setw(26)
        << pm(b.at("seconds_per_iteration"), "s") << std::setw(26) << pm(b.at("joules_per_iteration"), "J") << "  "
        << short_kind(b.at("kind").get<std::string>()) << "\n";
  }
  out << "  per iteration:  " << pm(e.at("seconds_per_iteration"), "s") << ", " << pm(e.at("joules_per_iteration"), "J")
      << "\n";
  out << "  total:          " << pm(e.at("total").at("seconds"), "s") << ", " << pm(e.at("total").at("joules"), "J")
      << (e.contains("energy") ? " (" + e.at("energy").get<std::string>() + " energy)" : std::string()) << "\n";
  if (e.contains("above_idle") && !e.at("above_idle").is_null())
    out << "  above idle:     " << pm(e.at("above_idle").at("joules_per_iteration"), "J") << " per iteration, "
        << pm(e.at("above_idle").at("total").at("joules"), "J") << " total (idle " << e.at("idle_watts").get<double>() << " W)\n";
  const auto& f = e.at("flops_baseline");
  out << "  FLOPs baseline: " << pm(f.at("seconds_per_iteration"), "s") << ", " << pm(f.at("joules_per_iteration"), "J")
      << " per iteration (" << f.at("training_flops_per_iteration").get<double>() << " training FLOPs/iteration, line fitted on "
      << f.at("fitted_on_variant_networks").get<long long>() << " variant networks)\n";
}

void print_prune_plan(const nlohmann::json& p, std::ostream& out) {
  const std::string unit = p.at("unit"), meter = p.at("meter");
  const char* symbol = unit == "joules" ? "J" : "s";
  const double budget = p.at("budget").at(unit).get<double>();
  const auto all = p.at("original").at("parameters").get<double>();
  out << p.at("model").get<std::string>() << " on " << p.at("device_class").get<std::string>() << ": budget " << budget << " "
      << symbol << " for " << p.at("iterations").get<std::uint64_t>() << " iteration(s)";
  if (p.at("budget").at("kind") == "fraction") out << " (" << p.at("budget").at("value").get<double>() << " of its own estimate)";
  out << ", by " << p.at("by").get<std::string>();
  if (!p.at("confidence").is_null()) out << ", one-sided " << p.at("confidence").get<double>() << " upper bound";
  out << "; estimates from " << meter
      << (meter == "time-surrogate" ? " (time x calibrated watts, not a measured joule)"
          : meter == "simulated"    ? " (synthetic device, not a measurement)"
                                    : "")
      << "\n";
  auto line = [&](const std::string& label, const nlohmann::json& plan) {
    const auto& e = plan.at("estimate");
    out << "  " << std::left << std::setw(28) << label << std::right << std::setw(12) << e.at("mean").get<double>() << " " << symbol;
    if (!p.at("confidence").is_null()) out << " (bound " << e.at("bound").get<double>() << ")";
    out << "  " << plan.at("parameters").get<long long>() << " parameters ("
        << std::lround(100.0 * plan.at("parameters").get<double>() / all) << "%)\n";
  };
  line("original", p.at("original"));
  const std::string chosen = p.at("chosen");
  for (const char* search : {"greedy", "uniform"}) {
    const auto& plan = p.at("plans").at(search);
    std::string label = std::string(search) + (search == chosen ? " (chosen)" : "");
    if (plan.contains("multiplier")) label += " x" + std::to_string(plan.at("multiplier").get<double>()).substr(0, 5);
    line(label, plan);
  }
  const auto& chosen_plan = p.at("plans").at(chosen);
  out << "  widths of the chosen plan:";
  for (const auto& w : chosen_plan.at("widths"))
    out << " " << w.at("layer").get<std::string>() << " " << w.at("top").get<long long>() << "->" << w.at("width").get<long long>();
  out << "\n";
  const auto& f = p.at("flops_proportional");
  line("FLOPs-proportional x" + std::to_string(f.at("multiplier").get<double>()).substr(0, 5), f);
  out << "  FLOPs-proportional pruning " << (f.at("within_budget").get<bool>() ? "fits" : "misses") << " the budget by AMPERE's estimate: "
      << std::showpos << std::lround(1000.0 * f.at("miss").get<double>()) / 10.0 << std::noshowpos << "%\n";
}

void print_campaigns(const nlohmann::json& campaigns, std::ostream& out) {
  if (campaigns.empty()) out << "no campaigns\n";
  for (const auto& c : campaigns) {
    out << "campaign " << c.at("id").get<long long>() << ": " << c.at("family").get<std::string>() << " on "
        << c.at("device_class").get<std::string>() << " — " << c.at("state").get<std::string>() << ", "
        << c.at("points").get<long long>() << " points, " << c.at("jobs_running").get<long long>() << " running, "
        << c.at("jobs_queued").get<long long>() << " queued, at most "
        << c.at("points_remaining_at_most").get<long long>() << " points to go";
    if (c.at("state") == "running" && !c.at("eta_seconds").is_null())
      out << ", ETA <= " << static_cast<long long>(std::ceil(c.at("eta_seconds").get<double>())) << " s";
    out << "\n";
    for (const auto& k : c.at("kinds")) {
      char rel[32];
      if (k.at("max_relative_std").is_null()) std::snprintf(rel, sizeof rel, "-");  // not fitted yet
      else std::snprintf(rel, sizeof rel, "%.1f%%", 100.0 * k.at("max_relative_std").get<double>());
      out << "  " << std::left << std::setw(7) << k.at("role").get<std::string>() << std::setw(14)
          << k.at("state").get<std::string>() << std::right << std::setw(4) << k.at("points").get<long long>() << "/"
          << std::left << std::setw(4) << k.at("budget").get<long long>() << " max std " << std::setw(7) << rel << " "
          << short_kind(k.at("kind").get<std::string>()) << "\n";
      if (k.contains("fit_error")) out << "          last fit failed (its last good fit serves): " << k.at("fit_error").get<std::string>() << "\n";
    }
    for (const auto& row : c.value("quarantined", nlohmann::json::array()))
      out << "  set aside at the last start (left in the store, not used): " << row.get<std::string>() << "\n";
  }
}

double print_comparison(const std::vector<MeasuredModel>& models, std::ostream& out) {
  double est_s = 0, flops_s = 0, est_j = 0, flops_j = 0, noise = 0;
  std::size_t repeated = 0;
  int within10 = 0;
  std::string energy_label;
  char line[512];
  std::snprintf(line, sizeof line, "%-28s %12s %12s %7s %12s %7s | %12s %12s %7s %12s %7s\n", "model (channels)", "est s/it",
                "measured", "err", "FLOPs s/it", "err", "est J/it", "measured", "err", "FLOPs J/it", "err");
  out << line;
  for (const MeasuredModel& m : models) {
    std::string channels;
    for (const auto& b : m.estimate.at("blocks")) {
      if (b.at("role") == "output") continue;
      channels += (channels.empty() ? "" : ",") + std::to_string(b.at("channels").back().get<long long>());
    }
    const double s = m.estimate.at("seconds_per_iteration").at("mean").get<double>();
    const double ms = m.measured.at("seconds_per_iteration").at("value").get<double>();
    const double fs = m.estimate.at("flops_baseline").at("seconds_per_iteration").at("mean").get<double>();
    const double j = m.estimate.at("joules_per_iteration").at("mean").get<double>();
    const double mj = m.measured.at("joules_per_iteration").at("value").get<double>();
    const double fj = m.estimate.at("flops_baseline").at("joules_per_iteration").at("mean").get<double>();
    const double es = (s - ms) / ms, efs = (fs - ms) / ms, ej = (j - mj) / mj, efj = (fj - mj) / mj;
    est_s += std::abs(es);
    flops_s += std::abs(efs);
    est_j += std::abs(ej);
    flops_j += std::abs(efj);
    within10 += std::abs(es) <= 0.10 ? 1 : 0;
    energy_label = m.measured.at("meter").get<std::string>();
    if (!m.measured_again.is_null()) {
      const double again = m.measured_again.at("seconds_per_iteration").at("value").get<double>();
      noise += std::abs(again - ms) / (0.5 * (again + ms));
      ++repeated;
    }
    std::snprintf(line, sizeof line, "%-28s %12.4g %12.4g %+6.1f%% %12.4g %+6.1f%% | %12.4g %12.4g %+6.1f%% %12.4g %+6.1f%%\n",
                  (m.model.at("name").get<std::string>() + " (" + channels + ")").c_str(), s, ms, 100 * es, fs, 100 * efs, j,
                  mj, 100 * ej, fj, 100 * efj);
    out << line;
  }
  const double n = static_cast<double>(std::max<std::size_t>(1, models.size()));
  std::snprintf(line, sizeof line,
                "MAPE over %zu models: time %.1f%% (FLOPs baseline %.1f%%), %d within +-10%%; energy [%s] %.1f%% (FLOPs %.1f%%)\n",
                models.size(), 100 * est_s / n, 100 * flops_s / n, within10, energy_label.c_str(), 100 * est_j / n,
                100 * flops_j / n);
  out << line;
  if (repeated > 0) {
    std::snprintf(line, sizeof line,
                  "noise floor: the same models measured twice differ by %.1f%% on average (time), the best any estimate "
                  "can be judged to on this machine now\n",
                  100 * noise / static_cast<double>(repeated));
    out << line;
  }
  if (energy_label == "time-surrogate")
    out << "energy here is the time surrogate (seconds x configured watts), so its accuracy is the time accuracy; "
           "no joule above was measured.\n";
  return 100 * est_s / n;
}

}  // namespace ampere
