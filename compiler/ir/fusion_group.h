// A group of nodes that one kernel computes, and the one type a fused group keeps on its way down:
//   compiler/passes/fusion_groups.cpp forms the groups (findFusionGroups);
//   compiler/codegen/kernels_fused.cpp keeps those code generation can emit as one loop nest (refining what
//     each stores), and kernel_plan.cpp adds every other node as a group of one: the kernel program;
//   compiler/lower/memory_plan.cpp plans memory around them;
//   compiler/codegen/loop_schedule.cpp schedules each as a loop nest, and emit_loops.cpp emits it as one
//     LLVM function, named after its number in `sinter dump --stage=kernel`.
#pragma once

#include <algorithm>
#include <vector>

#include "compiler/ir/graph.h"
#include "compiler/ir/kernel_kind.h"

namespace sinter::ir {

struct FusionGroup {
  KernelKind kind = KernelKind::None;
  std::vector<NodeId> nodes;   // in id order
  std::vector<NodeId> stored;  // members read outside the group or returned: what the kernel writes to memory

  // More than one node: the members that are not stored live in registers only.
  bool fused() const { return nodes.size() > 1; }
  bool contains(NodeId id) const { return std::binary_search(nodes.begin(), nodes.end(), id); }
  bool stores(NodeId id) const { return std::find(stored.begin(), stored.end(), id) != stored.end(); }
};

}  // namespace sinter::ir
