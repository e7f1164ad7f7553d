// A campaign's budget: points per kind, start points included. One rule for every door (HTTP,
// ZeroMQ, the CLI, the campaign itself), so 0, negatives and huge values are refused alike.
#pragma once

#include <cstdint>

#include "common/error.hpp"

namespace ampere {

constexpr std::int64_t kMinBudget = 1;
constexpr std::int64_t kMaxBudget = 10000;
constexpr std::uint32_t kDefaultBudget = 30;

/// Throws InputError naming the budget and the range when it is outside [kMinBudget, kMaxBudget].
inline void require_budget(std::int64_t budget) {
  AMPERE_REQUIRE(budget >= kMinBudget && budget <= kMaxBudget, "budget: points per kind must be ", kMinBudget, "..",
                 kMaxBudget, ", got ", budget);
}

}  // namespace ampere
