// Elementwise ops of one operand (math functions and activations, with the derivatives their gradients
// use), and dropout. Each entry holds its formula at one element (scalar.h says how it is instantiated for
// the interpreter and for code generation) and its gradient rule, both next to their maths.
#include <fmt/format.h>

#include <numbers>

#include "compiler/ir/ops/common.h"

namespace sinter::ir::ops {
namespace {

using namespace num;

// 1 / sqrt(2) and 1 / sqrt(2 pi): gelu's Φ(x) = (1 + erf(x / √2)) / 2 and φ(x) = e^(-x²/2) / √(2π).
constexpr double kInvSqrt2 = 0.7071067811865476;
constexpr double kInvSqrt2Pi = 0.3989422804014327;

// dropout{p, salt}(x): zeroes each element with probability p while training (0 <= p < 1).
std::string dropout(const Node& n, const Types& in, TensorType& out) {
  const double p = n.attrs.getFloat("p");
  if (!(p >= 0 && p < 1)) return fmt::format("dropout probability must be in [0, 1), got {}", p);
  return unaryFloat(n, in, out);
}

// Any dtype; the result has the operand's type.
std::string sameType(const Node&, const Types& in, TensorType& out) {
  out = in[0];
  return {};
}

// cast(x) carries its type: x's shape in another dtype.
std::string cast(const Node& n, const Types& in, TensorType& out) {
  if (!(in[0].shape == n.type.shape))
    return fmt::format("cannot cast {} to {}: the shapes differ", in[0].str(), n.type.str());
  out = n.type;
  return {};
}

// The entry of a one-operand op computed by its formula alone.
OpDef unary(Op op, std::string_view name, unsigned flags, std::string_view doc, ScalarFormula f, Gradient g,
            Builtin builtin = {}) {
  return elementwiseEntry(op, name, 1, flags, unaryFloat, doc, f, g, builtin);
}

// The entry of a backward op f(dy, x): elementwise in both, of the result's type.
OpDef derivative(Op op, std::string_view name, unsigned flags, std::string_view doc, ScalarFormula f, Gradient g) {
  return elementwiseEntry(op, name, 2, flags, sameAsBoth, doc, f, g);
}

constexpr Builtin::Integral kIntegral = Builtin::IfOperandsAre;

std::vector<OpDef> entries() {
  std::vector<OpDef> ops = {
      unary(Op::Neg, "neg", 0, "−x", unaryFormula([](auto x) { return -x; }),
            {[](GradBuilder& d) { d.to(0, [&] { return d.emit(Op::Neg, {d.dy()}); }); }, "−dy"}),
      unary(Op::Exp, "exp", kTranscendental, "e^x", unaryFormula([](auto x) { return exp(x); }),
            {[](GradBuilder& d) { d.to(0, [&] { return d.emit(Op::Mul, {d.dy(), d.y()}); }); }, "dy · y"},
            {"exp"}),
      unary(Op::Log, "log", kTranscendental, "natural logarithm", unaryFormula([](auto x) { return log(x); }),
            {[](GradBuilder& d) { d.to(0, [&] { return d.emit(Op::Div, {d.dy(), d.x(0)}); }); }, "dy / x"},
            {"log"}),
      unary(Op::Sqrt, "sqrt", 0, "√x", unaryFormula([](auto x) { return sqrt(x); }),
            {[](GradBuilder& d) {
               d.to(0, [&] { return d.emit(Op::Div, {d.dy(), d.emit(Op::Mul, {d.y(), d.scalar(2)})}); });
             },
             "dy / (2y)"},
            {"sqrt"}),
      unary(Op::Abs, "abs", 0, "|x|", unaryFormula([](auto x) { return abs(x); }),
            {[](GradBuilder& d) {
               d.to(0, [&] { return d.emit(Op::Mul, {d.dy(), d.emit(Op::Sign, {d.x(0)})}); });
             },
             "dy · sign(x)"},
            {"abs", {}, kIntegral}),
      unary(Op::Sign, "sign", 0, "−1, 0 or 1",
            unaryFormula([](auto x) { return select(x > 0, lit(x, 1), 0.0) - select(x < 0, lit(x, 1), 0.0); }),
            {zeroGradient, "zero (piecewise constant)"}, {"sign", {}, kIntegral}),
      // d erf x = 2/√π e^(−x²)
      unary(Op::Erf, "erf", kTranscendental, "the error function, (2/√π) ∫₀ˣ e^(−t²) dt",
            unaryFormula([](auto x) { return erf(x); }),
            {[](GradBuilder& d) {
               d.to(0, [&] {
                 const NodeId xx = d.emit(Op::Mul, {d.x(0), d.x(0)});
                 const NodeId bell = d.emit(Op::Exp, {d.emit(Op::Neg, {xx})});
                 return d.emit(Op::Mul, {d.dy(), d.emit(Op::Mul, {d.scalar(std::numbers::inv_sqrtpi * 2), bell})});
               });
             },
             "dy · (2/√π) e^(−x²)"},
            {"erf"}),
      unary(Op::Sigmoid, "sigmoid", kTranscendental, "σ(x) = 1 / (1 + e^−x)",
            unaryFormula([](auto x) { return 1 / (1 + exp(-x)); }),
            {[](GradBuilder& d) {
               d.to(0, [&] {
                 return d.emit(Op::Mul, {d.dy(), d.emit(Op::Mul, {d.y(), d.emit(Op::Sub, {d.scalar(1), d.y()})})});
               });
             },
             "dy · y (1 − y)"},
            {"sigmoid"}),
      unary(Op::Tanh, "tanh", kTranscendental, "hyperbolic tangent", unaryFormula([](auto x) { return tanh(x); }),
            {[](GradBuilder& d) {
               d.to(0, [&] {
                 return d.emit(Op::Mul, {d.dy(), d.emit(Op::Sub, {d.scalar(1), d.emit(Op::Mul, {d.y(), d.y()})})});
               });
             },
             "dy · (1 − y²)"},
            {"tanh"}),
      // The gradient reads y, not x: y > 0 exactly when x > 0 (a NaN x gives a NaN y, and neither is > 0), so
      // the backward pass keeps only the ReLU's output alive and a fused bias + ReLU stores one tensor.
      unary(Op::Relu, "relu", 0, "max(x, 0); a NaN x gives NaN",
            unaryFormula([](auto x) { return select(x < 0, 0.0, x); }),
            {[](GradBuilder& d) { d.to(0, [&] { return d.emit(Op::ReluGrad, {d.dy(), d.y()}); }); },
             "`relu_grad(dy, y)` = dy · [y > 0]"},
            {"relu", {}, kIntegral}),
      {.op = Op::LeakyRelu, .name = "leaky_relu", .arity = 1, .flags = kElementwise,
       .attrs = {{"alpha", AttrKind::Float, 0.01}}, .typeRule = unaryFloat, .doc = "x > 0 ? x : αx",
       .scalar = unaryFormula([](auto x, const Attrs& a) { return select(x > 0, x, x * a.getFloat("alpha")); }),
       // With α ≥ 0 (or NaN) y > 0 exactly when x > 0 (x ≤ 0 gives αx ≤ 0, or NaN), so the gradient reads
       // y as relu's does; a negative α flips the sign of y below 0, and then it reads x.
       .grad = {[](GradBuilder& d) {
                  const NodeId v = d.attrs().getFloat("alpha") < 0 ? d.x(0) : d.y();
                  d.to(0, [&] { return d.emit(Op::LeakyReluGrad, {d.dy(), v}, d.attrs()); });
                },
                "`leaky_relu_grad(dy, y)` = dy · (y > 0 ? 1 : α); x in place of y when α < 0"},
       .reference = refElementwise, .kernel = KernelKind::Elementwise, .builtin = {"leaky_relu"}},
      // x Φ(x), Φ(x) = (1 + erf(x / √2)) / 2: the exact form, as torch.nn.GELU() computes by default.
      unary(Op::Gelu, "gelu", kTranscendental, "x Φ(x), Φ the standard normal CDF (exact, with erf)",
            unaryFormula([](auto x) { return x * (0.5 * (1 + erf(x * kInvSqrt2))); }),
            {[](GradBuilder& d) { d.to(0, [&] { return d.emit(Op::GeluGrad, {d.dy(), d.x(0)}); }); },
             "`gelu_grad(dy, x)` = dy · (Φ(x) + x φ(x))"},
            {"gelu"}),
      // log(1 + e^x) as max(x, 0) + log1p(e^−|x|): no overflow for large |x|.
      unary(Op::Softplus, "softplus", kTranscendental, "log(1 + e^x), computed without overflow",
            unaryFormula([](auto x) { return maxnum(x, 0.0) + log1p(exp(-abs(x))); }),
            {[](GradBuilder& d) {
               d.to(0, [&] { return d.emit(Op::Mul, {d.dy(), d.emit(Op::Sigmoid, {d.x(0)})}); });
             },
             "dy · σ(x)"},
            {"softplus"}),
      // d x σ(x) = σ(x) (1 + x (1 − σ(x)))
      unary(Op::Silu, "silu", kTranscendental, "x σ(x) (also called swish)",
            unaryFormula([](auto x) { return x / (1 + exp(-x)); }),
            {[](GradBuilder& d) {
               d.to(0, [&] {
                 const NodeId s = d.emit(Op::Sigmoid, {d.x(0)});
                 const NodeId t = d.emit(Op::Mul, {d.x(0), d.emit(Op::Sub, {d.scalar(1), s})});
                 return d.emit(Op::Mul, {d.dy(), d.emit(Op::Mul, {s, d.emit(Op::Add, {d.scalar(1), t})})});
               });
             },
             "dy · σ(x) (1 + x (1 − σ(x)))"},
            {"silu"}),
      // d x tanh(softplus x) = t + x σ(x) (1 − t²) with t = tanh(softplus x)
      unary(Op::Mish, "mish", kTranscendental, "x tanh(softplus(x))",
            unaryFormula([](auto x) { return x * tanh(maxnum(x, 0.0) + log1p(exp(-abs(x)))); }),
            {[](GradBuilder& d) {
               d.to(0, [&] {
                 const NodeId t = d.emit(Op::Tanh, {d.emit(Op::Softplus, {d.x(0)})});
                 const NodeId s = d.emit(Op::Sigmoid, {d.x(0)});
                 const NodeId sech2 = d.emit(Op::Sub, {d.scalar(1), d.emit(Op::Mul, {t, t})});
                 const NodeId slope = d.emit(Op::Add, {t, d.emit(Op::Mul, {d.x(0), d.emit(Op::Mul, {s, sech2})})});
                 return d.emit(Op::Mul, {d.dy(), slope});
               });
             },
             "dy · (t + x σ(x) (1 − t²)), t = tanh(softplus(x))"},
            {"mish"}),
      // x relu6(x + 3) / 6, as torch.nn.Hardswish; its slope is 0 below −3, x/3 + 1/2 up to 3, 1 above.
      unary(Op::Hardswish, "hardswish", 0, "x · min(max(x + 3, 0), 6) / 6",
            unaryFormula([](auto x) { return x * minnum(maxnum(x + 3.0, 0.0), 6.0) / 6.0; }),
            {[](GradBuilder& d) {
               d.to(0, [&] {
                 const NodeId above = d.emit(Op::GreaterEqual, {d.x(0), d.scalar(-3)});  // [x >= −3]
                 const NodeId within = d.emit(Op::GreaterEqual, {d.scalar(3), d.x(0)});  // [x <= 3]
                 const NodeId ramp = d.emit(Op::Add, {d.emit(Op::Div, {d.x(0), d.scalar(3)}), d.scalar(0.5)});
                 const NodeId inside = d.emit(Op::Mul, {d.emit(Op::Mul, {above, within}), ramp});
                 const NodeId slope = d.emit(Op::Add, {inside, d.emit(Op::Sub, {d.scalar(1), within})});
                 return d.emit(Op::Mul, {d.dy(), slope});
               });
             },
             "dy · (x < −3 ? 0 : x ≤ 3 ? x/3 + 1/2 : 1)"},
            {"hardswish"}),
      // d x / (1 + |x|) = 1 / (1 + |x|)²
      unary(Op::Softsign, "softsign", 0, "x / (1 + |x|)", unaryFormula([](auto x) { return x / (1 + abs(x)); }),
            {[](GradBuilder& d) {
               d.to(0, [&] {
                 const NodeId denom = d.emit(Op::Add, {d.scalar(1), d.emit(Op::Abs, {d.x(0)})});
                 return d.emit(Op::Div, {d.dy(), d.emit(Op::Mul, {denom, denom})});
               });
             },
             "dy / (1 + |x|)²"},
            {"softsign"}),
      {.op = Op::LogicalNot,
       .name = "logical_not",
       .arity = 1,
       .flags = kElementwise,
       .typeRule = sameType,
       .doc = "1 where x is 0, else 0 (any dtype)",
       .scalar = unaryFormula([](auto x) { return select(x == 0, lit(x, 1), 0.0); }),
       .grad = {zeroGradient, "zero (piecewise constant)"},
       .reference = refElementwise,
       .kernel = KernelKind::Elementwise,
       .builtin = {"logical_not", {}, Builtin::Always}},
      // The cast back to x's dtype carries the adjoint; an integer x gets none (it needs no gradient).
      {.op = Op::Cast,
       .name = "cast",
       .arity = 1,
       .flags = kElementwise,
       .carriesType = true,
       .typeRule = cast,
       .doc = "x in the carried dtype: to i32 truncated toward zero and saturated (NaN gives 0), between floats "
              "rounded to nearest",
       .scalar = conversionFormula(),
       .grad = {[](GradBuilder& d) { d.to(0, [&] { return d.emit(Op::Cast, {d.dy()}, {}, d.type(d.x(0))); }); },
                "cast(dy) back to x's dtype"},
       .reference = refElementwise,
       .kernel = KernelKind::Elementwise},
      unary(Op::StopGradient, "stop_gradient", 0, "x, through which no gradient flows",
            unaryFormula([](auto x) { return x; }), {zeroGradient, "none, by definition"}, {"stop_gradient"}),
      // The mask factor (0 or 1 / (1 − p)) comes as a second operand: drawn from the step's seed, the node's
      // salt and the element's index (dropout_mask.h) while training, 1 otherwise.
      {.op = Op::Dropout, .name = "dropout", .arity = 1, .flags = kElementwise | kStochastic,
       .attrs = {{"p", AttrKind::Float}, {"salt", AttrKind::Int}}, .typeRule = dropout,
       .doc = "while training, zeroes each element with probability p and scales the others by 1 / (1 − p)",
       .scalar = binaryFormula([](auto x, auto mask) { return x * mask; }),
       .grad = {[](GradBuilder& d) { d.to(0, [&] { return d.emit(Op::DropoutGrad, {d.dy()}, d.attrs()); }); },
                "`dropout_grad(dy)` = dy · mask: the same mask, recomputed from the step's seed, the node's salt "
                "and the element's index"},
       .reference = refElementwise, .kernel = KernelKind::Elementwise},

      // ---- derivatives ----
      // v is relu's output (or its input: same sign); a NaN v passes nothing (NaN > 0 is false), as does −0.
      derivative(Op::ReluGrad, "relu_grad", 0,
                 "relu's derivative applied: dy · [v > 0], v = relu(x) (or x); 0 where v is NaN",
                 binaryFormula([](auto dy, auto v) { return select(v > 0, dy, 0.0); }),
                 // linear in dy, piecewise constant in v
                 {[](GradBuilder& d) { d.to(0, [&] { return d.emit(Op::ReluGrad, {d.dy(), d.x(1)}); }); },
                  "(second order) relu_grad(g, v) to dy; zero to v"}),
      {.op = Op::LeakyReluGrad, .name = "leaky_relu_grad", .arity = 2, .flags = kElementwise,
       .attrs = {{"alpha", AttrKind::Float}}, .typeRule = sameAsBoth,
       .doc = "leaky_relu's derivative applied: dy · (v > 0 ? 1 : α), v = leaky_relu(x) (or x); α where v is NaN",
       .scalar = binaryFormula([](auto dy, auto v, const Attrs& a) { return select(v > 0, dy, dy * a.getFloat("alpha")); }),
       .grad = {[](GradBuilder& d) {
                  d.to(0, [&] { return d.emit(Op::LeakyReluGrad, {d.dy(), d.x(1)}, d.attrs()); });
                },
                "(second order) leaky_relu_grad(g, v) to dy; zero to v"},
       .reference = refElementwise, .kernel = KernelKind::Elementwise},
      derivative(Op::GeluGrad, "gelu_grad", kTranscendental, "gelu's derivative applied: dy · (Φ(x) + x φ(x))",
                 binaryFormula([](auto dy, auto x) {
                   auto cdf = 0.5 * (1 + erf(x * kInvSqrt2));
                   auto pdf = kInvSqrt2Pi * exp(-0.5 * (x * x));
                   return dy * (cdf + x * pdf);
                 }),
                 {nullptr, "none"}),
      {.op = Op::DropoutGrad, .name = "dropout_grad", .arity = 1, .flags = kElementwise | kStochastic,
       .attrs = {{"p", AttrKind::Float}, {"salt", AttrKind::Int}}, .typeRule = dropout,
       .doc = "dropout's adjoint: dy times the mask of the dropout with the same salt",
       .scalar = binaryFormula([](auto dy, auto mask) { return dy * mask; }),
       .grad = {[](GradBuilder& d) { d.to(0, [&] { return d.emit(Op::DropoutGrad, {d.dy()}, d.attrs()); }); },
                "(second order) dropout_grad(g)"},
       .reference = refElementwise, .kernel = KernelKind::Elementwise},
  };
  return ops;
}

}  // namespace

OpFamily elementwiseOps() { return {"Elementwise, one operand", "elementwise.cpp", entries()}; }

}  // namespace sinter::ir::ops
