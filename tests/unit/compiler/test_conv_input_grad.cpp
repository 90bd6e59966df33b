// conv2d_grad_input computed directly as a full correlation (directConvInput, emitDirectConvInput): the
// schedule it gets, its values against the f64 interpreter (forward and train step), its bits against
// each element's terms summed with fused multiply-adds in the order (kh, kw, o) from zero, and the same
// bits when its images are split over two threads. Shapes cover one, six and sixteen input channels (a
// chunk of channels past C that recomputes the last one), 8, 16 and 24 output channels, KH != KW, odd
// output rows and columns, rows of dx wider than one vector, padding, dilation, several images and a
// symbolic batch, and the AVX2 tile (8 lanes).
#include <cmath>

#include "compiler/codegen/kernel_emitter.h"
#include "compiler/codegen/kernel_plan.h"
#include "op_cases.h"

using namespace sinter;
using ir::Op;
using namespace sinter::test::ops;

namespace {

struct Shape {
  std::int64_t C, O, H, W, KH, KW, p, dil, images;  // dx [images, C, H, W]; images 0: a symbolic batch
  std::int64_t OH() const { return H + 2 * p - dil * (KH - 1); }
  std::int64_t OW() const { return W + 2 * p - dil * (KW - 1); }
};

Attrs convAttrs(const Shape& s, std::int64_t stride = 1) {
  return attrs({{"stride", Ints{stride, stride}}, {"padding", Ints{s.p, s.p}}, {"dilation", Ints{s.dil, s.dil}}});
}

// value = conv2d_grad_input(dy, w), loss = Σ value · probe (through a reshape).
struct Net {
  Builder b;
  ir::Module m;
};

std::unique_ptr<Net> build(const Shape& s) {
  auto net = std::make_unique<Net>();
  Builder& b = net->b;
  const ir::Dim n = s.images ? test::d(s.images) : test::batch();
  const ir::TensorType dyT = test::f32({n, d(s.O), d(s.OH()), d(s.OW())});
  const ir::NodeId dy = s.images ? b.P("dy", dyT.shape) : b.g.addInput("dy", dyT);
  const ir::NodeId w = b.P("w", {d(s.O), d(s.C), d(s.KH), d(s.KW)});
  const std::int64_t size = s.C * s.H * s.W;
  const ir::NodeId probe = b.g.addInput("probe", test::f32({n, d(size)}));
  const ir::NodeId dx = b.typed(Op::Conv2DGradInput, {dy, w}, test::f32({n, d(s.C), d(s.H), d(s.W)}), convAttrs(s));
  const ir::NodeId flat = b.typed(Op::Reshape, {dx}, test::f32({n, d(size)}));
  const ir::NodeId loss =
      b.op(Op::ReduceSum, {b.op(Op::Mul, {flat, probe})}, attrs({{"axes", Ints{0, 1}}, {"keepdims", std::int64_t{0}}}));
  b.g.name = "conv_input";
  b.g.results = {{"value", dx, ir::Result::Output}, {"loss", loss, ir::Result::Loss}};
  net->m = test::makeModule(b.g);
  return net;
}

// dx, each element its terms' fused multiply-adds in f32 in the order (kh, kw, o) from zero.
std::vector<double> reference(const Shape& s, const std::map<std::string, ir::Tensor>& args, std::int64_t images) {
  const std::vector<double>& dy = args.at("dy").data;
  const std::vector<double>& w = args.at("w").data;
  const std::int64_t OH = s.OH(), OW = s.OW();
  std::vector<double> dx;
  for (std::int64_t img = 0; img < images; ++img)
    for (std::int64_t c = 0; c < s.C; ++c)
      for (std::int64_t h = 0; h < s.H; ++h)
        for (std::int64_t x = 0; x < s.W; ++x) {
          float acc = 0.f;
          for (std::int64_t kh = 0; kh < s.KH; ++kh)
            for (std::int64_t kw = 0; kw < s.KW; ++kw)
              for (std::int64_t o = 0; o < s.O; ++o) {
                const std::int64_t i = h + s.p - kh * s.dil, j = x + s.p - kw * s.dil;
                if (i < 0 || i >= OH || j < 0 || j >= OW) continue;
                const auto dv = static_cast<float>(dy[static_cast<std::size_t>(((img * s.O + o) * OH + i) * OW + j)]);
                const auto wv =
                    static_cast<float>(w[static_cast<std::size_t>(((o * s.C + c) * s.KH + kh) * s.KW + kw)]);
                acc = std::fma(wv, dv, acc);
              }
          dx.push_back(acc);
        }
  return dx;
}

void check(const Shape& s, const std::string& cpu = "") {
  INFO("conv_input C " << s.C << " O " << s.O << " dx " << s.H << "x" << s.W << " kernel " << s.KH << "x" << s.KW
                       << " padding " << s.p << " dilation " << s.dil << " images " << s.images << " cpu '" << cpu
                       << "'");
  const auto net = build(s);
  const ir::Module& m = net->m;
  codegen::loop::Target target;
  target.lanes = cpu == "haswell" ? 8 : 16;
  int grads = 0;
  for (const ir::FusionGroup& k : codegen::planKernels(m.forward).kernels) {
    const ir::Node& n = m.forward.node(k.nodes.front());
    if (n.op != Op::Conv2DGradInput) continue;
    ++grads;
    CHECK(codegen::directConvInput(m.forward, n, target.lanes));
  }
  CHECK(grads == 1);
  CHECK(test::printSchedule(m.forward, target).find("direct full correlation") != std::string::npos);
  const std::int64_t images = s.images ? s.images : 3;
  const auto args = argsFor(net->b, 17);
  // Values against the interpreter; bits against the ordered sum of fused multiply-adds.
  test::checkJitAndBits(m, cpu, args, images, reference(s, args, images));
}

}  // namespace

