// The op table: the single source of truth for every Graph IR op.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir/attrs.h"
#include "compiler/ir/types.h"

namespace sinter::ir {

enum OpFlags : unsigned {
  kLeaf = 1u << 0,            // no operands: a graph argument or a constant
  kElementwise = 1u << 1,     // result[i] depends only on operand elements at i (after broadcasting)
  kReduction = 1u << 2,       // sums over some axes
  kDifferentiable = 1u << 3,  // has a gradient rule in compiler/autodiff (docs/autodiff.md lists them)
  kStochastic = 1u << 4,      // draws random numbers: never folded, merged or moved across calls
  kTranscendental = 1u << 5,  // computes exp, log, tanh, erf or pow: inline vector code in f32, a libm call in
                              // f64 (so an f64 loop of it does not vectorize)
};

enum class Op : std::uint8_t {
#define SINTER_OP(id, name, arity, flags) id,
#include "compiler/ir/ops.def"
#undef SINTER_OP
};

struct Node;

// Infers the result type of a node from its operands' types, or returns an error message.
// Leaves (input, param, constant) carry their type and are checked only for being well formed.
using TypeRule = std::string (*)(const Node& n, const std::vector<TensorType>& operands, TensorType& out);

struct OpInfo {
  Op op;
  std::string_view name;
  int arity;  // -1: any number of operands (at least one)
  unsigned flags;
  TypeRule typeRule;
  std::vector<AttrSpec> attrs;  // required attributes
  bool carriesType;             // the result type is an input of the rule (reshape, sum_to, ...)
};

const OpInfo& opInfo(Op op);
inline std::string_view opName(Op op) { return opInfo(op).name; }
std::optional<Op> opFromName(std::string_view name);
const std::vector<OpInfo>& allOps();

}  // namespace sinter::ir
