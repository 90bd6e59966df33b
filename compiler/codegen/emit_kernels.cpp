#include "compiler/codegen/emit_kernels.h"

#include <fmt/format.h>
#include <functional>
#include <llvm/IR/Intrinsics.h>
#include <map>
#include <stdexcept>

namespace sinter::codegen {
namespace {

using llvm::BasicBlock;
using llvm::Value;
using Body = std::function<void(Value* offset, const std::vector<Value*>& operandOffsets)>;

class FunctionEmitter {
 public:
  FunctionEmitter(llvm::Module& mod, llvm::Function* fn, const ir::Graph& g, const lower::BufferPlan& plan)
      : mod_(mod), fn_(fn), ctx_(mod.getContext()), b_(ctx_), g_(g), plan_(plan) {}

  void emit() {
    b_.SetInsertPoint(BasicBlock::Create(ctx_, "entry", fn_));
    // Reductions (matmul, softmax, sums) may be reassociated so that LLVM can vectorize them.
    llvm::FastMathFlags fmf;
    fmf.setAllowReassoc();
    fmf.setAllowContract();
    b_.setFastMathFlags(fmf);
    Value* symDims = fn_->getArg(1);
    for (std::size_t i = 0; i < plan_.symbols.size(); ++i)
      syms_[plan_.symbols[i]] = b_.CreateLoad(i64(), b_.CreateConstInBoundsGEP1_64(i64(), symDims, i), plan_.symbols[i]);

    ptr_.resize(g_.nodes.size(), nullptr);
    for (const ir::Node& n : g_.nodes) {
      const lower::Slot& s = plan_.home[static_cast<std::size_t>(n.id)];
      ptr_[n.id] = s.kind == lower::Slot::Temporary ? allocate(n) : bufferArg(s.buffer);
    }
    for (const ir::Node& n : g_.nodes) emitNode(n);
    for (const lower::Copy& c : plan_.copies) {
      const ir::Node& n = g_.node(c.from);
      b_.CreateMemCpy(bufferArg(c.buffer), llvm::MaybeAlign(4), ptr_[n.id], llvm::MaybeAlign(4), bytes(n.type));
    }
    for (Value* t : temps_) b_.CreateCall(freeFn(), {t});
    b_.CreateRetVoid();
  }

 private:
  llvm::Module& mod_;
  llvm::Function* fn_;
  llvm::LLVMContext& ctx_;
  llvm::IRBuilder<> b_;
  const ir::Graph& g_;
  const lower::BufferPlan& plan_;
  std::map<std::string, Value*> syms_;
  std::vector<Value*> ptr_;  // per node: its buffer
  std::vector<Value*> temps_;

  // ---- types and sizes -------------------------------------------------------------------------
  llvm::Type* i64() { return b_.getInt64Ty(); }
  llvm::Constant* c64(std::int64_t v) { return b_.getInt64(static_cast<std::uint64_t>(v)); }
  llvm::Type* elem(ir::DType t) {
    switch (t) {
      case ir::DType::F32: return b_.getFloatTy();
      case ir::DType::F64: return b_.getDoubleTy();
      case ir::DType::I32: return b_.getInt32Ty();
    }
    return nullptr;
  }
  Value* extent(const ir::Dim& d) {
    if (!d.isSymbolic()) return c64(d.size);
    auto it = syms_.find(d.symbol);
    if (it == syms_.end()) throw std::logic_error("codegen: unbound symbol " + d.symbol);
    return it->second;
  }
  Value* numel(const ir::Shape& s) {
    Value* n = c64(1);
    for (const ir::Dim& d : s) n = b_.CreateMul(n, extent(d));
    return n;
  }
  Value* bytes(const ir::TensorType& t) { return b_.CreateMul(numel(t.shape), c64(static_cast<std::int64_t>(ir::dtypeSize(t.dtype)))); }

