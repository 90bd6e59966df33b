// The formulas of elementwise ops at one element; their loops come from the kernel's loop nest (loop_schedule.cpp).
#include "compiler/codegen/kernel_emitter.h"
#include "compiler/ir/dropout_mask.h"

namespace sinter::codegen {

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

// The scalar formula of each elementwise op (the interpreter's ref::unary/binary say the same in f64).
Value* KernelEmitter::elementwiseValue(const ir::Node& n, const std::vector<Value*>& v) {
  using llvm::Intrinsic::ID;
  const bool isF = ir::isFloat(n.type.dtype);
  Value* zero = isF ? fconst(n, 0) : b_.getInt32(0);
  auto intrinsic = [&](ID id, Value* x) { return b_.CreateUnaryIntrinsic(id, x); };
  auto sigmoid = [&](Value* x) {
    return b_.CreateFDiv(fconst(n, 1), b_.CreateFAdd(fconst(n, 1), vexp(b_.CreateFNeg(x))));
  };
  switch (n.op) {
    case ir::Op::Neg: return isF ? b_.CreateFNeg(v[0]) : b_.CreateNeg(v[0]);
    case ir::Op::Exp: return vexp(v[0]);
    case ir::Op::Log: return vlog(v[0]);
    case ir::Op::Sqrt: return intrinsic(llvm::Intrinsic::sqrt, v[0]);
    case ir::Op::Abs: return intrinsic(llvm::Intrinsic::fabs, v[0]);
    case ir::Op::Sign:
      return b_.CreateFSub(b_.CreateUIToFP(b_.CreateFCmpOGT(v[0], zero), v[0]->getType()),
                           b_.CreateUIToFP(b_.CreateFCmpOLT(v[0], zero), v[0]->getType()));
    case ir::Op::Sigmoid: return sigmoid(v[0]);
    case ir::Op::Tanh: return vtanh(v[0]);
    case ir::Op::Relu: return b_.CreateSelect(b_.CreateFCmpOGT(v[0], zero), v[0], zero);
    case ir::Op::LeakyRelu:
      return b_.CreateSelect(b_.CreateFCmpOGT(v[0], zero), v[0],
                             b_.CreateFMul(v[0], fconst(n, n.attrs.getFloat("alpha"))));
    case ir::Op::Gelu: {  // x Φ(x), Φ(x) = (1 + erf(x / √2)) / 2
      Value* phi = b_.CreateFMul(fconst(n, 0.5),
                                 b_.CreateFAdd(fconst(n, 1), verf(b_.CreateFMul(v[0], fconst(n, 0.7071067811865476)))));
      return b_.CreateFMul(v[0], phi);
    }
    case ir::Op::Softplus: {  // max(x, 0) + log1p(e^-|x|): no overflow for large |x|
      Value* tail = vlog1p(vexp(b_.CreateFNeg(intrinsic(llvm::Intrinsic::fabs, v[0]))));
      return b_.CreateFAdd(b_.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, v[0], zero), tail);
    }
    case ir::Op::StopGradient:
    case ir::Op::Broadcast: return v[0];
    case ir::Op::Add: return isF ? b_.CreateFAdd(v[0], v[1]) : b_.CreateAdd(v[0], v[1]);
    case ir::Op::Sub: return isF ? b_.CreateFSub(v[0], v[1]) : b_.CreateSub(v[0], v[1]);
    case ir::Op::Mul: return isF ? b_.CreateFMul(v[0], v[1]) : b_.CreateMul(v[0], v[1]);
    case ir::Op::Div: return isF ? b_.CreateFDiv(v[0], v[1]) : b_.CreateSDiv(v[0], v[1]);
    case ir::Op::Pow: return b_.CreateBinaryIntrinsic(llvm::Intrinsic::pow, v[0], v[1]);
    case ir::Op::Maximum: return b_.CreateSelect(b_.CreateFCmpOGE(v[0], v[1]), v[0], v[1]);
    case ir::Op::Minimum: return b_.CreateSelect(b_.CreateFCmpOLE(v[0], v[1]), v[0], v[1]);
    case ir::Op::GreaterEqual: return b_.CreateSelect(b_.CreateFCmpOGE(v[0], v[1]), fconst(n, 1), zero);
    case ir::Op::ReluGrad: return b_.CreateSelect(b_.CreateFCmpOGT(v[1], zero), v[0], zero);  // (dy, x)
    case ir::Op::LeakyReluGrad:
      return b_.CreateSelect(b_.CreateFCmpOGT(v[1], zero), v[0],
                             b_.CreateFMul(v[0], fconst(n, n.attrs.getFloat("alpha"))));
    case ir::Op::GeluGrad: {  // dy (Φ(x) + x φ(x))
      Value* x = v[1];
      Value* cdf = b_.CreateFMul(fconst(n, 0.5),
                                 b_.CreateFAdd(fconst(n, 1), verf(b_.CreateFMul(x, fconst(n, 0.7071067811865476)))));
      Value* pdf =
          b_.CreateFMul(fconst(n, 0.3989422804014327), vexp(b_.CreateFMul(fconst(n, -0.5), b_.CreateFMul(x, x))));
      return b_.CreateFMul(v[0], b_.CreateFAdd(cdf, b_.CreateFMul(x, pdf)));
    }
    default: throw std::logic_error("codegen: not an elementwise op");
  }
}

}  // namespace sinter::codegen
