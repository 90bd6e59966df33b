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

void reorder(ir::Graph& g, const std::vector<ir::NodeId>& order) {
  std::vector<ir::NodeId> newId(g.nodes.size(), -1);
  for (std::size_t i = 0; i < order.size(); ++i) newId[static_cast<std::size_t>(order[i])] = static_cast<ir::NodeId>(i);
  auto remap = [&](ir::NodeId& id) {
    if (id >= 0) id = newId[static_cast<std::size_t>(id)];
  };
  std::vector<ir::Node> nodes;
  nodes.reserve(order.size());
  for (ir::NodeId id : order) nodes.push_back(std::move(g.nodes[static_cast<std::size_t>(id)]));
  for (ir::Node& n : nodes) {
    remap(n.id);
    for (ir::NodeId& o : n.operands) remap(o);
    remap(n.gradOf);
  }
  for (ir::NodeId& id : g.inputs) remap(id);
  for (ir::NodeId& id : g.params) remap(id);
  for (ir::Result& r : g.results) remap(r.node);
  g.nodes = std::move(nodes);
}

std::vector<std::vector<ir::NodeId>> users(const ir::Graph& g) {
  std::vector<std::vector<ir::NodeId>> out(g.nodes.size());
  for (const ir::Node& n : g.nodes)
    for (ir::NodeId o : n.operands) out[static_cast<std::size_t>(o)].push_back(n.id);
  return out;
}

bool isConstant(const ir::Graph& g, ir::NodeId id, double value) {
  const ir::Node& n = g.node(id);
  return n.op == ir::Op::Constant && n.scalar == value;
}

}  // namespace sinter::passes
