#pragma once
#include "compiler/ir/graph.h"

namespace sinter::passes {

// Loop bodies: gives every result of one loop the same body (the biggest: a saving loop's body serves its
// forward loop) and runs the default pipeline inside each body, this pass included for loops in loops. The
// reverse body of a scan's gradient thereby drops the forward values it reads from the saved residuals.
// Returns true when it changed a body.
bool optimizeLoopBodies(ir::Graph& g);

}  // namespace sinter::passes
