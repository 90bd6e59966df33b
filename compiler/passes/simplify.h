#pragma once
#include "compiler/ir/graph.h"

namespace sinter::passes {

// Algebraic simplification: x+0, x-0, x*1, x/1, x**1 and -(-x) become x (or a broadcast of x);
// transposes of transposes compose, reshape and broadcast chains collapse, identity layout ops vanish,
// explicit broadcasts feeding a broadcasting op are dropped, and a matmul of a transposed operand
// becomes matmul_tn / matmul_nt. Returns true when it changed the graph.
bool simplifyAlgebra(ir::Graph& g);

}  // namespace sinter::passes
