// The pieces of matrix products, convolutions and pooling that the loop nests (loop_schedule.cpp) call:
// plain f64 products, the direct f64 convolution, im2col and col2im for the f32 convolutions on the GEMM
// micro-kernel (emit_loops.cpp), and the pooling windows of a range of planes.
#include "compiler/codegen/kernel_emitter.h"
#include "compiler/codegen/vectors.h"

#include <llvm/Analysis/VectorUtils.h>

#include <algorithm>
#include <bit>
#include <limits>

namespace sinter::codegen {

// Rows [rowBegin, rowEnd) of an f64 product by plain loops: i, k, j order for A B and Aᵀ B (streaming rows
// of B and C), dot products over contiguous rows for A Bᵀ.
void KernelEmitter::emitGemmNaive(const Gemm& g, Value* rowBegin, Value* rowEnd) {
  llvm::Type* t = g.t;
  Value* aPtr = g.a;
  Value* bPtr = g.b;
  Value* cPtr = g.c;
  Value *M = g.M, *N = g.N, *K = g.K;
  const bool transA = g.transA, transB = g.transB;
  auto ld = [&](Value* p, Value* off) { return b_.CreateLoad(t, b_.CreateInBoundsGEP(t, p, off)); };
  auto st = [&](Value* p, Value* off, Value* v) { b_.CreateStore(v, b_.CreateInBoundsGEP(t, p, off)); };
  if (!transB) {
    forRange(rowBegin, rowEnd, [&](Value* i) {
      Value* row = b_.CreateMul(i, N);
      if (!g.accumulate) forLoop(N, [&](Value* j) { st(cPtr, b_.CreateAdd(row, j), fconst(t, 0)); });
      forLoop(K, [&](Value* k) {
        Value* aik = ld(aPtr, transA ? b_.CreateAdd(b_.CreateMul(k, M), i) : b_.CreateAdd(b_.CreateMul(i, K), k));
        Value* brow = b_.CreateMul(k, N);
        forLoop(N, [&](Value* j) {
          Value* off = b_.CreateAdd(row, j);
          st(cPtr, off, b_.CreateFAdd(ld(cPtr, off), b_.CreateFMul(aik, ld(bPtr, b_.CreateAdd(brow, j)))));
        });
      });
    });
    return;
  }
  forRange(rowBegin, rowEnd, [&](Value* i) {
    forLoop(N, [&](Value* j) {
      Value* cOff = b_.CreateAdd(b_.CreateMul(i, N), j);
      Value* acc = scalarSlot(t, g.accumulate ? ld(cPtr, cOff) : fconst(t, 0));
      forLoop(K, [&](Value* k) {
        Value* p =
            b_.CreateFMul(ld(aPtr, b_.CreateAdd(b_.CreateMul(i, K), k)), ld(bPtr, b_.CreateAdd(b_.CreateMul(j, K), k)));
        b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(t, acc), p), acc);
      });
      st(cPtr, cOff, b_.CreateLoad(t, acc));
    });
  });
}

namespace {
// The image x, the filters w and the output y of a convolution, whichever of them the node computes.
struct ConvTypes {
  const ir::TensorType& x;
  const ir::TensorType& w;
  const ir::TensorType& y;
};
ConvTypes convTypes(const ir::Node& n, const ir::Node& a, const ir::Node& b) {
  return {n.op == ir::Op::Conv2DGradInput ? n.type : a.type, n.op == ir::Op::Conv2DGradWeight ? n.type : b.type,
          n.op == ir::Op::Conv2D            ? n.type
          : n.op == ir::Op::Conv2DGradInput ? a.type
                                            : b.type};
}
}  // namespace

// All three convolution products in gather form (each output element sums its own terms, no scatter):
//   conv2d:             y[n,o,i,j]   = Σ_c,kh,kw x[n,c,h,w] w[o,c,kh,kw]
//   conv2d_grad_input:  dx[n,c,h,w]  = Σ_o,kh,kw dy[n,o,i,j] w[o,c,kh,kw]
//   conv2d_grad_weight: dw[o,c,kh,kw] = Σ_n,i,j x[n,c,h,w] dy[n,o,i,j]
// with h = i s - p + kh d (and the same for w); terms outside the image are zero. The nest splits the
// images (the weight gradient: the output channels) over threads, each output element summed by one thread.
void KernelEmitter::emitConvRange(const ir::Node& n, Value* begin, Value* end) {
  const ir::Node& a = operand(n, 0);
  const ir::Node& bNode = operand(n, 1);
  const auto [xT, wT, yT] = convTypes(n, a, bNode);
  Value* Nb = extent(xT.shape[0]);
  const std::int64_t C = xT.shape[1].size, H = xT.shape[2].size, W = xT.shape[3].size, O = wT.shape[0].size,
                     KH = wT.shape[2].size, KW = wT.shape[3].size, OH = yT.shape[2].size, OW = yT.shape[3].size;
  const std::int64_t s0 = n.attrs.getInt("stride", 0), s1 = n.attrs.getInt("stride", 1),
                     p0 = n.attrs.getInt("padding", 0), p1 = n.attrs.getInt("padding", 1),
                     d0 = n.attrs.getInt("dilation", 0), d1 = n.attrs.getInt("dilation", 1);
  llvm::Type* t = elem(n.type.dtype);
  auto idx4 = [&](Value* i0, std::int64_t e1, Value* i1, std::int64_t e2, Value* i2, std::int64_t e3, Value* i3) {
    return b_.CreateAdd(
        b_.CreateMul(b_.CreateAdd(b_.CreateMul(b_.CreateAdd(b_.CreateMul(i0, c64(e1)), i1), c64(e2)), i2), c64(e3)),
        i3);
  };
  auto inRange = [&](Value* v, std::int64_t hi) {
    return b_.CreateAnd(b_.CreateICmpSGE(v, c64(0)), b_.CreateICmpSLT(v, c64(hi)));
  };
  // Reads x at (nn, c, h, w) with zero outside the image; the index is clamped so the load stays in bounds.
  auto term = [&](const ir::Node& src, Value* valid, Value* index, Value* other) {
    Value* v = load(src, b_.CreateSelect(valid, index, c64(0)));
    return b_.CreateFMul(b_.CreateSelect(valid, v, fconst(t, 0)), other);
  };
  auto accumulate = [&](Value* acc, Value* v) { b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(t, acc), v), acc); };

  if (n.op == ir::Op::Conv2D) {
    forRange(begin, end, [&](Value* nn) {
      forLoop(c64(O), [&](Value* o) {
        forLoop(c64(OH), [&](Value* i) {
          forLoop(c64(OW), [&](Value* j) {
            Value* acc = scalarSlot(t, fconst(t, 0));
            forLoop(c64(C), [&](Value* c) {
              forLoop(c64(KH), [&](Value* kh) {
                forLoop(c64(KW), [&](Value* kw) {
                  Value* h = b_.CreateAdd(b_.CreateSub(b_.CreateMul(i, c64(s0)), c64(p0)), b_.CreateMul(kh, c64(d0)));
                  Value* w = b_.CreateAdd(b_.CreateSub(b_.CreateMul(j, c64(s1)), c64(p1)), b_.CreateMul(kw, c64(d1)));
                  Value* valid = b_.CreateAnd(inRange(h, H), inRange(w, W));
                  accumulate(acc,
                             term(a, valid, idx4(nn, C, c, H, h, W, w), load(bNode, idx4(o, C, c, KH, kh, KW, kw))));
                });
              });
            });
            store(n, idx4(nn, O, o, OH, i, OW, j), b_.CreateLoad(t, acc));
          });
        });
      });
    });
    return;
  }
  if (n.op == ir::Op::Conv2DGradInput) {
    // Output position i contributes to h when h + p - kh d = i s for some 0 <= i < OH.
    auto source = [&](Value* h, Value* k, std::int64_t p, std::int64_t d, std::int64_t s, std::int64_t hi,
                      Value*& valid) {
      Value* num = b_.CreateSub(b_.CreateAdd(h, c64(p)), b_.CreateMul(k, c64(d)));
      Value* q = b_.CreateSDiv(num, c64(s));
      valid =
          b_.CreateAnd(b_.CreateICmpSGE(num, c64(0)),
                       b_.CreateAnd(b_.CreateICmpEQ(b_.CreateSRem(num, c64(s)), c64(0)), b_.CreateICmpSLT(q, c64(hi))));
      return q;
    };
    forRange(begin, end, [&](Value* nn) {
      forLoop(c64(C), [&](Value* c) {
        forLoop(c64(H), [&](Value* h) {
          forLoop(c64(W), [&](Value* w) {
            Value* acc = scalarSlot(t, fconst(t, 0));
            forLoop(c64(O), [&](Value* o) {
              forLoop(c64(KH), [&](Value* kh) {
                forLoop(c64(KW), [&](Value* kw) {
                  Value *vi = nullptr, *vj = nullptr;
                  Value* i = source(h, kh, p0, d0, s0, OH, vi);
                  Value* j = source(w, kw, p1, d1, s1, OW, vj);
                  accumulate(acc, term(a, b_.CreateAnd(vi, vj), idx4(nn, O, o, OH, i, OW, j),
                                       load(bNode, idx4(o, C, c, KH, kh, KW, kw))));
                });
              });
            });
            store(n, idx4(nn, C, c, H, h, W, w), b_.CreateLoad(t, acc));
          });
        });
      });
    });
    return;
  }
  // conv2d_grad_weight(x, dy)
  forRange(begin, end, [&](Value* o) {
    forLoop(c64(C), [&](Value* c) {
      forLoop(c64(KH), [&](Value* kh) {
        forLoop(c64(KW), [&](Value* kw) {
          Value* acc = scalarSlot(t, fconst(t, 0));
          forLoop(Nb, [&](Value* nn) {
            forLoop(c64(OH), [&](Value* i) {
              forLoop(c64(OW), [&](Value* j) {
                Value* h = b_.CreateAdd(b_.CreateSub(b_.CreateMul(i, c64(s0)), c64(p0)), b_.CreateMul(kh, c64(d0)));
                Value* w = b_.CreateAdd(b_.CreateSub(b_.CreateMul(j, c64(s1)), c64(p1)), b_.CreateMul(kw, c64(d1)));
                Value* valid = b_.CreateAnd(inRange(h, H), inRange(w, W));
                accumulate(acc, term(a, valid, idx4(nn, C, c, H, h, W, w), load(bNode, idx4(nn, O, o, OH, i, OW, j))));
              });
            });
          });
          store(n, idx4(o, C, c, KH, kh, KW, kw), b_.CreateLoad(t, acc));
        });
      });
    });
  });
}

