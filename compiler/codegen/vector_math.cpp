// exp, log, log1p, tanh and erf for f32 as straight-line IR: range reduction and a polynomial, no calls and no
// branches, so that the loop vectorizer turns every elementwise loop, softmax and cross-entropy into SIMD
// code (a call to expf would stay scalar: LLVM has no vector library for most of them on this target).
// The polynomials of exp, log and tanh are the classic Cephes minimax fits for single precision (within 2 ulp
// on normal numbers), erf's are our own fits; f64 keeps the libm calls, whose precision the gradient checks
// rely on.
#include "compiler/codegen/kernel_emitter.h"

namespace sinter::codegen {

namespace {
constexpr double kLn2Hi = 0.693359375, kLn2Lo = -2.12194440e-4;  // ln 2 = hi + lo, hi exact in few bits

// These sequences depend on the order of their roundings ((x - n hi) - n lo, (1 + y) - 1): the kernels'
// reassociation flag would let LLVM fold them away. Contraction into FMAs only makes them more exact.
struct FloatGuard {
  explicit FloatGuard(llvm::IRBuilder<>& b) : guard(b) {
    llvm::FastMathFlags f;
    f.setAllowContract();
    b.setFastMathFlags(f);
  }
  llvm::IRBuilderBase::FastMathFlagGuard guard;
};
}  // namespace

// Horner's rule: c[0] x^(n-1) + ... + c[n-1].
static Value* horner(llvm::IRBuilder<>& b, Value* x, std::initializer_list<double> c) {
  Value* acc = nullptr;
  for (double k : c) {
    Value* kv = llvm::ConstantFP::get(x->getType(), k);
    acc = acc ? b.CreateFAdd(b.CreateFMul(acc, x), kv) : kv;
  }
  return acc;
}

Value* KernelEmitter::vexp(Value* x) {
  const FloatGuard exact(b_);
  llvm::Type* t = x->getType();
  if (!t->isFloatTy()) return b_.CreateUnaryIntrinsic(llvm::Intrinsic::exp, x);
  auto f = [&](double v) { return fconst(t, v); };
  // e^x = 2^n e^r with n = round(x / ln 2), |r| <= ln 2 / 2. Inputs are clamped to where e^x is a normal
  // float; beyond, the answer is 0 or infinity, chosen at the end. 2^n is built as 2^h 2^(n-h) with
  // h = n / 2, since n reaches 128 just below the overflow threshold and -126 at the bottom.
  Value* xc = b_.CreateBinaryIntrinsic(
      llvm::Intrinsic::maxnum, b_.CreateBinaryIntrinsic(llvm::Intrinsic::minnum, x, f(88.72283935546875)), f(-87.0));
  Value* n =
      b_.CreateUnaryIntrinsic(llvm::Intrinsic::floor, b_.CreateFAdd(b_.CreateFMul(xc, f(1.44269504088896341)), f(0.5)));
  Value* r = b_.CreateFSub(b_.CreateFSub(xc, b_.CreateFMul(n, f(kLn2Hi))), b_.CreateFMul(n, f(kLn2Lo)));
  Value* p = horner(
      b_, r, {1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1});
  p = b_.CreateFAdd(b_.CreateFAdd(b_.CreateFMul(p, b_.CreateFMul(r, r)), r), f(1.0));
  Value* ni = b_.CreateFPToSI(n, b_.getInt32Ty());
  Value* half = b_.CreateAShr(ni, 1);
  auto pow2 = [&](Value* k) { return b_.CreateBitCast(b_.CreateShl(b_.CreateAdd(k, b_.getInt32(127)), 23), t); };
  Value* y = b_.CreateFMul(b_.CreateFMul(p, pow2(half)), pow2(b_.CreateSub(ni, half)));
  y = b_.CreateSelect(b_.CreateFCmpOGT(x, f(88.72283935546875)), llvm::ConstantFP::getInfinity(t), y);
  y = b_.CreateSelect(b_.CreateFCmpOLT(x, f(-87.33654022216797)), f(0.0), y);  // below the normal range: flushed
  return b_.CreateSelect(b_.CreateFCmpUNO(x, x), x, y);                        // NaN stays NaN
}

Value* KernelEmitter::vlog(Value* x) {
  const FloatGuard exact(b_);
  llvm::Type* t = x->getType();
  if (!t->isFloatTy()) return b_.CreateUnaryIntrinsic(llvm::Intrinsic::log, x);
  auto f = [&](double v) { return fconst(t, v); };
  llvm::Type* i32 = b_.getInt32Ty();
  // Subnormal inputs are scaled up by 2^23 first, so that the exponent field says what they are.
  Value* tiny = b_.CreateFCmpOLT(x, f(1.17549435e-38));
  Value* xs = b_.CreateSelect(tiny, b_.CreateFMul(x, f(8388608.0)), x);
  // x = m 2^e with m in [sqrt(1/2), sqrt(2)), then log x = log1p(m - 1) + e ln 2.
  Value* bits = b_.CreateBitCast(xs, i32);
  Value* e = b_.CreateSub(b_.CreateAnd(b_.CreateLShr(bits, 23), b_.getInt32(0xff)), b_.getInt32(126));
  Value* m = b_.CreateBitCast(b_.CreateOr(b_.CreateAnd(bits, b_.getInt32(0x007fffff)), b_.getInt32(0x3f000000)),
                              t);  // [0.5, 1)
  Value* low = b_.CreateFCmpOLT(m, f(0.707106781186547524));
  Value* ef = b_.CreateSIToFP(b_.CreateSub(e, b_.CreateZExt(low, i32)), t);
  ef = b_.CreateFSub(ef, b_.CreateSelect(tiny, f(23.0), f(0.0)));
  m = b_.CreateFSub(b_.CreateSelect(low, b_.CreateFAdd(m, m), m), f(1.0));
  Value* z = b_.CreateFMul(m, m);
  Value* p = horner(b_, m,
                    {7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
                     -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1});
  Value* y = b_.CreateFMul(b_.CreateFMul(p, m), z);
  y = b_.CreateFAdd(y, b_.CreateFMul(ef, f(kLn2Lo)));
  y = b_.CreateFSub(y, b_.CreateFMul(z, f(0.5)));
  y = b_.CreateFAdd(b_.CreateFAdd(m, y), b_.CreateFMul(ef, f(kLn2Hi)));
  // log 0 = -inf, log inf = inf, log of a negative number or NaN = NaN.
  y = b_.CreateSelect(b_.CreateFCmpOEQ(x, f(0.0)), llvm::ConstantFP::getInfinity(t, true), y);
  y = b_.CreateSelect(b_.CreateFCmpOEQ(x, llvm::ConstantFP::getInfinity(t)), x, y);
  return b_.CreateSelect(b_.CreateFCmpULT(x, f(0.0)), llvm::ConstantFP::getNaN(t), y);
}

// log(1 + y) without losing a small y: with u = 1 + y rounded, log(u) y / (u - 1) corrects the rounding.
Value* KernelEmitter::vlog1p(Value* y) {
  const FloatGuard exact(b_);
  llvm::Type* t = y->getType();
  if (!t->isFloatTy()) return mathCall("log1pf", "log1p", y);
  Value* u = b_.CreateFAdd(fconst(t, 1.0), y);
  Value* d = b_.CreateFSub(u, fconst(t, 1.0));
  Value* corrected = b_.CreateFMul(vlog(u), b_.CreateFDiv(y, d));
  return b_.CreateSelect(b_.CreateFCmpOEQ(d, fconst(t, 0.0)), y, corrected);
}

Value* KernelEmitter::vtanh(Value* x) {
  const FloatGuard exact(b_);
  llvm::Type* t = x->getType();
  if (!t->isFloatTy()) return mathCall("tanhf", "tanh", x);
  auto f = [&](double v) { return fconst(t, v); };
  // Small |x|: an odd polynomial (no cancellation); otherwise 1 - 2 / (e^2|x| + 1) with x's sign.
  Value* z = b_.CreateFMul(x, x);
  Value* small =
      b_.CreateFAdd(b_.CreateFMul(b_.CreateFMul(horner(b_, z,
                                                       {-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2,
                                                        1.33314422036e-1, -3.33332819422e-1}),
                                                z),
                                  x),
                    x);
  Value* ax = b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x);
  Value* large = b_.CreateFSub(f(1.0), b_.CreateFDiv(f(2.0), b_.CreateFAdd(vexp(b_.CreateFMul(ax, f(2.0))), f(1.0))));
  large = b_.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, large, x);
  return b_.CreateSelect(b_.CreateFCmpOLT(ax, f(0.625)), small, large);
}

