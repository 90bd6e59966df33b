#include "compiler/passes/dce.h"

#include "compiler/passes/rewrite.h"

namespace sinter::passes {

bool eliminateDeadCode(ir::Graph& g) {
  const std::size_t n = g.nodes.size();
  ir::NodeMap<bool> live = reachableFromResults(g);
  for (ir::NodeId id : g.inputs) live[id] = true;
  for (ir::NodeId id : g.params) live[id] = true;

  ir::NodeMap<ir::NodeId> newId(g, -1);
  std::vector<ir::Node> kept;
  for (ir::Node& node : g.nodes) {
    if (!live[node.id]) continue;
    newId[node.id] = static_cast<ir::NodeId>(kept.size());
    kept.push_back(std::move(node));
  }
  if (kept.size() == n) {
    g.nodes = std::move(kept);
    return false;
  }
  auto remap = [&](ir::NodeId& id) { id = newId[id]; };
  for (ir::Node& node : kept) {
    remap(node.id);
    for (ir::NodeId& o : node.operands) remap(o);
    if (node.gradOf >= 0) remap(node.gradOf);  // -1 when the forward node itself died
  }
  for (ir::NodeId& id : g.inputs) remap(id);
  for (ir::NodeId& id : g.params) remap(id);
  for (ir::Result& r : g.results) remap(r.node);
  g.nodes = std::move(kept);
  return true;
}

}  // namespace sinter::passes
