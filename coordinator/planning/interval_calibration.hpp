// What an estimate's 90% interval adds beyond its blocks' GP variances (docs/method.md §14): the
// miss of whole models that the sum of block variances does not explain, measured on whole models
// a campaign trained (its calibration models). Pure functions, safe on any thread.
#pragma once

#include <map>
#include <utility>
#include <vector>

#include "common/layer_parser.hpp"
#include "common/model_spec.hpp"
#include "coordinator/planning/kind_model.hpp"

namespace ampere {

/// The whole-model residual r of `served` (kind models of one campaign, their own residual ignored):
/// the mean over `measured` (a whole model and its measured seconds per iteration, in the models'
/// units) of log(measured/estimated)² less the estimate's relative variance, at least 0. 0 below 2
/// models, when one cannot be estimated (a kind not fitted yet), or for a non-positive figure.
double whole_model_residual(const std::map<KindKey, KindModel>& served,
                            const std::vector<std::pair<ModelSpec, double>>& measured);

}  // namespace ampere
