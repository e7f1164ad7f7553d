// The behaviour every Store must have; run against SQLite (unit) and PostgreSQL (integration).
#pragma once

#include <functional>

#include "coordinator/store/store.hpp"

namespace ampere::testing {

/// Exercises a fresh, empty store; `reopen` returns a new handle on the same data (a restart).
void check_store_contract(const std::function<StorePtr()>& reopen);

}  // namespace ampere::testing
