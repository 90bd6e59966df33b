// Reductions, the softmax family along any axis, and the losses.
#include <algorithm>
#include <functional>
#include <optional>
#include <stdexcept>
#include <tuple>

#include "compiler/codegen/kernel_emitter.h"
#include "compiler/codegen/reduction_axes.h"

namespace sinter::codegen {

// reduce_sum/mean/max, sum_to: out[j] ⊕= x[i] for every input element i, where j is i with the reduced
// axes dropped (out is read as x's shape with those axes of size 1, so broadcast strides find j). The loops
// are x's axes merged (reduction_axes.h); when the scheduler splits the first kept axis over the threads,
// [begin, end) is this chunk's range of it, and the chunk fills, sums and scales only its own outputs.
void KernelEmitter::emitReduce(const ir::Node& n, Value* begin, Value* end) {
  if (n.op == ir::Op::ArgMax) return emitArgMax(n);
  const ir::Node& x = operand(n, 0);
  if (n.op == ir::Op::Count) {  // product of the extents along the axes
    Value* c = c64(1);
    for (std::int64_t a : n.attrs.getInts("axes"))
      c = b_.CreateMul(c, extent(x.type.shape[static_cast<std::size_t>(a)]));
    return store(n, c64(0), b_.CreateSIToFP(c, elem(n.type.dtype)));
  }
  const ReductionAxes r = reductionAxes(n, x);
  const std::optional<std::size_t> split = r.split();
  if (split.has_value() != (begin != nullptr)) throw std::logic_error("codegen: a reduction's range does not match its split");
  // A loop nest over `shape` (x's merged axes, or the output's), the split axis restricted to [begin, end).
  auto nest = [&](const ir::Shape& shape, const std::vector<ir::Shape>& operands,
                  const std::function<void(const Offsets&)>& body) {
    std::vector<std::vector<Value*>> sets = {strides(shape)};
    for (const ir::Shape& s : operands) sets.push_back(broadcastStrides(s, shape));
    std::vector<Value*> dims = extents(shape);
    if (!split) return loopNest(dims, sets, body);
    dims[*split] = b_.CreateSub(end, begin);
    loopNest(dims, sets, [&](const Offsets& o) {
      Offsets at = o;
      for (std::size_t k = 0; k < sets.size(); ++k) at[k] = b_.CreateAdd(o[k], b_.CreateMul(begin, sets[k][*split]));
      body(at);
    });
  };
  const bool isMax = n.op == ir::Op::ReduceMax;
  llvm::Type* t = elem(n.type.dtype);
  Value* init = isMax ? llvm::ConstantFP::getInfinity(t, true) : fconst(n, 0);
  nest(r.kept, {}, [&](const Offsets& o) { store(n, o[0], init); });
  nest(r.x, {r.kept}, [&](const Offsets& o) {
    Value* acc = load(n, o[1]);
    Value* v = load(x, o[0]);
    store(n, o[1], isMax ? b_.CreateBinaryIntrinsic(llvm::Intrinsic::maximum, acc, v) : b_.CreateFAdd(acc, v));
  });
  if (n.op == ir::Op::ReduceMean) {
    Value* count = c64(1);
    for (std::int64_t a : n.attrs.getInts("axes"))
      count = b_.CreateMul(count, extent(x.type.shape[static_cast<std::size_t>(a)]));
    Value* inv = b_.CreateFDiv(fconst(n, 1), b_.CreateSIToFP(count, t));
    nest(r.kept, {}, [&](const Offsets& o) { store(n, o[0], b_.CreateFMul(load(n, o[0]), inv)); });
  }
}

// argmax along an axis: x viewed as (outer, len, inner); the first maximum wins, and a NaN counts as the
// maximum (the first NaN), as in the interpreter and torch.argmax.
void KernelEmitter::emitArgMax(const ir::Node& n) {
  const ir::Node& x = operand(n, 0);
  const auto axis = static_cast<std::size_t>(n.attrs.getInt("axis"));
  const std::vector<Value*> dims = extents(x.type.shape);
  Value* len = dims[axis];
  Value* inner = product(dims, axis + 1, dims.size());
  llvm::Type* t = elem(x.type.dtype);
  forLoop(product(dims, 0, axis), [&](Value* o) {
    forLoop(inner, [&](Value* i) {
      Value* base = b_.CreateAdd(b_.CreateMul(b_.CreateMul(o, len), inner), i);
      Value* best = scalarSlot(i64(), c64(0));
      Value* bestValue = scalarSlot(t, load(x, base));
      forRange(c64(1), len, [&](Value* k) {
        Value* v = load(x, b_.CreateAdd(base, b_.CreateMul(k, inner)));
        Value* b = b_.CreateLoad(t, bestValue);
        Value* better =
            b_.CreateAnd(b_.CreateOr(b_.CreateFCmpOGT(v, b), b_.CreateFCmpUNO(v, v)), b_.CreateFCmpORD(b, b));
        b_.CreateStore(b_.CreateSelect(better, k, b_.CreateLoad(i64(), best)), best);
        b_.CreateStore(b_.CreateSelect(better, v, b), bestValue);
      });
      store(n, b_.CreateAdd(b_.CreateMul(o, inner), i), b_.CreateTrunc(b_.CreateLoad(i64(), best), b_.getInt32Ty()));
    });
  });
}

// The max and Σ exp(x - max) of the `len` elements base, base + stride, ...
std::pair<Value*, Value*> KernelEmitter::rowMaxAndSum(const ir::Node& x, Value* base, Value* len, Value* stride) {
  llvm::Type* t = elem(x.type.dtype);
  Value* mx = scalarSlot(t, llvm::ConstantFP::getInfinity(t, true));
  forLoop(len, [&](Value* k) {
    Value* v = load(x, b_.CreateAdd(base, b_.CreateMul(k, stride)));
    b_.CreateStore(b_.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, b_.CreateLoad(t, mx), v), mx);
  });
  Value* m = b_.CreateLoad(t, mx);
  Value* sum = scalarSlot(t, fconst(t, 0));
  forLoop(len, [&](Value* k) {
    Value* e = vexp(b_.CreateFSub(load(x, b_.CreateAdd(base, b_.CreateMul(k, stride))), m));
    b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(t, sum), e), sum);
  });
  return {m, b_.CreateLoad(t, sum)};
}

