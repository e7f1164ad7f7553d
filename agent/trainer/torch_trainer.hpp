// The LibTorch trainer (torch_trainer.cpp, the only LibTorch translation unit): builds a variant
// network from its spec and trains it on synthetic data on this machine's CPU or a CUDA GPU.
#pragma once

#include <string>

#include "agent/meters/meter.hpp"
#include "agent/trainer.hpp"
#include "agent/trainer_link/messages.hpp"

namespace ampere {

struct TorchOptions {
  int threads = 1;            ///< intra-op threads
  std::string device = "cpu";  ///< "cpu", "cuda" or "cuda:N"
};

/// Trains on `options.device`, reading each repeat's energy from `meter` (which must outlive the
/// trainer). Throws InputError for fewer than one thread, an unknown device, or CUDA when this
/// LibTorch build or this machine has none.
TrainerPtr make_torch_trainer(const TorchOptions& options, Meter& meter);

/// What the trainer reports in its `ready` message: LibTorch's version, the device, and on CUDA
/// the GPU's name and UUID from the driver. Throws as make_torch_trainer does.
TrainerInfo torch_trainer_info(const TorchOptions& options);

/// The LibTorch this binary is built with ("2.0.1"): `--version` says it.
const char* libtorch_version();

}  // namespace ampere
