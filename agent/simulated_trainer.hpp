// The simulated device as a trainer: figures from a device profile, labeled simulated.
#pragma once

#include "agent/simulated_device.hpp"
#include "agent/trainer.hpp"

namespace ampere {

/// The synthetic device `profile` (no training; figures labeled simulated). Each job takes
/// `pace_ms` of wall time (0: returns at once), so tests can catch a campaign mid-way.
TrainerPtr make_simulated_trainer(const DeviceProfile& profile, int pace_ms = 0);

}  // namespace ampere
