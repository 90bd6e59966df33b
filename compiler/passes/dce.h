#pragma once
#include "compiler/ir/graph.h"

namespace sinter::passes {

// Dead-code elimination: drops every node that no result depends on (inputs and params stay: they are
// the graph's ABI) and renumbers the rest. Returns true when it removed something.
bool eliminateDeadCode(ir::Graph& g);

}  // namespace sinter::passes
