// Code generation from the loop-level kernel IR (loop_ir.h): loops become LLVM loops (a parallel loop an
// outlined body the runtime's threads share, a vector loop one with vectorization metadata), element
// computations become the graph ops' formulas, and primitives their recipes: the register-tiled
// micro-kernel, the packing of B, im2col and col2im. The schedule decides; this file only follows it.
#include <fmt/format.h>
#include <llvm/IR/Metadata.h>
#include <sinter/model_abi.h>
#include <algorithm>
#include <stdexcept>

#include "compiler/codegen/emit_kernels.h"
#include "compiler/codegen/kernel_emitter.h"
#include "compiler/codegen/reduction_axes.h"
#include "compiler/ir/dropout_mask.h"

namespace sinter::codegen {

using llvm::BasicBlock;

Value* KernelEmitter::eval(const loop::Expr& e) {
  using K = loop::Expr::Kind;
  switch (e.kind) {
    case K::Const: return c64(e.value);
    case K::Sym: return extent(ir::Dim::sym(e.name));
    case K::Var: {
      auto it = vars_.find(e.name);
      if (it == vars_.end()) throw std::logic_error("codegen: loop variable " + e.name + " is not bound here");
      return it->second;
    }
    case K::Add: return b_.CreateAdd(eval(e.args[0]), eval(e.args[1]));
    case K::Mul: return b_.CreateMul(eval(e.args[0]), eval(e.args[1]));
    case K::Min: {
      Value* a = eval(e.args[0]);
      Value* b = eval(e.args[1]);
      return b_.CreateSelect(b_.CreateICmpSLT(a, b), a, b);
    }
    case K::CeilDiv: return b_.CreateSDiv(b_.CreateAdd(eval(e.args[0]), c64(e.value - 1)), c64(e.value));
    case K::FloorDiv: return b_.CreateSDiv(eval(e.args[0]), c64(e.value));
    case K::Quot: return b_.CreateSDiv(eval(e.args[0]), eval(e.args[1]));
    case K::Select:
      return b_.CreateSelect(b_.CreateICmpSGE(eval(e.args[0]), eval(e.args[1])), eval(e.args[2]), eval(e.args[3]));
  }
  throw std::logic_error("codegen: unknown expression");
}

// The element type and base address of a buffer of the nest.
Value* KernelEmitter::base(const loop::Buffer& buf) {
  if (buf.node >= 0) return buffer(buf.node);
  return panel(buf.scratch);
}

Value* KernelEmitter::panel(const std::string& name) {
  if (auto it = scratch_.find(name); it != scratch_.end()) return it->second;
  if (auto home = panelHomes_.find(name); home != panelHomes_.end() && fn_ == homeArgsFn_)
    if (auto it = homeArgs_.find(home->second); it != homeArgs_.end()) return it->second;
  throw std::logic_error("codegen: scratch " + name + " is not allocated here");
}

llvm::Type* KernelEmitter::elemOf(const loop::Buffer& buf) {
  return buf.node >= 0 ? elem(g_.node(buf.node).type.dtype) : b_.getFloatTy();
}

Value* KernelEmitter::address(const loop::Access& a) {
  return b_.CreateInBoundsGEP(elemOf(a.buffer), base(a.buffer), eval(a.index));
}

void KernelEmitter::emitNest(const loop::Nest& nest, const ir::FusionGroup& k) {
  kernel_ = &k;
  for (const loop::Stmt& s : nest.body) emitStmt(s);
}

void KernelEmitter::emitStmt(const loop::Stmt& s) {
  switch (s.kind) {
    case loop::Stmt::LoopStmt: return emitLoop(s.loop);
    case loop::Stmt::ComputeStmt: return emitCompute(s.compute);
    case loop::Stmt::PrimStmt: return emitPrim(s.prim);
    case loop::Stmt::LetStmt: vars_[s.let.name] = eval(s.let.value); return;
    case loop::Stmt::IfStmt: {
      BasicBlock* thenBB = BasicBlock::Create(ctx_, "then", fn_);
      BasicBlock* elseBB = BasicBlock::Create(ctx_, "else", fn_);
      BasicBlock* done = BasicBlock::Create(ctx_, "endif", fn_);
      b_.CreateCondBr(b_.CreateICmpSGE(eval(s.branch.lhs), eval(s.branch.rhs)), thenBB, elseBB);
      b_.SetInsertPoint(thenBB);
      for (const loop::Stmt& t : s.branch.then) emitStmt(t);
      b_.CreateBr(done);
      b_.SetInsertPoint(elseBB);
      for (const loop::Stmt& t : s.branch.otherwise) emitStmt(t);
      b_.CreateBr(done);
      b_.SetInsertPoint(done);
      return;
    }
  }
}

namespace {
// A loop ID for the back edge, with hints: {"llvm.loop.vectorize.width", 16} and the like.
llvm::MDNode* loopHints(llvm::LLVMContext& ctx, const std::vector<std::pair<const char*, int>>& hints) {
  std::vector<llvm::Metadata*> ops = {nullptr};  // the self reference every loop ID starts with
  auto* i32 = llvm::Type::getInt32Ty(ctx);
  auto* i1 = llvm::Type::getInt1Ty(ctx);
  for (const auto& [name, value] : hints) {
    llvm::Type* t = std::string(name) == "llvm.loop.vectorize.enable" ? i1 : i32;
    ops.push_back(llvm::MDNode::get(
        ctx, {llvm::MDString::get(ctx, name),
              llvm::ConstantAsMetadata::get(llvm::ConstantInt::get(t, static_cast<std::uint64_t>(value)))}));
  }
  llvm::MDNode* id = llvm::MDNode::getDistinct(ctx, ops);
  id->replaceOperandWith(0, id);
  return id;
}
}  // namespace

KernelEmitter::ScratchBlock KernelEmitter::allocateScratch(int slot, Value* bytes, const std::string& name) {
  Value* hook = b_.CreateLoad(b_.getPtrTy(), scratchHook(mod_), name + ".hook");
  Value* fromMalloc = b_.CreateIsNull(hook);
  BasicBlock* viaMalloc = BasicBlock::Create(ctx_, name + ".malloc", fn_);
  BasicBlock* viaHook = BasicBlock::Create(ctx_, name + ".from_hook", fn_);
  BasicBlock* ready = BasicBlock::Create(ctx_, name + ".ready", fn_);
  b_.CreateCondBr(fromMalloc, viaMalloc, viaHook);
  b_.SetInsertPoint(viaMalloc);
  // The runtime's buffers and these have the arena's alignment; aligned_alloc wants a size that is a
  // multiple of it.
  const std::int64_t align = lower::kArenaAlignment;
  Value* size = b_.CreateAnd(b_.CreateAdd(bytes, c64(align - 1)), c64(~(align - 1)));
  Value* m = b_.CreateCall(mod_.getOrInsertFunction("aligned_alloc", b_.getPtrTy(), i64(), i64()), {c64(align), size});
  b_.CreateBr(ready);
  b_.SetInsertPoint(viaHook);
  auto* hookTy = llvm::FunctionType::get(b_.getPtrTy(), {b_.getInt32Ty(), i64()}, false);
  Value* h = b_.CreateCall(hookTy, hook, {b_.getInt32(static_cast<std::uint32_t>(slot)), bytes});
  b_.CreateBr(ready);
  b_.SetInsertPoint(ready);
  llvm::PHINode* p = b_.CreatePHI(b_.getPtrTy(), 2, name);
  p->addIncoming(m, viaMalloc);
  p->addIncoming(h, viaHook);
  return {p, fromMalloc};
}

void KernelEmitter::releaseScratch(const std::vector<ScratchBlock>& blocks) {
  BasicBlock* release = BasicBlock::Create(ctx_, "scratch.free", fn_);
  BasicBlock* done = BasicBlock::Create(ctx_, "scratch.done", fn_);
  b_.CreateCondBr(blocks.front().fromMalloc, release, done);  // one hook decides for every block
  b_.SetInsertPoint(release);
  for (const ScratchBlock& s : blocks)
    b_.CreateCall(mod_.getOrInsertFunction("free", b_.getVoidTy(), b_.getPtrTy()), {s.ptr});
  b_.CreateBr(done);
  b_.SetInsertPoint(done);
}

llvm::MDNode* KernelEmitter::vectorHints(int width) {
  return loopHints(ctx_, {{"llvm.loop.vectorize.enable", 1}, {"llvm.loop.vectorize.width", width}});
}

llvm::MDNode* KernelEmitter::noUnrollHint() {
  llvm::MDNode* id = llvm::MDNode::getDistinct(
      ctx_, {nullptr, llvm::MDNode::get(ctx_, {llvm::MDString::get(ctx_, "llvm.loop.unroll.disable")})});
  id->replaceOperandWith(0, id);
  return id;
}

// for (v = begin; v < end; v += step) body(v), with loop hints on its back edge.
void KernelEmitter::steppedLoop(Value* begin, Value* end, std::int64_t step, llvm::MDNode* hints,
                                const std::function<void(Value*)>& body, const std::string& name) {
  BasicBlock* pre = b_.GetInsertBlock();
  BasicBlock* header = BasicBlock::Create(ctx_, name + ".loop", fn_);
  BasicBlock* bodyBB = BasicBlock::Create(ctx_, name + ".body", fn_);
  BasicBlock* exit = BasicBlock::Create(ctx_, name + ".exit", fn_);
  b_.CreateBr(header);
  b_.SetInsertPoint(header);
  llvm::PHINode* v = b_.CreatePHI(i64(), 2, name);
  v->addIncoming(begin, pre);
  b_.CreateCondBr(b_.CreateICmpSLT(v, end), bodyBB, exit);
  b_.SetInsertPoint(bodyBB);
  body(v);
  v->addIncoming(b_.CreateAdd(v, c64(step), "", true, true), b_.GetInsertBlock());
  llvm::BranchInst* back = b_.CreateBr(header);
  if (hints) back->setMetadata(llvm::LLVMContext::MD_loop, hints);
  b_.SetInsertPoint(exit);
}

void KernelEmitter::emitLoop(const loop::Loop& l) {
  // Scratch comes from the runtime's per-thread buffers (kept between calls), or from aligned_alloc without
  // a runtime (then freed when the loop's body ends).
  auto withScratch = [&](const std::function<void()>& body) {
    if (l.scratch.size() > static_cast<std::size_t>(kArenaScratchSlot))
      throw std::logic_error("codegen: too many scratch buffers in one loop");
    std::vector<ScratchBlock> blocks;
    for (std::size_t slot = 0; slot < l.scratch.size(); ++slot) {
      const loop::Scratch& s = l.scratch[slot];
      blocks.push_back(allocateScratch(static_cast<int>(slot), b_.CreateMul(eval(s.floats), c64(4)), s.name));
      scratch_[s.name] = blocks.back().ptr;
    }
    body();
    if (!blocks.empty()) releaseScratch(blocks);
    for (const loop::Scratch& s : l.scratch) scratch_.erase(s.name);
  };
  auto bind = [&](const std::string& name, Value* v, const std::function<void()>& body) {
    auto saved = vars_.find(name) != vars_.end() ? vars_[name] : nullptr;
    vars_[name] = v;
    body();
    if (saved) vars_[name] = saved;
    else vars_.erase(name);
  };
  auto emitBody = [&] {
    for (const loop::Stmt& s : l.body) emitStmt(s);
  };
  if (l.kind == loop::Loop::Parallel) {
    if (!l.begin.isConst(0) || l.step != 1)
      throw std::logic_error("codegen: a parallel loop must start at 0 with step 1");
    // The body is a function of its own: variables bound outside are not visible there, only symbols.
    const auto outside = vars_;
    vars_.clear();
    parallelFor(eval(l.end), eval(l.work), [&](Value* begin, Value* end) {
      bind(l.var, begin, [&] { bind(l.var + ".end", end, [&] { withScratch(emitBody); }); });
    });
    vars_ = outside;
    return;
  }
  llvm::MDNode* hints = nullptr;
  if (l.kind == loop::Loop::Vector) hints = vectorHints(l.width);
  withScratch([&] {
    steppedLoop(
        eval(l.begin), eval(l.end), l.step, hints, [&](Value* v) { bind(l.var, v, emitBody); }, l.var);
  });
}

void KernelEmitter::emitCompute(const loop::Compute& c) {
  std::map<ir::NodeId, Value*> known;
  for (const auto& [id, a] : c.loads)
    if (!known.count(id)) known[id] = b_.CreateLoad(elemOf(a.buffer), address(a));
  for (ir::NodeId id : c.ops) {
    if (known.count(id)) continue;
    const ir::Node& n = g_.node(id);
    const loop::Access* out = nullptr;
    for (const auto& [sid, a] : c.stores)
      if (sid == id) out = &a;
    Value* v = nullptr;
    if (n.op == ir::Op::Constant) {
      v = ir::isFloat(n.type.dtype) ? fconst(n, n.scalar)
                                    : b_.getInt32(static_cast<std::uint32_t>(static_cast<std::int32_t>(n.scalar)));
    } else {
      std::vector<Value*> args;
      for (ir::NodeId o : n.operands) args.push_back(known.at(o));
      // A stochastic op (dropout) gets the mask of the element's index as one more operand: drawn from the
      // step's seed in a train step, all ones otherwise.
      if (ir::opDef(n.op).flags & ir::kStochastic)
        args.push_back(seed_ ? dropoutScale(n, eval(out->index)) : fconst(n, 1.0));
      v = elementwiseValue(n, args);
    }
    known[id] = v;
    if (out) b_.CreateStore(v, address(*out));
  }
  // A stored value that was loaded rather than computed (a slice read in place that others read too).
  for (const auto& [id, a] : c.stores)
    if (std::find(c.ops.begin(), c.ops.end(), id) == c.ops.end()) b_.CreateStore(known.at(id), address(a));
}

void KernelEmitter::emitPrim(const loop::Prim& p) {
  switch (p.kind) {
    case loop::Prim::MicroKernel: return emitMicroKernel(p);
    case loop::Prim::PackB: return emitPackB(p);
    case loop::Prim::ColumnSums: return emitColumnSums(g_.node(p.nodes[0]), eval(p.j0), eval(p.j1));
    case loop::Prim::Im2Col: {
      const ir::Node& n = g_.node(p.nodes[0]);
      const ir::TensorType& x = n.op == ir::Op::Conv2DGradInput ? n.type : g_.node(n.operands[0]).type;
      Value* channels = c64(x.shape[1].size);
      return emitIm2Col(n, eval(p.i), base(p.buffer), false, p.j1.isConst(0) ? c64(0) : eval(p.j0),
                        p.j1.isConst(0) ? channels : eval(p.j1));
    }
    case loop::Prim::Col2Im: return emitCol2Im(g_.node(p.nodes[0]), eval(p.i), base(p.buffer));
    case loop::Prim::DirectConvWeights:
      return emitDirectConvWeights(g_.node(p.nodes[0]), eval(p.j0), eval(p.j1), eval(p.i), base(p.buffer));
    case loop::Prim::ChannelConv:
      return emitChannelConv(g_.node(p.nodes[0]), eval(p.j0), eval(p.j1), base(p.buffer), kernel_);
    case loop::Prim::ChannelConvWeights:
      return emitChannelConvWeights(g_.node(p.nodes[0]), eval(p.j0), eval(p.j1), eval(p.i), base(p.buffer));
    case loop::Prim::DirectConvInput: return emitDirectConvInput(g_.node(p.nodes[0]), eval(p.j0), eval(p.j1));
    case loop::Prim::Zero: {
      llvm::Type* t = elemOf(p.buffer);
      Value* buf = base(p.buffer);
      steppedLoop(eval(p.j0), eval(p.j1), 1, nullptr,
                  [&](Value* i) { b_.CreateStore(llvm::Constant::getNullValue(t), b_.CreateInBoundsGEP(t, buf, i)); });
      return;
    }
    case loop::Prim::Node: return emitNodePrim(p);
  }
}

// A node's own kernel (kernels_*.cpp), or the range [j0, j1) of it.
void KernelEmitter::emitNodePrim(const loop::Prim& p) {
  const ir::Node& n = g_.node(p.nodes[0]);
  switch (kernel_->kind) {
    case ir::KernelKind::Pooling: return emitPoolRange(n, eval(p.j0), eval(p.j1));
    case ir::KernelKind::Convolution:
    case ir::KernelKind::ConvEpilogue:
      if (n.type.dtype == ir::DType::F32) return emitDirectConv(n, eval(p.j0), eval(p.j1), kernel_);
      return emitConvRange(n, eval(p.j0), eval(p.j1));
    case ir::KernelKind::Gemm:
    case ir::KernelKind::GemmEpilogue:
    case ir::KernelKind::GemmBiasGradient:
    case ir::KernelKind::GemmSummedBatches: {  // f64: plain loops over the chunk's rows
      const loop::Product& q = p.product;
      return emitGemmNaive({address(q.a), address(q.b), address(q.c), elem(n.type.dtype), eval(q.M), eval(q.N),
                            eval(q.K), q.transA, q.transB, q.accumulate},
                           eval(p.j0), eval(p.j1));
    }
    case ir::KernelKind::SoftmaxCrossEntropy: {
      const ir::FusionGroup& f = *kernel_;
      const ir::Node* grad = nullptr;
      const ir::Node* softmax = nullptr;
      for (ir::NodeId id : f.nodes) {
        if (g_.node(id).op == ir::Op::CrossEntropyGrad) grad = &g_.node(id);
        if (g_.node(id).op == ir::Op::Softmax) softmax = &g_.node(id);
      }
      return emitCrossEntropyFused(n, grad, softmax);
    }
    case ir::KernelKind::CrossEntropy:
      return n.op == ir::Op::CrossEntropy ? emitCrossEntropy(n) : emitCrossEntropyGrad(n);
    case ir::KernelKind::Softmax: return emitSoftmaxFamily(n);
    case ir::KernelKind::Reduction:  // a range of the first kept axis when the scheduler split it
      if (reductionSplit(n, operand(n, 0)))
        return emitReduce(n, eval(p.j0), eval(p.j1));
      return emitReduce(n);
    case ir::KernelKind::Loss: return emitLoss(n);
    case ir::KernelKind::Layout: return emitLayout(n);
    case ir::KernelKind::Gather: return emitGather(n);
    case ir::KernelKind::None:
    case ir::KernelKind::Fill:
    case ir::KernelKind::Elementwise:
    case ir::KernelKind::ElementwiseChain:
    case ir::KernelKind::Loop: break;
  }
  throw std::logic_error("codegen: no node primitive for this kernel kind");
}

// A hint to bring f32 element `index` of `base` into the caches for reading. The address may lie past the
// buffer (a row below the last, a column past N): a prefetch never faults, and the GEP is not `inbounds`.
void KernelEmitter::prefetch(Value* base, Value* index) {
  b_.CreateIntrinsic(llvm::Intrinsic::prefetch, {base->getType()},
                     {b_.CreateGEP(b_.getFloatTy(), base, index), b_.getInt32(0), b_.getInt32(3), b_.getInt32(1)});
}

// The register-blocked micro-kernel: a tile of `rows` rows by two vectors of columns lives in 2 rows
// vector registers for the whole k block; each k loads two vectors of B, broadcasts one element of A per
// row and issues 2 rows FMAs. Rows past rowEnd - 1 read and write row rowEnd - 1 instead (a partial tile
// recomputes that row and stores the same values again), so edge rows run at tile speed. Columns past N are
// masked on C (and on B when it is read in place; a packed panel is zero there).
void KernelEmitter::emitMicroKernel(const loop::Prim& p) {
  const loop::Product& q = p.product;
  llvm::Type* t = b_.getFloatTy();
  auto* vec = llvm::FixedVectorType::get(t, static_cast<unsigned>(lanes_));
  const llvm::Align align(4);
  const int vectors = p.cols / lanes_;
  Value* aPtr = address(q.a);
  Value* cPtr = address(q.c);
  Value* M = eval(q.M);
  Value* N = eval(q.N);
  Value* K = eval(q.K);
  Value* i0 = eval(p.i);
  Value* j0 = eval(p.j0);
  Value* k0 = eval(p.k0);
  Value* kc = eval(p.kc);
  Value* last = b_.CreateSub(eval(p.rowEnd), c64(1));
  Value* ldc = q.ldc.isConst(0) ? N : eval(q.ldc);  // C's (and init's) row stride
  auto gep = [&](Value* ptr, Value* off) { return b_.CreateInBoundsGEP(t, ptr, off); };
  // Column masks: lanes at or past N are neither read nor written.
  std::vector<Value*> masks;
  for (int v = 0; v < vectors; ++v) masks.push_back(lanesBelow(b_.CreateAdd(j0, c64(std::int64_t{v} * lanes_)), N));
  std::vector<Value*> rowIdx;
  for (int r = 0; r < p.rows; ++r) {
    Value* i = b_.CreateAdd(i0, c64(r));
    rowIdx.push_back(b_.CreateSelect(b_.CreateICmpSLT(i, last), i, last));
  }
  auto cAt = [&](int r, int v) {
    return gep(cPtr, b_.CreateAdd(b_.CreateMul(rowIdx[static_cast<std::size_t>(r)], ldc),
                                  b_.CreateAdd(j0, c64(std::int64_t{v} * lanes_))));
  };
  // The first K block of a product that does not accumulate starts from zero, every other from C.
  // The first K block of a product that does not accumulate starts from zero (or from `init`, for
  // C = init + A B), every other from C. A product's only K block (k0 = 0 in the nest) never reads C.
  const bool firstOnly = !q.accumulate && p.k0.isConst(0);
  Value* fromC = q.accumulate ? static_cast<Value*>(b_.getTrue()) : b_.CreateICmpNE(k0, c64(0));
  Value* initPtr = q.addTo ? address(q.init) : nullptr;
  auto initAt = [&](int r, int v) {
    Value* col = b_.CreateAdd(j0, c64(std::int64_t{v} * lanes_));
    if (q.initRow) return b_.CreateInBoundsGEP(t, initPtr, col);  // a bias: the same row for every row of C
    return b_.CreateInBoundsGEP(t, initPtr, b_.CreateAdd(b_.CreateMul(rowIdx[static_cast<std::size_t>(r)], ldc), col));
  };
  // The tile below this one (the next rows of the same columns: the schedule walks rows inside columns)
  // reads its C or `init` rows first thing; fetching them now lets this tile's k loop hide the wait. Those
  // rows are a matrix's row length apart, a pattern the hardware prefetchers do not follow, and a product
  // that adds to a buffer made long before (a loop's input products, computed for every step at once)
  // would otherwise start every tile on cache misses.
  if (p.rows > 1 && ((q.addTo && !q.initRow) || !firstOnly)) {
    Value* base = q.addTo && !q.initRow ? initPtr : cPtr;
    for (int r = 0; r < p.rows; ++r) {
      Value* i = b_.CreateAdd(i0, c64(p.rows + r));
      Value* row = b_.CreateSelect(b_.CreateICmpSLT(i, last), i, last);
      for (int v = 0; v < vectors; ++v)
        prefetch(base, b_.CreateAdd(b_.CreateMul(row, ldc), b_.CreateAdd(j0, c64(std::int64_t{v} * lanes_))));
    }
  }
  std::vector<Value*> acc;
  for (int r = 0; r < p.rows; ++r)
    for (int v = 0; v < vectors; ++v) {
      Value* zero = llvm::Constant::getNullValue(vec);
      Value* start = q.addTo ? static_cast<Value*>(b_.CreateMaskedLoad(vec, initAt(r, v), align,
                                                                       masks[static_cast<std::size_t>(v)], zero))
                             : zero;
      if (firstOnly) {
        acc.push_back(scalarSlot(vec, start));
        continue;
      }
      Value* old = b_.CreateMaskedLoad(vec, cAt(r, v), align, masks[static_cast<std::size_t>(v)], zero);
      acc.push_back(scalarSlot(vec, b_.CreateSelect(fromC, old, start)));
    }
  // B: the panel's strip of this tile ([kc][cols], from column p.j1 of the panel), or B's rows in place.
  Value* bBase = nullptr;
  if (!p.panel.empty()) {
    Value* strip = b_.CreateSDiv(b_.CreateSub(j0, eval(p.j1)), c64(p.stripCols));
    bBase = gep(gep(panel(p.panel), eval(p.panelAt)), b_.CreateMul(strip, b_.CreateMul(roundUp(kc), c64(p.stripCols))));
  } else {
    bBase = address(q.b);
  }
  std::vector<Value*> aRow;  // A's element (i, k0) per row, and its step per k
  for (int r = 0; r < p.rows; ++r) {
    Value* i = rowIdx[static_cast<std::size_t>(r)];
    aRow.push_back(gep(aPtr, q.transA ? b_.CreateAdd(b_.CreateMul(k0, M), i) : b_.CreateAdd(b_.CreateMul(i, K), k0)));
  }
  Value* aStep = q.transA ? M : c64(1);
  steppedLoop(
      c64(0), kc, 1, nullptr,
      [&](Value* k) {
        std::vector<Value*> bv;
        for (int v = 0; v < vectors; ++v) {
          if (!p.panel.empty()) {
            bv.push_back(b_.CreateAlignedLoad(
                vec, gep(bBase, b_.CreateAdd(b_.CreateMul(k, c64(p.stripCols)), c64(std::int64_t{v} * lanes_))),
                align));
          } else {
            Value* off =
                b_.CreateAdd(b_.CreateMul(b_.CreateAdd(k0, k), N), b_.CreateAdd(j0, c64(std::int64_t{v} * lanes_)));
            bv.push_back(b_.CreateMaskedLoad(vec, gep(bBase, off), align, masks[static_cast<std::size_t>(v)],
                                             llvm::Constant::getNullValue(vec)));
          }
        }
        for (int r = 0; r < p.rows; ++r) {
          Value* a =
              b_.CreateVectorSplat(static_cast<unsigned>(lanes_),
                                   b_.CreateLoad(t, gep(aRow[static_cast<std::size_t>(r)], b_.CreateMul(k, aStep))));
          for (int v = 0; v < vectors; ++v) {
            Value* slot =
                acc[static_cast<std::size_t>(r) * static_cast<std::size_t>(vectors) + static_cast<std::size_t>(v)];
            b_.CreateStore(b_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vec},
                                              {a, bv[static_cast<std::size_t>(v)], b_.CreateLoad(vec, slot)}),
                           slot);
          }
        }
      },
      "microkernel.k");
  for (int r = 0; r < p.rows; ++r)
    for (int v = 0; v < vectors; ++v)
      b_.CreateMaskedStore(
          b_.CreateLoad(
              vec, acc[static_cast<std::size_t>(r) * static_cast<std::size_t>(vectors) + static_cast<std::size_t>(v)]),
          cAt(r, v), align, masks[static_cast<std::size_t>(v)]);
}

