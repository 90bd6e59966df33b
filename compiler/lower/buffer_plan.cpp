#include "compiler/lower/buffer_plan.h"

namespace sinter::lower {

BufferPlan planBuffers(const ir::Graph& g, std::vector<std::string> symbols) {
  BufferPlan plan;
  plan.symbols = std::move(symbols);
  plan.home.assign(g.nodes.size(), Slot{});
  int next = 0;
  for (const auto* list : {&g.inputs, &g.params})
    for (ir::NodeId id : *list) plan.home[id] = {Slot::Argument, next++};
  // A node computes straight into the first result buffer that names it; further results naming the
  // same node (or an argument) receive a copy.
  for (const ir::Result& r : g.results) {
    const int buffer = next++;
    Slot& s = plan.home[r.node];
    if (s.kind == Slot::Unused) s = {Slot::Result, buffer};
    else plan.copies.push_back({buffer, r.node});
  }
  for (const ir::Node& n : g.nodes) {
    Slot& s = plan.home[n.id];
    if (s.kind == Slot::Unused) s.kind = Slot::Temporary;
  }
  plan.numBuffers = next;
  return plan;
}

}  // namespace sinter::lower