  // ---- buffers -----------------------------------------------------------------------------------
  Value* bufferArg(int index) {
    return b_.CreateLoad(b_.getPtrTy(), b_.CreateConstInBoundsGEP1_64(b_.getPtrTy(), fn_->getArg(0), static_cast<std::uint64_t>(index)));
  }
  llvm::FunctionCallee mallocFn() { return mod_.getOrInsertFunction("malloc", b_.getPtrTy(), i64()); }
  llvm::FunctionCallee freeFn() { return mod_.getOrInsertFunction("free", b_.getVoidTy(), b_.getPtrTy()); }
  Value* allocate(const ir::Node& n) {
    Value* p = b_.CreateCall(mallocFn(), {bytes(n.type)}, fmt::format("t{}", n.id));
    temps_.push_back(p);
    return p;
  }
  Value* at(const ir::Node& n, Value* offset) { return b_.CreateInBoundsGEP(elem(n.type.dtype), ptr_[n.id], offset); }
  Value* load(const ir::Node& n, Value* offset) { return b_.CreateLoad(elem(n.type.dtype), at(n, offset)); }
  void store(const ir::Node& n, Value* offset, Value* v) { b_.CreateStore(v, at(n, offset)); }
  const ir::Node& operand(const ir::Node& n, int i) { return g_.node(n.operands[static_cast<std::size_t>(i)]); }

  // A stack slot for a loop-carried scalar; SROA turns it into SSA, so it costs nothing.
  Value* scalarSlot(llvm::Type* t, Value* init) {
    llvm::IRBuilder<> eb(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
    Value* slot = eb.CreateAlloca(t);
    b_.CreateStore(init, slot);
    return slot;
  }

  // ---- loops -------------------------------------------------------------------------------------
  // for (i = 0; i < end; ++i) body(i)
  void forLoop(Value* end, const std::function<void(Value*)>& body) {
    BasicBlock* pre = b_.GetInsertBlock();
    BasicBlock* header = BasicBlock::Create(ctx_, "loop", fn_);
    BasicBlock* bodyBB = BasicBlock::Create(ctx_, "body", fn_);
    BasicBlock* exit = BasicBlock::Create(ctx_, "exit", fn_);
    b_.CreateBr(header);
    b_.SetInsertPoint(header);
    llvm::PHINode* i = b_.CreatePHI(i64(), 2, "i");
    i->addIncoming(c64(0), pre);
    b_.CreateCondBr(b_.CreateICmpSLT(i, end), bodyBB, exit);
    b_.SetInsertPoint(bodyBB);
    body(i);
    i->addIncoming(b_.CreateAdd(i, c64(1), "", true, true), b_.GetInsertBlock());
    b_.CreateBr(header);
    b_.SetInsertPoint(exit);
  }

  // Visits every element of `shape` in row-major order. body gets the element's flat offset and, for
  // each shape in `operands` (broadcast to `shape` by NumPy's rules), the offset of the element it reads.
  void forEachElement(const ir::Shape& shape, const std::vector<ir::Shape>& operands, const Body& body) {
    std::vector<Value*> offs(operands.size(), c64(0));
    nest(shape, operands, 0, c64(0), offs, body);
  }
  void nest(const ir::Shape& shape, const std::vector<ir::Shape>& ops, std::size_t d, Value* off,
            const std::vector<Value*>& offs, const Body& body) {
    if (d == shape.size()) return body(off, offs);
    forLoop(extent(shape[d]), [&](Value* i) {
      Value* next = b_.CreateAdd(b_.CreateMul(off, extent(shape[d])), i);
      std::vector<Value*> nextOffs = offs;
      for (std::size_t k = 0; k < ops.size(); ++k) {
        const std::size_t lead = shape.size() - ops[k].size();
        if (d < lead) continue;  // the operand lacks this leading dimension
        const ir::Dim& od = ops[k][d - lead];
        if (!od.isSymbolic() && od.size == 1) continue;  // broadcast along d: the offset stays
        nextOffs[k] = b_.CreateAdd(b_.CreateMul(offs[k], extent(od)), i);
      }
      nest(shape, ops, d + 1, next, nextOffs, body);
    });
  }

  // ---- math helpers ------------------------------------------------------------------------------
  Value* fconst(const ir::Node& n, double v) { return llvm::ConstantFP::get(elem(n.type.dtype), v); }
  Value* call(llvm::Intrinsic::ID id, Value* x) { return b_.CreateUnaryIntrinsic(id, x); }
  Value* add(ir::DType t, Value* a, Value* c) { return ir::isFloat(t) ? b_.CreateFAdd(a, c) : b_.CreateAdd(a, c); }
  Value* mul(ir::DType t, Value* a, Value* c) { return ir::isFloat(t) ? b_.CreateFMul(a, c) : b_.CreateMul(a, c); }

  // Row statistics for softmax-like ops over the last axis: the row's max and sum(exp(x - max)).
  std::pair<Value*, Value*> rowMaxAndSum(const ir::Node& x, Value* rowBase, Value* C) {
    llvm::Type* t = elem(x.type.dtype);
    Value* mx = scalarSlot(t, llvm::ConstantFP::getInfinity(t, true));
    forLoop(C, [&](Value* c) {
      Value* v = load(x, b_.CreateAdd(rowBase, c));
      b_.CreateStore(b_.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, b_.CreateLoad(t, mx), v), mx);
    });
    Value* m = b_.CreateLoad(t, mx);
    Value* sum = scalarSlot(t, llvm::ConstantFP::get(t, 0.0));
    forLoop(C, [&](Value* c) {
      Value* e = call(llvm::Intrinsic::exp, b_.CreateFSub(load(x, b_.CreateAdd(rowBase, c)), m));
      b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(t, sum), e), sum);
    });
    return {m, b_.CreateLoad(t, sum)};
  }

