#pragma once
#include "compiler/ir/graph.h"

namespace sinter::passes {

// Common-subexpression elimination: a node equal to an earlier one (same op, operands in any order for
// add, mul, maximum and minimum, attributes,
// type and, for constants, value) is replaced by it; random ops (dropout) are left alone. Returns true
// when it replaced something.
bool eliminateCommonSubexpressions(ir::Graph& g);

}  // namespace sinter::passes
