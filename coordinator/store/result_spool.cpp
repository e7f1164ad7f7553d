#include "coordinator/store/result_spool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "common/json_text.hpp"

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

}  // namespace

std::string result_to_json_line(const ResultRecord& r) {
  const Measurement& m = r.measurement;
  nlohmann::json j{{"job_id", r.job_id},
                   {"agent_id", r.agent_id},
                   {"seconds_per_iteration", m.seconds_per_iteration},
                   {"joules_per_iteration", m.joules_per_iteration},
                   {"meter", meter_label(m.meter)},
                   {"iterations", m.iterations},
                   {"threads", m.threads},
                   {"idle_watts", std::isnan(m.idle_watts) ? nlohmann::json(nullptr) : nlohmann::json(m.idle_watts)},
                   {"reference_seconds", m.has_reference() ? nlohmann::json(m.reference_seconds) : nlohmann::json(nullptr)},
                   {"reference_joules",
                    std::isnan(m.reference_joules) ? nlohmann::json(nullptr) : nlohmann::json(m.reference_joules)}};
  return j.dump() + "\n";
}

ResultRecord result_from_json_line(const std::string& line) {
  const nlohmann::json j = parse_json(line, "spool line");
  ResultRecord r;
  r.job_id = j.at("job_id").get<std::uint64_t>();
  r.agent_id = j.at("agent_id").get<std::string>();
  r.measurement.seconds_per_iteration = j.at("seconds_per_iteration").get<std::vector<double>>();
  r.measurement.joules_per_iteration = j.at("joules_per_iteration").get<std::vector<double>>();
  r.measurement.meter = parse_meter_label(j.at("meter").get<std::string>());
  r.measurement.iterations = j.at("iterations").get<std::uint32_t>();
  r.measurement.threads = j.at("threads").get<std::uint32_t>();
  r.measurement.idle_watts = j.at("idle_watts").is_null() ? std::nan("") : j.at("idle_watts").get<double>();
  // Lines spooled by an older coordinator have no reference reading.
  for (const auto& [key, field] : {std::pair<const char*, double*>{"reference_seconds", &r.measurement.reference_seconds},
                                   std::pair<const char*, double*>{"reference_joules", &r.measurement.reference_joules}})
    if (j.contains(key) && !j.at(key).is_null()) *field = j.at(key).get<double>();
  return r;
}

ResultSpool::ResultSpool(std::string path, std::size_t capacity) : path_(std::move(path)), capacity_(capacity) {
  AMPERE_REQUIRE(capacity_ > 0, "spool ", path_, ": capacity must be at least 1");
  std::ifstream in(path_);
  if (!in) return;  // nothing spooled
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    try {
      records_.push_back(result_from_json_line(line));
    } catch (const std::exception& e) {
      // A torn last line (a crash mid-append, before the ack) was never acknowledged: skip it.
      if (in.peek() == std::char_traits<char>::eof()) {
        spdlog::warn("spool {}: line {} is incomplete (cut off by a crash before its ack), skipped", path_, number);
        break;
      }
      throw InputError("spool " + path_ + ":" + std::to_string(number) + ": " + e.what());
    }
  }
}

bool ResultSpool::append(const ResultRecord& result) {
  if (records_.size() >= capacity_) return false;
  write_synced(path_, result_to_json_line(result), true);
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
  for (const ResultRecord& r : records_) text += result_to_json_line(r);
  const std::string fresh = path_ + ".tmp";
  write_synced(fresh, text, false);
  std::filesystem::rename(fresh, path_);
  sync_directory_of(path_);
}

}  // namespace ampere
