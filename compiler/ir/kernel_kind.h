// The kinds of kernel that code generation emits: how one op is computed alone (each op's entry names
// its kind), and the kinds of fused groups (compiler/passes/fusion_groups.cpp forms them). A group keeps
// its kind from the pass that forms it to the LLVM function that computes it.
#pragma once

#include <cstdint>
#include <string_view>

namespace sinter::ir {

enum class KernelKind : std::uint8_t {
  None,          // graph arguments: no kernel computes them
  Fill,          // a constant
  Elementwise,   // one elementwise op (or a broadcast copy)
  Reduction,     // reduce_*, count, sum_to
  Softmax,       // softmax, log_softmax and their gradients, a row at a time
  CrossEntropy,  // cross_entropy or its gradient alone
  Loss,          // mse, bce_with_logits, soft_cross_entropy
  Layout,        // reshape, transpose, concat, slice
  Gather,        // gather and its gradient
  Gemm,          // matmul, matmul_tn, matmul_nt
  Convolution,   // conv2d and its gradients
  Pooling,       // max and average pooling and their gradients
  Loop,          // a region op (scan): a native loop around its body's kernels

  // Fused groups.
  ElementwiseChain,     // elementwise ops in one loop
  GemmEpilogue,         // a product with elementwise ops applied to its rows (bias, activation, residual)
  GemmBiasGradient,     // a weight gradient's matmul_tn with the column sums of the same dy
  GemmSummedBatches,    // a batched matmul_tn summed over its batch axes: one product over all their rows
  ConvEpilogue,         // a conv2d with elementwise ops applied to each image's output (bias, activation)
  SoftmaxCrossEntropy,  // cross_entropy with its gradient and/or the softmax of the same logits
};

// "gemm + epilogue": as `sinter dump --stage=fusion` and `--stage=kernel` print it.
std::string_view kernelKindName(KernelKind k);

// True for the kinds of fused groups.
inline bool isFusedKind(KernelKind k) { return k >= KernelKind::ElementwiseChain; }

}  // namespace sinter::ir
