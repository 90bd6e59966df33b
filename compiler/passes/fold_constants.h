#pragma once
#include "compiler/ir/graph.h"

namespace sinter::passes {

// Constant folding: a node whose operands are all constants is evaluated with the reference
// interpreter and becomes a constant when every element of its value is the same number (constants
// are splats) for two different values of the symbolic dimensions. Random ops (dropout) are never
// folded. Returns true when it folded one.
bool foldConstants(ir::Graph& g);

}  // namespace sinter::passes