TEST_CASE("conv2d_grad_input as a direct full correlation matches the interpreter and the ordered sum") {
  // The CNN's second layer: dx 6 x 14 x 14 from dy 16 x 10 x 10 through 5x5 filters.
  check({6, 16, 14, 14, 5, 5, 0, 1, 3});
  // One input channel, 8 output channels, a 3x4 kernel, dy 7 x 8 (odd rows), dx rows of 9 x 11.
  check({1, 8, 9, 11, 3, 4, 0, 1, 2});
  // 16 input channels (chunks of 4), 24 output channels, dx rows of 21 columns (two vectors), 5x3.
  check({16, 24, 13, 21, 5, 3, 0, 1, 2});
  // 7 input channels: a last chunk past C; padding 1.
  check({7, 16, 10, 12, 3, 3, 1, 1, 2});
  // Dilation 2 and a symbolic batch (run with 3 images).
  check({6, 16, 11, 13, 3, 3, 0, 2, 0});
}

TEST_CASE("conv2d_grad_input as a direct full correlation on 8 lanes matches the interpreter") {
  check({6, 16, 14, 14, 5, 5, 0, 1, 2}, "haswell");
  check({7, 8, 10, 12, 3, 4, 1, 1, 2}, "haswell");
}

TEST_CASE("input gradients that keep the product and col2im are not direct") {
  // Stride 2; a kernel row of 9 taps; an image too large to unroll.
  Builder b;
  auto grad = [&](const Shape& s, std::int64_t stride) {
    const std::int64_t OH = (s.H + 2 * s.p - s.dil * (s.KH - 1) - 1) / stride + 1;
    const std::int64_t OW = (s.W + 2 * s.p - s.dil * (s.KW - 1) - 1) / stride + 1;
    const std::string tag = std::to_string(b.g.nodes.size());
    const ir::NodeId dy = b.P("dy" + tag, {d(2), d(s.O), d(OH), d(OW)});
    const ir::NodeId w = b.P("w" + tag, {d(s.O), d(s.C), d(s.KH), d(s.KW)});
    return b.g.node(b.typed(Op::Conv2DGradInput, {dy, w}, test::f32({d(2), d(s.C), d(s.H), d(s.W)}),
                            convAttrs(s, stride)));
  };
  CHECK(codegen::directConvInput(b.g, grad({6, 16, 14, 14, 5, 5, 0, 1, 2}, 1), 16));
  CHECK_FALSE(codegen::directConvInput(b.g, grad({6, 16, 14, 14, 5, 5, 0, 1, 2}, 2), 16));
  CHECK_FALSE(codegen::directConvInput(b.g, grad({6, 16, 14, 20, 3, 9, 0, 1, 2}, 1), 16));
  CHECK_FALSE(codegen::directConvInput(b.g, grad({6, 16, 64, 64, 5, 5, 0, 1, 2}, 1), 16));
}
