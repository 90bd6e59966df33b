#include "compiler/passes/dce.h"

namespace sinter::passes {

bool eliminateDeadCode(ir::Graph& g) { return ir::removeDeadNodes(g); }

}  // namespace sinter::passes