  // ---- one kernel per op -------------------------------------------------------------------------
  void emitNode(const ir::Node& n);
  void emitMatMul(const ir::Node& n, bool transA, bool transB);
  void emitSoftmax(const ir::Node& n);
  void emitSoftmaxGrad(const ir::Node& n);
  void emitCrossEntropy(const ir::Node& n);
  void emitCrossEntropyGrad(const ir::Node& n);
  void emitSumTo(const ir::Node& n);
};

void FunctionEmitter::emitNode(const ir::Node& n) {
  const ir::DType t = n.type.dtype;
  auto elementwise = [&](auto f) {
    std::vector<ir::Shape> shapes;
    for (ir::NodeId o : n.operands) shapes.push_back(g_.node(o).type.shape);
    forEachElement(n.type.shape, shapes, [&](Value* off, const std::vector<Value*>& offs) {
      std::vector<Value*> v;
      for (std::size_t k = 0; k < n.operands.size(); ++k) v.push_back(load(g_.node(n.operands[k]), offs[k]));
      store(n, off, f(v));
    });
  };
  switch (n.op) {
    case ir::Op::Input:
    case ir::Op::Param:
      return;  // already in its buffer
    case ir::Op::Constant: {
      Value* c = ir::isFloat(t) ? fconst(n, n.scalar) : b_.getInt32(static_cast<std::uint32_t>(static_cast<std::int32_t>(n.scalar)));
      return elementwise([&](const std::vector<Value*>&) { return c; });
    }
    case ir::Op::Add: return elementwise([&](const std::vector<Value*>& v) { return add(t, v[0], v[1]); });
    case ir::Op::Mul: return elementwise([&](const std::vector<Value*>& v) { return mul(t, v[0], v[1]); });
    case ir::Op::Relu:
      return elementwise([&](const std::vector<Value*>& v) {
        return b_.CreateSelect(b_.CreateFCmpOGT(v[0], fconst(n, 0)), v[0], fconst(n, 0));
      });
    case ir::Op::ReluGrad:  // dy * [x > 0]
      return elementwise([&](const std::vector<Value*>& v) {
        return b_.CreateSelect(b_.CreateFCmpOGT(v[1], fconst(n, 0)), v[0], fconst(n, 0));
      });
    case ir::Op::Broadcast: return elementwise([&](const std::vector<Value*>& v) { return v[0]; });
    case ir::Op::MatMul: return emitMatMul(n, false, false);
    case ir::Op::MatMulTN: return emitMatMul(n, true, false);
    case ir::Op::MatMulNT: return emitMatMul(n, false, true);
    case ir::Op::Softmax: return emitSoftmax(n);
    case ir::Op::SoftmaxGrad: return emitSoftmaxGrad(n);
    case ir::Op::CrossEntropy: return emitCrossEntropy(n);
    case ir::Op::CrossEntropyGrad: return emitCrossEntropyGrad(n);
    case ir::Op::SumTo: return emitSumTo(n);
  }
}

