// The vocabulary of elementwise formulas. Each elementwise op's formula is written once, in its entry
// (compiler/ir/ops/), as a generic lambda over a number type T:
//
//   .scalar = unaryFormula([](auto x) { return select(x > 0, x, 0.0); }),
//
// T is double when the reference interpreter or constant folding evaluates the formula, and Code when
// code generation instantiates it: every operation on a Code emits an instruction through a CodeBuilder,
// which compiler/codegen implements with LLVM (emit_scalar.cpp, with the vectorized exp, log, tanh and erf
// of vector_math.cpp in f32). Formulas use only what this file declares: + - * /, unary minus, the
// comparisons < <= > >=, select, and the functions of namespace num, so that both instantiations compute
// the same expression.
#pragma once

#include <cmath>
#include <type_traits>

#include <cstdint>
#include <limits>

#include "compiler/ir/attrs.h"
#include "compiler/ir/types.h"

namespace sinter::ir {

class CodeBuilder;

// A value in generated code: an opaque handle (an llvm::Value*) and the builder that made it.
struct Code {
  CodeBuilder* builder;
  void* value;
};

// What code generation implements so that formulas can be instantiated over Code.
class CodeBuilder {
 public:
  enum class Fn1 { Neg, Exp, Log, Log1p, Sqrt, Abs, Tanh, Erf };
  enum class Fn2 { Add, Sub, Mul, Div, Pow, MaxNum, MinNum };
  enum class Cmp { Lt, Le, Gt, Ge, Eq, Ne };

  virtual void* constant(void* like, double v) = 0;  // a constant of like's type
  virtual void* apply(Fn1 f, void* x) = 0;
  virtual void* apply(Fn2 f, void* a, void* b) = 0;
  virtual void* compare(Cmp c, void* a, void* b) = 0;  // ordered: false when either is NaN
  virtual void* select(void* condition, void* a, void* b) = 0;
  virtual void* convert(void* x, DType to) = 0;  // as num::convert says

