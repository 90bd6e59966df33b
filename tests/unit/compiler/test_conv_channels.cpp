// conv2d with the output channels in the lanes (channelConv, emitChannelConv): the schedule it gets, its
// values against the f64 interpreter (forward and train step), its bits against each output's taps summed
// with fused multiply-adds in the order (c, kh, kw) from zero, and the same bits when its images are split
// over two threads. Shapes cover one vector of channels (16), half of one (8), one and a half (24) and more
// than one tile of vectors (40); output rows that leave a partial tile of rows or of columns; one and six
// input channels; dilation; a symbolic batch; with and without the bias and ReLU epilogue; and the AVX2
// tile (8 lanes, two vectors of channels).
#include <cmath>

#include "compiler/codegen/kernel_emitter.h"
#include "compiler/codegen/kernel_plan.h"
#include "op_cases.h"

using namespace sinter;
using ir::Op;
using namespace sinter::test::ops;

namespace {

struct Shape {
  std::int64_t C, O, H, W, KH, KW, d, images;  // images 0: a symbolic batch
};

// y = conv2d(x, w), then relu(y + b) when `biasRelu`; the result "value" is the last of them.
struct Net {
  Builder b;
  ir::Module m;
  std::int64_t OH = 0, OW = 0;
};

std::unique_ptr<Net> build(const Shape& s, bool biasRelu) {
  auto net = std::make_unique<Net>();
  Builder& b = net->b;
  const ir::Dim n = s.images ? test::d(s.images) : test::batch();
  net->OH = s.H - s.d * (s.KH - 1);
  net->OW = s.W - s.d * (s.KW - 1);
  const ir::TensorType out = test::f32({n, d(s.O), d(net->OH), d(net->OW)});
  const ir::TensorType xt = test::f32({n, test::d(s.C), test::d(s.H), test::d(s.W)});
  const ir::NodeId x = s.images ? b.P("x", xt.shape) : b.g.addInput("x", xt);
  const ir::NodeId w = b.P("w", {test::d(s.O), test::d(s.C), test::d(s.KH), test::d(s.KW)});
  const ir::NodeId bias = biasRelu ? b.P("b", {d(s.O), d(1), d(1)}) : -1;
  const ir::NodeId probe = b.g.addInput("probe", test::f32({n, d(s.O * net->OH * net->OW)}));
  const ir::NodeId y =
      b.op(Op::Conv2D, {x, w}, attrs({{"stride", Ints{1, 1}}, {"padding", Ints{0, 0}}, {"dilation", Ints{s.d, s.d}}}));
  const ir::NodeId value = biasRelu ? b.op(Op::Relu, {b.op(Op::Add, {y, bias})}) : y;
  // loss = Σ value · probe, through a reshape, so that the loss's product does not join the epilogue.
  const ir::NodeId flat = b.typed(Op::Reshape, {value}, test::f32({n, d(s.O * net->OH * net->OW)}));
  const ir::NodeId loss =
      b.op(Op::ReduceSum, {b.op(Op::Mul, {flat, probe})}, attrs({{"axes", Ints{0, 1}}, {"keepdims", std::int64_t{0}}}));
  b.g.name = "conv";
  b.g.results = {{"value", value, ir::Result::Output}, {"loss", loss, ir::Result::Loss}};
  net->m = test::makeModule(b.g);
  return net;
}

// The forward value, each output its taps' fused multiply-adds in the order (c, kh, kw) from zero, in f32,
// then relu(y + b) when `biasRelu`.
std::vector<double> reference(const Shape& s, const Net& net, const std::map<std::string, ir::Tensor>& args,
                              std::int64_t images, bool biasRelu) {
  const std::vector<double>& x = args.at("x").data;
  const std::vector<double>& w = args.at("w").data;
  std::vector<double> y;
  for (std::int64_t img = 0; img < images; ++img)
    for (std::int64_t o = 0; o < s.O; ++o)
      for (std::int64_t i = 0; i < net.OH; ++i)
        for (std::int64_t j = 0; j < net.OW; ++j) {
          float acc = 0.f;
          for (std::int64_t c = 0; c < s.C; ++c)
            for (std::int64_t kh = 0; kh < s.KH; ++kh)
              for (std::int64_t kw = 0; kw < s.KW; ++kw) {
                const auto xv = static_cast<float>(
                    x[static_cast<std::size_t>(((img * s.C + c) * s.H + i + kh * s.d) * s.W + j + kw * s.d)]);
                const auto wv =
                    static_cast<float>(w[static_cast<std::size_t>(((o * s.C + c) * s.KH + kh) * s.KW + kw)]);
                acc = std::fma(wv, xv, acc);
              }
          if (biasRelu) acc = std::max(acc + static_cast<float>(args.at("b").data[static_cast<std::size_t>(o)]), 0.f);
          y.push_back(acc);
        }
  return y;
}

void check(const Shape& s, bool biasRelu, const std::string& cpu = "") {
  INFO("conv C " << s.C << " O " << s.O << " " << s.H << "x" << s.W << " kernel " << s.KH << "x" << s.KW << " dilation "
                 << s.d << " images " << s.images << (biasRelu ? " bias relu" : "") << " cpu '" << cpu << "'");
  const auto net = build(s, biasRelu);
  const ir::Module& m = net->m;
  for (const ir::Graph* g : {&m.forward, &m.trainStep}) {
    INFO(g->name);
    const codegen::KernelProgram plan = codegen::planKernels(*g);
    int convs = 0;
    for (const ir::FusionGroup& k : plan.kernels) {
      const ir::Node& conv = g->node(k.nodes.front());
      if (conv.op != Op::Conv2D) continue;
      ++convs;
      CHECK(codegen::channelConv(*g, conv));
      CHECK_FALSE(codegen::directConv(*g, conv));
      CHECK(k.kind == (biasRelu ? ir::KernelKind::ConvEpilogue : ir::KernelKind::Convolution));
      CHECK(codegen::convEpilogueInRegisters(*g, k) == biasRelu);
    }
    CHECK(convs == 1);
    CHECK(test::printSchedule(*g).find("output channels in the lanes") != std::string::npos);
  }
  const std::int64_t images = s.images ? s.images : 3;
  const auto args = argsFor(net->b, 13);
  // Values against the interpreter; bits against the ordered sum of fused multiply-adds.
  test::checkJitAndBits(m, cpu, args, images, reference(s, *net, args, images, biasRelu));
}

}  // namespace

