#include "compiler/codegen/kernel_plan.h"

#include <fmt/format.h>
#include <algorithm>
#include <stdexcept>

#include "compiler/codegen/emit_kernels.h"
#include "compiler/codegen/kernel_emitter.h"

namespace sinter::codegen {

KernelProgram planKernels(const ir::Graph& g) {
  KernelProgram p;
  const std::vector<ir::FusionGroup> fused = fusedKernels(g);
  ir::NodeMap<int> fusedOf(g, -1);
  for (std::size_t k = 0; k < fused.size(); ++k)
    for (ir::NodeId id : fused[k].nodes) fusedOf[id] = static_cast<int>(k);
  for (const ir::Node& n : g.nodes) {
    const int k = fusedOf[n.id];
    if (k >= 0) {
      const ir::FusionGroup& f = fused[static_cast<std::size_t>(k)];
      if (fusedPosition(g, f) == n.id) p.kernels.push_back(f);
    } else if (ir::opDef(n.op).flags & ir::kRegion) {
      throw std::runtime_error(fmt::format("{} at {}: code generation does not compile loops yet (issue 16)",
                                           ir::opName(n.op), n.loc.valid() ? n.loc.str() : "<no location>"));
    } else if (n.op != ir::Op::Input && n.op != ir::Op::Param) {
      p.kernels.push_back({ir::opDef(n.op).kernel, {n.id}, {n.id}});
    }
  }
  return p;
}

LoweredGraph lowerGraph(const ir::Graph& g, const std::vector<std::string>& symbols, const lower::Bindings& reference) {
  LoweredGraph l;
  l.program = planKernels(g);
  l.buffers = lower::planBuffers(g, symbols);
  l.memory = lower::planMemory(g, reference, l.program.kernels);
  return l;
}

std::string printKernels(const ir::Graph& g, const KernelProgram& p, const lower::MemoryPlan& memory,
                         const lower::Bindings& bindings, int lanes) {
  const std::vector<std::int64_t> offsets = memory.slotOffsets(bindings);
  std::string binding;
  for (const auto& [sym, v] : bindings) binding += fmt::format("{}{}={}", binding.empty() ? "" : ", ", sym, v);
  std::size_t computed = 0;
  for (const ir::Node& n : g.nodes) computed += n.op != ir::Op::Input && n.op != ir::Op::Param;
  std::string out =
      fmt::format("// kernels of @{}: {} kernels for {} computed nodes; {} f32 lanes; arena offsets at {}\n", g.name,
                  p.kernels.size(), computed, lanes, binding.empty() ? "(no symbols)" : binding);
  auto home = [&](ir::NodeId id) -> std::string {
    const ir::Node& n = g.node(id);
    if (n.op == ir::Op::Input || n.op == ir::Op::Param) return "argument";
    for (const ir::Result& r : g.results)
      if (r.node == id) return fmt::format("result \"{}\"", r.name);
    const int slot = memory.slotOf[id];
    if (slot < 0) return "registers";
    return fmt::format("slot {} @{}", slot, offsets[static_cast<std::size_t>(slot)]);
  };
  for (std::size_t i = 0; i < p.kernels.size(); ++i) {
    const ir::FusionGroup& k = p.kernels[i];
    std::string members;
    for (ir::NodeId id : k.nodes)
      members += fmt::format("{}%{} {}", members.empty() ? "" : ", ", id, ir::opName(g.node(id).op));
    out += fmt::format("kernel {} {}: {}\n", i, ir::kernelKindName(k.kind), members);
    out += loop::print(g, scheduleKernel(g, k, {lanes}), 4);
    std::vector<ir::NodeId> reads;
    for (ir::NodeId id : k.nodes)
      for (ir::NodeId o : g.node(id).operands)
        if (std::find(k.nodes.begin(), k.nodes.end(), o) == k.nodes.end() &&
            std::find(reads.begin(), reads.end(), o) == reads.end())
          reads.push_back(o);
    std::string r, w;
    for (ir::NodeId id : reads) r += fmt::format("{}%{} ({})", r.empty() ? "" : ", ", id, home(id));
    for (ir::NodeId id : k.nodes) w += fmt::format("{}%{} ({})", w.empty() ? "" : ", ", id, home(id));
    out += fmt::format("    reads {}\n    writes {}\n", r.empty() ? "nothing" : r, w);
  }
  return out;
}

}  // namespace sinter::codegen
