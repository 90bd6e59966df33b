#include "compiler/passes/dce.h"

namespace sinter::passes {

bool eliminateDeadCode(ir::Graph& g) {
  const std::size_t n = g.nodes.size();
  std::vector<bool> live(n, false);
  for (const ir::Result& r : g.results) live[static_cast<std::size_t>(r.node)] = true;
  for (ir::NodeId id : g.inputs) live[static_cast<std::size_t>(id)] = true;
  for (ir::NodeId id : g.params) live[static_cast<std::size_t>(id)] = true;
  // Operands precede their users, so one backward sweep finds everything live.
  for (std::size_t i = n; i-- > 0;)
    if (live[i])
      for (ir::NodeId o : g.nodes[i].operands) live[static_cast<std::size_t>(o)] = true;

  std::vector<ir::NodeId> newId(n, -1);
  std::vector<ir::Node> kept;
  for (std::size_t i = 0; i < n; ++i) {
    if (!live[i]) continue;
    newId[i] = static_cast<ir::NodeId>(kept.size());
    kept.push_back(std::move(g.nodes[i]));
  }
  if (kept.size() == n) {
    g.nodes = std::move(kept);
    return false;
  }
  auto remap = [&](ir::NodeId& id) { id = newId[static_cast<std::size_t>(id)]; };
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
