// Elementwise ops of two operands that broadcast NumPy-style: arithmetic, maximum and minimum, and the
// comparison the backward pass uses as a mask. Their gradients sum the adjoint back over broadcast axes.
#include <fmt/format.h>

#include "compiler/ir/ops/common.h"

namespace sinter::ir::ops {
namespace {

using namespace num;

OpDef binary(Op op, std::string_view name, unsigned flags, std::string_view doc, ScalarFormula f, Gradient g,
             Builtin builtin = {}) {
  return elementwiseEntry(op, name, 2, kBroadcasting | flags, binaryBroadcast, doc, f, g, builtin);
}

// 1 where the comparison holds, else 0, in the operands' dtype: a mask to multiply by, or a condition.
OpDef comparison(Op op, std::string_view name, std::string_view doc, ScalarFormula f) {
  return binary(op, name, 0, doc, f, {zeroGradient, "zero (piecewise constant)"}, {name, "compare", Builtin::Always});
}

// where(c, a, b): c any dtype (nonzero is true), a and b of one dtype; all three broadcast.
std::string where(const Node&, const Types& in, TensorType& out) {
  if (in[1].dtype != in[2].dtype) return fmt::format("the branches' dtypes differ: {} vs {}", in[1].str(), in[2].str());
  auto s = broadcastShapes(in[0].shape, in[1].shape);
  if (s) s = broadcastShapes(*s, in[2].shape);
  if (!s) return fmt::format("shapes do not broadcast: {}, {}, {}", in[0].str(), in[1].str(), in[2].str());
  out = {in[1].dtype, *s};
  return {};
}

// d max(a, b) = dy [a >= b], dy [a < b];  d min(a, b) = dy [b >= a], dy [b < a]
template <bool kMax>
void extremumGrad(GradBuilder& d) {
  d.sharedBy(0);
  const NodeId mask = d.emit(Op::GreaterEqual, {kMax ? d.x(0) : d.x(1), kMax ? d.x(1) : d.x(0)});
  d.to(0, [&] { return d.sumTo(d.emit(Op::Mul, {d.dy(), mask}), d.x(0)); });
  d.to(1, [&] { return d.sumTo(d.emit(Op::Mul, {d.dy(), d.emit(Op::Sub, {d.scalar(1), mask})}), d.x(1)); });
}

std::vector<OpDef> entries() {
  return {
      // d(a + b) = dy, dy
      binary(Op::Add, "add", 0, "a + b (the operator +)", binaryFormula([](auto a, auto b) { return a + b; }),
             {[](GradBuilder& d) {
                d.to(0, [&] { return d.sumTo(d.dy(), d.x(0)); });
                d.to(1, [&] { return d.sumTo(d.dy(), d.x(1)); });
              },
              "sum_to(dy), sum_to(dy)"}),
      // d(a − b) = dy, −dy
      binary(Op::Sub, "sub", 0, "a − b (the operator −)", binaryFormula([](auto a, auto b) { return a - b; }),
             {[](GradBuilder& d) {
                d.to(0, [&] { return d.sumTo(d.dy(), d.x(0)); });
                d.to(1, [&] { return d.sumTo(d.emit(Op::Neg, {d.dy()}), d.x(1)); });
              },
              "sum_to(dy), sum_to(−dy)"}),
      // d(a b) = dy b, dy a
      binary(Op::Mul, "mul", 0, "a · b (the operator *)", binaryFormula([](auto a, auto b) { return a * b; }),
             {[](GradBuilder& d) {
                d.to(0, [&] { return d.sumTo(d.emit(Op::Mul, {d.dy(), d.x(1)}), d.x(0)); });
                d.to(1, [&] { return d.sumTo(d.emit(Op::Mul, {d.dy(), d.x(0)}), d.x(1)); });
              },
              "sum_to(dy · b), sum_to(dy · a)"}),
      // d(a / b) = dy / b, −dy a / b² = −dy y / b
      binary(Op::Div, "div", 0, "a / b (the operator /)", binaryFormula([](auto a, auto b) { return a / b; }),
             {[](GradBuilder& d) {
                d.to(0, [&] { return d.sumTo(d.emit(Op::Div, {d.dy(), d.x(1)}), d.x(0)); });
                d.to(1, [&] {
                  const NodeId yOverB = d.emit(Op::Div, {d.y(), d.x(1)});
                  return d.sumTo(d.emit(Op::Neg, {d.emit(Op::Mul, {d.dy(), yOverB})}), d.x(1));
                });
              },
              "sum_to(dy / b), sum_to(−dy · y / b)"}),
      // d a^b = dy b a^(b−1), dy y log a
      binary(Op::Pow, "pow", kTranscendental, "a^b (the operator **)",
             binaryFormula([](auto a, auto b) { return pow(a, b); }),
             {[](GradBuilder& d) {
                d.to(0, [&] {
                  const NodeId aPow = d.emit(Op::Pow, {d.x(0), d.emit(Op::Sub, {d.x(1), d.scalar(1)})});
                  return d.sumTo(d.emit(Op::Mul, {d.dy(), d.emit(Op::Mul, {d.x(1), aPow})}), d.x(0));
                });
                d.to(1, [&] {
                  const NodeId yLogA = d.emit(Op::Mul, {d.y(), d.emit(Op::Log, {d.x(0)})});
                  return d.sumTo(d.emit(Op::Mul, {d.dy(), yLogA}), d.x(1));
                });
              },
              "sum_to(dy · b · a^(b−1)), sum_to(dy · y · log a)"}),
      binary(Op::Maximum, "maximum", 0, "a ≥ b ? a : b",
             // a + b where either is NaN: NaN propagates, as torch.maximum does.
             binaryFormula([](auto a, auto b) { return select(a >= b, a, select(a < b, b, a + b)); }),
             {extremumGrad<true>, "dy · [a ≥ b], dy · (1 − [a ≥ b])"},
             {"maximum", "take the maximum of", Builtin::IfOperandsAre}),
      binary(Op::Minimum, "minimum", 0, "a ≤ b ? a : b",
             binaryFormula([](auto a, auto b) { return select(a <= b, a, b); }),
             {extremumGrad<false>, "dy · [b ≥ a], dy · (1 − [b ≥ a])"},
             {"minimum", "take the minimum of", Builtin::IfOperandsAre}),
      comparison(Op::Less, "less", "1 where a < b, else 0 (the operator <)",
                 binaryFormula([](auto a, auto b) { return select(a < b, lit(a, 1), 0.0); })),
      comparison(Op::LessEqual, "less_equal", "1 where a ≤ b, else 0 (the operator <=)",
                 binaryFormula([](auto a, auto b) { return select(a <= b, lit(a, 1), 0.0); })),
      comparison(Op::Greater, "greater", "1 where a > b, else 0 (the operator >)",
                 binaryFormula([](auto a, auto b) { return select(a > b, lit(a, 1), 0.0); })),
      comparison(Op::GreaterEqual, "greater_equal", "1 where a ≥ b, else 0 (the operator >=)",
                 binaryFormula([](auto a, auto b) { return select(a >= b, lit(a, 1), 0.0); })),
      comparison(Op::Equal, "equal", "1 where a = b, else 0 (the operator ==)",
                 binaryFormula([](auto a, auto b) { return select(a == b, lit(a, 1), 0.0); })),
      comparison(Op::NotEqual, "not_equal", "1 where a ≠ b (or either is NaN), else 0 (the operator !=)",
                 binaryFormula([](auto a, auto b) { return select(a != b, lit(a, 1), 0.0); })),
      binary(Op::LogicalAnd, "logical_and", 0, "1 where a and b are both nonzero, else 0",
             binaryFormula([](auto a, auto b) { return select(a != 0, select(b != 0, lit(a, 1), 0.0), 0.0); }),
             {zeroGradient, "zero (piecewise constant)"}, {"logical_and", "combine", Builtin::Always}),
      binary(Op::LogicalOr, "logical_or", 0, "1 where a or b is nonzero, else 0",
             binaryFormula([](auto a, auto b) { return select(a != 0, lit(a, 1), select(b != 0, lit(a, 1), 0.0)); }),
             {zeroGradient, "zero (piecewise constant)"}, {"logical_or", "combine", Builtin::Always}),
      // d where(c, a, b) = where(c, dy, 0) to a, where(c, 0, dy) to b; none to the condition.
      {.op = Op::Where,
       .name = "where",
       .arity = 3,
       .flags = kElementwise | kBroadcasting,
       .typeRule = where,
       .doc = "a where c is nonzero, else b",
       .scalar = ternaryFormula([](auto c, auto a, auto b) { return select(c != 0, a, b); }),
       .grad = {[](GradBuilder& d) {
                  d.to(1, [&] { return d.sumTo(d.emit(Op::Where, {d.x(0), d.dy(), d.scalar(0)}), d.x(1)); });
                  d.to(2, [&] { return d.sumTo(d.emit(Op::Where, {d.x(0), d.scalar(0), d.dy()}), d.x(2)); });
                },
                "sum_to(where(c, dy, 0)) to a, sum_to(where(c, 0, dy)) to b; none to c"},
       .reference = refElementwise,
       .kernel = KernelKind::Elementwise},
  };
}

}  // namespace

OpFamily arithmeticOps() { return {"Elementwise, two operands with broadcasting", "arithmetic.cpp", entries()}; }

}  // namespace sinter::ir::ops
