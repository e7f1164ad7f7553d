#include "coordinator/store/result_spool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "common/json_text.hpp"
#include "coordinator/store/row_codec.hpp"

namespace ampere {
namespace {

/// Writes `text` to `path` (appending or truncating) and fsyncs it.
void write_synced(const std::string& path, const std::string& text, bool append) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0640);
  if (fd < 0) throw std::runtime_error("spool " + path + ": cannot open: " + std::strerror(errno));
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      throw std::runtime_error("spool " + path + ": cannot write: " + why);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    throw std::runtime_error("spool " + path + ": cannot sync: " + why);
  }
  ::close(fd);
}

void sync_directory_of(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().empty()
                              ? std::string(".")
                              : std::filesystem::path(path).parent_path().string();
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::uint32_t crc32_of(const std::string& bytes) {  // IEEE 802.3 (zlib's), bitwise: records are short
  std::uint32_t crc = 0xFFFFFFFFu;
  for (const char c : bytes) {
    crc ^= static_cast<unsigned char>(c);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

/// One spool record: "CRC32-HEX LENGTH JSON\n" (the CRC and length of the JSON), readable by an
/// operator and checkable: a torn or altered record never reads as another.
std::string framed(const std::string& json_line) {
  const std::string json = json_line.substr(0, json_line.size() - 1);  // without its newline
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "%08x %zu ", crc32_of(json), json.size());
  return prefix + json + "\n";
}

/// The JSON of a framed record line (its newline removed), or why it is not one. A line that
/// starts with '{' is an older coordinator's unframed record, read as it is.
std::string unframed(const std::string& line, std::string& why) {
  if (!line.empty() && line[0] == '{') return line;
  const auto space1 = line.find(' ');
  const auto space2 = space1 == std::string::npos ? std::string::npos : line.find(' ', space1 + 1);
  if (space1 != 8 || space2 == std::string::npos) {
    why = "not a framed record (CRC32 LENGTH JSON)";
    return {};
  }
  const std::string json = line.substr(space2 + 1);
  char* end = nullptr;
  const unsigned long crc = std::strtoul(line.substr(0, 8).c_str(), &end, 16);
  const unsigned long long length = std::strtoull(line.substr(space1 + 1, space2 - space1 - 1).c_str(), nullptr, 10);
  if (length != json.size()) {
    why = "length " + std::to_string(length) + " but " + std::to_string(json.size()) + " bytes";
    return {};
  }
  if (crc != crc32_of(json)) {
    why = "CRC32 mismatch";
    return {};
  }
  return json;
}

}  // namespace

std::uint32_t spool_crc32(const std::string& bytes) { return crc32_of(bytes); }

std::string result_to_json_line(const ResultRecord& r) {
  const Measurement& m = r.measurement;
  nlohmann::json j{{"job_id", r.job_id},
                   {"agent_id", r.agent_id},
                   {"seconds_per_iteration", m.seconds_per_iteration},
                   {"joules_per_iteration", m.joules_per_iteration},
                   {"meter", meter_label_of(m).str()},  // "rapl+nvml" for a composite, whose parts' joules follow
                   {"iterations", m.iterations},
                   {"threads", m.threads},
                   {"idle_watts", std::isnan(m.idle_watts) ? nlohmann::json(nullptr) : nlohmann::json(m.idle_watts)},
                   {"reference_seconds", m.has_reference() ? nlohmann::json(m.reference_seconds) : nlohmann::json(nullptr)},
                   {"reference_joules",
                    std::isnan(m.reference_joules) ? nlohmann::json(nullptr) : nlohmann::json(m.reference_joules)}};
  if (!m.meter_parts.empty()) j["meter_parts"] = row_codec::meter_parts_to_json(m);
  return j.dump() + "\n";
}

ResultRecord result_from_json_line(const std::string& line) {
  const nlohmann::json j = parse_json(line, "spool line");
  ResultRecord r;
  r.job_id = whole_number<std::uint64_t>(j.at("job_id"), "spool line: job_id");
  r.agent_id = j.at("agent_id").get<std::string>();
  r.measurement.seconds_per_iteration = j.at("seconds_per_iteration").get<std::vector<double>>();
  r.measurement.joules_per_iteration = j.at("joules_per_iteration").get<std::vector<double>>();
  set_meter(r.measurement, parse_meter_label_text(j.at("meter").get<std::string>()));
  if (!r.measurement.meter_parts.empty()) row_codec::meter_parts_from_json(r.measurement, j.at("meter_parts"), "spool line: meter_parts");
  r.measurement.iterations = whole_number<std::uint32_t>(j.at("iterations"), "spool line: iterations");
  r.measurement.threads = whole_number<std::uint32_t>(j.at("threads"), "spool line: threads");
  r.measurement.idle_watts = j.at("idle_watts").is_null() ? std::nan("") : j.at("idle_watts").get<double>();
  // Lines spooled by an older coordinator have no reference reading.
  for (const auto& [key, field] : {std::pair<const char*, double*>{"reference_seconds", &r.measurement.reference_seconds},
                                   std::pair<const char*, double*>{"reference_joules", &r.measurement.reference_joules}})
    if (j.contains(key) && !j.at(key).is_null()) *field = j.at(key).get<double>();
  return r;
}

namespace {

/// What a spool file holds: its good records, its corrupt lines (with why), and where its last
/// whole line ends (past it: a torn tail).
struct SpoolText {
  std::vector<ResultRecord> records;
  std::vector<std::pair<std::string, std::string>> corrupt;  ///< (line, why)
  std::size_t intact = 0;
};

SpoolText parse_spool(const std::string& text) {
  SpoolText out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t newline = text.find('\n', start);
    if (newline == std::string::npos) break;  // the torn tail
    const std::string line = text.substr(start, newline - start);
    start = newline + 1;
    out.intact = start;
    if (line.empty()) continue;
    std::string why;
    const std::string json = unframed(line, why);
    if (why.empty()) {
      try {
        out.records.push_back(result_from_json_line(json));
        continue;
      } catch (const std::exception& e) {
        why = e.what();
      }
    }
    out.corrupt.emplace_back(line, why);
  }
  return out;
}

std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

std::vector<ResultRecord> read_spool_records(const std::string& path) { return spool_records_of(file_text(path)); }

std::vector<ResultRecord> spool_records_of(const std::string& text) { return parse_spool(text).records; }

ResultSpool::ResultSpool(std::string path, std::size_t capacity) : path_(std::move(path)), capacity_(capacity) {
  AMPERE_REQUIRE(capacity_ > 0, "spool ", path_, ": capacity must be at least 1");
  if (!std::filesystem::exists(path_)) return;  // nothing spooled
  const std::string text = file_text(path_);
  // Every whole line is one record. What follows the last newline was cut off by a crash before
  // its ack: truncated away, so the next append starts on a clean line (never glued to it). A
  // whole record that fails its check (or does not parse) is moved to PATH.corrupt, never
  // dropped silently, and never stops the start.
  SpoolText parsed = parse_spool(text);
  records_ = std::move(parsed.records);
  std::string corrupt;
  for (const auto& [line, why] : parsed.corrupt) {
    spdlog::error("spool {}: a record that fails its check ({}) is kept in {}.corrupt", path_, why, path_);
    corrupt += line + "\n";
  }
  if (!corrupt.empty()) write_synced(path_ + ".corrupt", corrupt, true);
  if (parsed.intact < text.size()) {
    spdlog::warn("spool {}: {} bytes after the last whole record (cut off by a crash before its ack) truncated", path_,
                 text.size() - parsed.intact);
    AMPERE_REQUIRE(::truncate(path_.c_str(), static_cast<off_t>(parsed.intact)) == 0, "spool ", path_,
                   ": cannot truncate its torn tail: ", std::strerror(errno));
  }
  if (!corrupt.empty()) rewrite();  // only the good records stay in the spool
}

bool ResultSpool::append(const ResultRecord& result) {
  if (records_.size() >= capacity_) return false;
  std::error_code missing;
  const auto before = std::filesystem::file_size(path_, missing);
  try {
    write_synced(path_, framed(result_to_json_line(result)), true);
  } catch (const std::exception&) {
    // a partial record (disk full mid-write) must not be glued to the next append: cut it off
    if (!missing) (void)::truncate(path_.c_str(), static_cast<off_t>(before));
    throw;
  }
  if (records_.empty()) sync_directory_of(path_);  // the file itself may be new
  records_.push_back(result);
  return true;
}

SpoolReplay ResultSpool::replay(Store& store) {
  SpoolReplay outcome;
  std::size_t done = 0;
  std::string rejected_lines;
  for (; done < records_.size(); ++done) {
    const ResultRecord& r = records_[done];
    try {
      store.store_result(r);
      ++outcome.stored;
    } catch (const StoreUnavailable&) {
      break;
    } catch (const DuplicateResult&) {
      ++outcome.duplicate;
    } catch (const std::exception& e) {
      nlohmann::json line = nlohmann::json::parse(result_to_json_line(r));
      line["rejected_because"] = e.what();
      rejected_lines += line.dump() + "\n";
      ++outcome.rejected;
      spdlog::error("spool {}: result of job {} refused by the store ({}); kept in {}.rejected", path_, r.job_id, e.what(),
                    path_);
    }
  }
  if (!rejected_lines.empty()) write_synced(path_ + ".rejected", rejected_lines, true);
  if (done > 0) {
    records_.erase(records_.begin(), records_.begin() + static_cast<std::ptrdiff_t>(done));
    rewrite();
  }
  outcome.left = records_.size();
  return outcome;
}

void ResultSpool::rewrite() {
  if (records_.empty()) {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
    sync_directory_of(path_);
    return;
  }
  std::string text;
  for (const ResultRecord& r : records_) text += framed(result_to_json_line(r));
  const std::string fresh = path_ + ".tmp";
  write_synced(fresh, text, false);
  std::filesystem::rename(fresh, path_);
  sync_directory_of(path_);
}

}  // namespace ampere
