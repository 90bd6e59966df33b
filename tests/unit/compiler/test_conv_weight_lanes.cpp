// conv2d_grad_weight with the output channels in the lanes (channelConvWeights, emitChannelConvWeights): the
// schedule it gets, the train step against the f64 interpreter, the weight gradient's bits against each
// weight's terms summed with fused multiply-adds over images, then rows, then columns from zero, and the
// same bits when its input channels are split over two threads. Shapes cover one vector of output channels
// (16), half of one (8) and one and a half (24); one and six input channels; KH != KW; output rows and
// columns that are no multiple of a vector; a tile of taps smaller than the filter (a row of 12 taps, and
// the AVX2 tile); and a symbolic batch.
#include <cmath>

#include "compiler/codegen/kernel_emitter.h"
#include "op_cases.h"

using namespace sinter;
using ir::Op;
using namespace sinter::test::ops;

namespace {

struct Shape {
  std::int64_t C, O, H, W, KH, KW, images;  // images 0: a symbolic batch
};

// dw of Σ conv2d(x, w) · probe, each weight the fused multiply-adds of probe (its dy) and x over images,
// rows, then columns, from zero, in f32.
std::vector<double> reference(const Shape& s, const std::map<std::string, ir::Tensor>& args, std::int64_t images) {
  const std::vector<double>& x = args.at("x").data;
  const std::vector<double>& dy = args.at("probe").data;
  const std::int64_t OH = s.H - s.KH + 1, OW = s.W - s.KW + 1;
  std::vector<double> dw;
  for (std::int64_t o = 0; o < s.O; ++o)
    for (std::int64_t c = 0; c < s.C; ++c)
      for (std::int64_t kh = 0; kh < s.KH; ++kh)
        for (std::int64_t kw = 0; kw < s.KW; ++kw) {
          float acc = 0.f;
          for (std::int64_t img = 0; img < images; ++img)
            for (std::int64_t i = 0; i < OH; ++i)
              for (std::int64_t j = 0; j < OW; ++j) {
                const auto xv =
                    static_cast<float>(x[static_cast<std::size_t>(((img * s.C + c) * s.H + i + kh) * s.W + j + kw)]);
                const auto dv = static_cast<float>(dy[static_cast<std::size_t>(((img * s.O + o) * OH + i) * OW + j)]);
                acc = std::fma(dv, xv, acc);
              }
          dw.push_back(acc);
        }
  return dw;
}

void check(const Shape& s, const std::string& cpu = "") {
  INFO("conv C " << s.C << " O " << s.O << " " << s.H << "x" << s.W << " kernel " << s.KH << "x" << s.KW << " images "
                 << s.images << " cpu '" << cpu << "'");
  Builder b;
  const ir::Dim n = s.images ? test::d(s.images) : test::batch();
  // x is an input, so that the train step's results are the loss and dw only.
  const ir::NodeId x = b.g.addInput("x", test::f32({n, test::d(s.C), test::d(s.H), test::d(s.W)}));
  const ir::NodeId w = b.P("w", {test::d(s.O), test::d(s.C), test::d(s.KH), test::d(s.KW)});
  const ir::NodeId y =
      b.op(Op::Conv2D, {x, w}, attrs({{"stride", Ints{1, 1}}, {"padding", Ints{0, 0}}, {"dilation", Ints{1, 1}}}));
  ir::Module m = test::makeModule(wrap(b, y));
  int weightGrads = 0;
  for (const ir::Node& node : m.trainStep.nodes)
    if (node.op == Op::Conv2DGradWeight) {
      ++weightGrads;
      CHECK(codegen::channelConvWeights(m.trainStep, node));
    }
  REQUIRE(weightGrads == 1);
  CHECK(test::printSchedule(m.trainStep).find("then per input channel a tile of taps by output channels") !=
        std::string::npos);
  codegen::Options options;
  options.targetCpu = cpu;
  auto jit = test::compileJit(m, options);
  const sinter_model_desc* desc = jit->descriptor();
  const std::int64_t images = s.images ? s.images : 3;
  const auto args = argsFor(b, 29);
  *desc->parallel_for = nullptr;
  test::compareWithInterpreter(m.trainStep, desc->train_step, args, {images}, 1e-4, 1e-4, {true, 1});
  // Bits: the ordered sum of fused multiply-adds, on one thread and with the input channels on two.
  const std::vector<std::vector<double>> one = test::runEntry(desc->train_step, m.trainStep, args, {images}, 1);
  REQUIRE(one.size() == 2);
  CHECK(one[1] == reference(s, args, images));
  *desc->parallel_for = test::twoThreads;
  CHECK(test::runEntry(desc->train_step, m.trainStep, args, {images}, 1) == one);
  *desc->parallel_for = nullptr;
}

}  // namespace

