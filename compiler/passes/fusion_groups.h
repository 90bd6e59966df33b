// Fusion grouping analysis: which nodes a fusing code generator runs as one kernel. It changes nothing in
// the graph; code generation takes the groups it can (codegen::fusedKernels), `sinter dump --stage=fusion`
// prints them and `--format=dot` draws them as boxes.
#pragma once

#include <string>
#include <vector>

#include "compiler/ir/fusion_group.h"
#include "compiler/ir/graph.h"

namespace sinter::passes {

// Groups, each node in at most one: a matmul with the chain of single-use elementwise ops after it
// (bias add, activation, residual add, activation gradient); a conv2d with its own (bias add,
// activation); a bias gradient's column sums with the
// weight-gradient matmul_tn that reads the same dy; cross_entropy with its gradient (and the softmax
// of the same logits); chains of single-use elementwise ops.
std::vector<ir::FusionGroup> findFusionGroups(const ir::Graph& g);

// "// group 0  gemm + epilogue  %8 matmul, %9 add, %10 relu  (stores %9, %10)" lines and a summary.
std::string fusionReport(const ir::Graph& g, const std::vector<ir::FusionGroup>& groups);

}  // namespace sinter::passes
