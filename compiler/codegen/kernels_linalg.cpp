// Matrix products (batched) on a register-tiled micro-kernel, convolutions on the same kernel through
// im2col (a direct loop nest for f64), and pooling. Each splits its outer loop over the runtime's threads.
#include "compiler/codegen/kernel_emitter.h"

namespace sinter::codegen {

// Batched matmul: one 2-D product per index of the result's leading dimensions; operands with fewer (or
// size-1) leading dimensions are broadcast. Threads split the rows of C, in blocks of the micro-kernel's
// height: every element keeps its own summation order, so the result is the same for any thread count.
// A fused epilogue runs on each thread's rows right after their products, while they are in cache.
void KernelEmitter::emitMatMul(const ir::Node& n, const lower::FusedKernel* epilogue, const ir::Node* columnSums) {
  const bool transA = n.op == ir::Op::MatMulTN, transB = n.op == ir::Op::MatMulNT;
  const ir::Node& A = operand(n, 0);
  const ir::Node& B = operand(n, 1);
  const std::size_t r = n.type.shape.size(), ra = A.type.shape.size();
  const ir::Dim& dimM = n.type.shape[r - 2];
  const ir::Dim& dimN = n.type.shape[r - 1];
  const ir::Dim& dimK = transA ? A.type.shape[ra - 2] : A.type.shape[ra - 1];
  const ir::Shape batch(n.type.shape.begin(), n.type.shape.end() - 2);
  const ir::Shape aBatch(A.type.shape.begin(), A.type.shape.end() - 2), bBatch(B.type.shape.begin(), B.type.shape.end() - 2);
  Value* blocks = b_.CreateSDiv(b_.CreateAdd(extent(dimM), c64(kGemmRows - 1)), c64(kGemmRows));
  Value* work = b_.CreateMul(numel(batch), b_.CreateMul(extent(dimM), b_.CreateMul(extent(dimN), extent(dimK))));
  parallelFor(blocks, work, [&](Value* begin, Value* end) {
    Value* M = extent(dimM);
    Value* N = extent(dimN);
    Value* K = extent(dimK);
    Value* rowBegin = b_.CreateMul(begin, c64(kGemmRows));
    Value* rowEnd = b_.CreateMul(end, c64(kGemmRows));
    rowEnd = b_.CreateSelect(b_.CreateICmpSLT(rowEnd, M), rowEnd, M);
    auto scaled = [&](std::vector<Value*> s, Value* by) {
      for (Value*& v : s) v = b_.CreateMul(v, by);
      return s;
    };
    loopNest(extents(batch),
             {scaled(broadcastStrides(aBatch, batch), b_.CreateMul(M, K)), scaled(broadcastStrides(bBatch, batch), b_.CreateMul(K, N)),
              scaled(strides(batch), b_.CreateMul(M, N))},
             [&](const Offsets& o) { emitMatMul2D(n, o[0], o[1], o[2], M, N, K, transA, transB, rowBegin, rowEnd); });
    if (epilogue) emitEpilogueRows(*epilogue, rowBegin, rowEnd);
    if (columnSums) emitColumnSums(*columnSums, begin, end, b_.CreateSDiv(b_.CreateAdd(M, c64(kGemmRows - 1)), c64(kGemmRows)));
  });
}

// Rows [rowBegin, rowEnd) of C[M,N] = op(A) op(B) at the given element offsets of the node's operands.
void KernelEmitter::emitMatMul2D(const ir::Node& n, Value* aBase, Value* bBase, Value* cBase, Value* M, Value* N, Value* K,
                                 bool transA, bool transB, Value* rowBegin, Value* rowEnd) {
  emitGemm({at(operand(n, 0), aBase), at(operand(n, 1), bBase), at(n, cBase), elem(n.type.dtype), M, N, K, transA, transB, false},
           rowBegin, rowEnd);
}

// f32 products run MR x NR register tiles with vector FMAs (emitGemmTiles, masked at the right edge) and the
// naive loops below on the leftover rows; A Bᵀ first copies B transposed, so that every form streams rows of B.
// Cache blocking and packing are still to come.
void KernelEmitter::emitGemm(const Gemm& g, Value* rowBegin, Value* rowEnd) {
  llvm::Type* t = g.t;
  Value* aPtr = g.a;
  Value* bPtr = g.b;
  Value* cPtr = g.c;
  Value *M = g.M, *N = g.N, *K = g.K;
  const bool transA = g.transA;
  bool transB = g.transB;
  auto ld = [&](Value* p, Value* off) { return b_.CreateLoad(t, b_.CreateInBoundsGEP(t, p, off)); };
  auto st = [&](Value* p, Value* off, Value* v) { b_.CreateStore(v, b_.CreateInBoundsGEP(t, p, off)); };
  const bool tiled = t->isFloatTy();

  Value* scratch = nullptr;
  if (transB && tiled) {  // Bᵀ[K,N] from B[N,K]
    scratch = b_.CreateCall(mod_.getOrInsertFunction("malloc", b_.getPtrTy(), i64()),
                            {b_.CreateMul(b_.CreateMul(K, N), c64(4))}, "bt");
    forLoop(N, [&](Value* j) { forLoop(K, [&](Value* k) { st(scratch, b_.CreateAdd(b_.CreateMul(k, N), j), ld(bPtr, b_.CreateAdd(b_.CreateMul(j, K), k))); }); });
    bPtr = scratch;
    transB = false;
  }
  if (!transB) {
    Value* rowsDone = rowBegin;
    Value* colsDone = c64(0);
    if (tiled) {
      Value* rows = b_.CreateSub(rowEnd, rowBegin);
      rowsDone = b_.CreateAdd(rowBegin, b_.CreateMul(b_.CreateSDiv(rows, c64(kGemmRows)), c64(kGemmRows)));
      colsDone = b_.CreateMul(b_.CreateSDiv(N, c64(2 * lanes_)), c64(2 * lanes_));
      emitGemmTiles(aPtr, bPtr, cPtr, M, N, K, transA, g.accumulate, rowBegin, rowsDone, colsDone);
    }
    // The rest, one element at a time: the rows below the tiles (fewer than kGemmRows), all columns. The
    // i, k, j order streams rows of B and C.
    auto naive = [&](Value* i0, Value* i1, Value* j0, Value* j1) {
      forRange(i0, i1, [&](Value* i) {
        Value* row = b_.CreateMul(i, N);
        if (!g.accumulate) forRange(j0, j1, [&](Value* j) { st(cPtr, b_.CreateAdd(row, j), fconst(t, 0)); });
        forLoop(K, [&](Value* k) {
          Value* aik = ld(aPtr, transA ? b_.CreateAdd(b_.CreateMul(k, M), i) : b_.CreateAdd(b_.CreateMul(i, K), k));
          Value* brow = b_.CreateMul(k, N);
          forRange(j0, j1, [&](Value* j) {
            Value* off = b_.CreateAdd(row, j);
            st(cPtr, off, b_.CreateFAdd(ld(cPtr, off), b_.CreateFMul(aik, ld(bPtr, b_.CreateAdd(brow, j)))));
          });
        });
      });
    };
    naive(rowsDone, rowEnd, c64(0), N);  // the tiles covered every column of their rows (masked at the edge)
    if (scratch) b_.CreateCall(mod_.getOrInsertFunction("free", b_.getVoidTy(), b_.getPtrTy()), {scratch});
    return;
  }
  // f64 A Bᵀ: dot products over contiguous rows of both.
  forRange(rowBegin, rowEnd, [&](Value* i) {
    forLoop(N, [&](Value* j) {
      Value* cOff = b_.CreateAdd(b_.CreateMul(i, N), j);
      Value* acc = scalarSlot(t, g.accumulate ? ld(cPtr, cOff) : fconst(t, 0));
      forLoop(K, [&](Value* k) {
        Value* p = b_.CreateFMul(ld(aPtr, b_.CreateAdd(b_.CreateMul(i, K), k)), ld(bPtr, b_.CreateAdd(b_.CreateMul(j, K), k)));
        b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(t, acc), p), acc);
      });
      st(cPtr, cOff, b_.CreateLoad(t, acc));
    });
  });
}