// The patch matrix of image `image` of convolution n, for the f32 convolutions on the GEMM micro-kernel:
// col[(c,kh,kw), (i,j)] = x[image, c, h, w] with h = i s - p + kh d (and the same for w), 0 outside the
// image ([(i,j), (c,kh,kw)] when transposed). col2im is its adjoint: it adds col back into dx[image].
namespace {
struct ConvGeometry {
  std::int64_t C, H, W, KH, KW, OH, OW, s0, s1, p0, p1, d0, d1;
};
ConvGeometry geometry(const ir::Node& n, const ir::Node& a, const ir::Node& b) {
  const auto [xT, wT, yT] = convTypes(n, a, b);
  return {xT.shape[1].size,
          xT.shape[2].size,
          xT.shape[3].size,
          wT.shape[2].size,
          wT.shape[3].size,
          yT.shape[2].size,
          yT.shape[3].size,
          n.attrs.getInt("stride", 0),
          n.attrs.getInt("stride", 1),
          n.attrs.getInt("padding", 0),
          n.attrs.getInt("padding", 1),
          n.attrs.getInt("dilation", 0),
          n.attrs.getInt("dilation", 1)};
}

// The output columns j of kernel column kw whose image column w = j s1 + shift (shift = kw d1 - p1) lies
// inside the image: [lo, hi). They are known when the code is generated.
struct ColumnRange {
  std::int64_t shift, lo, hi;
};
// The output channels of one register tile of the direct weight gradient: rows x KW sums, KW input vectors
// and one of dy must fit the vector registers (32 with AVX-512, else 16); among the counts that fit, the
// one that wastes fewest recomputed rows on O, then the largest.
int directWeightRows(std::int64_t O, std::int64_t KW, int lanes) {
  const std::int64_t registers = lanes >= 16 ? 31 : 15;
  const std::int64_t most = std::clamp<std::int64_t>((registers - KW - 1) / KW, 1, kGemmRows);
  std::int64_t best = 1;
  for (std::int64_t r = 1; r <= most; ++r)
    if ((O + r - 1) / r * r <= (O + best - 1) / best * best) best = r;
  return static_cast<int>(best);
}

ColumnRange columnRange(const ConvGeometry& c, std::int64_t kw) {
  const std::int64_t shift = kw * c.d1 - c.p1;
  auto firstAtLeast = [&](std::int64_t bound) {  // the smallest j >= 0 with j s1 + shift >= bound, at most OW
    const std::int64_t num = bound - shift;
    const std::int64_t j = num <= 0 ? 0 : (num + c.s1 - 1) / c.s1;
    return std::min(j, c.OW);
  };
  const std::int64_t lo = firstAtLeast(0);
  return {shift, lo, std::max(lo, firstAtLeast(c.W))};
}
}  // namespace

// Row (c, kh, kw) of col, output row i: the image row h = i s0 - p0 + kh d0 when it is inside the image, read at
// w = j s1 - p1 + kw d1 for the columns j whose w is inside it. That range of j is known when the code is
// generated, so each row is a zero run, a strided copy (contiguous at stride 1, which vectorizes) and a
// zero run, with no per-element bounds test or gather.
// Only the rows of input channels [chFrom, chTo) are written (a weight gradient split over input channels).
void KernelEmitter::emitIm2Col(const ir::Node& n, Value* image, Value* col, bool transposed, Value* chFrom,
                               Value* chTo) {
  const ConvGeometry c = geometry(n, operand(n, 0), operand(n, 1));
  const std::int64_t CKK = c.C * c.KH * c.KW, P = c.OH * c.OW;
  llvm::Type* t = b_.getFloatTy();
  auto gep = [&](Value* p, Value* off) { return b_.CreateInBoundsGEP(t, p, off); };
  Value* img = at(n.op == ir::Op::Conv2DGradInput ? n : operand(n, 0), b_.CreateMul(image, c64(c.C * c.H * c.W)));
  auto colAt = [&](Value* r, Value* q) {
    return gep(col, transposed ? b_.CreateAdd(b_.CreateMul(q, c64(CKK)), r) : b_.CreateAdd(b_.CreateMul(r, c64(P)), q));
  };
  for (std::int64_t kw = 0; kw < c.KW; ++kw) {
    const ColumnRange cr = columnRange(c, kw);
    const std::int64_t shift = cr.shift, jlo = cr.lo, jhi = cr.hi;
    forRange(chFrom, chTo, [&](Value* ch) {
      forLoop(c64(c.KH), [&](Value* kh) {
        Value* r = b_.CreateAdd(b_.CreateMul(b_.CreateAdd(b_.CreateMul(ch, c64(c.KH)), kh), c64(c.KW)), c64(kw));
        forLoop(c64(c.OH), [&](Value* i) {
          Value* h = b_.CreateAdd(b_.CreateSub(b_.CreateMul(i, c64(c.s0)), c64(c.p0)), b_.CreateMul(kh, c64(c.d0)));
          Value* inside = b_.CreateAnd(b_.CreateICmpSGE(h, c64(0)), b_.CreateICmpSLT(h, c64(c.H)));
          Value* q0 = b_.CreateMul(i, c64(c.OW));
          // Outside the image the whole row is zero: the copy's range is then empty.
          Value* lo = b_.CreateSelect(inside, c64(jlo), c64(c.OW));
          Value* hi = b_.CreateSelect(inside, c64(jhi), c64(c.OW));
          Value* src = gep(
              img,
              b_.CreateAdd(
                  b_.CreateMul(b_.CreateAdd(b_.CreateMul(ch, c64(c.H)), b_.CreateSelect(inside, h, c64(0))), c64(c.W)),
                  c64(shift)));
          if (!transposed && c.s1 == 1) {
            // The row is contiguous in col and, at stride 1, in the image: whole vectors, the last one masked.
            // Rows are short (OW = 10 or 28 in the examples), too short for LLVM's vectorizer, which left
            // these copies scalar and most of a small convolution's time.
            Value* dst = colAt(r, q0);
            vectorRun(c64(0), lo, dst, nullptr);
            vectorRun(lo, hi, dst, src);
            vectorRun(hi, c64(c.OW), dst, nullptr);
            return;
          }
          forRange(c64(0), lo, [&](Value* j) { b_.CreateStore(fconst(t, 0), colAt(r, b_.CreateAdd(q0, j))); });
          forRange(lo, hi, [&](Value* j) {
            b_.CreateStore(b_.CreateLoad(t, gep(src, b_.CreateMul(j, c64(c.s1)))), colAt(r, b_.CreateAdd(q0, j)));
          });
          forRange(hi, c64(c.OW), [&](Value* j) { b_.CreateStore(fconst(t, 0), colAt(r, b_.CreateAdd(q0, j))); });
        });
      });
    });
  }
}

