#include "agent/meter.hpp"

#include <filesystem>
#include <fstream>

#include "common/error.hpp"

namespace ampere {
namespace {

struct RaplDomain {
  std::string energy_file;
  double max_range_uj = 0;
};

bool read_number(const std::string& file, double& value) {
  std::ifstream in(file);
  return static_cast<bool>(in >> value);
}

class RaplMeter final : public Meter {
 public:
  explicit RaplMeter(std::vector<RaplDomain> domains) : domains_(std::move(domains)), start_(domains_.size()) {}
  MeterSource source() const override { return MeterSource::Rapl; }
  void begin() override {
    for (std::size_t i = 0; i < domains_.size(); ++i) start_[i] = read(i);
  }
  double end(double) override {
    double joules = 0;
    for (std::size_t i = 0; i < domains_.size(); ++i) {
      double delta = read(i) - start_[i];
      if (delta < 0) delta += domains_[i].max_range_uj;  // the counter wrapped
      joules += delta * 1e-6;
    }
    return joules;
  }

 private:
  double read(std::size_t i) const {
    double v = 0;
    if (!read_number(domains_[i].energy_file, v)) throw std::runtime_error("rapl: cannot read " + domains_[i].energy_file);
    return v;
  }
  std::vector<RaplDomain> domains_;
  std::vector<double> start_;
};

class TimeSurrogateMeter final : public Meter {
 public:
  explicit TimeSurrogateMeter(double watts) : watts_(watts) {}
  MeterSource source() const override { return MeterSource::TimeSurrogate; }
  void begin() override {}
  double end(double seconds) override { return seconds * watts_; }

 private:
  double watts_;
};

}  // namespace

MeterPtr make_rapl_meter(const std::string& root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  AMPERE_REQUIRE(fs::is_directory(root, ec), "meter rapl: ", root, " does not exist (no powercap driver on this machine)");
  std::vector<RaplDomain> domains;
  std::string unreadable;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    // Package domains only (intel-rapl:0, intel-rapl:1); sub-domains (intel-rapl:0:0) are inside them.
    if (name.rfind("intel-rapl:", 0) != 0 || name.find(':', 11) != std::string::npos) continue;
    RaplDomain d{(entry.path() / "energy_uj").string(), 0};
    double probe = 0;
    if (!read_number(d.energy_file, probe) || !read_number((entry.path() / "max_energy_range_uj").string(), d.max_range_uj)) {
      unreadable += " " + d.energy_file;
      continue;
    }
    domains.push_back(d);
  }
  AMPERE_REQUIRE(!domains.empty(), "meter rapl: no readable package domain under ", root,
                 unreadable.empty() ? " (none present)" : "; unreadable (often root-only):" + unreadable);
  return std::make_unique<RaplMeter>(std::move(domains));
}

MeterPtr make_time_surrogate_meter(double watts) {
  AMPERE_REQUIRE(watts > 0 && watts < 1e5, "meter time-surrogate: --watts must be a positive figure, got ", watts);
  return std::make_unique<TimeSurrogateMeter>(watts);
}

MeterPtr make_meter(const std::string& label, double surrogate_watts) {
  if (label == "auto") {
    try {
      return make_rapl_meter();
    } catch (const InputError&) {
      return make_time_surrogate_meter(surrogate_watts);
    }
  }
  const MeterSource source = parse_meter_label(label);
  switch (source) {
    case MeterSource::Rapl: return make_rapl_meter();
    case MeterSource::TimeSurrogate: return make_time_surrogate_meter(surrogate_watts);
    case MeterSource::Simulated:
      throw InputError("meter simulated: only the simulated backend reports simulated energy (--backend simulated)");
    default:
      throw InputError(std::string("meter ") + meter_label(source) + ": not available in this agent build");
  }
}

}  // namespace ampere