// The register-blocked micro-kernel: a tile of kGemmRows rows by two vectors of columns lives in
// 2 kGemmRows vector registers for the whole k loop; each k loads two vectors of B, broadcasts one element
// of A per row and issues 2 kGemmRows FMAs (two FMAs per load, as the design asks).
void KernelEmitter::emitGemmTiles(Value* aPtr, Value* bPtr, Value* cPtr, Value* M, Value* N, Value* K, bool transA,
                                  bool accumulate, Value* rowBegin, Value* rowsDone, Value* colsDone) {
  llvm::Type* t = b_.getFloatTy();
  auto* vec = llvm::FixedVectorType::get(t, static_cast<unsigned>(lanes_));
  const llvm::Align align(4);
  // One tile at columns j0.. ; with masks (the last, narrower tile), lanes past N are neither read nor written.
  auto tile = [&](Value* i0, Value* j0, Value* const* masks) {
    auto at = [&](Value* p, Value* off) { return b_.CreateInBoundsGEP(t, p, off); };
    auto loadVec = [&](Value* p, int v) -> Value* {
      return masks ? static_cast<Value*>(b_.CreateMaskedLoad(vec, p, align, masks[v], llvm::Constant::getNullValue(vec)))
                   : b_.CreateAlignedLoad(vec, p, align);
    };
    auto cAt = [&](int r, int v) { return at(cPtr, b_.CreateAdd(b_.CreateMul(b_.CreateAdd(i0, c64(r)), N), b_.CreateAdd(j0, c64(v * lanes_)))); };
    std::vector<Value*> acc;
    for (int r = 0; r < kGemmRows; ++r)
      for (int v = 0; v < 2; ++v) acc.push_back(scalarSlot(vec, accumulate ? loadVec(cAt(r, v), v) : llvm::Constant::getNullValue(vec)));
    forLoop(K, [&](Value* k) {
      Value* brow = b_.CreateAdd(b_.CreateMul(k, N), j0);
      Value* bv[2];
      for (int v = 0; v < 2; ++v) bv[v] = loadVec(at(bPtr, b_.CreateAdd(brow, c64(v * lanes_))), v);
      for (int r = 0; r < kGemmRows; ++r) {
        Value* i = b_.CreateAdd(i0, c64(r));
        Value* aOff = transA ? b_.CreateAdd(b_.CreateMul(k, M), i) : b_.CreateAdd(b_.CreateMul(i, K), k);
        Value* a = b_.CreateVectorSplat(static_cast<unsigned>(lanes_), b_.CreateLoad(t, at(aPtr, aOff)));
        for (int v = 0; v < 2; ++v) {
          Value* slot = acc[static_cast<std::size_t>(r * 2 + v)];
          b_.CreateStore(b_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vec}, {a, bv[v], b_.CreateLoad(vec, slot)}), slot);
        }
      }
    });
    for (int r = 0; r < kGemmRows; ++r)
      for (int v = 0; v < 2; ++v) {
        Value* value = b_.CreateLoad(vec, acc[static_cast<std::size_t>(r * 2 + v)]);
        if (masks)
          b_.CreateMaskedStore(value, cAt(r, v), align, masks[v]);
        else
          b_.CreateAlignedStore(value, cAt(r, v), align);
      }
  };
  Value* rowTiles = b_.CreateSDiv(b_.CreateSub(rowsDone, rowBegin), c64(kGemmRows));
  forLoop(rowTiles, [&](Value* it) {
    Value* i0 = b_.CreateAdd(rowBegin, b_.CreateMul(it, c64(kGemmRows)));
    forLoop(b_.CreateSDiv(colsDone, c64(2 * lanes_)), [&](Value* jt) { tile(i0, b_.CreateMul(jt, c64(2 * lanes_)), nullptr); });
  });
  // The columns right of the whole tiles (fewer than two vectors): one masked tile per row block, so that a
  // narrow product (N = 10 classes) still runs on vectors.
  Value* rest = b_.CreateSub(N, colsDone);
  llvm::BasicBlock* masked = llvm::BasicBlock::Create(ctx_, "masked_tail", fn_);
  llvm::BasicBlock* after = llvm::BasicBlock::Create(ctx_, "tail_done", fn_);
  b_.CreateCondBr(b_.CreateICmpSGT(rest, c64(0)), masked, after);
  b_.SetInsertPoint(masked);
  std::vector<llvm::Constant*> lane;
  for (int l = 0; l < lanes_; ++l) lane.push_back(b_.getInt64(static_cast<std::uint64_t>(l)));
  Value* lanesIdx = llvm::ConstantVector::get(lane);
  Value* masks[2];
  for (int v = 0; v < 2; ++v)
    masks[v] = b_.CreateICmpSLT(b_.CreateAdd(lanesIdx, b_.CreateVectorSplat(static_cast<unsigned>(lanes_), c64(v * lanes_))),
                                b_.CreateVectorSplat(static_cast<unsigned>(lanes_), rest));
  forLoop(rowTiles, [&](Value* it) { tile(b_.CreateAdd(rowBegin, b_.CreateMul(it, c64(kGemmRows))), colsDone, masks); });
  b_.CreateBr(after);
  b_.SetInsertPoint(after);
}

