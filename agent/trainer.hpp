// What measures a job: the interface the agent's runner talks to. Implementations: the LibTorch
// trainer in its own supervised process (trainer_process.hpp, which drives agent/trainer/'s
// ampere-trainer; that one implements this interface too, inside the child) and the simulated
// device (simulated_trainer.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/measurement.hpp"
#include "common/model_spec.hpp"
#include "common/repeat_rule.hpp"

namespace ampere {

/// docs/method.md §5: W warm-up iterations, then repeats of N iterations until `repeats` is
/// satisfied (a fixed count, or until the repeats agree, up to a cap).
struct JobSettings {
  std::uint32_t warmup = 5;
  std::uint32_t iterations = 0;  ///< per repeat; 0: enough for window_seconds, at least 10
  RepeatRule repeats;
  double window_seconds = 0;     ///< one repeat's length when iterations is 0; 0: the meter's default
  std::uint64_t seed = 0;        ///< synthetic data and initial weights
  /// When the job must be done by (the Job's deadline, Unix milliseconds); 0: no deadline. The
  /// trainer process stops a job that outruns it.
  std::int64_t deadline_unix_millis = 0;
};

class Trainer {
 public:
  virtual ~Trainer() = default;
  /// Trains `model` on synthetic data and reports per-iteration figures per repeat. Throws
  /// InputError for a model this trainer cannot build.
  virtual Measurement measure(const ModelSpec& model, const JobSettings& settings) = 0;
  /// "torch" or "simulated".
  virtual std::string backend() const = 0;
  /// (name, version) of the libraries that produce the figures.
  virtual std::vector<std::pair<std::string, std::string>> libraries() const = 0;
};
using TrainerPtr = std::unique_ptr<Trainer>;

}  // namespace ampere
