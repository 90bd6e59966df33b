// Small helpers the passes share to edit a graph in place without breaking its invariants.
#pragma once

#include <vector>

#include "compiler/ir/graph.h"
#include "compiler/ir/node_map.h"

namespace sinter::passes {

// Makes every user of `from` (operands of later nodes and results) use `to` instead. `to` must be
// defined before every user of `from`: an operand of `from` or an earlier node. Returns true when
// `from` had a user.
bool replaceAllUses(ir::Graph& g, ir::NodeId from, ir::NodeId to);


// Whether each node is one some result depends on (the result itself included).
ir::NodeMap<bool> reachableFromResults(const ir::Graph& g);

// The users of every node, in id order (a node using a value twice is listed twice).
ir::NodeMap<std::vector<ir::NodeId>> users(const ir::Graph& g);

// True when `id` is a constant whose elements all equal `value`.
bool isConstant(const ir::Graph& g, ir::NodeId id, double value);

}  // namespace sinter::passes