namespace {
std::int64_t attr(const ir::Node& n, const char* name, int i) { return n.attrs.getInts(name)[static_cast<std::size_t>(i)]; }

// The image x, the filters w and the output y of a convolution, whichever of them the node computes.
struct ConvTypes {
  const ir::TensorType& x;
  const ir::TensorType& w;
  const ir::TensorType& y;
};
ConvTypes convTypes(const ir::Node& n, const ir::Node& a, const ir::Node& b) {
  return {n.op == ir::Op::Conv2DGradInput ? n.type : a.type, n.op == ir::Op::Conv2DGradWeight ? n.type : b.type,
          n.op == ir::Op::Conv2D ? n.type : n.op == ir::Op::Conv2DGradInput ? a.type : b.type};
}
}  // namespace

// All three convolution products in gather form (each output element sums its own terms, no scatter):
//   conv2d:             y[n,o,i,j]   = Σ_c,kh,kw x[n,c,h,w] w[o,c,kh,kw]
//   conv2d_grad_input:  dx[n,c,h,w]  = Σ_o,kh,kw dy[n,o,i,j] w[o,c,kh,kw]
//   conv2d_grad_weight: dw[o,c,kh,kw] = Σ_n,i,j x[n,c,h,w] dy[n,o,i,j]
// with h = i s - p + kh d (and the same for w); terms outside the image are zero. Threads split the
// images (the weight gradient: the output channels), each output element summed by one thread.
void KernelEmitter::emitConv(const ir::Node& n) {
  const auto [xT, wT, yT] = convTypes(n, operand(n, 0), operand(n, 1));
  // Multiply-adds: every (output position, weight) pair.
  Value* work = b_.CreateMul(numel(yT.shape), c64(wT.shape[1].size * wT.shape[2].size * wT.shape[3].size));
  Value* count = n.op == ir::Op::Conv2DGradWeight ? c64(wT.shape[0].size) : extent(xT.shape[0]);
  parallelFor(count, work, [&](Value* begin, Value* end) { emitConvRange(n, begin, end); });
}