// C[M,N] = op(A) op(B). The non-transposed-B forms run i, k, j so that the innermost loop streams
// rows of B and C; A Bᵀ runs i, j, k as a dot product over contiguous rows of both.
void FunctionEmitter::emitMatMul(const ir::Node& n, bool transA, bool transB) {
  const ir::Node& A = operand(n, 0);
  const ir::Node& B = operand(n, 1);
  Value* M = extent(n.type.shape[0]);
  Value* N = extent(n.type.shape[1]);
  Value* K = extent(transA ? A.type.shape[0] : A.type.shape[1]);
  llvm::Type* t = elem(n.type.dtype);
  if (!transB) {
    forLoop(M, [&](Value* i) {
      Value* row = b_.CreateMul(i, N);
      forLoop(N, [&](Value* j) { store(n, b_.CreateAdd(row, j), fconst(n, 0)); });
      forLoop(K, [&](Value* k) {
        Value* a = load(A, transA ? b_.CreateAdd(b_.CreateMul(k, M), i) : b_.CreateAdd(b_.CreateMul(i, K), k));
        Value* brow = b_.CreateMul(k, N);
        forLoop(N, [&](Value* j) {
          Value* off = b_.CreateAdd(row, j);
          store(n, off, b_.CreateFAdd(load(n, off), b_.CreateFMul(a, load(B, b_.CreateAdd(brow, j)))));
        });
      });
    });
    return;
  }
  forLoop(M, [&](Value* i) {
    forLoop(N, [&](Value* j) {
      Value* acc = scalarSlot(t, fconst(n, 0));
      forLoop(K, [&](Value* k) {
        Value* p = b_.CreateFMul(load(A, b_.CreateAdd(b_.CreateMul(i, K), k)), load(B, b_.CreateAdd(b_.CreateMul(j, K), k)));
        b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(t, acc), p), acc);
      });
      store(n, b_.CreateAdd(b_.CreateMul(i, N), j), b_.CreateLoad(t, acc));
    });
  });
}

// y = exp(x - max) / sum(exp(x - max)) along the last axis.
void FunctionEmitter::emitSoftmax(const ir::Node& n) {
  const ir::Node& x = operand(n, 0);
  Value* C = extent(n.type.shape.back());
  Value* rows = b_.CreateSDiv(numel(n.type.shape), C);
  forLoop(rows, [&](Value* r) {
    Value* base = b_.CreateMul(r, C);
    auto [m, sum] = rowMaxAndSum(x, base, C);
    Value* inv = b_.CreateFDiv(fconst(n, 1), sum);
    forLoop(C, [&](Value* c) {
      Value* off = b_.CreateAdd(base, c);
      store(n, off, b_.CreateFMul(call(llvm::Intrinsic::exp, b_.CreateFSub(load(x, off), m)), inv));
    });
  });
}

// dx = y * (dy - sum(dy * y)) along the last axis.
void FunctionEmitter::emitSoftmaxGrad(const ir::Node& n) {
  const ir::Node& dy = operand(n, 0);
  const ir::Node& y = operand(n, 1);
  llvm::Type* t = elem(n.type.dtype);
  Value* C = extent(n.type.shape.back());
  Value* rows = b_.CreateSDiv(numel(n.type.shape), C);
  forLoop(rows, [&](Value* r) {
    Value* base = b_.CreateMul(r, C);
    Value* dot = scalarSlot(t, fconst(n, 0));
    forLoop(C, [&](Value* c) {
      Value* off = b_.CreateAdd(base, c);
      b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(t, dot), b_.CreateFMul(load(dy, off), load(y, off))), dot);
    });
    Value* d = b_.CreateLoad(t, dot);
    forLoop(C, [&](Value* c) {
      Value* off = b_.CreateAdd(base, c);
      store(n, off, b_.CreateFMul(load(y, off), b_.CreateFSub(load(dy, off), d)));
    });
  });
}