// erf (gelu's Φ). Small |x|: x + x Q(x²), no cancellation. Otherwise erf x = 1 - e^-x² R(x), where
// R(x) = erfc(x) e^x² is smooth and, because it is multiplied by e^-x² before it meets 1, needs only the
// absolute accuracy of an ulp of 1: 9 terms in x - 1.5 (small terms; the subtraction is exact up to x = 3).
// x is clamped to 4, past which erf rounds to 1 in f32. Q and R are weighted minimax fits (Lawson's
// iteration against mpmath on a dense grid), rounded to f32: within 1.1 ulp when simulated in f32 without
// FMAs, and 0.92 ulp measured on generated code over a dense sweep (see docs/architecture.md).
Value* KernelEmitter::verf(Value* x) {
  const FloatGuard exact(b_);
  llvm::Type* t = x->getType();
  if (!t->isFloatTy()) return mathCall("erff", "erf", x);
  auto f = [&](double v) { return fconst(t, v); };
  Value* ax = b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x);
  Value* q =
      horner(b_, b_.CreateFMul(ax, ax),
             {8.39769637e-05, -0.000814978383, 0.00520171411, -0.0268597007, 0.112837017, -0.376126349, 0.128379166});
  Value* small = b_.CreateFAdd(ax, b_.CreateFMul(ax, q));
  Value* xc = b_.CreateBinaryIntrinsic(llvm::Intrinsic::minnum, ax, f(4.0));
  Value* r = horner(b_, b_.CreateFSub(xc, f(1.5)),
                    {0.000128015032, -0.000686272688, 0.00198325794, -0.00514816912, 0.0133464616, -0.0329316109,
                     0.0761539787, -0.163622722, 0.321585387});
  Value* large = b_.CreateFSub(f(1.0), b_.CreateFMul(vexp(b_.CreateFNeg(b_.CreateFMul(xc, xc))), r));
  Value* y = b_.CreateSelect(b_.CreateFCmpOLT(ax, f(0.921875)), small, large);
  y = b_.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, y, x);  // erf is odd; -0 stays -0
  return b_.CreateSelect(b_.CreateFCmpUNO(x, x), x, y);           // NaN stays NaN (minnum would drop it)
}

}  // namespace sinter::codegen