void KernelEmitter::emitConvRange(const ir::Node& n, Value* begin, Value* end) {
  if (n.type.dtype == ir::DType::F32) return emitConvGemm(n, begin, end);
  const ir::Node& a = operand(n, 0);
  const ir::Node& bNode = operand(n, 1);
  const auto [xT, wT, yT] = convTypes(n, a, bNode);
  Value* Nb = extent(xT.shape[0]);
  const std::int64_t C = xT.shape[1].size, H = xT.shape[2].size, W = xT.shape[3].size, O = wT.shape[0].size,
                     KH = wT.shape[2].size, KW = wT.shape[3].size, OH = yT.shape[2].size, OW = yT.shape[3].size;
  const std::int64_t s0 = attr(n, "stride", 0), s1 = attr(n, "stride", 1), p0 = attr(n, "padding", 0),
                     p1 = attr(n, "padding", 1), d0 = attr(n, "dilation", 0), d1 = attr(n, "dilation", 1);
  llvm::Type* t = elem(n.type.dtype);
  auto idx4 = [&](Value* i0, std::int64_t e1, Value* i1, std::int64_t e2, Value* i2, std::int64_t e3, Value* i3) {
    return b_.CreateAdd(b_.CreateMul(b_.CreateAdd(b_.CreateMul(b_.CreateAdd(b_.CreateMul(i0, c64(e1)), i1), c64(e2)), i2), c64(e3)), i3);
  };
  auto inRange = [&](Value* v, std::int64_t hi) { return b_.CreateAnd(b_.CreateICmpSGE(v, c64(0)), b_.CreateICmpSLT(v, c64(hi))); };
  // Reads x at (nn, c, h, w) with zero outside the image; the index is clamped so the load stays in bounds.
  auto term = [&](const ir::Node& src, Value* valid, Value* index, Value* other) {
    Value* v = load(src, b_.CreateSelect(valid, index, c64(0)));
    return b_.CreateFMul(b_.CreateSelect(valid, v, fconst(t, 0)), other);
  };
  auto accumulate = [&](Value* acc, Value* v) { b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(t, acc), v), acc); };

  if (n.op == ir::Op::Conv2D) {
    forRange(begin, end, [&](Value* nn) { forLoop(c64(O), [&](Value* o) { forLoop(c64(OH), [&](Value* i) { forLoop(c64(OW), [&](Value* j) {
      Value* acc = scalarSlot(t, fconst(t, 0));
      forLoop(c64(C), [&](Value* c) { forLoop(c64(KH), [&](Value* kh) { forLoop(c64(KW), [&](Value* kw) {
        Value* h = b_.CreateAdd(b_.CreateSub(b_.CreateMul(i, c64(s0)), c64(p0)), b_.CreateMul(kh, c64(d0)));
        Value* w = b_.CreateAdd(b_.CreateSub(b_.CreateMul(j, c64(s1)), c64(p1)), b_.CreateMul(kw, c64(d1)));
        Value* valid = b_.CreateAnd(inRange(h, H), inRange(w, W));
        accumulate(acc, term(a, valid, idx4(nn, C, c, H, h, W, w), load(bNode, idx4(o, C, c, KH, kh, KW, kw))));
      }); }); });
      store(n, idx4(nn, O, o, OH, i, OW, j), b_.CreateLoad(t, acc));
    }); }); }); });
    return;
  }
  if (n.op == ir::Op::Conv2DGradInput) {
    // Output position i contributes to h when h + p - kh d = i s for some 0 <= i < OH.
    auto source = [&](Value* h, Value* k, std::int64_t p, std::int64_t d, std::int64_t s, std::int64_t hi, Value*& valid) {
      Value* num = b_.CreateSub(b_.CreateAdd(h, c64(p)), b_.CreateMul(k, c64(d)));
      Value* q = b_.CreateSDiv(num, c64(s));
      valid = b_.CreateAnd(b_.CreateICmpSGE(num, c64(0)),
                           b_.CreateAnd(b_.CreateICmpEQ(b_.CreateSRem(num, c64(s)), c64(0)), b_.CreateICmpSLT(q, c64(hi))));
      return q;
    };
    forRange(begin, end, [&](Value* nn) { forLoop(c64(C), [&](Value* c) { forLoop(c64(H), [&](Value* h) { forLoop(c64(W), [&](Value* w) {
      Value* acc = scalarSlot(t, fconst(t, 0));
      forLoop(c64(O), [&](Value* o) { forLoop(c64(KH), [&](Value* kh) { forLoop(c64(KW), [&](Value* kw) {
        Value *vi = nullptr, *vj = nullptr;
        Value* i = source(h, kh, p0, d0, s0, OH, vi);
        Value* j = source(w, kw, p1, d1, s1, OW, vj);
        accumulate(acc, term(a, b_.CreateAnd(vi, vj), idx4(nn, O, o, OH, i, OW, j), load(bNode, idx4(o, C, c, KH, kh, KW, kw))));
      }); }); });
      store(n, idx4(nn, C, c, H, h, W, w), b_.CreateLoad(t, acc));
    }); }); }); });
    return;
  }
  // conv2d_grad_weight(x, dy)
  forRange(begin, end, [&](Value* o) { forLoop(c64(C), [&](Value* c) { forLoop(c64(KH), [&](Value* kh) { forLoop(c64(KW), [&](Value* kw) {
    Value* acc = scalarSlot(t, fconst(t, 0));
    forLoop(Nb, [&](Value* nn) { forLoop(c64(OH), [&](Value* i) { forLoop(c64(OW), [&](Value* j) {
      Value* h = b_.CreateAdd(b_.CreateSub(b_.CreateMul(i, c64(s0)), c64(p0)), b_.CreateMul(kh, c64(d0)));
      Value* w = b_.CreateAdd(b_.CreateSub(b_.CreateMul(j, c64(s1)), c64(p1)), b_.CreateMul(kw, c64(d1)));
      Value* valid = b_.CreateAnd(inRange(h, H), inRange(w, W));
      accumulate(acc, term(a, valid, idx4(nn, C, c, H, h, W, w), load(bNode, idx4(nn, O, o, OH, i, OW, j))));
    }); }); });
    store(n, idx4(o, C, c, KH, kh, KW, kw), b_.CreateLoad(t, acc));
  }); }); }); });
}