// dst[j] = src[j] (zero without src) for j in [from, to), f32, in vectors of the target's width.
void KernelEmitter::vectorRun(Value* from, Value* to, Value* dst, Value* src) {
  llvm::Type* t = b_.getFloatTy();
  auto* vec = llvm::FixedVectorType::get(t, static_cast<unsigned>(lanes_));
  Value* zero = llvm::Constant::getNullValue(vec);
  const llvm::Align align(4);
  steppedLoop(
      from, to, lanes_, nullptr,
      [&](Value* j) {
        Value* mask = lanesBelow(j, to);
        Value* v = src ? b_.CreateMaskedLoad(vec, b_.CreateInBoundsGEP(t, src, j), align, mask, zero) : zero;
        b_.CreateMaskedStore(v, b_.CreateInBoundsGEP(t, dst, j), align, mask);
      },
      "run");
}

// The adjoint of im2col: dx[image] = the sum of every column of col that reads each input element. At
// stride 1, input (c, h, w) is read by row (c, kh, kw) at output position (h + p0 - kh d0, w + p1 - kw d1)
// when that lies in the output, so a vector of w gathers its terms from one contiguous run of col per
// (kh, kw), masked where the position falls outside, and is stored once: no read-modify-write of dx, whose
// masked stores and reloads would stall on store forwarding. Each element sums its terms in the order (kh,
// kw) from zero, as a scatter over col's rows in order would. Other strides scatter col's rows into dx.
void KernelEmitter::emitCol2Im(const ir::Node& n, Value* image, Value* col) {
  const ConvGeometry c = geometry(n, operand(n, 0), operand(n, 1));
  const std::int64_t P = c.OH * c.OW;
  llvm::Type* t = b_.getFloatTy();
  auto gep = [&](Value* p, Value* off) { return b_.CreateInBoundsGEP(t, p, off); };
  Value* dx = at(n, b_.CreateMul(image, c64(c.C * c.H * c.W)));
  if (c.s0 == 1 && c.s1 == 1) {
    auto* vec = llvm::FixedVectorType::get(t, static_cast<unsigned>(lanes_));
    const llvm::Align align(4);
    Value* zero = llvm::Constant::getNullValue(vec);
    const unsigned L = static_cast<unsigned>(lanes_);
    std::vector<llvm::Constant*> laneIds;
    for (int l = 0; l < lanes_; ++l) laneIds.push_back(b_.getInt64(static_cast<std::uint64_t>(l)));
    Value* lane = llvm::ConstantVector::get(laneIds);
    forLoop(c64(c.C), [&](Value* ch) {
      forLoop(c64(c.H), [&](Value* h) {
        for (std::int64_t w0 = 0; w0 < c.W; w0 += lanes_) {
          Value* acc = scalarSlot(vec, zero);
          forLoop(c64(c.KH), [&](Value* kh) {
            Value* i = b_.CreateSub(b_.CreateAdd(h, c64(c.p0)), b_.CreateMul(kh, c64(c.d0)));
            Value* inside = b_.CreateAnd(b_.CreateICmpSGE(i, c64(0)), b_.CreateICmpSLT(i, c64(c.OH)));
            Value* row = b_.CreateMul(b_.CreateAdd(b_.CreateMul(ch, c64(c.KH)), kh), c64(c.KW));
            Value* at0 =
                b_.CreateAdd(b_.CreateMul(row, c64(P)), b_.CreateMul(b_.CreateSelect(inside, i, c64(0)), c64(c.OW)));
            for (std::int64_t kw = 0; kw < c.KW; ++kw) {
              const std::int64_t j0 = w0 + c.p1 - kw * c.d1;  // the output column of lane 0
              if (j0 >= c.OW || j0 + lanes_ <= 0) continue;
              Value* j = b_.CreateAdd(lane, b_.CreateVectorSplat(L, c64(j0)));
              Value* w = b_.CreateAdd(lane, b_.CreateVectorSplat(L, c64(w0)));
              Value* mask = b_.CreateAnd(b_.CreateAnd(b_.CreateICmpSGE(j, b_.CreateVectorSplat(L, c64(0))),
                                                      b_.CreateICmpSLT(j, b_.CreateVectorSplat(L, c64(c.OW)))),
                                         b_.CreateICmpSLT(w, b_.CreateVectorSplat(L, c64(c.W))));
              mask = b_.CreateAnd(mask, b_.CreateVectorSplat(L, inside));
              // Lanes before column 0 are masked off; their addresses may lie before col, so no inbounds.
              Value* from = b_.CreateGEP(t, col, b_.CreateAdd(at0, c64(kw * P + j0)));
              Value* terms = b_.CreateMaskedLoad(vec, from, align, mask, zero);
              b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(vec, acc), terms), acc);
            }
          });
          Value* out =
              gep(dx, b_.CreateAdd(b_.CreateMul(b_.CreateAdd(b_.CreateMul(ch, c64(c.H)), h), c64(c.W)), c64(w0)));
          b_.CreateMaskedStore(b_.CreateLoad(vec, acc), out, align, lanesBelow(c64(w0), c64(c.W)));
        }
      });
    });
    return;
  }
  forLoop(c64(c.C * c.H * c.W), [&](Value* k) { b_.CreateStore(fconst(t, 0), gep(dx, k)); });
  forLoop(c64(c.C), [&](Value* ch) {
    forLoop(c64(c.KH), [&](Value* kh) {
      for (std::int64_t kw = 0; kw < c.KW; ++kw) {
        const ColumnRange cr = columnRange(c, kw);
        Value* r = b_.CreateAdd(b_.CreateMul(b_.CreateAdd(b_.CreateMul(ch, c64(c.KH)), kh), c64(c.KW)), c64(kw));
        forLoop(c64(c.OH), [&](Value* i) {
          Value* h = b_.CreateAdd(b_.CreateSub(b_.CreateMul(i, c64(c.s0)), c64(c.p0)), b_.CreateMul(kh, c64(c.d0)));
          Value* inside = b_.CreateAnd(b_.CreateICmpSGE(h, c64(0)), b_.CreateICmpSLT(h, c64(c.H)));
          Value* lo = b_.CreateSelect(inside, c64(cr.lo), c64(c.OW));
          Value* hi = b_.CreateSelect(inside, c64(cr.hi), c64(c.OW));
          Value* dst = gep(
              dx,
              b_.CreateAdd(
                  b_.CreateMul(b_.CreateAdd(b_.CreateMul(ch, c64(c.H)), b_.CreateSelect(inside, h, c64(0))), c64(c.W)),
                  c64(cr.shift)));
          Value* src = gep(col, b_.CreateAdd(b_.CreateMul(r, c64(P)), b_.CreateMul(i, c64(c.OW))));
          forRange(lo, hi, [&](Value* j) {
            Value* to = gep(dst, b_.CreateMul(j, c64(c.s1)));
            b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(t, to), b_.CreateLoad(t, gep(src, j))), to);
          });
        });
      }
    });
  });
}