// panel[strip][k][l] = op(B)[k0 + k, j0 + strip cols + l], zero past N: the micro-kernel then reads one
// contiguous run of 2 vectors per k. B in place is read a row at a time (vector loads, masked at N); Bᵀ
// (A Bᵀ: B is [N, K]) a column of the panel at a time, each one a contiguous row of B.
void KernelEmitter::emitPackB(const loop::Prim& p) {
  const loop::Product& q = p.product;
  llvm::Type* t = b_.getFloatTy();
  auto* vec = llvm::FixedVectorType::get(t, static_cast<unsigned>(lanes_));
  const llvm::Align align(4);
  auto gep = [&](Value* ptr, Value* off) { return b_.CreateInBoundsGEP(t, ptr, off); };
  Value* panelBase = gep(panel(p.panel), eval(p.panelAt));
  Value* bPtr = address(q.b);
  Value* N = eval(q.N);
  Value* K = eval(q.K);
  Value* j0 = eval(p.j0);
  Value* k0 = eval(p.k0);
  Value* kc = eval(p.kc);
  Value* strips = b_.CreateSDiv(b_.CreateAdd(b_.CreateSub(eval(p.j1), j0), c64(p.cols - 1)), c64(p.cols));
  steppedLoop(
      c64(0), strips, 1, nullptr,
      [&](Value* s) {
        Value* js = b_.CreateAdd(j0, b_.CreateMul(s, c64(p.cols)));
        Value* out = gep(panelBase, b_.CreateMul(s, b_.CreateMul(roundUp(kc), c64(p.cols))));
        if (!q.transB) {
          steppedLoop(
              c64(0), kc, 1, nullptr,
              [&](Value* k) {
                Value* row = b_.CreateMul(b_.CreateAdd(k0, k), N);
                for (int v = 0; v < p.cols / lanes_; ++v) {
                  Value* j = b_.CreateAdd(js, c64(std::int64_t{v} * lanes_));
                  Value* x = b_.CreateMaskedLoad(vec, gep(bPtr, b_.CreateAdd(row, j)), align, lanesBelow(j, N),
                                                 llvm::Constant::getNullValue(vec));
                  b_.CreateAlignedStore(
                      x, gep(out, b_.CreateAdd(b_.CreateMul(k, c64(p.cols)), c64(std::int64_t{v} * lanes_))), align);
                }
              },
              "pack.k");
          return;
        }
        // Bᵀ: per group of `lanes` columns, square blocks of lanes x lanes: `lanes` rows of B (contiguous in k)
        // are loaded, transposed in registers, and stored as `lanes` rows of the panel. Columns past N read
        // row 0 and store zeros; k at or past kc is masked off, so the last block stores zero rows up to the
        // panel's padding (its strips are kc rounded up to whole blocks apart). One block of code serves every
        // block: the transposes are the largest basic blocks of a kernel, and LLVM's scheduler is slow on them.
        steppedLoop(
            c64(0), c64(p.cols / lanes_), 1, nullptr,
            [&](Value* grp) {
              Value* jg = b_.CreateAdd(js, b_.CreateMul(grp, c64(lanes_)));
              std::vector<Value*> inside, rowPtr;
              for (int r = 0; r < lanes_; ++r) {
                Value* j = b_.CreateAdd(jg, c64(r));
                inside.push_back(b_.CreateICmpSLT(j, N));
                rowPtr.push_back(
                    gep(bPtr, b_.CreateAdd(b_.CreateMul(b_.CreateSelect(inside.back(), j, c64(0)), K), k0)));
              }
              Value* column = b_.CreateMul(grp, c64(lanes_));
              steppedLoop(
                  c64(0), roundUp(kc), lanes_, nullptr,
                  [&](Value* kk) {
                    Value* kMask = lanesBelow(kk, kc);
                    std::vector<Value*> rows;
                    for (int r = 0; r < lanes_; ++r) {
                      Value* x = b_.CreateMaskedLoad(vec, gep(rowPtr[static_cast<std::size_t>(r)], kk), align, kMask,
                                                     llvm::Constant::getNullValue(vec));
                      rows.push_back(
                          b_.CreateSelect(inside[static_cast<std::size_t>(r)], x, llvm::Constant::getNullValue(vec)));
                    }
                    rows = transposeSquare(rows);
                    for (int r = 0; r < lanes_; ++r)
                      b_.CreateAlignedStore(
                          rows[static_cast<std::size_t>(r)],
                          gep(out, b_.CreateAdd(b_.CreateMul(b_.CreateAdd(kk, c64(r)), c64(p.cols)), column)), align);
                  },
                  "pack.transpose");
            },
            "pack.group");
      },
      "pack.strip");
}

