// The names of the Graph IR's ops. Everything else about an op (its printed name, arity, attributes, type
// rule, scalar formula, gradient rule, reference kernel, kernel kind, builtin and docs) sits in its entry
// in the family file named beside it; op_table.cpp assembles the entries and fails at start-up when an op
// has none. A new op is a line here and an entry there.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sinter::ir {

enum class Op : std::uint8_t {
  // ops/leaves.cpp: graph arguments and constants.
  Input,
  Param,
  Constant,

  // ops/elementwise.cpp: one operand.
  Neg,
  Exp,
  Log,
  Sqrt,
  Abs,
  Sign,
  Erf,
  Sigmoid,
  Tanh,
  Relu,
  LeakyRelu,
  Gelu,
  Softplus,
  Silu,
  Mish,
  Hardswish,
  Softsign,
  LogicalNot,
  Cast,
  StopGradient,
  Dropout,
  // ops/elementwise.cpp: the derivatives the backward pass uses.
  ReluGrad,
  LeakyReluGrad,
  GeluGrad,
  DropoutGrad,

  // ops/arithmetic.cpp: operands that broadcast NumPy-style: arithmetic, comparisons, logic, where.
  Add,
  Sub,
  Mul,
  Div,
  Pow,
  Maximum,
  Minimum,
  Less,
  LessEqual,
  Greater,
  GreaterEqual,
  Equal,
  NotEqual,
  LogicalAnd,
  LogicalOr,
  Where,

  // ops/reduce.cpp: reductions, broadcasts and the softmax family.
  ReduceSum,
  ReduceMean,
  ReduceMax,
  Count,
  ArgMax,
  SumTo,
  Broadcast,
  Softmax,
  SoftmaxGrad,
  LogSoftmax,
  LogSoftmaxGrad,

  // ops/layout.cpp: reshape, transpose, concat, slices, gathers, one-hot and padding.
  Reshape,
  Transpose,
  Concat,
  Slice,
  SliceGrad,
  Gather,
  GatherGrad,
  OneHot,
  Pad,

  // ops/linalg.cpp: matrix products.
  MatMul,
  MatMulTN,
  MatMulNT,

  // ops/conv.cpp: convolution and pooling, NCHW.
  Conv2D,
  Conv2DGradInput,
  Conv2DGradWeight,
  MaxPool2D,
  MaxPool2DGrad,
  AvgPool2D,
  AvgPool2DGrad,

  // ops/losses.cpp: each a scalar mean.
  CrossEntropy,
  CrossEntropyGrad,
  SoftCrossEntropy,
  Mse,
  BceWithLogits,

  // ops/loops.cpp: region ops, whose node holds a body graph.
  Scan,
};

// The number of ops: one more than the last enumerator.
inline constexpr std::size_t kOpCount = static_cast<std::size_t>(Op::Scan) + 1;

}  // namespace sinter::ir
