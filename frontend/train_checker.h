// Checks a train block against its model and turns it into an ir::TrainConfig.
#pragma once

#include <optional>

#include "compiler/ir/module.h"
#include "frontend/ast.h"
#include "frontend/builtins.h"
#include "frontend/reporter.h"
#include "frontend/scope.h"

namespace sinter::frontend {

// Reports an unknown model or value, a loss that is not a scalar f32[], a missing 'minimize', settings
// given twice, unknown optimizers or hyper-parameters, out-of-range values and bad param groups (their
// patterns are matched against `params`, the model's param names, unless it is null). Unset values keep
// the optimizer's defaults.
std::optional<ir::TrainConfig> checkTrain(const ast::TrainBlock& t, const ast::Model& m, const Scope& scope,
                                          const std::vector<std::string>* params, Reporter& r);

// A hyper-parameter's value given as argument `a`, checked against its bound; reports and returns nullopt
// when it is not a number (or true/false) in range.
std::optional<double> hyperValue(const HyperParam& h, const ast::Arg& a, Reporter& r);

// Stores v in c's field of h.
void setHyper(ir::TrainConfig& c, const HyperParam& h, double v);

}  // namespace sinter::frontend