TEST_CASE("conv2d_grad_weight with the output channels in the lanes matches the interpreter and the ordered sum") {
  // The CNN's second layer: 6 -> 16 channels, 5x5 over 14x14 (one tile of all 25 taps, rows of 10).
  check({6, 16, 14, 14, 5, 5, 3});
  // 8 output channels (half a vector), a 3x4 kernel over 11x13: 9 rows of 10 columns.
  check({6, 8, 11, 13, 3, 4, 2});
  // 24 output channels (two vectors, the second half-used), a 4x3 kernel, a symbolic batch (run with 3).
  check({3, 24, 9, 17, 4, 3, 0});
  // One input channel with 42 taps (too many for the direct form): one chunk of one channel.
  check({1, 16, 15, 12, 7, 6, 2});
  // Rows of 12 taps: tiles of two kernel rows and then one.
  check({2, 8, 6, 20, 3, 12, 2});
}

TEST_CASE("conv2d_grad_weight with the output channels in the lanes on 8 lanes matches the interpreter") {
  // AVX2: 16 channels are two vectors and a tile holds two kernel rows of 5 taps.
  check({6, 16, 14, 14, 5, 5, 2}, "haswell");
  check({3, 24, 9, 17, 4, 3, 0}, "haswell");
}

TEST_CASE("weight gradients that keep im2col or the direct form do not take the output channels in the lanes") {
  Builder b;
  auto grad = [&](std::int64_t O, std::int64_t C, std::int64_t KW, std::int64_t stride, std::int64_t padding,
                  std::int64_t dilation) {
    const ir::NodeId x = b.P("x" + std::to_string(b.g.nodes.size()), {d(2), d(C), d(20), d(20)});
    const std::int64_t OH = (20 - dilation * 4 - 1 + 2 * padding) / stride + 1,
                       OW = (20 - dilation * (KW - 1) - 1 + 2 * padding) / stride + 1;
    const ir::NodeId dy = b.P("dy" + std::to_string(b.g.nodes.size()), {d(2), d(O), d(OH), d(OW)});
    return b.g.node(b.typed(Op::Conv2DGradWeight, {x, dy}, test::f32({d(O), d(C), d(5), d(KW)}),
                            attrs({{"stride", Ints{stride, stride}},
                                   {"padding", Ints{padding, padding}},
                                   {"dilation", Ints{dilation, dilation}}})));
  };
  CHECK(codegen::channelConvWeights(b.g, grad(16, 6, 5, 1, 0, 1)));
  CHECK_FALSE(codegen::channelConvWeights(b.g, grad(16, 6, 5, 1, 2, 1)));   // padding
  CHECK_FALSE(codegen::channelConvWeights(b.g, grad(16, 6, 5, 2, 0, 1)));   // stride 2
  CHECK_FALSE(codegen::channelConvWeights(b.g, grad(16, 6, 5, 1, 0, 2)));   // dilation
  CHECK_FALSE(codegen::channelConvWeights(b.g, grad(7, 6, 5, 1, 0, 1)));    // fewer than 8 output channels
  CHECK_FALSE(codegen::channelConvWeights(b.g, grad(16, 1, 5, 1, 0, 1)));   // direct: 25 taps
  CHECK_FALSE(codegen::channelConvWeights(b.g, grad(16, 2, 15, 1, 0, 1)));  // a row of 15 taps
}
