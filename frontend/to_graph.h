// Lowers a checked model to the forward Graph IR.
#pragma once

#include <optional>

#include "compiler/ir/module.h"
#include "frontend/ast.h"
#include "frontend/source.h"

namespace sinter::frontend {

// Inputs first, then params, each in declaration order; then one node per operation, located at its
// operator or callee and named after the value it defines. Results: every output in order, then the
// minimized value as the Loss (an output that is also the loss appears once, as the Loss).
// Requires a model that sema accepted: the IR's type rules throw on anything else.
ir::Module toGraph(const ast::Model& m, const std::optional<ir::TrainConfig>& train, const SourceFile& file);

}  // namespace sinter::frontend