// loss = mean over rows of (logsumexp(x_i) - x_i[label_i]). A label outside [0, C) makes the loss NaN
// instead of reading out of bounds; the training driver checks labels before they get here.
void FunctionEmitter::emitCrossEntropy(const ir::Node& n) {
  const ir::Node& x = operand(n, 0);
  const ir::Node& labels = operand(n, 1);
  llvm::Type* t = elem(n.type.dtype);
  Value* N = extent(x.type.shape[0]);
  Value* C = extent(x.type.shape[1]);
  Value* total = scalarSlot(t, fconst(n, 0));
  forLoop(N, [&](Value* r) {
    Value* base = b_.CreateMul(r, C);
    auto [m, sum] = rowMaxAndSum(x, base, C);
    Value* lse = b_.CreateFAdd(m, call(llvm::Intrinsic::log, sum));
    Value* l = b_.CreateSExt(load(labels, r), i64());
    Value* valid = b_.CreateAnd(b_.CreateICmpSGE(l, c64(0)), b_.CreateICmpSLT(l, C));
    Value* xl = load(x, b_.CreateAdd(base, b_.CreateSelect(valid, l, c64(0))));
    Value* term = b_.CreateSelect(valid, b_.CreateFSub(lse, xl), llvm::ConstantFP::getNaN(t));
    b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(t, total), term), total);
  });
  store(n, c64(0), b_.CreateFDiv(b_.CreateLoad(t, total), b_.CreateSIToFP(N, t)));
}

// dx = dloss * (softmax(x) - onehot(label)) / N
void FunctionEmitter::emitCrossEntropyGrad(const ir::Node& n) {
  const ir::Node& dloss = operand(n, 0);
  const ir::Node& x = operand(n, 1);
  const ir::Node& labels = operand(n, 2);
  llvm::Type* t = elem(n.type.dtype);
  Value* N = extent(x.type.shape[0]);
  Value* C = extent(x.type.shape[1]);
  Value* scale = b_.CreateFDiv(load(dloss, c64(0)), b_.CreateSIToFP(N, t));
  forLoop(N, [&](Value* r) {
    Value* base = b_.CreateMul(r, C);
    auto [m, sum] = rowMaxAndSum(x, base, C);
    Value* inv = b_.CreateFDiv(fconst(n, 1), sum);
    Value* l = b_.CreateSExt(load(labels, r), i64());
    forLoop(C, [&](Value* c) {
      Value* off = b_.CreateAdd(base, c);
      Value* p = b_.CreateFMul(call(llvm::Intrinsic::exp, b_.CreateFSub(load(x, off), m)), inv);
      Value* hot = b_.CreateSelect(b_.CreateICmpEQ(c, l), fconst(n, 1), fconst(n, 0));
      store(n, off, b_.CreateFMul(b_.CreateFSub(p, hot), scale));
    });
  });
}

// out = x summed over the axes along which out broadcasts to x.
void FunctionEmitter::emitSumTo(const ir::Node& n) {
  const ir::Node& x = operand(n, 0);
  forEachElement(n.type.shape, {}, [&](Value* off, const std::vector<Value*>&) { store(n, off, fconst(n, 0)); });
  forEachElement(x.type.shape, {n.type.shape}, [&](Value* off, const std::vector<Value*>& offs) {
    store(n, offs[0], add(n.type.dtype, load(n, offs[0]), load(x, off)));
  });
}

}  // namespace

llvm::Function* emitGraphFunction(llvm::Module& mod, const std::string& name, const ir::Graph& g,
                                  const lower::BufferPlan& plan) {
  llvm::LLVMContext& ctx = mod.getContext();
  auto* ptrTy = llvm::PointerType::getUnqual(ctx);
  auto* fnTy = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrTy, ptrTy}, false);
  auto* fn = llvm::Function::Create(fnTy, llvm::Function::ExternalLinkage, name, mod);
  fn->getArg(0)->setName("buffers");
  fn->getArg(1)->setName("sym_dims");
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  FunctionEmitter(mod, fn, g, plan).emit();
  return fn;
}

}  // namespace sinter::codegen
