#include "compiler/passes/rewrite.h"

namespace sinter::passes {

bool replaceAllUses(ir::Graph& g, ir::NodeId from, ir::NodeId to) {
  bool used = false;
  for (std::size_t i = static_cast<std::size_t>(from) + 1; i < g.nodes.size(); ++i)
    for (ir::NodeId& o : g.nodes[i].operands)
      if (o == from) {
        o = to;
        used = true;
      }
  for (ir::Result& r : g.results)
    if (r.node == from) {
      r.node = to;
      used = true;
    }
  return used;
}

ir::NodeMap<bool> reachableFromResults(const ir::Graph& g) {
  ir::NodeMap<bool> live(g, false);
  for (const ir::Result& r : g.results) live[r.node] = true;
  // Operands precede their users, so one backward sweep finds every node a result depends on.
  for (auto it = g.nodes.rbegin(); it != g.nodes.rend(); ++it)
    if (live[it->id])
      for (ir::NodeId o : it->operands) live[o] = true;
  return live;
}

ir::NodeMap<std::vector<ir::NodeId>> users(const ir::Graph& g) {
  ir::NodeMap<std::vector<ir::NodeId>> out(g);
  for (const ir::Node& n : g.nodes)
    for (ir::NodeId o : n.operands) out[o].push_back(n.id);
  return out;
}

bool isConstant(const ir::Graph& g, ir::NodeId id, double value) {
  const ir::Node& n = g.node(id);
  return n.op == ir::Op::Constant && n.scalar == value;
}

}  // namespace sinter::passes
