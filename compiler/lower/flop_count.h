// The useful arithmetic of a graph: the floating-point operations of its matrix products and convolutions,
// counted from their shapes at given values of the symbolic dimensions. A multiply-add is 2 FLOPs, so a
// product of [M,K] by [K,N] is 2·M·K·N and a convolution 2·N·O·OH·OW·C·KH·KW (every tap of the kernel over
// every output position, padding taps included, as PyTorch's and oneDNN's counts do). The gradient forms
// (matmul_tn, matmul_nt, conv2d_grad_input, conv2d_grad_weight) cost what their forward product costs, and
// only the ones the optimized graph still holds are counted: an input gradient nothing reads is gone after
// dead-code elimination, so the count is the work a step must do, not what autodiff first wrote. Elementwise
// ops, reductions and the optimizer are not counted: they are bound by memory, not by the FMA units, and
// the count is what `tools/bench` divides by the time of a step to compare it with the machine's FMA peak.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"
#include "compiler/lower/memory_plan.h"

namespace sinter::lower {

// One product or convolution of a graph, or of a loop body run once per step.
struct ProductFlops {
  std::string where;  // "%8", or "%30/%4" for node %4 of the body of the loop %30
  ir::Op op = ir::Op::MatMul;
  std::string dims;        // "64x784x256" (MxKxN, "28*64x..." when batched); convolutions "NxOxOHxOW*CxKHxKW"
  std::int64_t runs = 1;   // how often one run of the graph runs it: the trip counts of the loops around it
  std::int64_t flops = 0;  // every run together
};

struct FlopCount {
  std::int64_t total = 0;
  std::vector<ProductFlops> products;  // in node order
};

// The products and convolutions of g at bindings b (every symbol of g, and of its loop bodies and trip counts,
// bound: std::runtime_error names a missing one). A loop's body counts once per step, and once per loop
// however many of its results the graph reads.
FlopCount countFlops(const ir::Graph& g, const Bindings& b);

// The FLOPs of one node of g: 2 per multiply-add of a product or convolution, 0 for every other op (a loop's
// body is counted by countFlops).
std::int64_t nodeFlops(const ir::Graph& g, const ir::Node& n, const Bindings& b);

}  // namespace sinter::lower
