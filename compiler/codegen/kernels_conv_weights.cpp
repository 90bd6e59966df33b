// conv2d_grad_weight with the output channels in the lanes (channelConvWeights): the weight gradient of a
// convolution whose input has several channels (conv2 of a LeNet), which im2col and the product computed
// with a depth of only the output positions and copied every input KH·KW times.
#include "compiler/codegen/kernel_emitter.h"

#include <algorithm>

namespace sinter::codegen {

namespace {
// The accumulators of one register tile: the vector registers (32 with AVX-512, else 16) less the dy vector
// and one spare.
std::int64_t weightAccumulators(int lanes) { return lanes >= 16 ? 30 : 14; }

// The taps of one register tile: whole rows of KW taps, as many rows as fit the accumulators (every row of
// a 5x5 filter: 25 accumulators). A row wider than the accumulators is not taken (channelConvWeights).
std::int64_t weightTileRows(std::int64_t KH, std::int64_t KW, int lanes) {
  return std::clamp<std::int64_t>(weightAccumulators(lanes) / KW, 1, KH);
}
}  // namespace

// The output channels in the lanes pay off from half an AVX-512 vector (8 channels), as for channelConv.
// Padding would need a masked broadcast per tap and dilation other input addresses: those stay on im2col
// and the product. KW must fit one tile's accumulators with AVX2 too (14).
bool channelConvWeights(const ir::Graph& g, const ir::Node& n) {
  if (n.op != ir::Op::Conv2DGradWeight || n.type.dtype != ir::DType::F32 || directConv(g, n)) return false;
  for (int d = 0; d < 2; ++d)
    if (n.attrs.getInt("stride", d) != 1 || n.attrs.getInt("padding", d) != 0 || n.attrs.getInt("dilation", d) != 1)
      return false;
  return n.type.shape[0].size >= 8 && n.type.shape[3].size <= weightAccumulators(8);
}

std::int64_t channelConvWeightsScratch(const ir::Graph& g, const ir::Node& n, int lanes) {
  const ir::Shape& dy = g.node(n.operands[1]).type.shape;
  const std::int64_t P = dy[2].size * dy[3].size, O = n.type.shape[0].size;
  const std::int64_t taps = n.type.shape[1].size * n.type.shape[2].size * n.type.shape[3].size;
  return ((P + lanes - 1) / lanes * lanes + taps) * channelConvStride(O, lanes);
}

// Input channels [begin, end) of a channelConvWeights conv2d_grad_weight over images [0, images):
//   dw[o, c, kh, kw] = Σ_n Σ_(i,j) dy[n, o, i, j] x[n, c, i + kh, j + kw]
// with o in the lanes. `scratch` holds dyT, one image's dy transposed to [position][o] (rows
// channelConvStride apart, positions rounded up to whole vectors), then `sums`, the lane-wise sums
// [c][kh][kw][o]. Per image, dy is transposed in registers, L positions by L channels at a time; then per
// input channel, output-channel vector and tile of tap rows (weightTileRows), the tile's sums live in
// registers over the image's positions: per position one vector of dyT and one multiply-add per tap with
// the broadcast input element. Each weight sums its terms images, then i, then j, from zero, whatever the
// split of the input channels over threads, so the bits do not depend on the threads. At the end the sums
// of the chunk's channels are scattered into dw's [O][C][KH][KW].
void KernelEmitter::emitChannelConvWeights(const ir::Node& n, Value* begin, Value* end, Value* images, Value* scratch) {
  const ir::Node& x = operand(n, 0);
  const ir::Node& dy = operand(n, 1);
  const std::int64_t O = n.type.shape[0].size, C = n.type.shape[1].size, KH = n.type.shape[2].size,
                     KW = n.type.shape[3].size, H = x.type.shape[2].size, W = x.type.shape[3].size,
                     OH = dy.type.shape[2].size, OW = dy.type.shape[3].size, P = OH * OW, KK = KH * KW;
  const std::int64_t L = lanes_, S = channelConvStride(O, lanes_), vectors = S / L;
  const std::int64_t positions = (P + L - 1) / L * L, tileRows = weightTileRows(KH, KW, lanes_);
  llvm::Type* t = b_.getFloatTy();
  auto* vec = llvm::FixedVectorType::get(t, static_cast<unsigned>(L));
  const llvm::Align align(4);
  auto gep = [&](Value* p, Value* off) { return b_.CreateInBoundsGEP(t, p, off); };
  Value* dyT = scratch;
  Value* sums = gep(scratch, c64(positions * S));
  // The chunk's sums start at zero.
  steppedLoop(
      b_.CreateMul(begin, c64(KK * S)), b_.CreateMul(end, c64(KK * S)), L, nullptr,
      [&](Value* k) { b_.CreateAlignedStore(llvm::Constant::getNullValue(vec), gep(sums, k), align); }, "lanes.zero");
  // Not unrolled over the output columns: neighbouring columns share input elements, which LLVM would keep
  // in registers as broadcast vectors and spill the tile.
  llvm::MDNode* columnsHint = noUnrollHint();
  forRange(c64(0), images, [&](Value* img) {
    // dyT[p][o] = dy[img, o, p], L positions by L channels per transpose; channels past O are zero.
    Value* dyImg = at(dy, b_.CreateMul(img, c64(O * P)));
    steppedLoop(
        c64(0), c64(P), L, nullptr,
        [&](Value* p0) {
          Value* inImage = lanesBelow(p0, c64(P));
          for (std::int64_t q = 0; q < vectors; ++q) {
            std::vector<Value*> rows;
            for (std::int64_t l = 0; l < L; ++l) {
              const std::int64_t o = q * L + l;
              Value* zero = llvm::Constant::getNullValue(vec);
              rows.push_back(
                  o < O ? b_.CreateMaskedLoad(vec, gep(dyImg, b_.CreateAdd(c64(o * P), p0)), align, inImage, zero)
                        : zero);
            }
            rows = transposeSquare(rows);
            for (std::int64_t r = 0; r < L; ++r)
              b_.CreateAlignedStore(rows[static_cast<std::size_t>(r)],
                                    gep(dyT, b_.CreateAdd(b_.CreateMul(b_.CreateAdd(p0, c64(r)), c64(S)), c64(q * L))),
                                    align);
          }
        },
        "lanes.transpose");
    forRange(begin, end, [&](Value* c) {
      Value* xPlane = at(x, b_.CreateMul(b_.CreateAdd(b_.CreateMul(img, c64(C)), c), c64(H * W)));
      for (std::int64_t q = 0; q < vectors; ++q)
        for (std::int64_t kh0 = 0; kh0 < KH; kh0 += tileRows) {
          const std::int64_t rows = std::min(tileRows, KH - kh0);
          auto sumAt = [&](std::int64_t r, std::int64_t kw) {
            return gep(sums, b_.CreateAdd(b_.CreateMul(c, c64(KK * S)), c64(((kh0 + r) * KW + kw) * S + q * L)));
          };
          std::vector<Value*> acc;  // [row][kw]
          for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t kw = 0; kw < KW; ++kw)
              acc.push_back(scalarSlot(vec, b_.CreateAlignedLoad(vec, sumAt(r, kw), align)));
          forLoop(c64(OH), [&](Value* i) {
            Value* xRow = gep(xPlane, b_.CreateMul(b_.CreateAdd(i, c64(kh0)), c64(W)));
            Value* dyRow = gep(dyT, b_.CreateAdd(b_.CreateMul(i, c64(OW * S)), c64(q * L)));
            steppedLoop(
                c64(0), c64(OW), 1, columnsHint,
                [&](Value* j) {
                  Value* d = b_.CreateAlignedLoad(vec, gep(dyRow, b_.CreateMul(j, c64(S))), align);
                  Value* from = gep(xRow, j);
                  for (std::int64_t r = 0; r < rows; ++r)
                    for (std::int64_t kw = 0; kw < KW; ++kw) {
                      Value* xv =
                          b_.CreateVectorSplat(static_cast<unsigned>(L), b_.CreateLoad(t, gep(from, c64(r * W + kw))));
                      Value* s = acc[static_cast<std::size_t>(r * KW + kw)];
                      b_.CreateStore(
                          b_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vec}, {d, xv, b_.CreateLoad(vec, s)}), s);
                    }
                },
                "lanes.columns");
          });
          for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t kw = 0; kw < KW; ++kw)
              b_.CreateAlignedStore(b_.CreateLoad(vec, acc[static_cast<std::size_t>(r * KW + kw)]), sumAt(r, kw),
                                    align);
        }
    });
  });
  // dw[o, c, tap] = sums[c][tap][o] for the chunk's channels.
  forRange(begin, end, [&](Value* c) {
    forLoop(c64(KK), [&](Value* tap) {
      Value* row = gep(sums, b_.CreateMul(b_.CreateAdd(b_.CreateMul(c, c64(KK)), tap), c64(S)));
      Value* col = b_.CreateAdd(b_.CreateMul(c, c64(KK)), tap);
      for (std::int64_t o = 0; o < O; ++o)
        store(n, b_.CreateAdd(c64(o * C * KK), col), b_.CreateLoad(t, gep(row, c64(o))));
    });
  });
}

}  // namespace sinter::codegen
