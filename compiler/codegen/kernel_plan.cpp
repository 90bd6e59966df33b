#include "compiler/codegen/kernel_plan.h"

#include <fmt/format.h>
#include <algorithm>
#include <stdexcept>

#include "compiler/codegen/emit_kernels.h"
#include "compiler/codegen/grad_buckets.h"
#include "compiler/codegen/kernel_emitter.h"
#include "compiler/ir/scan.h"

namespace sinter::codegen {

namespace {

// The loop that computes region node `n` and every later node of the same loop: the same steps, each body
// one that the loop's body (the biggest) extends. The forward pass's loop thus becomes its saving loop.
ir::FusionGroup loopKernel(const ir::Graph& g, const ir::Node& n) {
  ir::FusionGroup k{ir::KernelKind::Loop, {}, {}};
  const ir::Graph* body = n.body.get();
  for (std::size_t i = static_cast<std::size_t>(n.id); i < g.nodes.size(); ++i) {
    const ir::Node& m = g.nodes[i];
    if (!ir::sameSteps(n, m)) continue;
    if (ir::extendsBody(*body, *m.body)) {
      k.nodes.push_back(m.id);
    } else if (ir::extendsBody(*m.body, *body)) {  // and so every member's, by transitivity
      k.nodes.push_back(m.id);
      body = m.body.get();
    }
  }
  k.stored = k.nodes;  // every result of a loop is written to memory
  return k;
}

// Random ops draw from the train step's seed, one value per call; a body runs many times per call.
void checkBody(const ir::Node& loop) {
  for (const ir::Node& n : loop.body->nodes)
    if (ir::opDef(n.op).flags & ir::kStochastic)
      throw std::runtime_error(fmt::format("{} at {}: code generation does not compile {} inside a loop body yet",
                                           ir::opName(loop.op), loop.loc.valid() ? loop.loc.str() : "<no location>",
                                           ir::opName(n.op)));
}

}  // namespace

loop::Product outerProduct(const ir::Graph& body, const ir::Node& loop, loop::Product p) {
  const auto input = std::find(body.inputs.begin(), body.inputs.end(), p.b.buffer.node);
  if (input == body.inputs.end())
    throw std::logic_error("codegen: a panel packed once of a value that is no body input");
  p.b.buffer = loop::Buffer::of(loop.operands[static_cast<std::size_t>(input - body.inputs.begin())]);
  return p;
}

const ir::Node& loopBody(const ir::Graph& g, const ir::FusionGroup& loop) {
  const ir::Node* most = &g.node(loop.nodes.front());
  for (ir::NodeId id : loop.nodes)
    if (g.node(id).body->results.size() > most->body->results.size()) most = &g.node(id);
  return *most;
}

KernelProgram planKernels(const ir::Graph& g) {
  KernelProgram p;
  const std::vector<ir::FusionGroup> fused = fusedKernels(g);
  ir::NodeMap<int> fusedOf(g, -1);
  for (std::size_t k = 0; k < fused.size(); ++k)
    for (ir::NodeId id : fused[k].nodes) fusedOf[id] = static_cast<int>(k);
  ir::NodeMap<bool> inLoop(g, false);
  for (const ir::Node& n : g.nodes) {
    const int k = fusedOf[n.id];
    if (k >= 0) {
      const ir::FusionGroup& f = fused[static_cast<std::size_t>(k)];
      if (fusedPosition(g, f) == n.id) p.kernels.push_back(f);
    } else if (ir::opDef(n.op).flags & ir::kRegion) {
      if (inLoop[n.id]) continue;
      checkBody(n);
      p.kernels.push_back(loopKernel(g, n));
      for (ir::NodeId id : p.kernels.back().nodes) inLoop[id] = true;
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
  for (std::size_t k = 0; k < l.program.kernels.size(); ++k) {
    const ir::FusionGroup& loop = l.program.kernels[k];
    if (loop.kind != ir::KernelKind::Loop) continue;
    const ir::Node& first = loopBody(g, loop);
    auto body = std::make_shared<LoweredGraph>(lowerGraph(*first.body, symbols, reference));
    const ir::ScanShape s = ir::ScanShape::of(first);
    const std::vector<ir::NodeId>& inputs = first.body->inputs;
    body->program.invariant.assign(inputs.begin() + s.carries + s.seqs, inputs.end());  // the closures
    l.program.bodies[k] = std::move(body);
  }
  return l;
}

namespace {

// A loop kernel: the B operands it packs once before its first step, its steps, and its body's kernel
// program once, indented under it.
std::string printLoop(const ir::Graph& g, const ir::FusionGroup& k, const KernelProgram& p, std::size_t index,
                      const lower::Bindings& bindings, int lanes) {
  const ir::Node& first = loopBody(g, k);
  const ir::ScanShape s = ir::ScanShape::of(first);
  const ir::Dim trip =
      g.node(first.operands[static_cast<std::size_t>(s.carries)]).type.shape[static_cast<std::size_t>(s.axis)];
  std::string out;
  auto body = p.bodies.find(index);
  if (body != p.bodies.end())
    for (const PackedOnce& once :
         packedOnce(*first.body, body->second->program, {lanes, body->second->program.invariant})) {
      out += fmt::format("    before the first step, B of the body's products packed once: {}, {} f32\n", once.panel,
                         once.floats.str());
      out += loop::print(g, packOnceNest(outerProduct(*first.body, first, once.product), once.panel, lanes), 4);
    }
  out +=
      fmt::format("    for t in {}: @{}(carries {}, sequences {} sliced along axis {}, {} closures){}\n",
                  s.reverse ? fmt::format("{}-1..0", trip.str()) : fmt::format("0..{}", trip.str()), first.body->name,
                  s.carries, s.seqs, s.axis, first.operands.size() - static_cast<std::size_t>(s.carries + s.seqs),
                  s.axis == 0 ? "" : ", steps copied in and out");
  if (body == p.bodies.end()) return out;
  const LoweredGraph& l = *body->second;
  out += fmt::format("    body arena {} bytes, carries double-buffered\n", l.memory.arenaBytes(bindings));
  const std::string text = printKernels(*first.body, l.program, l.memory, bindings, lanes);
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t eol = text.find('\n', at);
    out += "      " + text.substr(at, eol - at) + "\n";
    at = eol == std::string::npos ? text.size() : eol + 1;
  }
  return out;
}

}  // namespace

std::string printKernels(const ir::Graph& g, const KernelProgram& p, const lower::MemoryPlan& memory,
                         const lower::Bindings& bindings, int lanes, const GradBuckets* buckets) {
  const std::vector<std::int64_t> offsets = memory.slotOffsets(bindings);
  std::string binding;
  for (const auto& [sym, v] : bindings) binding += fmt::format("{}{}={}", binding.empty() ? "" : ", ", sym, v);
  std::size_t computed = 0;
  for (const ir::Node& n : g.nodes) computed += n.op != ir::Op::Input && n.op != ir::Op::Param;
  std::string out =
      fmt::format("// kernels of @{}: {} kernels for {} computed nodes; {} f32 lanes; arena offsets at {}\n", g.name,
                  p.kernels.size(), computed, lanes, binding.empty() ? "(no symbols)" : binding);
  auto bucketsAfter = [&](std::size_t kernel) {
    std::string lines;
    if (!buckets) return lines;
    for (std::size_t b = 0; b < buckets->buckets.size(); ++b)
      if (buckets->buckets[b].readyAfter == kernel) lines += fmt::format("  {}\n", describeBucket(g, *buckets, b));
    return lines;
  };
  if (buckets && !buckets->buckets.empty())
    out += fmt::format(
        "// {} gradient bucket{} of at most {} KB (--grad-bucket-kb), last layer first: the step calls the bucket "
        "hook after the kernel that completes each\n",
        buckets->buckets.size(), buckets->buckets.size() == 1 ? "" : "s", buckets->targetBytes / 1024);
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
    if (k.kind == ir::KernelKind::Loop) out += printLoop(g, k, p, i, bindings, lanes);
    else out += loop::print(g, scheduleKernel(g, k, {lanes, p.invariant}), 4);
    std::vector<ir::NodeId> reads;
    for (ir::NodeId id : k.nodes)
      for (ir::NodeId o : g.node(id).operands)
        if (!k.contains(o) &&
            std::find(reads.begin(), reads.end(), o) == reads.end())
          reads.push_back(o);
    std::string r, w;
    for (ir::NodeId id : reads) r += fmt::format("{}%{} ({})", r.empty() ? "" : ", ", id, home(id));
    for (ir::NodeId id : k.nodes) w += fmt::format("{}%{} ({})", w.empty() ? "" : ", ", id, home(id));
    out += fmt::format("    reads {}\n    writes {}\n", r.empty() ? "nothing" : r, w);
    out += bucketsAfter(i);
  }
  if (const std::string last = bucketsAfter(p.kernels.size()); !last.empty())
    out += "after the copies of results that share a value:\n" + last;
  return out;
}

}  // namespace sinter::codegen
