// How records become columns and back, for every SQL store alike: channels and per-repeat
// figures are JSON arrays in text columns, states and meters their names. Decoding is written
// once, here, and names the column that is wrong.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "coordinator/store/records.hpp"

namespace ampere::row_codec {

std::string encode_channels(const std::vector<std::int64_t>& channels);
/// Throws InputError naming `channels_json` when the text is not a JSON array of integers.
std::vector<std::int64_t> decode_channels(const std::string& text);

/// A campaign's only_kinds: "" when empty (every kind), else a JSON array of kind keys.
std::string encode_only_kinds(const std::vector<std::string>& kinds);
/// Throws InputError naming `only_kinds_json` when the text is neither "" nor an array of strings.
std::vector<std::string> decode_only_kinds(const std::string& text);

/// The text columns of a result row.
struct ResultText {
  std::string seconds_json;
  std::string joules_json;
  std::string meter;              ///< the whole label: "rapl", or a composite's "rapl+nvml"
  std::string meter_parts_json;   ///< a composite's part joules, [[...], ...] in the label's order; "" otherwise
};
ResultText encode_result(const Measurement& measurement);
/// A composite meter's part joules, [[...], ...] in its label's order (the store's column and the
/// spool's line both keep them so); null for a single meter.
nlohmann::json meter_parts_to_json(const Measurement& measurement);
/// Fills the part joules of `measurement`, whose label (set_meter) names its parts, from
/// meter_parts_to_json's JSON. Throws InputError "<where>, not the N parts of LABEL", or naming a
/// part that is not an array of numbers.
void meter_parts_from_json(Measurement& measurement, const nlohmann::json& parts, const std::string& where);
/// Throws InputError naming the column that does not decode.
Measurement decode_result(const ResultText& text, std::int64_t iterations, std::int64_t threads, double idle_watts);

/// Runs `decode` on a stored row's columns; what it throws becomes `unreadable` (the row is kept,
/// marked, for its readers to quarantine) instead of failing the whole read: a restart never
/// refuses to start because of one stored row (docs/security.md).
template <class Decode>
void decode_or_mark(std::string& unreadable, Decode&& decode) {
  try {
    decode();
  } catch (const std::exception& e) {
    unreadable = e.what();
  }
}

}  // namespace ampere::row_codec
