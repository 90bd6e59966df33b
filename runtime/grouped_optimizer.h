// An optimizer over param groups: one optimizer of the same kind per group, each with its group's
// hyper-parameters, stepped together. Reached through Optimizer::create.
#pragma once

#include "runtime/optimizer.h"

namespace sinter::rt {

// The optimizer of config.optimizer over every param, the params of each group with its config. Throws
// std::invalid_argument for a param index out of range or in two groups.
std::unique_ptr<Optimizer> createGrouped(const sinter_train_config& config, std::vector<int64_t> paramSizes,
                                         int32_t dtype, std::vector<ParamGroup> groups);

}  // namespace sinter::rt
