// The f32 convolution paths other than im2col and the product, against the f64 interpreter: conv2d and its
// weight gradient computed directly (few taps, stride 1: the first layer of an image net) and col2im
// as a gather at stride 1 (and as a scatter at other strides). Shapes cover output rows of more than one
// vector, padding and dilation on either axis, output-channel counts that leave a partial register tile,
// and a symbolic batch.
#include "compiler/codegen/kernel_emitter.h"
#include "op_cases.h"

using namespace sinter;
using ir::Op;
using namespace sinter::test::ops;

namespace {

struct ConvShape {
  std::int64_t C, O, H, W, KH, KW, s0, s1, p0, p1, d0, d1, images;  // images 0: a symbolic batch
};

// Builds conv2d(x, w) with the shape, checks which path the convolution and its weight gradient take, and
// compares the forward pass and the train step (both gradients) with the interpreter.
void check(const ConvShape& s, bool direct) {
  INFO("conv C " << s.C << " O " << s.O << " " << s.H << "x" << s.W << " kernel " << s.KH << "x" << s.KW << " stride "
                 << s.s0 << "," << s.s1 << " padding " << s.p0 << "," << s.p1 << " dilation " << s.d0 << "," << s.d1
                 << " images " << s.images);
  Builder b;
  const ir::Dim n = s.images ? test::d(s.images) : test::batch();
  // With a symbolic batch, x is an input (no input gradient); otherwise a parameter, so that the train step
  // also computes conv2d_grad_input and its col2im.
  const ir::TensorType xt = test::f32({n, test::d(s.C), test::d(s.H), test::d(s.W)});
  const ir::NodeId x = s.images ? b.P("x", xt.shape) : b.g.addInput("x", xt);
  const ir::NodeId w = b.P("w", {test::d(s.O), test::d(s.C), test::d(s.KH), test::d(s.KW)});
  const ir::NodeId y =
      b.op(Op::Conv2D, {x, w},
           attrs({{"stride", Ints{s.s0, s.s1}}, {"padding", Ints{s.p0, s.p1}}, {"dilation", Ints{s.d0, s.d1}}}));
  ir::Module m = test::makeModule(wrap(b, y));
  int weightGrads = 0;
  for (const ir::Node& node : m.trainStep.nodes)
    if (node.op == Op::Conv2DGradWeight) {
      ++weightGrads;
      CHECK(codegen::directConv(m.trainStep, node) == direct);
    }
  REQUIRE(weightGrads == 1);
  int forward = 0;
  for (const ir::Node& node : m.forward.nodes)
    if (node.op == Op::Conv2D) {
      ++forward;
      CHECK(codegen::directConv(m.forward, node) == direct);
    }
  REQUIRE(forward == 1);
  auto jit = test::compileJit(m, {});
  auto args = argsFor(b, 7);
  test::compareWithInterpreter(m.forward, jit->descriptor()->forward, args, {3}, 1e-4, 1e-4, {false, 0});
  test::compareWithInterpreter(m.trainStep, jit->descriptor()->train_step, args, {3}, 1e-4, 1e-4, {true, 1});
}

}  // namespace

TEST_CASE("direct small convolutions and their weight gradients match the interpreter") {
  // The CNN's first layer: one channel, 5x5, padding 2, rows of 28 (two vectors, the second partial).
  check({1, 6, 28, 28, 5, 5, 1, 1, 2, 2, 1, 1, 3}, true);
  // Seven output channels and 9 output rows: partial register tiles; rows of 37 (three vectors); padding
  // and dilation differ per axis, so that some kernel rows see no input row at the image's edges.
  check({2, 7, 11, 37, 3, 4, 1, 1, 1, 2, 2, 1, 2}, true);
  // One output channel, no padding, a 1x1 kernel, dilation on both axes.
  check({3, 1, 6, 5, 1, 1, 1, 1, 0, 0, 2, 2, 2}, true);
  check({2, 5, 9, 20, 3, 3, 1, 1, 1, 1, 2, 3, 2}, true);
  // A symbolic batch (run with 3 images).
  check({1, 4, 12, 19, 3, 3, 1, 1, 1, 1, 1, 1, 0}, true);
  // Not direct: stride 2, or more taps than the direct form keeps in registers.
  check({1, 3, 12, 13, 3, 3, 2, 1, 1, 1, 1, 1, 2}, false);
  check({6, 4, 9, 9, 3, 3, 1, 1, 1, 1, 1, 1, 2}, false);
}

TEST_CASE("col2im gathers at stride 1 and scatters otherwise, matching the interpreter") {
  // Input rows of 40 (three vectors) and 17: the gather's masked last vector; padding wider than the
  // dilated kernel's reach on one axis leaves output positions that read only zeros.
  check({3, 8, 7, 40, 3, 5, 1, 1, 1, 2, 1, 2, 2}, false);
  check({2, 3, 10, 17, 2, 2, 1, 1, 3, 0, 1, 1, 2}, true);
  // Strides of 2 on either axis: the scatter form.
  check({2, 5, 11, 18, 3, 3, 2, 1, 1, 1, 1, 1, 2}, false);
  check({2, 5, 11, 18, 3, 3, 1, 2, 0, 1, 1, 2, 2}, false);
}