// f32 convolutions on the GEMM kernel, through im2col: col[(c,kh,kw), (i,j)] = x[n, c, h, w] (0 outside the
// image), with h = i s - p + kh d. Per image,
//   conv2d:             y[n]  = W[O, CKK] col                       (M = O, N = OH OW, K = C KH KW)
//   conv2d_grad_input:  dcol  = Wᵀ dy[n], then col2im adds dcol back into dx[n]
//   conv2d_grad_weight: dW   += dy[n] colᵀ over the images in order (each thread its rows of dW)
// Every output element is summed by one thread in a fixed order, so the bits do not depend on threads.
void KernelEmitter::emitConvGemm(const ir::Node& n, Value* begin, Value* end) {
  const ir::Node& a = operand(n, 0);
  const ir::Node& bNode = operand(n, 1);
  const auto [xT, wT, yT] = convTypes(n, a, bNode);
  const std::int64_t C = xT.shape[1].size, H = xT.shape[2].size, W = xT.shape[3].size, O = wT.shape[0].size,
                     KH = wT.shape[2].size, KW = wT.shape[3].size, OH = yT.shape[2].size, OW = yT.shape[3].size;
  const std::int64_t s0 = attr(n, "stride", 0), s1 = attr(n, "stride", 1), p0 = attr(n, "padding", 0),
                     p1 = attr(n, "padding", 1), d0 = attr(n, "dilation", 0), d1 = attr(n, "dilation", 1);
  const std::int64_t CKK = C * KH * KW, P = OH * OW;
  llvm::Type* t = b_.getFloatTy();
  auto ptr = [&](const ir::Node& node, Value* offset) { return at(node, offset); };
  auto inRange = [&](Value* v, std::int64_t hi) { return b_.CreateAnd(b_.CreateICmpSGE(v, c64(0)), b_.CreateICmpSLT(v, c64(hi))); };
  // Visits every (row r = (c, kh, kw), column q = (i, j)) of col with the image element it stands for.
  auto forEachColumnEntry = [&](const std::function<void(Value* r, Value* q, Value* valid, Value* xOffset)>& body) {
    forLoop(c64(C), [&](Value* c) { forLoop(c64(KH), [&](Value* kh) { forLoop(c64(KW), [&](Value* kw) {
      Value* r = b_.CreateAdd(b_.CreateMul(b_.CreateAdd(b_.CreateMul(c, c64(KH)), kh), c64(KW)), kw);
      forLoop(c64(OH), [&](Value* i) {
        Value* h = b_.CreateAdd(b_.CreateSub(b_.CreateMul(i, c64(s0)), c64(p0)), b_.CreateMul(kh, c64(d0)));
        forLoop(c64(OW), [&](Value* j) {
          Value* w = b_.CreateAdd(b_.CreateSub(b_.CreateMul(j, c64(s1)), c64(p1)), b_.CreateMul(kw, c64(d1)));
          Value* valid = b_.CreateAnd(inRange(h, H), inRange(w, W));
          Value* xOff = b_.CreateAdd(b_.CreateMul(b_.CreateAdd(b_.CreateMul(c, c64(H)), h), c64(W)), w);
          body(r, b_.CreateAdd(b_.CreateMul(i, c64(OW)), j), valid, b_.CreateSelect(valid, xOff, c64(0)));
        });
      });
    }); }); });
  };
  auto gep = [&](Value* p, Value* off) { return b_.CreateInBoundsGEP(t, p, off); };
  Value* col = b_.CreateCall(mod_.getOrInsertFunction("malloc", b_.getPtrTy(), i64()), {c64(CKK * P * 4)}, "col");
  // col (or its transpose) of image nn.
  auto im2col = [&](Value* nn, bool transposed) {
    Value* image = ptr(n.op == ir::Op::Conv2DGradInput ? n : a, b_.CreateMul(nn, c64(C * H * W)));
    forEachColumnEntry([&](Value* r, Value* q, Value* valid, Value* xOff) {
      Value* v = b_.CreateSelect(valid, b_.CreateLoad(t, gep(image, xOff)), fconst(t, 0));
      b_.CreateStore(v, gep(col, transposed ? b_.CreateAdd(b_.CreateMul(q, c64(CKK)), r) : b_.CreateAdd(b_.CreateMul(r, c64(P)), q)));
    });
  };
  if (n.op == ir::Op::Conv2D) {
    forRange(begin, end, [&](Value* nn) {
      im2col(nn, false);
      emitGemm({ptr(bNode, c64(0)), col, ptr(n, b_.CreateMul(nn, c64(O * P))), t, c64(O), c64(P), c64(CKK), false, false, false}, c64(0), c64(O));
    });
  } else if (n.op == ir::Op::Conv2DGradInput) {  // conv2d_grad_input(dy, w)
    forRange(begin, end, [&](Value* nn) {
      emitGemm({ptr(bNode, c64(0)), ptr(a, b_.CreateMul(nn, c64(O * P))), col, t, c64(CKK), c64(P), c64(O), true, false, false}, c64(0), c64(CKK));
      Value* dx = ptr(n, b_.CreateMul(nn, c64(C * H * W)));
      forLoop(c64(C * H * W), [&](Value* k) { b_.CreateStore(fconst(t, 0), gep(dx, k)); });
      forEachColumnEntry([&](Value* r, Value* q, Value* valid, Value* xOff) {
        Value* v = b_.CreateSelect(valid, b_.CreateLoad(t, gep(col, b_.CreateAdd(b_.CreateMul(r, c64(P)), q))), fconst(t, 0));
        b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(t, gep(dx, xOff)), v), gep(dx, xOff));
      });
    });
  } else {  // conv2d_grad_weight(x, dy): rows [begin, end) of dW
    Value* dw = ptr(n, c64(0));
    forRange(b_.CreateMul(begin, c64(CKK)), b_.CreateMul(end, c64(CKK)), [&](Value* k) { b_.CreateStore(fconst(t, 0), gep(dw, k)); });
    forLoop(extent(xT.shape[0]), [&](Value* nn) {
      im2col(nn, true);
      emitGemm({ptr(bNode, b_.CreateMul(nn, c64(O * P))), col, dw, t, c64(O), c64(CKK), c64(P), false, false, true}, begin, end);
    });
  }
  b_.CreateCall(mod_.getOrInsertFunction("free", b_.getVoidTy(), b_.getPtrTy()), {col});
}

