// The messages of the agent ↔ trainer pipe and their JSON (docs/trainer-protocol.md). Both
// sides link this; it needs nothing but common/ and nlohmann-json, so the trainer-only build has it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/trainer.hpp"
#include "common/error.hpp"
#include "common/measurement.hpp"
#include "common/model_spec.hpp"

namespace ampere {

/// Bumped when a message changes meaning; a trainer of another version is refused at start.
inline constexpr int kTrainerProtocolVersion = 1;

/// What a trainer says once it is up (the `ready` message).
struct TrainerInfo {
  std::string backend = "torch";
  std::vector<std::pair<std::string, std::string>> libraries;  ///< (name, version)
  std::string device = "cpu";  ///< "cpu" or "cuda:N"
  std::string device_name;     ///< the GPU's name on CUDA (from the driver); empty on cpu
  std::string device_uuid;     ///< the GPU's UUID ("GPU-…"), for the nvml meter; empty on cpu
  int threads = 1;
  long pid = 0;
};

/// One job for the trainer: the network, the settings, and the label of the meter that measures
/// its windows (the trainer sizes windows and repeats by it; the agent reads the meter).
struct TrainerJob {
  ModelSpec model;
  JobSettings settings;
  MeterSource meter = MeterSource::TimeSurrogate;
};

/// One decoded line. `type` is one of: ready, job, window-begin, window-go, window-end,
/// window-joules, window-error, result, error.
struct TrainerMessage {
  std::string type;
  nlohmann::json body;
};

std::string encode_ready(const TrainerInfo& info);
std::string encode_job(const TrainerJob& job);
std::string encode_window_begin();
std::string encode_window_go();
std::string encode_window_end(double seconds);
std::string encode_window_joules(double joules);
std::string encode_result(const Measurement& m);
/// `window-error` when `window` is true (a meter failed: the agent tells the trainer), else `error`.
std::string encode_error(ErrorCode code, const std::string& message, bool window = false);

/// Parses a line; throws InputError naming what is wrong (not JSON, no type, an unknown type).
TrainerMessage decode_trainer_message(const std::string& line);
/// Each throws InputError naming the missing or bad field.
TrainerInfo ready_info(const TrainerMessage& m);
TrainerJob job_of(const TrainerMessage& m);
double window_seconds_of(const TrainerMessage& m);
double window_joules_of(const TrainerMessage& m);
Measurement measurement_of(const TrainerMessage& m);
/// The InputError an `error` or `window-error` message carries, with its code.
InputError error_of(const TrainerMessage& m);

/// What `measure` prints (both ampere-agent measure and ampere-trainer measure): the model, the
/// backend, the meter's label, and each quantity's minimum, median and per-repeat figures;
/// `joules_per_iteration` is the gross figure, `joules_above_idle_per_iteration` the same minus
/// `idle_watts` × seconds, repeat by repeat (both null without a live meter or an idle baseline).
nlohmann::json measurement_report(const std::string& model_name, const std::string& backend, const Measurement& m);

}  // namespace ampere
