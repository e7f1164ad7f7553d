#include "coordinator/store/row_codec.hpp"
#include "common/json_text.hpp"

#include <nlohmann/json.hpp>

namespace ampere::row_codec {
namespace {

template <class T>
std::vector<T> decode_array(const std::string& text, const char* column) {
  try {
    return parse_json(text, column).get<std::vector<T>>();
  } catch (const std::exception& e) {  // not JSON (InputError), or not an array of T (json::exception)
    throw InputError(std::string("store: column ") + column + " holds '" + text.substr(0, 80) + "', not a JSON array of " +
                     (std::is_integral<T>::value ? "integers" : "numbers") + ": " + e.what());
  }
}

}  // namespace

std::string encode_channels(const std::vector<std::int64_t>& channels) { return nlohmann::json(channels).dump(); }

std::vector<std::int64_t> decode_channels(const std::string& text) { return decode_array<std::int64_t>(text, "channels_json"); }

std::string encode_only_kinds(const std::vector<std::string>& kinds) {
  return kinds.empty() ? std::string() : nlohmann::json(kinds).dump();
}

std::vector<std::string> decode_only_kinds(const std::string& text) {
  if (text.empty()) return {};
  return decode_array<std::string>(text, "only_kinds_json");
}

nlohmann::json meter_parts_to_json(const Measurement& m) {
  if (m.meter_parts.empty()) return nullptr;
  nlohmann::json joules = nlohmann::json::array();
  for (const MeterPart& part : m.meter_parts) joules.push_back(part.joules_per_iteration);
  return joules;
}

void meter_parts_from_json(Measurement& m, const nlohmann::json& parts, const std::string& where) {
  AMPERE_REQUIRE(parts.is_array() && parts.size() == m.meter_parts.size(), where, ", not the ", m.meter_parts.size(),
                 " parts of ", meter_label_of(m).str());
  for (std::size_t p = 0; p < parts.size(); ++p) {
    try {
      m.meter_parts[p].joules_per_iteration = parts[p].get<std::vector<double>>();
    } catch (const nlohmann::json::exception& e) {
      throw InputError(where + ": part " + std::to_string(p) + " is not an array of numbers: " + e.what());
    }
  }
}

ResultText encode_result(const Measurement& m) {
  return {nlohmann::json(m.seconds_per_iteration).dump(), nlohmann::json(m.joules_per_iteration).dump(),
          meter_label_of(m).str(), m.meter_parts.empty() ? std::string() : meter_parts_to_json(m).dump()};
}

Measurement decode_result(const ResultText& text, std::int64_t iterations, std::int64_t threads, double idle_watts) {
  Measurement m;
  m.seconds_per_iteration = decode_array<double>(text.seconds_json, "seconds_json");
  m.joules_per_iteration = decode_array<double>(text.joules_json, "joules_json");
  set_meter(m, parse_meter_label_text(text.meter));
  if (!m.meter_parts.empty())  // a composite: each part's joules, in the label's order
    meter_parts_from_json(m, parse_json(text.meter_parts_json.empty() ? "null" : text.meter_parts_json, "meter_parts_json"),
                          "store: column meter_parts_json holds '" + text.meter_parts_json.substr(0, 80) + "'");
  m.iterations = static_cast<std::uint32_t>(iterations);
  m.threads = static_cast<std::uint32_t>(threads);
  m.idle_watts = idle_watts;
  return m;
}

}  // namespace ampere::row_codec