bool directConv(const ir::Graph& g, const ir::Node& n) {
  if ((n.op != ir::Op::Conv2D && n.op != ir::Op::Conv2DGradWeight) || n.type.dtype != ir::DType::F32) return false;
  const ConvGeometry c = geometry(n, g.node(n.operands[0]), g.node(n.operands[1]));
  return c.s0 == 1 && c.s1 == 1 && c.C * c.KH * c.KW <= 32 && c.KW <= 8 && c.OW <= 64;
}

// The output channels in the lanes pay off once they fill at least half of an AVX-512 vector (a whole AVX2
// one): then each broadcast input element feeds 8 or more multiply-adds, where im2col copied every input
// KH·KW times and the product's rows (O) were too few for its tile. Padding would need a masked broadcast
// per tap; a padded convolution stays on im2col. KW bounds the tile's input row (a loop over the taps).
bool channelConv(const ir::Graph& g, const ir::Node& n) {
  if (n.op != ir::Op::Conv2D || n.type.dtype != ir::DType::F32 || directConv(g, n)) return false;
  const ConvGeometry c = geometry(n, g.node(n.operands[0]), g.node(n.operands[1]));
  return c.s0 == 1 && c.s1 == 1 && c.p0 == 0 && c.p1 == 0 && n.type.shape[1].size >= 8 && c.KW <= 16;
}

std::int64_t channelConvStride(std::int64_t O, int lanes) { return (O + lanes - 1) / lanes * lanes; }

// A direct conv2d's epilogue runs on its register tiles when its members are plain arithmetic (no exp or
// tanh) and every operand from outside the group is one value per output row (a bias per channel, a
// scalar: its last axis is broadcast), read once per tile row;
// an operand that varies along the row (a residual) is read back by the per-image epilogue instead, since
// a clamped tile recomputes its last row after the kernel may have written over that operand in place.
bool convEpilogueInRegisters(const ir::Graph& g, const ir::FusionGroup& k) {
  if (k.kind != ir::KernelKind::ConvEpilogue) return false;
  const ir::Node& conv = g.node(k.nodes.front());
  if (conv.op != ir::Op::Conv2D || !(directConv(g, conv) || channelConv(g, conv))) return false;
  for (std::size_t m = 1; m < k.nodes.size(); ++m) {
    // exp, tanh and the like are f32 polynomials written for scalars that the loop vectorizer widens
    // (vector_math.cpp); on a vector they would take LLVM's libm calls and other bits.
    if (ir::opDef(g.node(k.nodes[m]).op).flags & ir::kTranscendental) return false;
    for (ir::NodeId o : g.node(k.nodes[m]).operands) {
      if (k.contains(o)) continue;
      const ir::TensorType& t = g.node(o).type;
      if (t.dtype != conv.type.dtype || t.shape.size() > conv.type.shape.size()) return false;
      if (!t.shape.empty() && (t.shape.back().isSymbolic() || t.shape.back().size != 1)) return false;
    }
  }
  return true;
}

// conv2d at stride 1 with few taps per output channel (one input channel, 5x5), images [begin, end), from x
// directly: a tile of kGemmRows output channels by 4 output rows, each one vector of output columns wide,
// lives in registers over the taps; per tap it loads the 4 shifted input vectors (masked outside the
// image) and broadcasts the 6 weights. Each output is its taps' sum in the order (c, kh, kw) from zero.
// With an epilogue in registers (convEpilogueInRegisters), each finished vector goes through the group's
// elementwise members, and only the members the group stores reach memory.
void KernelEmitter::emitDirectConv(const ir::Node& n, Value* begin, Value* end, const ir::FusionGroup* epilogue) {
  if (epilogue && !convEpilogueInRegisters(g_, *epilogue)) epilogue = nullptr;
  const ir::Node& x = operand(n, 0);
  const ir::Node& wt = operand(n, 1);
  const ConvGeometry c = geometry(n, x, wt);
  const std::int64_t O = n.type.shape[1].size, taps = c.C * c.KH * c.KW, P = c.OH * c.OW;
  const int rows = static_cast<int>(std::min<std::int64_t>(O, lanes_ >= 16 ? kGemmRows : 3));
  const int outRows = static_cast<int>(std::min<std::int64_t>(c.OH, 4));
  Vectors v(b_, b_.getFloatTy(), static_cast<unsigned>(lanes_));
  Value* w = at(wt, c64(0));
  forRange(begin, end, [&](Value* img) {
    Value* xImg = at(x, b_.CreateMul(img, c64(c.C * c.H * c.W)));
    Value* yImg = epilogue ? nullptr : at(n, b_.CreateMul(img, c64(O * P)));  // an epilogue stores its members
    // Tiles past the last output channel or row recompute it and store the same values again.
    steppedLoop(
        c64(0), c64(O), rows, nullptr,
        [&](Value* o0) {
          std::vector<Value*> o;
          for (int r = 0; r < rows; ++r) o.push_back(v.clamp(b_.CreateAdd(o0, c64(r)), O - 1));
          steppedLoop(
              c64(0), c64(c.OH), outRows, nullptr,
              [&](Value* i0) {
                std::vector<Value*> i;
                for (int u = 0; u < outRows; ++u) i.push_back(v.clamp(b_.CreateAdd(i0, c64(u)), c.OH - 1));
                for (std::int64_t j0 = 0; j0 < c.OW; j0 += lanes_) {
                  Value* inRow = v.lanes(v.L, c.OW - j0);
                  std::vector<Value*> acc;  // [r][u]
                  for (int k = 0; k < rows * outRows; ++k) acc.push_back(scalarSlot(v.vec, v.zero));
                  forLoop(c64(c.C), [&](Value* ch) {
                    for (std::int64_t kh = 0; kh < c.KH; ++kh) {
                      // Per output row: its input row, and whether that row is inside the image.
                      std::vector<Value*> rowPtr, rowInside;
                      for (int u = 0; u < outRows; ++u) {
                        Value* h = b_.CreateAdd(i[static_cast<std::size_t>(u)], c64(kh * c.d0 - c.p0));
                        Value* inside = b_.CreateAnd(b_.CreateICmpSGE(h, c64(0)), b_.CreateICmpSLT(h, c64(c.H)));
                        rowInside.push_back(v.splat(inside));
                        rowPtr.push_back(v.gep(xImg, b_.CreateMul(b_.CreateAdd(b_.CreateMul(ch, c64(c.H)),
                                                                               b_.CreateSelect(inside, h, c64(0))),
                                                                  c64(c.W))));
                      }
                      for (std::int64_t kw = 0; kw < c.KW; ++kw) {
                        const std::int64_t shift = j0 + kw * c.d1 - c.p1;   // input column of lane 0
                        if (shift >= c.W || shift + lanes_ <= 0) continue;  // every lane outside the image
                        Value* mask = v.lanes(v.L, c.OW - j0, shift, c.W);
                        std::vector<Value*> xs;
                        for (int u = 0; u < outRows; ++u)
                          xs.push_back(v.shiftedRow(rowPtr[static_cast<std::size_t>(u)], shift,
                                                    v.both(mask, rowInside[static_cast<std::size_t>(u)])));
                        Value* tap = b_.CreateAdd(
                            b_.CreateMul(b_.CreateAdd(b_.CreateMul(ch, c64(c.KH)), c64(kh)), c64(c.KW)), c64(kw));
                        for (int r = 0; r < rows; ++r) {
                          Value* wv = v.splat(b_.CreateLoad(
                              v.t,
                              v.gep(w, b_.CreateAdd(b_.CreateMul(o[static_cast<std::size_t>(r)], c64(taps)), tap))));
                          for (int u = 0; u < outRows; ++u) {
                            Value* slot = acc[static_cast<std::size_t>(r * outRows + u)];
                            b_.CreateStore(
                                b_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {v.vec},
                                                   {wv, xs[static_cast<std::size_t>(u)], b_.CreateLoad(v.vec, slot)}),
                                slot);
                          }
                        }
                      }
                    }
                  });
                  for (int r = 0; r < rows; ++r)
                    for (int u = 0; u < outRows; ++u) {
                      Value* y = b_.CreateLoad(v.vec, acc[static_cast<std::size_t>(r * outRows + u)]);
                      Value* offset =
                          b_.CreateAdd(b_.CreateMul(o[static_cast<std::size_t>(r)], c64(P)),
                                       b_.CreateAdd(b_.CreateMul(i[static_cast<std::size_t>(u)], c64(c.OW)), c64(j0)));
                      if (!epilogue) {
                        v.store(y, v.gep(yImg, offset), inRow);
                        continue;
                      }
                      emitConvEpilogueVector(*epilogue, y, img, o[static_cast<std::size_t>(r)],
                                             i[static_cast<std::size_t>(u)],
                                             b_.CreateAdd(b_.CreateMul(img, c64(O * P)), offset), inRow);
                    }
                }
              },
              "direct.out_rows");
        },
        "direct.channels");
  });
}

