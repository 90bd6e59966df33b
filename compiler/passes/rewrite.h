// Small helpers the passes share to edit a graph in place without breaking its invariants.
#pragma once

#include <vector>

#include "compiler/ir/graph.h"

namespace sinter::passes {

// Makes every user of `from` (operands of later nodes and results) use `to` instead. `to` must be
// defined before every user of `from`: an operand of `from` or an earlier node. Returns true when
// `from` had a user.
bool replaceAllUses(ir::Graph& g, ir::NodeId from, ir::NodeId to);

// Puts the nodes in `order` (a permutation of the ids that keeps operands first) and renumbers
// operands, backward marks, argument lists and results to match.
void reorder(ir::Graph& g, const std::vector<ir::NodeId>& order);

// The users of every node, in id order (a node using a value twice is listed twice).
std::vector<std::vector<ir::NodeId>> users(const ir::Graph& g);

// True when `id` is a constant whose elements all equal `value`.
bool isConstant(const ir::Graph& g, ir::NodeId id, double value);

}  // namespace sinter::passes
