// Whether a family's variant networks fit an agent's job memory, checked before a campaign starts.
#pragma once

#include <string>
#include <vector>

#include "common/layer_parser.hpp"

namespace ampere {

/// Throws InputError when a variant network of `plan` at its kind's largest channels needs more
/// than `limit_bytes` to train (training_memory), naming the kind, the bytes, the limit and the
/// variant's largest layer.
void require_jobs_fit(const std::vector<ProfileKind>& plan, const std::string& family, double limit_bytes);

}  // namespace ampere