TEST_CASE("conv2d with the output channels in the lanes matches the interpreter and the ordered sum") {
  // The CNN's second layer: 6 -> 16 channels, 5x5 over 14x14 (tiles of 2 rows by 10 columns, no partial).
  check({6, 16, 14, 14, 5, 5, 1, 3}, true);
  check({6, 16, 14, 14, 5, 5, 1, 3}, false);
  // One input channel with 49 taps (too many for the direct form), 8 channels (half a vector), 9 output
  // rows of 13 columns (a partial tile of rows).
  check({1, 8, 15, 19, 7, 7, 1, 2}, true);
  check({1, 8, 15, 19, 7, 7, 1, 2}, false);
  // 24 channels (two vectors, the second half-used), rows of 21 columns (a full tile of columns and a
  // partial one), a 3x4 kernel.
  check({6, 24, 12, 24, 3, 4, 1, 2}, true);
  check({6, 24, 12, 24, 3, 4, 1, 2}, false);
  // 40 channels: a tile of two vectors and one of a half; dilation 2; a symbolic batch (run with 3 images).
  check({4, 40, 11, 13, 3, 3, 2, 0}, true);
  check({4, 40, 11, 13, 3, 3, 2, 0}, false);
}

TEST_CASE("conv2d with the output channels in the lanes on 8 lanes matches the interpreter") {
  // AVX2: 16 channels are two vectors and a tile holds 6 output positions.
  check({6, 16, 14, 14, 5, 5, 1, 2}, true, "haswell");
  check({6, 24, 12, 24, 3, 4, 1, 2}, false, "haswell");
}

TEST_CASE("convolutions that keep im2col do not take the channels in the lanes") {
  // Padding, stride 2, too few channels, and the direct form's shapes.
  Builder b;
  const ir::NodeId x = b.P("x", {d(2), d(6), d(14), d(14)});
  auto conv = [&](std::int64_t O, std::int64_t C, std::int64_t stride, std::int64_t padding) {
    const ir::NodeId in = C == 6 ? x : b.P("x1", {d(2), d(1), d(14), d(14)});
    const ir::NodeId w = b.P("w" + std::to_string(b.g.nodes.size()), {d(O), d(C), d(5), d(5)});
    return b.g.node(
        b.op(Op::Conv2D, {in, w},
             attrs({{"stride", Ints{stride, stride}}, {"padding", Ints{padding, padding}}, {"dilation", Ints{1, 1}}})));
  };
  CHECK(codegen::channelConv(b.g, conv(16, 6, 1, 0)));
  CHECK_FALSE(codegen::channelConv(b.g, conv(16, 6, 1, 2)));
  CHECK_FALSE(codegen::channelConv(b.g, conv(16, 6, 2, 0)));
  CHECK_FALSE(codegen::channelConv(b.g, conv(7, 6, 1, 0)));
  CHECK_FALSE(codegen::channelConv(b.g, conv(16, 1, 1, 0)));  // direct: 25 taps
}
