// The LibTorch trainer (torch_trainer.cpp, the only LibTorch translation unit): builds a variant
// network from its spec and trains it on synthetic data on this machine's CPU.
#pragma once

#include "agent/meter.hpp"
#include "agent/trainer.hpp"

namespace ampere {

/// LibTorch on this machine's CPU with `threads` intra-op threads, energy from `meter`.
TrainerPtr make_torch_trainer(int threads, MeterPtr meter);

}  // namespace ampere