 protected:
  ~CodeBuilder() = default;
};

namespace num {

// ---- double: the C library's functions under the names formulas use ------------------------------------
inline double lit(double, double v) { return v; }  // v as a number of the operand's type
inline double select(bool c, double a, double b) { return c ? a : b; }
inline double exp(double x) { return std::exp(x); }
inline double log(double x) { return std::log(x); }
inline double log1p(double x) { return std::log1p(x); }
inline double sqrt(double x) { return std::sqrt(x); }
inline double abs(double x) { return std::fabs(x); }
inline double tanh(double x) { return std::tanh(x); }
inline double erf(double x) { return std::erf(x); }
inline double pow(double a, double b) { return std::pow(a, b); }
// IEEE maxNum / minNum: a NaN operand gives the other one.
inline double maxnum(double a, double b) { return std::fmax(a, b); }
inline double minnum(double a, double b) { return std::fmin(a, b); }
// x as a value of dtype `to`: an integer saturates at the i32 range and truncates toward zero (NaN gives 0),
// as LLVM's fptosi.sat does; to f32, the nearest float.
inline double convert(double x, DType to) {
  switch (to) {
    case DType::I32:
      if (std::isnan(x)) return 0;
      return std::trunc(std::fmin(std::fmax(x, double{std::numeric_limits<std::int32_t>::min()}),
                                  double{std::numeric_limits<std::int32_t>::max()}));
    case DType::F32: return static_cast<double>(static_cast<float>(x));
    case DType::F64: return x;
  }
  return x;
}

// ---- Code: each operation asks the builder for an instruction -------------------------------------------
// Files that define formulas say `using namespace num;`: the operators and functions on Code live here
// with those on double, so that a formula finds both the same way.
inline Code lit(Code like, double v) { return {like.builder, like.builder->constant(like.value, v)}; }
inline Code apply(CodeBuilder::Fn1 f, Code x) { return {x.builder, x.builder->apply(f, x.value)}; }
inline Code apply(CodeBuilder::Fn2 f, Code a, Code b) { return {a.builder, a.builder->apply(f, a.value, b.value)}; }
inline Code compare(CodeBuilder::Cmp c, Code a, Code b) { return {a.builder, a.builder->compare(c, a.value, b.value)}; }

inline Code select(Code c, Code a, Code b) { return {c.builder, c.builder->select(c.value, a.value, b.value)}; }
inline Code select(Code c, Code a, double b) { return select(c, a, lit(a, b)); }
inline Code select(Code c, double a, Code b) { return select(c, lit(b, a), b); }
inline Code exp(Code x) { return apply(CodeBuilder::Fn1::Exp, x); }
inline Code log(Code x) { return apply(CodeBuilder::Fn1::Log, x); }
inline Code log1p(Code x) { return apply(CodeBuilder::Fn1::Log1p, x); }
inline Code sqrt(Code x) { return apply(CodeBuilder::Fn1::Sqrt, x); }
inline Code abs(Code x) { return apply(CodeBuilder::Fn1::Abs, x); }
inline Code tanh(Code x) { return apply(CodeBuilder::Fn1::Tanh, x); }
inline Code erf(Code x) { return apply(CodeBuilder::Fn1::Erf, x); }
inline Code pow(Code a, Code b) { return apply(CodeBuilder::Fn2::Pow, a, b); }
inline Code maxnum(Code a, Code b) { return apply(CodeBuilder::Fn2::MaxNum, a, b); }
inline Code maxnum(Code a, double b) { return maxnum(a, lit(a, b)); }
inline Code minnum(Code a, Code b) { return apply(CodeBuilder::Fn2::MinNum, a, b); }
inline Code minnum(Code a, double b) { return minnum(a, lit(a, b)); }
inline Code convert(Code x, DType to) { return {x.builder, x.builder->convert(x.value, to)}; }

inline Code operator-(Code x) { return apply(CodeBuilder::Fn1::Neg, x); }
#define SINTER_CODE_OPERATOR(OP, KIND, WHICH)                                                        \
  inline Code operator OP(Code a, Code b) { return KIND(CodeBuilder::WHICH, a, b); }               \
  inline Code operator OP(Code a, double b) { return KIND(CodeBuilder::WHICH, a, lit(a, b)); }     \
  inline Code operator OP(double a, Code b) { return KIND(CodeBuilder::WHICH, lit(b, a), b); }
SINTER_CODE_OPERATOR(+, apply, Fn2::Add)
SINTER_CODE_OPERATOR(-, apply, Fn2::Sub)
SINTER_CODE_OPERATOR(*, apply, Fn2::Mul)
SINTER_CODE_OPERATOR(/, apply, Fn2::Div)
SINTER_CODE_OPERATOR(<, compare, Cmp::Lt)
SINTER_CODE_OPERATOR(<=, compare, Cmp::Le)
SINTER_CODE_OPERATOR(>, compare, Cmp::Gt)
SINTER_CODE_OPERATOR(>=, compare, Cmp::Ge)
SINTER_CODE_OPERATOR(==, compare, Cmp::Eq)
SINTER_CODE_OPERATOR(!=, compare, Cmp::Ne)
#undef SINTER_CODE_OPERATOR

}  // namespace num

// An elementwise op's formula in both instantiations: f64 for the interpreter and folding, code for code
// generation. Operands come in order; a stochastic op receives its random factor as one more operand.
// `result` is the node's dtype, which only a conversion needs (every other op's result has its operands').
struct ScalarFormula {
  double (*f64)(const Attrs& attrs, DType result, const double* operands) = nullptr;
  Code (*code)(const Attrs& attrs, DType result, const Code* operands) = nullptr;
  explicit operator bool() const { return f64 != nullptr; }
};

// ScalarFormula from a captureless generic lambda f(x) or f(x, attrs).
template <class F>
ScalarFormula unaryFormula(F) {
  auto call = [](const Attrs& a, const auto* x) {
    if constexpr (std::is_invocable_v<F, decltype(x[0]), const Attrs&>) return F{}(x[0], a);
    else return F{}(x[0]);
  };
  return {[](const Attrs& a, DType, const double* x) -> double { return decltype(call)()(a, x); },
          [](const Attrs& a, DType, const Code* x) -> Code { return decltype(call)()(a, x); }};
}

// ScalarFormula from a captureless generic lambda f(a, b) or f(a, b, attrs).
template <class F>
ScalarFormula binaryFormula(F) {
  auto call = [](const Attrs& at, const auto* x) {
    if constexpr (std::is_invocable_v<F, decltype(x[0]), decltype(x[1]), const Attrs&>) return F{}(x[0], x[1], at);
    else return F{}(x[0], x[1]);
  };
  return {[](const Attrs& a, DType, const double* x) -> double { return decltype(call)()(a, x); },
          [](const Attrs& a, DType, const Code* x) -> Code { return decltype(call)()(a, x); }};
}

// ScalarFormula from a captureless generic lambda f(a, b, c).
template <class F>
ScalarFormula ternaryFormula(F) {
  return {[](const Attrs&, DType, const double* x) -> double { return F{}(x[0], x[1], x[2]); },
          [](const Attrs&, DType, const Code* x) -> Code { return F{}(x[0], x[1], x[2]); }};
}

// The conversion of one operand to the result's dtype (the cast op's formula).
inline ScalarFormula conversionFormula() {
  return {[](const Attrs&, DType to, const double* x) -> double { return num::convert(x[0], to); },
          [](const Attrs&, DType to, const Code* x) -> Code { return num::convert(x[0], to); }};
}

}  // namespace sinter::ir