// max_pool2d, avg_pool2d (padding counts in the average, as PyTorch's default), max_pool2d_grad (dy goes to
// the first maximum of each window) and avg_pool2d_grad (gather form: each input sums the windows it is in).
// Threads split the planes (image, channel); a max-pool gradient only adds within its own plane.
void KernelEmitter::emitPool(const ir::Node& n) {
  const bool grad = n.op == ir::Op::MaxPool2DGrad || n.op == ir::Op::AvgPool2DGrad;
  const ir::TensorType& xT = grad ? n.type : operand(n, 0).type;
  const ir::TensorType& yT = grad ? operand(n, 0).type : n.type;
  Value* work = b_.CreateMul(numel(yT.shape), c64(n.attrs.getInts("kernel")[0] * n.attrs.getInts("kernel")[1]));
  parallelFor(b_.CreateMul(extent(xT.shape[0]), extent(xT.shape[1])), work,
              [&](Value* begin, Value* end) { emitPoolRange(n, begin, end); });
}

void KernelEmitter::emitPoolRange(const ir::Node& n, Value* begin, Value* end) {
  const bool grad = n.op == ir::Op::MaxPool2DGrad || n.op == ir::Op::AvgPool2DGrad;
  const ir::TensorType& xT = grad ? n.type : operand(n, 0).type;
  const ir::TensorType& yT = grad ? operand(n, 0).type : n.type;
  const std::int64_t H = xT.shape[2].size, W = xT.shape[3].size, OH = yT.shape[2].size, OW = yT.shape[3].size;
  const std::int64_t k0 = attr(n, "kernel", 0), k1 = attr(n, "kernel", 1), s0 = attr(n, "stride", 0), s1 = attr(n, "stride", 1),
                     p0 = attr(n, "padding", 0), p1 = attr(n, "padding", 1);
  llvm::Type* t = elem(n.type.dtype);
  Value* invArea = fconst(t, 1.0 / static_cast<double>(k0 * k1));
  auto inRange = [&](Value* v, std::int64_t hi) { return b_.CreateAnd(b_.CreateICmpSGE(v, c64(0)), b_.CreateICmpSLT(v, c64(hi))); };
  auto at2 = [&](Value* pl, std::int64_t e1, Value* i, std::int64_t e2, Value* j) {
    return b_.CreateAdd(b_.CreateMul(b_.CreateAdd(b_.CreateMul(pl, c64(e1)), i), c64(e2)), j);
  };

  if (n.op == ir::Op::AvgPool2DGrad) {
    const ir::Node& dy = operand(n, 0);
    forRange(begin, end, [&](Value* pl) { forLoop(c64(H), [&](Value* h) { forLoop(c64(W), [&](Value* w) {
      Value* acc = scalarSlot(t, fconst(t, 0));
      forLoop(c64(k0), [&](Value* kh) { forLoop(c64(k1), [&](Value* kw) {
        Value* nh = b_.CreateSub(b_.CreateAdd(h, c64(p0)), kh);
        Value* nw = b_.CreateSub(b_.CreateAdd(w, c64(p1)), kw);
        Value* i = b_.CreateSDiv(nh, c64(s0));
        Value* j = b_.CreateSDiv(nw, c64(s1));
        Value* valid = b_.CreateAnd(b_.CreateAnd(b_.CreateICmpSGE(nh, c64(0)), b_.CreateICmpSGE(nw, c64(0))),
                                    b_.CreateAnd(b_.CreateAnd(b_.CreateICmpEQ(b_.CreateSRem(nh, c64(s0)), c64(0)), b_.CreateICmpEQ(b_.CreateSRem(nw, c64(s1)), c64(0))),
                                                 b_.CreateAnd(b_.CreateICmpSLT(i, c64(OH)), b_.CreateICmpSLT(j, c64(OW)))));
        Value* v = load(dy, b_.CreateSelect(valid, at2(pl, OH, i, OW, j), c64(0)));
        b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(t, acc), b_.CreateSelect(valid, v, fconst(t, 0))), acc);
      }); });
      store(n, at2(pl, H, h, W, w), b_.CreateFMul(b_.CreateLoad(t, acc), invArea));
    }); }); });
    return;
  }

  const ir::Node& x = grad ? operand(n, 1) : operand(n, 0);
  if (n.op == ir::Op::MaxPool2DGrad)  // zero this range's planes of dx; the windows add into them
    forRange(b_.CreateMul(begin, c64(H * W)), b_.CreateMul(end, c64(H * W)), [&](Value* i) { store(n, i, fconst(t, 0)); });
  forRange(begin, end, [&](Value* pl) { forLoop(c64(OH), [&](Value* i) { forLoop(c64(OW), [&](Value* j) {
    Value* best = scalarSlot(t, llvm::ConstantFP::getInfinity(t, true));
    Value* sum = scalarSlot(t, fconst(t, 0));
    Value* arg = scalarSlot(i64(), at2(pl, H, c64(0), W, c64(0)));
    forLoop(c64(k0), [&](Value* kh) { forLoop(c64(k1), [&](Value* kw) {
      Value* h = b_.CreateAdd(b_.CreateSub(b_.CreateMul(i, c64(s0)), c64(p0)), kh);
      Value* w = b_.CreateAdd(b_.CreateSub(b_.CreateMul(j, c64(s1)), c64(p1)), kw);
      Value* valid = b_.CreateAnd(inRange(h, H), inRange(w, W));
      Value* xi = b_.CreateSelect(valid, at2(pl, H, h, W, w), c64(0));
      Value* v = load(x, xi);
      b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(t, sum), b_.CreateSelect(valid, v, fconst(t, 0))), sum);
      Value* better = b_.CreateAnd(valid, b_.CreateFCmpOGT(v, b_.CreateLoad(t, best)));
      b_.CreateStore(b_.CreateSelect(better, v, b_.CreateLoad(t, best)), best);
      b_.CreateStore(b_.CreateSelect(better, xi, b_.CreateLoad(i64(), arg)), arg);
    }); });
    Value* yi = at2(pl, OH, i, OW, j);
    switch (n.op) {
      case ir::Op::MaxPool2D: store(n, yi, b_.CreateLoad(t, best)); break;
      case ir::Op::AvgPool2D: store(n, yi, b_.CreateFMul(b_.CreateLoad(t, sum), invArea)); break;
      default: {
        Value* a = b_.CreateLoad(i64(), arg);
        store(n, a, b_.CreateFAdd(load(n, a), load(operand(n, 0), yi)));
      }
    }
  }); }); });
}

}  // namespace sinter::codegen
