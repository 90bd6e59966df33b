#include "compiler/codegen/kernel_plan.h"

#include <fmt/format.h>
#include <algorithm>
#include <stdexcept>

#include "compiler/codegen/emit_kernels.h"
#include "compiler/codegen/kernel_emitter.h"

namespace sinter::codegen {

Kernel::Kind kernelKind(ir::Op op) {
  switch (op) {
    case ir::Op::Input:
    case ir::Op::Param:
    case ir::Op::Constant: return Kernel::Fill;
    case ir::Op::ReduceSum:
    case ir::Op::ReduceMean:
    case ir::Op::ReduceMax:
    case ir::Op::Count:
    case ir::Op::SumTo: return Kernel::Reduction;
    case ir::Op::Softmax:
    case ir::Op::SoftmaxGrad:
    case ir::Op::LogSoftmax:
    case ir::Op::LogSoftmaxGrad: return Kernel::Softmax;
    case ir::Op::CrossEntropy:
    case ir::Op::CrossEntropyGrad: return Kernel::CrossEntropy;
    case ir::Op::SoftCrossEntropy:
    case ir::Op::Mse:
    case ir::Op::BceWithLogits: return Kernel::Loss;
    case ir::Op::Reshape:
    case ir::Op::Transpose:
    case ir::Op::Concat:
    case ir::Op::Slice:
    case ir::Op::SliceGrad: return Kernel::Layout;
    case ir::Op::Gather:
    case ir::Op::GatherGrad: return Kernel::Gather;
    case ir::Op::Broadcast: return Kernel::Elementwise;  // a copy through broadcast strides
    case ir::Op::MatMul:
    case ir::Op::MatMulTN:
    case ir::Op::MatMulNT: return Kernel::Gemm;
    case ir::Op::Conv2D:
    case ir::Op::Conv2DGradInput:
    case ir::Op::Conv2DGradWeight: return Kernel::Convolution;
    case ir::Op::MaxPool2D:
    case ir::Op::MaxPool2DGrad:
    case ir::Op::AvgPool2D:
    case ir::Op::AvgPool2DGrad: return Kernel::Pooling;
    default:
      if (ir::opInfo(op).flags & ir::kElementwise) return Kernel::Elementwise;
      throw std::logic_error(fmt::format("codegen: no kernel for op {}", ir::opName(op)));
  }
}

namespace {

bool has(const ir::Graph& g, const lower::FusedKernel& k, ir::Op op) {
  return std::any_of(k.nodes.begin(), k.nodes.end(), [&](ir::NodeId id) { return g.node(id).op == op; });
}

Kernel::Kind fusedKind(const ir::Graph& g, const lower::FusedKernel& k) {
  if (has(g, k, ir::Op::CrossEntropy)) return Kernel::CrossEntropyFused;
  if (has(g, k, ir::Op::SumTo)) return Kernel::GemmBiasGradient;
  if (kernelKind(g.node(k.nodes.front()).op) == Kernel::Gemm) return Kernel::GemmEpilogue;
  return Kernel::ElementwiseChain;
}

const char* kindName(Kernel::Kind k) {
  switch (k) {
    case Kernel::Fill: return "fill";
    case Kernel::Elementwise: return "elementwise";
    case Kernel::ElementwiseChain: return "elementwise chain";
    case Kernel::Reduction: return "reduction";
    case Kernel::Softmax: return "softmax";
    case Kernel::CrossEntropy: return "cross-entropy";
    case Kernel::CrossEntropyFused: return "cross-entropy fused";
    case Kernel::Loss: return "loss";
    case Kernel::Layout: return "layout";
    case Kernel::Gather: return "gather";
    case Kernel::Gemm: return "gemm";
    case Kernel::GemmEpilogue: return "gemm + epilogue";
    case Kernel::GemmBiasGradient: return "gemm + bias gradient";
    case Kernel::Convolution: return "convolution";
    case Kernel::Pooling: return "pooling";
  }
  return "?";
}

}  // namespace

KernelProgram planKernels(const ir::Graph& g) {
  KernelProgram p;
  p.fused = fusedKernels(g);
  std::vector<int> fusedOf(g.nodes.size(), -1);
  for (std::size_t k = 0; k < p.fused.size(); ++k)
    for (ir::NodeId id : p.fused[k].nodes) fusedOf[static_cast<std::size_t>(id)] = static_cast<int>(k);
  for (const ir::Node& n : g.nodes) {
    const int k = fusedOf[static_cast<std::size_t>(n.id)];
    if (k >= 0) {
      const lower::FusedKernel& f = p.fused[static_cast<std::size_t>(k)];
      if (fusedPosition(g, f) == n.id) p.kernels.push_back({fusedKind(g, f), f.nodes, k});
    } else if (n.op != ir::Op::Input && n.op != ir::Op::Param) {
      p.kernels.push_back({kernelKind(n.op), {n.id}, -1});
    }
  }
  return p;
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
    const int slot = memory.slotOf[static_cast<std::size_t>(id)];
    if (slot < 0) return "registers";
    return fmt::format("slot {} @{}", slot, offsets[static_cast<std::size_t>(slot)]);
  };
  for (std::size_t i = 0; i < p.kernels.size(); ++i) {
    const Kernel& k = p.kernels[i];
    std::string members;
    for (ir::NodeId id : k.nodes)
      members += fmt::format("{}%{} {}", members.empty() ? "" : ", ", id, ir::opName(g.node(id).op));
    out += fmt::format("kernel {} {}: {}\n", i, kindName(k.kind), members);
    out += loop::print(g, scheduleKernel(g, p, k, {lanes}), 4);
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
