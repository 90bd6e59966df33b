// The kernel program of a generated function: the ordered kernels that code generation emits, each one
// computing a single node or a fused group. It decides which nodes run together, in which order and where;
// scheduleKernel turns each kernel into its loop nest (loop_ir.h), and `sinter dump --stage=kernel` prints
// the program with every nest and the buffers each kernel reads and writes.
#pragma once

#include <string>
#include <vector>

#include "compiler/codegen/loop_ir.h"
#include "compiler/ir/kernel_kind.h"
#include "compiler/ir/graph.h"
#include "compiler/lower/memory_plan.h"

namespace sinter::codegen {

struct Kernel {
  ir::KernelKind kind;
  std::vector<ir::NodeId> nodes;  // computed by this kernel, in order
  int fused = -1;                 // its entry in KernelProgram::fused, or -1 for a single node
};

struct KernelProgram {
  std::vector<lower::FusedKernel> fused;
  std::vector<Kernel> kernels;  // in execution order
};

// Every computed node of g in one kernel: fused groups (fusedKernels) at their position, the other nodes
// alone in node order.
KernelProgram planKernels(const ir::Graph& g);

// The loop nest of one kernel of `program` for target `t` (loop_schedule.cpp).
loop::Nest scheduleKernel(const ir::Graph& g, const KernelProgram& program, const Kernel& k, const loop::Target& t);

// The program as text: per kernel its nodes, its loop nest for a target with `lanes` f32 lanes per vector,
// and where what it reads and writes lives in `memory` at `bindings`.
std::string printKernels(const ir::Graph& g, const KernelProgram& p, const lower::MemoryPlan& memory,
                         const lower::Bindings& bindings, int lanes);

}  // namespace sinter::codegen
