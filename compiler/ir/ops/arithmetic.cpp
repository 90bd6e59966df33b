// Elementwise ops of two operands that broadcast NumPy-style: arithmetic, maximum and minimum, and the
// comparison the backward pass uses as a mask. Their gradients sum the adjoint back over broadcast axes.
#include "compiler/ir/ops/common.h"

namespace sinter::ir::ops {
namespace {

using namespace num;

OpDef binary(Op op, std::string_view name, unsigned flags, std::string_view doc, ScalarFormula f, Gradient g,
             Builtin builtin = {}) {
  return {.op = op,
          .name = name,
          .arity = 2,
          .flags = kElementwise | kBroadcasting | flags,
          .typeRule = binaryBroadcast,
          .doc = doc,
          .scalar = f,
          .grad = g,
          .reference = refElementwise,
          .kernel = KernelKind::Elementwise,
          .builtin = builtin};
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
      binary(Op::GreaterEqual, "greater_equal", 0, "1 where a ≥ b, else 0",
             binaryFormula([](auto a, auto b) { return select(a >= b, lit(a, 1), 0.0); }),
             {zeroGradient, "zero (piecewise constant)"}, {"greater_equal", "compare", Builtin::Always}),
  };
}

}  // namespace

OpFamily arithmeticOps() { return {"Elementwise, two operands with broadcasting", "arithmetic.cpp", entries()}; }

}  // namespace sinter::ir::ops