namespace {
// The register tile of emitChannelConv: `vectors` vectors of output channels by `rows` output rows by
// `cols` output columns (at most one vector's lanes, so that a transposed row is one vector). The
// accumulators, the weight vectors and a broadcast must fit the vector registers (32 with AVX-512, else 16).
struct ChannelTile {
  std::int64_t vectors, rows, cols;
};
ChannelTile channelTile(std::int64_t O, std::int64_t OH, std::int64_t OW, int lanes) {
  const std::int64_t vectors = std::min<std::int64_t>((O + lanes - 1) / lanes, 2);
  const std::int64_t accumulators = (lanes >= 16 ? 32 : 16) - vectors - (lanes >= 16 ? 2 : 1);
  const std::int64_t positions = std::max<std::int64_t>(accumulators / vectors, 1);
  const std::int64_t cols = std::min<std::int64_t>({OW, lanes, positions});
  return {vectors, std::clamp<std::int64_t>(positions / cols, 1, OH), cols};
}

// The L x L transpose of `rows` (at most L vectors of L lanes; missing rows are poison): column l of the
// result is lane l of every row. Each stage swaps the off-diagonal s x s blocks of every 2s x 2s diagonal
// block, from s = L/2 down to 1: log2(L) stages of L two-vector shuffles.
std::vector<Value*> transposed(llvm::IRBuilder<>& b, std::vector<Value*> rows, unsigned L) {
  rows.resize(L, llvm::PoisonValue::get(llvm::FixedVectorType::get(b.getFloatTy(), L)));
  for (unsigned s = L / 2; s >= 1; s /= 2) {
    std::vector<int> low, high;  // row i takes its own low lanes, then row i+s's; row i+s the rest
    for (unsigned l = 0; l < L; ++l) {
      low.push_back(static_cast<int>((l & s) ? L + l - s : l));
      high.push_back(static_cast<int>((l & s) ? L + l : l + s));
    }
    for (unsigned i = 0; i < L; ++i) {
      if (i & s) continue;
      Value* a = rows[i];
      Value* c = rows[i + s];
      rows[i] = b.CreateShuffleVector(a, c, low);
      rows[i + s] = b.CreateShuffleVector(a, c, high);
    }
  }
  return rows;
}
}  // namespace

// conv2d at stride 1 without padding, images [begin, end), with the output channels in the lanes: a tile of
// ChannelTile accumulators (for 16 channels, 5x5 over 14x14 and AVX-512: one vector by 2 output rows by
// 10 columns) lives in registers over the taps; per tap it loads the tap's weight vectors from the
// transposed filters and multiplies each by one broadcast input element per output position. Each output
// is its taps' sum in the order (c, kh, kw) from zero, as in emitDirectConv and the product over im2col.
// The finished tile is transposed in registers into rows of output columns per channel, stored, or
// passed through the epilogue's members (convEpilogueInRegisters) of which only the stored ones are written.
// Tiles past the last output row recompute it and store the same values again.
void KernelEmitter::emitChannelConv(const ir::Node& n, Value* begin, Value* end, Value* filters,
                                    const ir::FusionGroup* epilogue) {
  if (epilogue && !convEpilogueInRegisters(g_, *epilogue)) epilogue = nullptr;
  const ir::Node& x = operand(n, 0);
  const ConvGeometry c = geometry(n, x, operand(n, 1));
  const std::int64_t O = n.type.shape[1].size, P = c.OH * c.OW, L = lanes_, stride = channelConvStride(O, lanes_);
  const ChannelTile tile = channelTile(O, c.OH, c.OW, lanes_);
  Vectors v(b_, b_.getFloatTy(), static_cast<unsigned>(lanes_));
  forRange(begin, end, [&](Value* img) {
    Value* xImg = at(x, b_.CreateMul(img, c64(c.C * c.H * c.W)));
    Value* yImg = epilogue ? nullptr : at(n, b_.CreateMul(img, c64(O * P)));  // an epilogue stores its members
    for (std::int64_t o0 = 0; o0 < O; o0 += tile.vectors * L) {
      const std::int64_t vectors = std::min(tile.vectors, (O - o0 + L - 1) / L);
      steppedLoop(
          c64(0), c64(c.OH), tile.rows, nullptr,
          [&](Value* i0) {
            std::vector<Value*> i;
            for (std::int64_t u = 0; u < tile.rows; ++u) i.push_back(v.clamp(b_.CreateAdd(i0, c64(u)), c.OH - 1));
            for (std::int64_t j0 = 0; j0 < c.OW; j0 += tile.cols) {
              const std::int64_t cols = std::min(tile.cols, c.OW - j0);
              auto slot = [&](std::int64_t u, std::int64_t j, std::int64_t q) {
                return static_cast<std::size_t>((u * cols + j) * vectors + q);
              };
              std::vector<Value*> acc;  // [row][column][vector]
              for (std::int64_t k = 0; k < tile.rows * cols * vectors; ++k) acc.push_back(scalarSlot(v.vec, v.zero));
              forLoop(c64(c.C), [&](Value* ch) {
                forLoop(c64(c.KH), [&](Value* kh) {
                  std::vector<Value*> row;  // per output row: its input row from column j0
                  for (std::int64_t u = 0; u < tile.rows; ++u) {
                    Value* h = b_.CreateAdd(i[static_cast<std::size_t>(u)], b_.CreateMul(kh, c64(c.d0)));
                    row.push_back(v.gep(
                        xImg,
                        b_.CreateAdd(b_.CreateMul(b_.CreateAdd(b_.CreateMul(ch, c64(c.H)), h), c64(c.W)), c64(j0))));
                  }
                  Value* taps = b_.CreateMul(b_.CreateAdd(b_.CreateMul(ch, c64(c.KH)), kh), c64(c.KW));
                  // A loop, not unrolled: unrolled, LLVM kept the input elements that neighbouring taps share
                  // in registers as broadcast vectors, and spilled the tile.
                  forLoop(c64(c.KW), [&](Value* kw) {
                    Value* wRow =
                        v.gep(filters, b_.CreateAdd(b_.CreateMul(b_.CreateAdd(taps, kw), c64(stride)), c64(o0)));
                    std::vector<Value*> from;  // per output row: the input element of column j0 at this tap
                    for (Value* r : row) from.push_back(v.gep(r, b_.CreateMul(kw, c64(c.d1))));
                    std::vector<Value*> w;
                    for (std::int64_t q = 0; q < vectors; ++q)
                      w.push_back(v.load(v.vec, v.gep(wRow, c64(q * L)), nullptr));
                    for (std::int64_t u = 0; u < tile.rows; ++u)
                      for (std::int64_t j = 0; j < cols; ++j) {
                        Value* xv = v.splat(b_.CreateLoad(v.t, v.gep(from[static_cast<std::size_t>(u)], c64(j))));
                        for (std::int64_t q = 0; q < vectors; ++q) {
                          Value* s = acc[slot(u, j, q)];
                          b_.CreateStore(
                              b_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {v.vec},
                                                 {w[static_cast<std::size_t>(q)], xv, b_.CreateLoad(v.vec, s)}),
                              s);
                        }
                      }
                  });
                });
              });
              Value* inRow = v.lanes(v.L, cols);
              for (std::int64_t u = 0; u < tile.rows; ++u)
                for (std::int64_t q = 0; q < vectors; ++q) {
                  std::vector<Value*> columns;
                  for (std::int64_t j = 0; j < cols; ++j) columns.push_back(b_.CreateLoad(v.vec, acc[slot(u, j, q)]));
                  const std::vector<Value*> channels = transposed(b_, columns, v.L);
                  for (std::int64_t l = 0; l < L && o0 + q * L + l < O; ++l) {
                    Value* o = c64(o0 + q * L + l);
                    Value* offset =
                        b_.CreateAdd(b_.CreateMul(o, c64(P)),
                                     b_.CreateAdd(b_.CreateMul(i[static_cast<std::size_t>(u)], c64(c.OW)), c64(j0)));
                    Value* y = channels[static_cast<std::size_t>(l)];
                    if (!epilogue) {
                      v.store(y, v.gep(yImg, offset), inRow);
                      continue;
                    }
                    emitConvEpilogueVector(*epilogue, y, img, o, i[static_cast<std::size_t>(u)],
                                           b_.CreateAdd(b_.CreateMul(img, c64(O * P)), offset), inRow);
                  }
                }
            }
          },
          "channels.out_rows");
    }
  });
}

