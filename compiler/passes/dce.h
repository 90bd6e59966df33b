#pragma once
#include "compiler/ir/graph.h"

namespace sinter::passes {

// Dead-code elimination as a pass: ir::removeDeadNodes (a loop's gradient rule prunes its reverse body with it).
bool eliminateDeadCode(ir::Graph& g);

}  // namespace sinter::passes
