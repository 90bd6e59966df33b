// The op table: one entry per op holds everything the compiler knows of it. The entries live by family in
// compiler/ir/ops/*.cpp; the printer, parser, verifier, reference interpreter, autodiff, the passes, code
// generation, the frontend's builtins and docs/ir.md's op reference (`sinter ops`) all read them here.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir/attrs.h"
#include "compiler/ir/kernel_kind.h"
#include "compiler/ir/op.h"
#include "compiler/ir/scalar.h"
#include "compiler/ir/tensor.h"
#include "compiler/ir/types.h"

namespace sinter::ir {

enum OpFlags : unsigned {
  kLeaf = 1u << 0,            // no operands: a graph argument or a constant
  kElementwise = 1u << 1,     // result[i] depends only on operand elements at i (after broadcasting)
  kBroadcasting = 1u << 2,    // operands that broadcast NumPy-style against each other
  kReduction = 1u << 3,       // sums over some axes
  kStochastic = 1u << 4,      // draws random numbers: never folded, merged or moved across calls
  kTranscendental = 1u << 5,  // computes exp, log, tanh, erf or pow: inline vector code in f32, a libm call in
                              // f64 (so an f64 loop of it does not vectorize)
  kRegion = 1u << 6,          // holds a body graph (Node::body) that it runs, such as a loop's step
};

struct Node;
class GradBuilder;  // grad_builder.h: what a gradient rule is written against

using GradRule = void (*)(GradBuilder&);

// An op's gradient: its rule, or none, and in either case one line for the docs (the rule's formula, or
// why there is none). An op without a rule on a needed gradient path is a compile error naming it.
struct Gradient {
  GradRule rule = nullptr;
  const char* doc = "";
};

// The rule of ops whose gradient is zero by definition (piecewise constant, shape-only, leaves).
inline void zeroGradient(GradBuilder&) {}

// Infers the result type of a node from its operands' types, or returns an error message: the op's
// verifier. Leaves (input, param, constant) carry their type and are checked only for being well formed.
using TypeRule = std::string (*)(const Node& n, const std::vector<TensorType>& operands, TensorType& out);

// One call of a reference kernel: the node, its operands' values and its concrete result shape.
struct RefCall {
  const Node& node;
  const std::vector<const Tensor*>& in;
  const std::vector<std::int64_t>& shape;
  RunMode mode;
};
// The op in f64, written the obvious way: the oracle that passes and code generation are tested against.
using RefKernel = Tensor (*)(const RefCall& call);

// How the op appears in the model language when it maps 1:1 to a builtin function: operands named x (one)
// or a and b (two), then its attributes that have a fallback, as keyword arguments. Builtins that check
// or convert their arguments in the user's terms are written in frontend/functions.cpp instead.
struct Builtin {
  std::string_view name;  // empty: no 1:1 builtin
  // For two operands: what "cannot ... f32[3] and f32[4]" says the call does ("take the maximum of").
  std::string_view verb = {};
  // Whether folding compile-time integers gives an integer (so that it can be a shape or an axis).
  enum Integral { Never, IfOperandsAre, Always } integral = Never;
};

struct OpDef {
  Op op;
  std::string_view name;  // as printed and parsed
  int arity;              // -1: any number of operands (at least one)
  unsigned flags = 0;
  std::vector<AttrSpec> attrs = {};  // required attributes
  bool carriesType = false;          // the result type is an input of the rule (reshape, sum_to, ...)
  TypeRule typeRule = nullptr;
  std::string_view doc = {};      // one line for docs/ir.md: what the op computes
  ScalarFormula scalar = {};      // elementwise ops: the formula at one element
  Gradient grad = {};             // the gradient rule and its line in the docs
  RefKernel reference = nullptr;  // the f64 interpreter's kernel (arguments have none: they are given)
  KernelKind kernel = KernelKind::None;  // how code generation computes the op alone
  Builtin builtin = {};

  bool differentiable() const { return grad.rule != nullptr; }
};

// A family of ops: the entries of one file of compiler/ir/ops/, with the title docs/ir.md gives them.
struct OpFamily {
  std::string_view title;
  std::string_view file;
  std::vector<OpDef> ops;
};

const OpDef& opDef(Op op);
inline std::string_view opName(Op op) { return opDef(op).name; }
std::optional<Op> opFromName(std::string_view name);
// Every entry, in the order of the Op enum.
const std::vector<OpDef>& allOps();
// The families, in the order of docs/ir.md.
const std::vector<OpFamily>& opFamilies();

// docs/ir.md's op reference as Markdown: a table per family (`sinter ops` prints it).
std::string opReference();

}  // namespace sinter::ir