// One vector of a direct conv2d's output through its epilogue's members in registers: y at (image, channel
// o, row i) and the row's columns from `offset` (the element's index in the output, lanes outside `mask`
// not stored). An operand from outside the group is one value per row (convEpilogueInRegisters): its
// element at (image, o, i), broadcast to the lanes.
void KernelEmitter::emitConvEpilogueVector(const ir::FusionGroup& k, Value* y, Value* image, Value* o, Value* i,
                                           Value* offset, Value* mask) {
  const ir::Node& conv = g_.node(k.nodes.front());
  const ir::Shape& out = conv.type.shape;
  const auto lanes = static_cast<unsigned>(lanes_);
  Vectors v(b_, elem(conv.type.dtype), lanes);
  Value* const axes[] = {image, o, i};
  std::map<ir::NodeId, Value*> known{{conv.id, y}};
  auto rowValue = [&](const ir::Node& x) {
    // The operand's index at (image, o, i): its own strides, 0 along the axes it is broadcast on.
    Value* index = c64(0);
    Value* stride = c64(1);
    const std::size_t lead = out.size() - x.type.shape.size();
    for (std::size_t d = out.size(); d-- > lead;) {
      const ir::Dim& dim = x.type.shape[d - lead];
      const bool broadcast = !dim.isSymbolic() && dim.size == 1;
      if (!broadcast && d < 3) index = b_.CreateAdd(index, b_.CreateMul(axes[d], stride));
      stride = b_.CreateMul(stride, extent(dim));
    }
    return v.splat(load(x, index));
  };
  if (k.stores(conv.id)) v.store(y, at(conv, offset), mask);
  for (std::size_t m = 1; m < k.nodes.size(); ++m) {
    const ir::Node& n = g_.node(k.nodes[m]);
    std::vector<Value*> args;
    for (ir::NodeId x : n.operands) args.push_back(k.contains(x) ? known.at(x) : rowValue(g_.node(x)));
    known[n.id] = elementwiseValue(n, args);
    if (k.stores(n.id)) v.store(known[n.id], at(n, offset), mask);
  }
}

// conv2d_grad_weight at stride 1 with few taps per output channel (the first layer of an image net: one
// input channel, 5x5), from x and dy directly: im2col would copy each input 25 times and the product's
// depth would be only the taps. Each vector of an output row j.. multiplies dy[o, i, j..] by the input row
// it was computed from, shifted by the tap kw (masked outside the image), into a lane-wise sum per (o, tap):
// a tile of `rows` output channels by every kw lives in registers over the rows i of one image, and the
// lane-wise sums in `sums` over the images; each weight is the ordered sum of its lanes at the end. The
// order of every sum depends on nothing but the shapes, so any split of the output channels over threads
// gives the same bits.
void KernelEmitter::emitDirectConvWeights(const ir::Node& n, Value* begin, Value* end, Value* images, Value* sums) {
  const ir::Node& x = operand(n, 0);
  const ir::Node& dy = operand(n, 1);
  const ConvGeometry c = geometry(n, x, dy);
  const std::int64_t O = n.type.shape[0].size, taps = c.C * c.KH * c.KW, P = c.OH * c.OW;
  const int rows = directWeightRows(O, c.KW, lanes_);
  Vectors v(b_, b_.getFloatTy(), static_cast<unsigned>(lanes_));
  auto sumAt = [&](Value* o, Value* tap) {
    return v.gep(sums, b_.CreateMul(b_.CreateAdd(b_.CreateMul(o, c64(taps)), tap), c64(lanes_)));
  };
  forRange(b_.CreateMul(begin, c64(taps)), b_.CreateMul(end, c64(taps)),
           [&](Value* k) { v.store(v.zero, v.gep(sums, b_.CreateMul(k, c64(lanes_))), nullptr); });
  Value* last = b_.CreateSub(end, c64(1));
  forRange(c64(0), images, [&](Value* img) {
    Value* xImg = at(x, b_.CreateMul(img, c64(c.C * c.H * c.W)));
    Value* dyImg = at(dy, b_.CreateMul(img, c64(O * P)));
    steppedLoop(
        begin, end, rows, nullptr,
        [&](Value* o0) {
          // Rows past the chunk's last recompute it and store the same sums again.
          std::vector<Value*> o;
          for (int r = 0; r < rows; ++r) o.push_back(v.clamp(b_.CreateAdd(o0, c64(r)), last));
          forLoop(c64(c.C), [&](Value* ch) {
            for (std::int64_t kh = 0; kh < c.KH; ++kh) {
              // The output rows i whose input row i + kh d0 - p0 is inside the image.
              const std::int64_t ilo = std::max<std::int64_t>(0, c.p0 - kh * c.d0),
                                 ihi = std::min<std::int64_t>(c.OH, c.H + c.p0 - kh * c.d0);
              if (ihi <= ilo) continue;
              Value* tap0 = b_.CreateMul(b_.CreateAdd(b_.CreateMul(ch, c64(c.KH)), c64(kh)), c64(c.KW));
              std::vector<Value*> acc;  // [r][kw]
              for (int r = 0; r < rows; ++r)
                for (std::int64_t kw = 0; kw < c.KW; ++kw)
                  acc.push_back(scalarSlot(
                      v.vec,
                      v.load(v.vec, sumAt(o[static_cast<std::size_t>(r)], b_.CreateAdd(tap0, c64(kw))), nullptr)));
              forRange(c64(ilo), c64(ihi), [&](Value* i) {
                Value* h = b_.CreateAdd(i, c64(kh * c.d0 - c.p0));
                Value* xRow = v.gep(xImg, b_.CreateMul(b_.CreateAdd(b_.CreateMul(ch, c64(c.H)), h), c64(c.W)));
                for (std::int64_t j0 = 0; j0 < c.OW; j0 += lanes_) {
                  Value* inRow = v.lanes(v.L, c.OW - j0);
                  std::vector<Value*> xs(static_cast<std::size_t>(c.KW), nullptr);
                  for (std::int64_t kw = 0; kw < c.KW; ++kw) {
                    const std::int64_t shift = j0 + kw * c.d1 - c.p1;   // input column of lane 0
                    if (shift >= c.W || shift + lanes_ <= 0) continue;  // every lane outside the image
                    xs[static_cast<std::size_t>(kw)] = v.shiftedRow(xRow, shift, v.lanes(v.L, c.OW - j0, shift, c.W));
                  }
                  for (int r = 0; r < rows; ++r) {
                    Value* d = v.load(v.vec,
                                      v.gep(dyImg, b_.CreateAdd(b_.CreateMul(o[static_cast<std::size_t>(r)], c64(P)),
                                                                b_.CreateAdd(b_.CreateMul(i, c64(c.OW)), c64(j0)))),
                                      inRow);
                    for (std::int64_t kw = 0; kw < c.KW; ++kw) {
                      if (!xs[static_cast<std::size_t>(kw)]) continue;
                      Value* slot = acc[static_cast<std::size_t>(r * c.KW + kw)];
                      b_.CreateStore(
                          b_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {v.vec},
                                             {d, xs[static_cast<std::size_t>(kw)], b_.CreateLoad(v.vec, slot)}),
                          slot);
                    }
                  }
                }
              });
              for (int r = 0; r < rows; ++r)
                for (std::int64_t kw = 0; kw < c.KW; ++kw)
                  v.store(b_.CreateLoad(v.vec, acc[static_cast<std::size_t>(r * c.KW + kw)]),
                          sumAt(o[static_cast<std::size_t>(r)], b_.CreateAdd(tap0, c64(kw))), nullptr);
            }
          });
        },
        "direct.rows");
  });
  // Each weight: its lanes summed in order (an ordered reduction: no reassociation flag).
  forRange(begin, end, [&](Value* o) {
    forLoop(c64(taps), [&](Value* tap) {
      store(n, b_.CreateAdd(b_.CreateMul(o, c64(taps)), tap),
            b_.CreateFAddReduce(fconst(v.t, -0.0), v.load(v.vec, sumAt(o, tap), nullptr)));
    });
  });
}

