// The reference interpreter's kernels, one function per op family, on f64 tensors with concrete shapes.
// Internal to compiler/ir; written for obviousness, not speed.
#pragma once

#include "compiler/ir/graph.h"
#include "compiler/ir/interpreter.h"

namespace sinter::ir::ref {

using Extents = std::vector<std::int64_t>;

// Index into a tensor of shape `in` (broadcast to `out`) of the element out's flat index reads.
std::int64_t broadcastIndex(const Extents& in, const Extents& out, std::int64_t flat);

Tensor unary(Op op, const Attrs& attrs, const Tensor& x);
Tensor binary(Op op, const Attrs& attrs, const Tensor& a, const Tensor& b, const Extents& shape);
Tensor reduce(Op op, const Attrs& attrs, const Tensor& x, const Extents& shape);
Tensor softmaxFamily(Op op, std::int64_t axis, const Tensor& x, const Tensor* y);
Tensor layout(const Node& n, const std::vector<const Tensor*>& in, const Extents& shape);
Tensor matmul(const Tensor& a, const Tensor& b, bool transA, bool transB, const Extents& shape);
Tensor convolution(const Node& n, const Tensor& a, const Tensor& b, const Extents& shape);
Tensor pooling(const Node& n, const std::vector<const Tensor*>& in, const Extents& shape);
Tensor crossEntropy(const Tensor& logits, const Tensor& labels);
Tensor crossEntropyGrad(double dloss, const Tensor& logits, const Tensor& labels);
// mse, bce_with_logits and soft_cross_entropy of (prediction or logits, targets): a scalar.
Tensor loss(Op op, const Tensor& x, const Tensor& targets);

}  // namespace sinter::ir::ref
