// What the op families share: the families themselves (one function per file of compiler/ir/ops/), type
// rules several families use, and the reference interpreter's index arithmetic.
#pragma once

#include <string>
#include <vector>

#include "compiler/ir/grad_builder.h"
#include "compiler/ir/graph.h"

namespace sinter::ir::ops {

using Types = std::vector<TensorType>;
using Extents = std::vector<std::int64_t>;
using Ints = std::vector<std::int64_t>;

// ---- the families, in the order of docs/ir.md --------------------------------------------------------------
OpFamily leafOps();         // leaves.cpp
OpFamily elementwiseOps();  // elementwise.cpp
OpFamily arithmeticOps();   // arithmetic.cpp
OpFamily reduceOps();       // reduce.cpp
OpFamily layoutOps();       // layout.cpp
OpFamily linalgOps();       // linalg.cpp
OpFamily convOps();         // conv.cpp
OpFamily lossOps();         // losses.cpp
OpFamily loopOps();         // loops.cpp

// ---- type rules ------------------------------------------------------------------------------------------------
// One floating operand; the result has its type.
std::string unaryFloat(const Node& n, const Types& in, TensorType& out);
// Two operands of one dtype that broadcast NumPy-style.
std::string binaryBroadcast(const Node& n, const Types& in, TensorType& out);
// relu_grad(dy, x) and friends: two floating operands of the result's type.
std::string sameAsBoth(const Node& n, const Types& in, TensorType& out);
// Sorted, distinct axes of a tensor of the given rank; an error message or empty.
std::string checkAxes(const Ints& axes, std::size_t rank);

// ---- reference kernels ---------------------------------------------------------------------------------------
// Index into a tensor of shape `in` (broadcast to `out`) of the element out's flat index reads.
std::int64_t broadcastIndex(const Extents& in, const Extents& out, std::int64_t flat);
// Row-major strides of a shape.
Extents strides(const Extents& s);

// A tensor viewed along one axis as (outer, length, inner).
struct AxisView {
  std::int64_t outer = 1, len = 1, inner = 1;
  AxisView(const Extents& s, std::int64_t axis);
  std::int64_t at(std::int64_t o, std::int64_t k, std::int64_t i) const { return (o * len + k) * inner + i; }
};

// The reference kernel of every elementwise op: its scalar formula at each element, with broadcasting (and,
// for a stochastic op, its random factor as one more operand).
Tensor refElementwise(const RefCall& c);

// The entry of an elementwise op computed by its scalar formula alone: the shape every family's helper
// (unary, binary, derivative) fills in with its own arity, flags and type rule.
OpDef elementwiseEntry(Op op, std::string_view name, int arity, unsigned flags, TypeRule typeRule,
                       std::string_view doc, ScalarFormula f, Gradient g, Builtin builtin = {});

}  // namespace sinter::ir::ops
