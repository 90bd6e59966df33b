// Checks a train block against its model and turns it into an ir::TrainConfig.
#pragma once

#include <optional>

#include "compiler/ir/module.h"
#include "frontend/ast.h"
#include "frontend/reporter.h"
#include "frontend/scope.h"

namespace sinter::frontend {

// Reports an unknown model or value, a loss that is not a scalar f32[], a missing 'minimize', settings
// given twice, unknown optimizers or hyper-parameters and out-of-range values. Unset values keep the
// optimizer's defaults.
std::optional<ir::TrainConfig> checkTrain(const ast::TrainBlock& t, const ast::Model& m, const Scope& scope,
                                          Reporter& r);

}  // namespace sinter::frontend