// softmax: y = e^(x - max) / Σ;  log_softmax: y = x - max - log Σ;
// softmax_grad(dy, y) = y (dy - Σ dy y);  log_softmax_grad(dy, y) = dy - e^y Σ dy.  All along `axis`.
void KernelEmitter::emitSoftmaxFamily(const ir::Node& n) {
  const std::size_t axis = static_cast<std::size_t>(n.attrs.getInt("axis"));
  const auto ext = extents(n.type.shape);
  Value* outer = product(ext, 0, axis);
  Value* len = ext[axis];
  Value* inner = product(ext, axis + 1, ext.size());
  llvm::Type* t = elem(n.type.dtype);
  const ir::Node& a = operand(n, 0);
  forLoop(outer, [&](Value* o) {
    forLoop(inner, [&](Value* i) {
      Value* base = b_.CreateAdd(b_.CreateMul(b_.CreateMul(o, len), inner), i);
      auto off = [&](Value* k) { return b_.CreateAdd(base, b_.CreateMul(k, inner)); };
      if (n.op == ir::Op::Softmax || n.op == ir::Op::LogSoftmax) {
        Value *m, *sum;  // not a structured binding: clang before 16 cannot capture one in a lambda
        std::tie(m, sum) = rowMaxAndSum(a, base, len, inner);
        Value* inv = b_.CreateFDiv(fconst(n, 1), sum);
        Value* logSum = b_.CreateFAdd(m, vlog(sum));
        forLoop(len, [&](Value* k) {
          Value* x = load(a, off(k));
          store(n, off(k),
                n.op == ir::Op::Softmax ? b_.CreateFMul(vexp(b_.CreateFSub(x, m)), inv) : b_.CreateFSub(x, logSum));
        });
        return;
      }
      const ir::Node& y = operand(n, 1);
      const bool soft = n.op == ir::Op::SoftmaxGrad;
      Value* acc = scalarSlot(t, fconst(t, 0));
      forLoop(len, [&](Value* k) {
        Value* term = soft ? b_.CreateFMul(load(a, off(k)), load(y, off(k))) : load(a, off(k));
        b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(t, acc), term), acc);
      });
      Value* s = b_.CreateLoad(t, acc);
      forLoop(len, [&](Value* k) {
        Value* dy = load(a, off(k));
        Value* yk = load(y, off(k));
        store(n, off(k),
              soft ? b_.CreateFMul(yk, b_.CreateFSub(dy, s)) : b_.CreateFSub(dy, b_.CreateFMul(vexp(yk), s)));
      });
    });
  });
}