// max_pool2d, avg_pool2d (padding counts in the average, as PyTorch's default), max_pool2d_grad (dy goes to
// the first maximum of each window) and avg_pool2d_grad (gather form: each input sums the windows it is in).
// The nest splits the planes (image, channel) over threads; a max-pool gradient only adds within its own plane.
void KernelEmitter::emitPoolRange(const ir::Node& n, Value* begin, Value* end) {
  const bool grad = n.op == ir::Op::MaxPool2DGrad || n.op == ir::Op::AvgPool2DGrad;
  const ir::TensorType& xT = grad ? n.type : operand(n, 0).type;
  const ir::TensorType& yT = grad ? operand(n, 0).type : n.type;
  const std::int64_t H = xT.shape[2].size, W = xT.shape[3].size, OH = yT.shape[2].size, OW = yT.shape[3].size;
  const std::int64_t k0 = n.attrs.getInt("kernel", 0), k1 = n.attrs.getInt("kernel", 1),
                     s0 = n.attrs.getInt("stride", 0), s1 = n.attrs.getInt("stride", 1),
                     p0 = n.attrs.getInt("padding", 0), p1 = n.attrs.getInt("padding", 1);
  llvm::Type* t = elem(n.type.dtype);
  Value* invArea = fconst(t, 1.0 / static_cast<double>(k0 * k1));
  auto inRange = [&](Value* v, std::int64_t hi) {
    return b_.CreateAnd(b_.CreateICmpSGE(v, c64(0)), b_.CreateICmpSLT(v, c64(hi)));
  };
  auto at2 = [&](Value* pl, std::int64_t e1, Value* i, std::int64_t e2, Value* j) {
    return b_.CreateAdd(b_.CreateMul(b_.CreateAdd(b_.CreateMul(pl, c64(e1)), i), c64(e2)), j);
  };

  if (p0 == 0 && p1 == 0 && k0 == s0 && k1 == s1 && H == OH * k0 && W == OW * k1)
    return emitTiledPoolRange(n, begin, end);

  if (n.op == ir::Op::AvgPool2DGrad) {
    const ir::Node& dy = operand(n, 0);
    forRange(begin, end, [&](Value* pl) {
      forLoop(c64(H), [&](Value* h) {
        forLoop(c64(W), [&](Value* w) {
          Value* acc = scalarSlot(t, fconst(t, 0));
          forLoop(c64(k0), [&](Value* kh) {
            forLoop(c64(k1), [&](Value* kw) {
              Value* nh = b_.CreateSub(b_.CreateAdd(h, c64(p0)), kh);
              Value* nw = b_.CreateSub(b_.CreateAdd(w, c64(p1)), kw);
              Value* i = b_.CreateSDiv(nh, c64(s0));
              Value* j = b_.CreateSDiv(nw, c64(s1));
              Value* valid =
                  b_.CreateAnd(b_.CreateAnd(b_.CreateICmpSGE(nh, c64(0)), b_.CreateICmpSGE(nw, c64(0))),
                               b_.CreateAnd(b_.CreateAnd(b_.CreateICmpEQ(b_.CreateSRem(nh, c64(s0)), c64(0)),
                                                         b_.CreateICmpEQ(b_.CreateSRem(nw, c64(s1)), c64(0))),
                                            b_.CreateAnd(b_.CreateICmpSLT(i, c64(OH)), b_.CreateICmpSLT(j, c64(OW)))));
              Value* v = load(dy, b_.CreateSelect(valid, at2(pl, OH, i, OW, j), c64(0)));
              b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(t, acc), b_.CreateSelect(valid, v, fconst(t, 0))), acc);
            });
          });
          store(n, at2(pl, H, h, W, w), b_.CreateFMul(b_.CreateLoad(t, acc), invArea));
        });
      });
    });
    return;
  }

  const ir::Node& x = grad ? operand(n, 1) : operand(n, 0);
  if (n.op == ir::Op::MaxPool2DGrad)  // zero this range's planes of dx; the windows add into them
    forRange(b_.CreateMul(begin, c64(H * W)), b_.CreateMul(end, c64(H * W)),
             [&](Value* i) { store(n, i, fconst(t, 0)); });
  forRange(begin, end, [&](Value* pl) {
    forLoop(c64(OH), [&](Value* i) {
      forLoop(c64(OW), [&](Value* j) {
        Value* best = scalarSlot(t, llvm::ConstantFP::getInfinity(t, true));
        Value* sum = scalarSlot(t, fconst(t, 0));
        Value* arg = scalarSlot(i64(), c64(-1));  // stays -1 in a window of -inf, which has no maximum
        forLoop(c64(k0), [&](Value* kh) {
          forLoop(c64(k1), [&](Value* kw) {
            Value* h = b_.CreateAdd(b_.CreateSub(b_.CreateMul(i, c64(s0)), c64(p0)), kh);
            Value* w = b_.CreateAdd(b_.CreateSub(b_.CreateMul(j, c64(s1)), c64(p1)), kw);
            Value* valid = b_.CreateAnd(inRange(h, H), inRange(w, W));
            Value* xi = b_.CreateSelect(valid, at2(pl, H, h, W, w), c64(0));
            Value* v = load(x, xi);
            b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(t, sum), b_.CreateSelect(valid, v, fconst(t, 0))), sum);
            Value* better = b_.CreateAnd(valid, b_.CreateOr(b_.CreateFCmpOGT(v, b_.CreateLoad(t, best)),
                                                            b_.CreateFCmpUNO(v, v)));  // a NaN wins, as in PyTorch
            b_.CreateStore(b_.CreateSelect(better, v, b_.CreateLoad(t, best)), best);
            b_.CreateStore(b_.CreateSelect(better, xi, b_.CreateLoad(i64(), arg)), arg);
          });
        });
        Value* yi = at2(pl, OH, i, OW, j);
        if (n.op == ir::Op::MaxPool2D) {
          store(n, yi, b_.CreateLoad(t, best));
        } else if (n.op == ir::Op::AvgPool2D) {
          store(n, yi, b_.CreateFMul(b_.CreateLoad(t, sum), invArea));
        } else {  // max_pool2d_grad: dy to the window's first maximum; a window without one drops its dy
          Value* a = b_.CreateLoad(i64(), arg);
          Value* found = b_.CreateICmpSGE(a, c64(0));
          Value* target = b_.CreateSelect(found, a, at2(pl, H, c64(0), W, c64(0)));
          Value* d = b_.CreateSelect(found, load(operand(n, 0), yi), fconst(t, 0));
          store(n, target, b_.CreateFAdd(load(n, target), d));
        }
      });
    });
  });
}