// The mask of the vector whose lanes stand for first, first + 1, ...: true where that index is below end.
Value* KernelEmitter::lanesBelow(Value* first, Value* end) {
  std::vector<llvm::Constant*> lane;
  for (int l = 0; l < lanes_; ++l) lane.push_back(b_.getInt64(static_cast<std::uint64_t>(l)));
  const unsigned n = static_cast<unsigned>(lanes_);
  return b_.CreateICmpSLT(b_.CreateAdd(llvm::ConstantVector::get(lane), b_.CreateVectorSplat(n, first)),
                          b_.CreateVectorSplat(n, end));
}

// kc rounded up to whole vectors: the k extent of a panel strip, whose rows past kc are zero.
Value* KernelEmitter::roundUp(Value* kc) {
  return b_.CreateMul(b_.CreateSDiv(b_.CreateAdd(kc, c64(lanes_ - 1)), c64(lanes_)), c64(lanes_));
}

// The transpose of a square block held as rows of vectors (out[r][c] = in[c][r]), in log2(lanes) stages:
// at block size h, each pair of rows (r, r + h) swaps the upper-right h-block of one with the lower-left
// of the other, one shuffle per row; after every size the whole block is transposed.
std::vector<Value*> KernelEmitter::transposeSquare(std::vector<Value*> rows) {
  const int n = static_cast<int>(rows.size());
  for (int h = n / 2; h >= 1; h /= 2) {
    std::vector<int> low, high;  // shuffle masks: lane c of (first ++ second)
    for (int c = 0; c < n; ++c) {
      low.push_back((c & h) == 0 ? c : n + c - h);
      high.push_back((c & h) == 0 ? c + h : n + c);
    }
    for (int r = 0; r < n; ++r) {
      if (r & h) continue;
      Value*& a = rows[static_cast<std::size_t>(r)];
      Value*& b = rows[static_cast<std::size_t>(r) + static_cast<std::size_t>(h)];
      Value* low2 = b_.CreateShuffleVector(a, b, low);
      b = b_.CreateShuffleVector(a, b, high);
      a = low2;
    }
  }
  return rows;
}

}  // namespace sinter::codegen
