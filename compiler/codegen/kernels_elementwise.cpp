// Elementwise ops at one element: the op table's formula of each op (compiler/ir/ops/), instantiated over
// LLVM values. Their loops come from the kernel's loop nest (loop_schedule.cpp).
#include <fmt/format.h>

#include <stdexcept>

#include "compiler/codegen/kernel_emitter.h"
#include "compiler/ir/dropout_mask.h"

namespace sinter::codegen {

// Each operation of a formula over ir::Code becomes an instruction at the emitter's insertion point: float
// or integer by the operand's type, and the vectorizable exp, log, log1p, tanh and erf of vector_math.cpp.
// The values may be scalars (the loop vectorizer widens them) or vectors (a direct convolution's epilogue
// on its register tiles, kernels_linalg.cpp).
class KernelEmitter::CodeEmitter final : public ir::CodeBuilder {
 public:
  explicit CodeEmitter(KernelEmitter& e) : e_(e), b_(e.b_) {}

  void* constant(void* like, double v) override {
    llvm::Type* t = value(like)->getType();
    if (t->isFPOrFPVectorTy()) return llvm::ConstantFP::get(t, v);
    return llvm::ConstantInt::get(t, static_cast<std::uint64_t>(static_cast<std::int64_t>(v)), true);
  }

  void* apply(Fn1 f, void* xp) override {
    Value* x = value(xp);
    const bool fp = x->getType()->isFPOrFPVectorTy();
    switch (f) {
      case Fn1::Neg: return fp ? b_.CreateFNeg(x) : b_.CreateNeg(x);
      case Fn1::Exp: return e_.vexp(x);
      case Fn1::Log: return e_.vlog(x);
      case Fn1::Log1p: return e_.vlog1p(x);
      case Fn1::Sqrt: return b_.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, x);
      case Fn1::Abs:
        return fp ? b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x)
                  : b_.CreateBinaryIntrinsic(llvm::Intrinsic::abs, x, b_.getFalse());
      case Fn1::Tanh: return e_.vtanh(x);
      case Fn1::Erf: return e_.verf(x);
    }
    throw std::logic_error("codegen: unknown function of a formula");
  }

  void* apply(Fn2 f, void* ap, void* bp) override {
    Value *a = value(ap), *b = value(bp);
    const bool fp = a->getType()->isFPOrFPVectorTy();
    switch (f) {
      case Fn2::Add: return fp ? b_.CreateFAdd(a, b) : b_.CreateAdd(a, b);
      case Fn2::Sub: return fp ? b_.CreateFSub(a, b) : b_.CreateSub(a, b);
      case Fn2::Mul: return fp ? b_.CreateFMul(a, b) : b_.CreateMul(a, b);
      case Fn2::Div: return fp ? b_.CreateFDiv(a, b) : b_.CreateSDiv(a, b);
      case Fn2::Pow: return b_.CreateBinaryIntrinsic(llvm::Intrinsic::pow, a, b);
      case Fn2::MaxNum:
        return fp ? b_.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, a, b)
                  : b_.CreateBinaryIntrinsic(llvm::Intrinsic::smax, a, b);
      case Fn2::MinNum:
        return fp ? b_.CreateBinaryIntrinsic(llvm::Intrinsic::minnum, a, b)
                  : b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, a, b);
    }
    throw std::logic_error("codegen: unknown operation of a formula");
  }

  void* compare(Cmp c, void* ap, void* bp) override {
    Value *a = value(ap), *b = value(bp);
    if (a->getType()->isFPOrFPVectorTy()) {
      switch (c) {
        case Cmp::Lt: return b_.CreateFCmpOLT(a, b);
        case Cmp::Le: return b_.CreateFCmpOLE(a, b);
        case Cmp::Gt: return b_.CreateFCmpOGT(a, b);
        case Cmp::Ge: return b_.CreateFCmpOGE(a, b);
        case Cmp::Eq: return b_.CreateFCmpOEQ(a, b);
        case Cmp::Ne: return b_.CreateFCmpUNE(a, b);  // NaN != anything, as in C
      }
    }
    switch (c) {
      case Cmp::Lt: return b_.CreateICmpSLT(a, b);
      case Cmp::Le: return b_.CreateICmpSLE(a, b);
      case Cmp::Gt: return b_.CreateICmpSGT(a, b);
      case Cmp::Ge: return b_.CreateICmpSGE(a, b);
      case Cmp::Eq: return b_.CreateICmpEQ(a, b);
      case Cmp::Ne: return b_.CreateICmpNE(a, b);
    }
    throw std::logic_error("codegen: unknown comparison of a formula");
  }

  void* select(void* c, void* a, void* b) override { return b_.CreateSelect(value(c), value(a), value(b)); }

  // As num::convert: to i32 saturating (fptosi.sat: NaN gives 0), between floats by rounding.
  void* convert(void* xp, ir::DType to) override {
    Value* x = value(xp);
    llvm::Type* from = x->getType();
    llvm::Type* t = e_.elem(to);
    if (auto* vec = llvm::dyn_cast<llvm::VectorType>(from)) t = llvm::VectorType::get(t, vec->getElementCount());
    if (from == t) return x;
    if (!from->isFPOrFPVectorTy()) return b_.CreateSIToFP(x, t);
    if (t->isIntOrIntVectorTy()) return b_.CreateIntrinsic(llvm::Intrinsic::fptosi_sat, {t, from}, {x});
    return t->getScalarSizeInBits() > from->getScalarSizeInBits() ? b_.CreateFPExt(x, t) : b_.CreateFPTrunc(x, t);
  }

 private:
  static Value* value(void* p) { return static_cast<Value*>(p); }
  KernelEmitter& e_;
  llvm::IRBuilder<>& b_;
};

// ir::dropoutScale (compiler/ir/dropout_mask.h) in IR: the same hash, so that generated code and the
// interpreter draw the same mask.
Value* KernelEmitter::dropoutScale(const ir::Node& n, Value* index) {
  Value* h = b_.CreateXor(
      b_.CreateXor(b_.CreateMul(seed_, c64(static_cast<std::int64_t>(ir::kDropoutSeedMul))),
                   b_.CreateMul(c64(n.attrs.getInt("salt")), c64(static_cast<std::int64_t>(ir::kDropoutSaltMul)))),
      index);
  h = b_.CreateMul(b_.CreateXor(h, b_.CreateLShr(h, 30)), c64(static_cast<std::int64_t>(ir::kMix1)));
  h = b_.CreateMul(b_.CreateXor(h, b_.CreateLShr(h, 27)), c64(static_cast<std::int64_t>(ir::kMix2)));
  h = b_.CreateXor(h, b_.CreateLShr(h, 31));
  llvm::Type* t = elem(n.type.dtype);
  const double p = n.attrs.getFloat("p");
  Value* keep = b_.CreateICmpUGE(b_.CreateLShr(h, 40), c64(static_cast<std::int64_t>(ir::dropoutThreshold(p))));
  return b_.CreateSelect(keep, fconst(t, 1.0 / (1.0 - p)), fconst(t, 0));
}

Value* KernelEmitter::elementwiseValue(const ir::Node& n, const std::vector<Value*>& v) {
  const ir::ScalarFormula& f = ir::opDef(n.op).scalar;
  if (!f) throw std::logic_error(fmt::format("codegen: {} has no scalar formula", ir::opName(n.op)));
  CodeEmitter builder(*this);
  std::vector<ir::Code> operands;
  for (Value* x : v) operands.push_back({&builder, x});
  return static_cast<Value*>(f.code(n.attrs, n.type.dtype, operands.data()).value);
}

}  // namespace sinter::codegen