// loss = mean over rows of (logsumexp(x_i) - x_i[label_i]). A label outside [0, C) makes the loss NaN
// instead of reading out of bounds; the training driver checks labels before they get here.
void KernelEmitter::emitCrossEntropy(const ir::Node& n) {
  const ir::Node& x = operand(n, 0);
  const ir::Node& labels = operand(n, 1);
  llvm::Type* t = elem(n.type.dtype);
  Value* N = extent(x.type.shape[0]);
  Value* C = extent(x.type.shape[1]);
  Value* total = scalarSlot(t, fconst(n, 0));
  forLoop(N, [&](Value* r) {
    Value* base = b_.CreateMul(r, C);
    Value *m, *sum;  // not a structured binding: clang before 16 cannot capture one in a lambda
    std::tie(m, sum) = rowMaxAndSum(x, base, C, c64(1));
    Value* lse = b_.CreateFAdd(m, vlog(sum));
    Value* l = b_.CreateSExt(load(labels, r), i64());
    Value* valid = b_.CreateAnd(b_.CreateICmpSGE(l, c64(0)), b_.CreateICmpSLT(l, C));
    Value* xl = load(x, b_.CreateAdd(base, b_.CreateSelect(valid, l, c64(0))));
    Value* term = b_.CreateSelect(valid, b_.CreateFSub(lse, xl), llvm::ConstantFP::getNaN(t));
    b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(t, total), term), total);
  });
  store(n, c64(0), b_.CreateFDiv(b_.CreateLoad(t, total), b_.CreateSIToFP(N, t)));
}

// dx = dloss (softmax(x) - onehot(label)) / N
void KernelEmitter::emitCrossEntropyGrad(const ir::Node& n) {
  const ir::Node& dloss = operand(n, 0);
  const ir::Node& x = operand(n, 1);
  const ir::Node& labels = operand(n, 2);
  llvm::Type* t = elem(n.type.dtype);
  Value* N = extent(x.type.shape[0]);
  Value* C = extent(x.type.shape[1]);
  Value* scale = b_.CreateFDiv(load(dloss, c64(0)), b_.CreateSIToFP(N, t));
  forLoop(N, [&](Value* r) {
    Value* base = b_.CreateMul(r, C);
    Value *m, *sum;  // not a structured binding: clang before 16 cannot capture one in a lambda
    std::tie(m, sum) = rowMaxAndSum(x, base, C, c64(1));
    Value* inv = b_.CreateFDiv(fconst(n, 1), sum);
    Value* l = b_.CreateSExt(load(labels, r), i64());
    forLoop(C, [&](Value* c) {
      Value* off = b_.CreateAdd(base, c);
      Value* p = b_.CreateFMul(vexp(b_.CreateFSub(load(x, off), m)), inv);
      Value* hot = b_.CreateSelect(b_.CreateICmpEQ(c, l), fconst(n, 1), fconst(n, 0));
      store(n, off, b_.CreateFMul(b_.CreateFSub(p, hot), scale));
    });
  });
}