// Pooling whose windows tile the image exactly (kernel = stride, no padding, H = OH k0, W = OW k1: the
// CNN's 2 x 2 pools). Every input element is in one window, so there are no bounds tests, and a gradient
// writes each element of dx once, in gather form (dy where the element is its window's first maximum, 0
// elsewhere) instead of zero-filling dx and scattering into it. Since H = OH k0, the planes [begin, end)
// are rows [begin OH, end OH) of windows, each k0 input rows above one output row. A vector holds V
// windows of a row: each input row's k1 V elements are loaded as one wide vector and split into the k1
// vectors of one window column each (and a gradient's joined back the same way), so every load and store
// is contiguous; the row's last vector is masked, not left to scalar code.
void KernelEmitter::emitTiledPoolRange(const ir::Node& n, Value* begin, Value* end) {
  const bool grad = n.op == ir::Op::MaxPool2DGrad || n.op == ir::Op::AvgPool2DGrad;
  const ir::TensorType& xT = grad ? n.type : operand(n, 0).type;
  const ir::TensorType& yT = grad ? operand(n, 0).type : n.type;
  const std::int64_t W = xT.shape[3].size, OH = yT.shape[2].size, OW = yT.shape[3].size;
  const std::int64_t k0 = n.attrs.getInt("kernel", 0), k1 = n.attrs.getInt("kernel", 1);
  const ir::Node* x = n.op == ir::Op::AvgPool2DGrad ? nullptr : &operand(n, grad ? 1 : 0);  // avg_pool2d_grad: dy only
  llvm::Type* t = elem(n.type.dtype);
  // V: a register's lanes, or fewer when a whole row of windows fits in fewer (the CNN's second pool, 5).
  const int regLanes = n.type.dtype == ir::DType::F64 ? std::max(1, lanes_ / 2) : lanes_;
  const auto V = static_cast<unsigned>(std::min<std::int64_t>(regLanes, std::bit_ceil(static_cast<std::uint64_t>(OW))));
  const auto K1 = static_cast<unsigned>(k1);
  Vectors vx(b_, t, V);
  auto* wide = llvm::FixedVectorType::get(t, K1 * V);
  Value* invArea = vx.splat(fconst(t, 1.0 / static_cast<double>(k0 * k1)));
  Value* zero = vx.zero;
  // Windows [j0, j0 + count) of window row r (count <= V; the lanes past it are masked off).
  auto windows = [&](Value* r, Value* j0, std::int64_t count) {
    Value* yAt = b_.CreateAdd(b_.CreateMul(r, c64(OW)), j0);
    Value* xAt = b_.CreateAdd(b_.CreateMul(r, c64(k0 * W)), b_.CreateMul(j0, c64(k1)));
    Value* outMask = vx.lanes(V, count);
    Value* inMask = vx.lanes(K1 * V, count * k1);
    auto xRow = [&](const ir::Node& node, std::int64_t kh) { return at(node, b_.CreateAdd(xAt, c64(kh * W))); };
    auto storeRows = [&](const std::function<std::vector<Value*>(std::int64_t kh)>& columns) {
      for (std::int64_t kh = 0; kh < k0; ++kh)
        vx.store(b_.CreateShuffleVector(llvm::concatenateVectors(b_, columns(kh)), llvm::createInterleaveMask(V, K1)),
                 xRow(n, kh), inMask);
    };
    if (n.op == ir::Op::AvgPool2DGrad) {
      Value* d = b_.CreateFMul(vx.load(vx.vec, at(operand(n, 0), yAt), outMask), invArea);
      storeRows([&](std::int64_t) { return std::vector<Value*>(K1, d); });
      return;
    }
    // The first maximum (strictly greater wins, so ties keep the earlier element; a NaN wins, as in
    // PyTorch; a window of -inf has none), and the sum, over the window's elements in order, row by row.
    Value* best = vx.splat(llvm::ConstantFP::getInfinity(t, true));
    Value* arg = b_.CreateVectorSplat(V, b_.getInt32(static_cast<std::uint32_t>(-1)));
    Value* sum = zero;
    for (std::int64_t kh = 0; kh < k0; ++kh) {
      Value* row = vx.load(wide, xRow(*x, kh), inMask);
      for (unsigned kw = 0; kw < K1; ++kw) {
        Value* v = b_.CreateShuffleVector(row, llvm::createStrideMask(kw, K1, V));
        sum = b_.CreateFAdd(sum, v);
        Value* better = b_.CreateOr(b_.CreateFCmpOGT(v, best), b_.CreateFCmpUNO(v, v));
        best = b_.CreateSelect(better, v, best);
        arg = b_.CreateSelect(better, b_.CreateVectorSplat(V, b_.getInt32(static_cast<std::uint32_t>(kh * k1 + kw))),
                              arg);
      }
    }
    if (n.op == ir::Op::MaxPool2D) return vx.store(best, at(n, yAt), outMask);
    if (n.op == ir::Op::AvgPool2D) return vx.store(b_.CreateFMul(sum, invArea), at(n, yAt), outMask);
    // max_pool2d_grad: dy to the window's first maximum, zero to the others
    Value* d = vx.load(vx.vec, at(operand(n, 0), yAt), outMask);
    storeRows([&](std::int64_t kh) {
      std::vector<Value*> columns;
      for (std::int64_t kw = 0; kw < k1; ++kw) {
        Value* e = b_.CreateVectorSplat(V, b_.getInt32(static_cast<std::uint32_t>(kh * k1 + kw)));
        columns.push_back(b_.CreateSelect(b_.CreateICmpEQ(arg, e), d, zero));
      }
      return columns;
    });
  };
  const std::int64_t full = OW / V * V;
  forRange(b_.CreateMul(begin, c64(OH)), b_.CreateMul(end, c64(OH)), [&](Value* r) {
    if (full > 0)
      steppedLoop(
          c64(0), c64(full), std::int64_t{V}, nullptr, [&](Value* j0) { windows(r, j0, V); }, "windows");
    if (full < OW) windows(r, c64(full), OW - full);
  });
}

}  // namespace sinter::codegen
