// The kernel program of a generated function: the ordered kernels that code generation emits, each one
// computing a single node or a fused group. It decides which nodes run together, in which order and where;
// scheduleKernel turns each kernel into its loop nest (loop_ir.h), and `sinter dump --stage=kernel` prints
// the program with every nest and the buffers each kernel reads and writes.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "compiler/codegen/loop_ir.h"
#include "compiler/ir/fusion_group.h"
#include "compiler/ir/graph.h"
#include "compiler/lower/buffer_plan.h"
#include "compiler/lower/memory_plan.h"

namespace sinter::codegen {

struct LoweredGraph;

// The kernels of a generated function in execution order: the fused groups code generation emits as one
// loop nest each (kernels_fused.cpp), at their position, the loops (kind `loop`: the sibling scan nodes of
// one loop, kernels_loop.cpp), and every other computed node as a group of one of its op's kernel kind.
struct KernelProgram {
  std::vector<ir::FusionGroup> kernels;
  // Per loop kernel (by index in `kernels`): its body lowered like a graph, its own kernel program and arena
  // (lowerGraph fills it; planKernels alone leaves it empty).
  std::map<std::size_t, std::shared_ptr<const LoweredGraph>> bodies;
  // For a loop body's program: its inputs that hold the same value at every step (the closures), whose
  // products read B packed once per loop (loop::Target's `invariant`).
  std::vector<ir::NodeId> invariant;
};

// Every computed node of g in one kernel: fused groups (fusedKernels) at their position, the nodes of one loop
// (scan nodes with the same operands whose bodies one body extends: one result each) at the first's, the
// other nodes alone in node order.
KernelProgram planKernels(const ir::Graph& g);
// The member of a loop kernel whose body the loop runs: the one with the most results (a saving loop's body
// extends its forward loop's).
const ir::Node& loopBody(const ir::Graph& g, const ir::FusionGroup& loop);

// A graph lowered for code generation: its kernel program, where its arguments and results live (the ABI's
// buffers, sym_dims in the order of `symbols`) and the arena of its temporaries, planned at `reference`.
// The bodies of its loops are lowered the same way, with the same symbols (a body's symbols are its loop's).
struct LoweredGraph {
  KernelProgram program;
  lower::BufferPlan buffers;
  lower::MemoryPlan memory;
};
LoweredGraph lowerGraph(const ir::Graph& g, const std::vector<std::string>& symbols, const lower::Bindings& reference);

// The loop nest of one kernel for target `t` (loop_schedule.cpp).
loop::Nest scheduleKernel(const ir::Graph& g, const ir::FusionGroup& k, const loop::Target& t);

// A B operand of a loop body's products that the loop packs once, before its first step (loop::Target's
// `invariant`): the panel's name in the body's nests, a product that reads it (B, K, N, transB) and its size,
// K rounded up to whole vectors by N to whole strips.
struct PackedOnce {
  std::string panel;
  loop::Product product;
  loop::Expr floats;
};
// The name of B's panel packed once per loop in the body's nests: "%3 packed", "%3ᵀ packed".
std::string packedOnceName(ir::NodeId b, bool transposed);
// The panels the kernels of a loop body read packed once, each once, in the order the kernels first read them;
// those one kernel's nest reads.
std::vector<PackedOnce> packedOnce(const loop::Nest& nest, int lanes);
std::vector<PackedOnce> packedOnce(const ir::Graph& body, const KernelProgram& program, const loop::Target& t);
// A product of a loop body whose B is a body input, with B named as the loop's operand (the outer graph's node).
loop::Product outerProduct(const ir::Graph& body, const ir::Node& loop, loop::Product p);
// The nest that packs all of B of `p` into `panel`: every cache block's panel, one after the other, in the
// order the product's blocks read them.
loop::Nest packOnceNest(const loop::Product& p, const std::string& panel, int lanes);

struct GradBuckets;

// The program as text: per kernel its nodes, its loop nest for a target with `lanes` f32 lanes per vector,
// and where what it reads and writes lives in `memory` at `bindings`; with `buckets` (a train step), the
// gradient buckets after the kernel that completes each (grad_buckets.h).
std::string printKernels(const ir::Graph& g, const KernelProgram& p, const lower::MemoryPlan& memory,
                         const lower::Bindings& bindings, int lanes, const GradBuckets* buckets = nullptr);

}  // namespace sinter::codegen
