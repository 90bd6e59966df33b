// Graphviz DOT output of a graph: arguments, forward nodes and backward nodes (those with a gradOf)
// in three clusters, value edges from operand to user, and one note per result.
#pragma once

#include <string>
#include <vector>

#include "compiler/ir/graph.h"

namespace sinter::ir {

// A box drawn around some nodes (a fusion group).
struct DotBox {
  std::string label;
  std::vector<NodeId> nodes;
};

// `dot -Tsvg` renders it. Each node shows its id, op, attributes and type. Boxes sit inside the forward
// or backward cluster when all their nodes do, else between the clusters.
std::string printDot(const Graph& g, const std::vector<DotBox>& boxes = {});

}  // namespace sinter::ir