void KernelEmitter::emitCrossEntropyFused(const ir::Node& ce, const ir::Node* grad, const ir::Node* softmax) {
  const ir::Node& x = operand(ce, 0);
  const ir::Node& labels = operand(ce, 1);
  llvm::Type* t = elem(ce.type.dtype);
  Value* N = extent(x.type.shape[0]);
  Value* C = extent(x.type.shape[1]);
  Value* scale = grad ? b_.CreateFDiv(load(operand(*grad, 0), c64(0)), b_.CreateSIToFP(N, t)) : nullptr;
  Value* total = scalarSlot(t, fconst(ce, 0));
  forLoop(N, [&](Value* r) {
    Value* base = b_.CreateMul(r, C);
    Value *m, *sum;  // not a structured binding: clang before 16 cannot capture one in a lambda
    std::tie(m, sum) = rowMaxAndSum(x, base, C, c64(1));
    Value* inv = b_.CreateFDiv(fconst(ce, 1), sum);
    Value* l = b_.CreateSExt(load(labels, r), i64());
    Value* valid = b_.CreateAnd(b_.CreateICmpSGE(l, c64(0)), b_.CreateICmpSLT(l, C));
    Value* xl = load(x, b_.CreateAdd(base, b_.CreateSelect(valid, l, c64(0))));
    Value* term = b_.CreateSelect(valid, b_.CreateFSub(b_.CreateFAdd(m, vlog(sum)), xl), llvm::ConstantFP::getNaN(t));
    b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(t, total), term), total);
    if (!grad && !softmax) return;
    forLoop(C, [&](Value* c) {
      Value* off = b_.CreateAdd(base, c);
      Value* p = b_.CreateFMul(vexp(b_.CreateFSub(load(x, off), m)), inv);
      if (softmax) store(*softmax, off, p);
      if (grad) {
        Value* hot = b_.CreateSelect(b_.CreateICmpEQ(c, l), fconst(ce, 1), fconst(ce, 0));
        store(*grad, off, b_.CreateFMul(b_.CreateFSub(p, hot), scale));
      }
    });
  });
  store(ce, c64(0), b_.CreateFDiv(b_.CreateLoad(t, total), b_.CreateSIToFP(N, t)));
}

// mse: mean (x - t)²;  bce_with_logits: mean of max(x, 0) - x t + log1p(e^-|x|) (no overflow at any
// logit);  soft_cross_entropy: mean over rows of Σ_c t_c (logsumexp(x) - x_c) with the row's max
// subtracted before exp. The interpreter's ref::loss says the same in f64.
void KernelEmitter::emitLoss(const ir::Node& n) {
  const ir::Node& x = operand(n, 0);
  const ir::Node& t = operand(n, 1);
  llvm::Type* ty = elem(n.type.dtype);
  Value* total = scalarSlot(ty, fconst(n, 0));
  auto add = [&](Value* term) { b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(ty, total), term), total); };
  Value* count = nullptr;
  if (n.op == ir::Op::SoftCrossEntropy) {
    Value* N = extent(x.type.shape[0]);
    Value* C = extent(x.type.shape[1]);
    count = N;
    forLoop(N, [&](Value* r) {
      Value* base = b_.CreateMul(r, C);
      Value *m, *sum;  // not a structured binding: clang before 16 cannot capture one in a lambda
      std::tie(m, sum) = rowMaxAndSum(x, base, C, c64(1));
      Value* lse = b_.CreateFAdd(m, vlog(sum));
      forLoop(C, [&](Value* c) {
        Value* off = b_.CreateAdd(base, c);
        add(b_.CreateFMul(load(t, off), b_.CreateFSub(lse, load(x, off))));
      });
    });
  } else {
    count = numel(x.type.shape);
    forEachElement(x.type.shape, {}, [&](const Offsets& o) {
      Value* v = load(x, o[0]);
      Value* y = load(t, o[0]);
      if (n.op == ir::Op::Mse) {
        Value* d = b_.CreateFSub(v, y);
        return add(b_.CreateFMul(d, d));
      }
      Value* tail = vlog1p(vexp(b_.CreateFNeg(b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, v))));
      Value* relu = b_.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, v, fconst(n, 0));
      add(b_.CreateFAdd(b_.CreateFSub(relu, b_.CreateFMul(v, y)), tail));
    });
  }
  store(n, c64(0), b_.CreateFDiv(b_.CreateLoad(ty, total), b_.CreateSIToFP(count, ty)));
}

}  // namespace sinter::codegen
