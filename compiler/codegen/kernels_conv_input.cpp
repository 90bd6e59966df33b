// The input gradient of a small f32 convolution at stride 1, computed directly from dy and the filters as
// a full correlation (no product into a patch matrix, no col2im): dx's columns in the lanes.
#include <algorithm>
#include <vector>

#include "compiler/codegen/kernel_emitter.h"
#include "compiler/codegen/vectors.h"

namespace sinter::codegen {
namespace {

// The shapes of dx [N, C, H, W] = conv2d_grad_input(dy [N, O, OH, OW], w [O, C, KH, KW]) and its attributes.
struct InputGradShape {
  std::int64_t C, H, W, O, OH, OW, KH, KW, s0, s1, p0, p1, d0, d1;
};
InputGradShape inputGradShape(const ir::Graph& g, const ir::Node& n) {
  const ir::TensorType& dy = g.node(n.operands[0]).type;
  const ir::TensorType& w = g.node(n.operands[1]).type;
  const ir::Attrs& a = n.attrs;
  return {n.type.shape[1].size,  n.type.shape[2].size,   n.type.shape[3].size,   w.shape[0].size,
          dy.shape[2].size,      dy.shape[3].size,       w.shape[2].size,        w.shape[3].size,
          a.getInt("stride", 0), a.getInt("stride", 1),  a.getInt("padding", 0), a.getInt("padding", 1),
          a.getInt("dilation", 0), a.getInt("dilation", 1)};
}

// The register tile: `rows` rows of dx by `channels` input channels, one vector of dx's columns wide. The
// accumulators, one dy vector per row and a broadcast weight must fit the vector registers (32 with
// AVX-512, else 16). Among the channel counts that fit, the one with the fewest cycles per tap over all
// chunks, counted as ceil(C / channels) x the larger of its FMAs and its loads (rows + channels; a chunk
// past C recomputes its last channel), then the largest.
struct InputGradTile {
  std::int64_t rows, channels;
};
InputGradTile inputGradTile(std::int64_t C, std::int64_t H, int lanes) {
  const std::int64_t rows = std::min<std::int64_t>(H, lanes >= 16 ? 4 : 2);
  const std::int64_t most = std::max<std::int64_t>((lanes >= 16 ? 24 : 12) / rows, 1);
  auto cost = [&](std::int64_t c) { return (C + c - 1) / c * std::max(c * rows, rows + c); };
  std::int64_t best = 1;
  for (std::int64_t c = 1; c <= std::min(C, most); ++c)
    if (cost(c) <= cost(best)) best = c;
  return {rows, best};
}

// The bodies emitDirectConvInput unrolls for one chunk of channels: per tile of rows and vector of columns,
// every tap (kh, kw).
std::int64_t unrolledTaps(const InputGradShape& s, int lanes) {
  const InputGradTile tile = inputGradTile(s.C, s.H, lanes);
  return (s.H + tile.rows - 1) / tile.rows * ((s.W + lanes - 1) / lanes) * s.KH * s.KW;
}
}  // namespace

// Stride 1 in both axes (other strides would leave most lanes' terms zero), kernel rows of at most 8
// (the kernel columns are unrolled, each with its mask), and at most 512 unrolled tap bodies per chunk of
// channels (the tiles of rows, vectors of columns and taps are unrolled so that the rows and columns
// outside dy are skipped when the code is generated): e.g. conv2 of the CNN, 6 channels of 14 x 14 from
// 16 of 10 x 10 through 5 x 5 filters (100 bodies). Larger images and filters stay on the product and
// col2im, whose work has no border waste.
bool directConvInput(const ir::Graph& g, const ir::Node& n, int lanes) {
  if (n.op != ir::Op::Conv2DGradInput || n.type.dtype != ir::DType::F32) return false;
  const InputGradShape s = inputGradShape(g, n);
  return s.s0 == 1 && s.s1 == 1 && s.KW <= 8 && unrolledTaps(s, lanes) <= 512;
}

// dx[n, c, h, w] = Σ_o,kh,kw dy[n, o, h + p0 - kh d0, w + p1 - kw d1] w[o, c, kh, kw] (stride 1, terms
// outside dy zero), images [begin, end). A tile of `rows` rows of dx by `channels` input channels, one
// vector of columns, lives in registers over the taps and the output channels; per tap (kh, kw), a loop
// over o loads the tile rows' dy vectors, shifted by kw and masked where the column falls outside dy, and
// broadcasts the channels' weights: rows x channels FMAs. The tiles of rows, the vectors of columns and
// the taps are unrolled, so the masks are constants and a (row, kh) pair whose dy row lies outside dy is
// skipped when the code is generated (at conv2's borders, 20 of 70). Each element is its terms' sum in
// the order (kh, kw, o) from zero, which depends on the shapes only. Channel chunks past C recompute the
// last channel and store the same values.
void KernelEmitter::emitDirectConvInput(const ir::Node& n, Value* begin, Value* end) {
  const ir::Node& dy = operand(n, 0);
  const ir::Node& wt = operand(n, 1);
  const InputGradShape s = inputGradShape(g_, n);
  const InputGradTile tile = inputGradTile(s.C, s.H, lanes_);
  const std::int64_t L = lanes_, taps = s.C * s.KH * s.KW;
  Vectors v(b_, b_.getFloatTy(), static_cast<unsigned>(L));
  Value* w = at(wt, c64(0));
  // The loop over o stays a loop: unrolled, LLVM hoisted the dy loads of later taps and spilled the tile.
  llvm::MDNode* noUnroll = noUnrollHint();
  forRange(begin, end, [&](Value* img) {
    Value* dyImg = at(dy, b_.CreateMul(img, c64(s.O * s.OH * s.OW)));
    Value* dxImg = at(n, b_.CreateMul(img, c64(s.C * s.H * s.W)));
    steppedLoop(
        c64(0), c64(s.C), tile.channels, nullptr,
        [&](Value* c0) {
          std::vector<Value*> ch;  // the tile's channels, clamped to the last one
          for (std::int64_t r = 0; r < tile.channels; ++r) {
            Value* c = b_.CreateAdd(c0, c64(r));
            ch.push_back(b_.CreateSelect(b_.CreateICmpSLT(c, c64(s.C - 1)), c, c64(s.C - 1)));
          }
          for (std::int64_t h0 = 0; h0 < s.H; h0 += tile.rows) {
            const std::int64_t rows = std::min(tile.rows, s.H - h0);
            for (std::int64_t w0 = 0; w0 < s.W; w0 += L) {
              Value* inRow = v.lanes(v.L, s.W - w0, 0, s.W);
              std::vector<Value*> acc;  // [channel][row]
              for (std::int64_t k = 0; k < tile.channels * rows; ++k) acc.push_back(scalarSlot(v.vec, v.zero));
              for (std::int64_t kh = 0; kh < s.KH; ++kh)
                for (std::int64_t kw = 0; kw < s.KW; ++kw) {
                  const std::int64_t j0 = w0 + s.p1 - kw * s.d1;  // dy's column of lane 0
                  Value* mask = v.lanes(v.L, s.W - w0, j0, s.OW);
                  if (mask && llvm::cast<llvm::Constant>(mask)->isNullValue()) continue;  // every lane outside
                  std::vector<std::int64_t> live;  // the tile's rows whose dy row lies inside dy, and that row
                  std::vector<std::int64_t> dyRow;
                  for (std::int64_t u = 0; u < rows; ++u) {
                    const std::int64_t i = h0 + u + s.p0 - kh * s.d0;
                    if (i < 0 || i >= s.OH) continue;
                    live.push_back(u);
                    dyRow.push_back(i);
                  }
                  if (live.empty()) continue;
                  std::vector<Value*> wTap;  // per channel: its weight of this tap for o = 0
                  for (Value* c : ch)
                    wTap.push_back(b_.CreateInBoundsGEP(
                        v.t, w, b_.CreateAdd(b_.CreateMul(c, c64(s.KH * s.KW)), c64(kh * s.KW + kw))));
                  steppedLoop(
                      c64(0), c64(s.O), 1, noUnroll,
                      [&](Value* o) {
                        Value* dyPlane = b_.CreateGEP(v.t, dyImg, b_.CreateMul(o, c64(s.OH * s.OW)));
                        std::vector<Value*> dyv;
                        for (std::int64_t i : dyRow) {
                          dyv.push_back(v.shiftedRow(b_.CreateGEP(v.t, dyPlane, c64(i * s.OW)), j0, mask));
                        }
                        for (std::int64_t r = 0; r < tile.channels; ++r) {
                          Value* wv = b_.CreateVectorSplat(
                              static_cast<unsigned>(L),
                              b_.CreateLoad(v.t, b_.CreateInBoundsGEP(v.t, wTap[static_cast<std::size_t>(r)],
                                                                    b_.CreateMul(o, c64(taps)))));
                          for (std::size_t q = 0; q < live.size(); ++q) {
                            Value* slot = acc[static_cast<std::size_t>(r * rows + live[q])];
                            b_.CreateStore(b_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {v.vec},
                                                              {wv, dyv[q], b_.CreateLoad(v.vec, slot)}),
                                           slot);
                          }
                        }
                      },
                      "conv_input.o");
                }
              for (std::int64_t r = 0; r < tile.channels; ++r)
                for (std::int64_t u = 0; u < rows; ++u) {
                  Value* p = b_.CreateInBoundsGEP(
                      v.t, dxImg,
                      b_.CreateAdd(b_.CreateMul(ch[static_cast<std::size_t>(r)], c64(s.H * s.W)),
                                   c64((h0 + u) * s.W + w0)));
                  v.store(b_.CreateLoad(v.vec, acc[static_cast<std::size_t>(r * rows + u)]), p, inRow);
                }
            }
          }
        },
        "conv_input.channels");
  });
}

}  // namespace sinter::codegen
