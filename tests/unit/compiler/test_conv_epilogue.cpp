// conv + epilogue kernels (a conv2d with the elementwise ops after it: bias add, activation) against the f64
// interpreter, forward and train step: on the direct convolution's register tiles (one input channel, stride
// 1) and those of the output channels in the lanes (stride 1, no padding), on each image's output after its
// convolution (im2col and the product, or an epilogue the registers do not take: tanh, an operand that
// varies along the row), with and without a bias, at stride 2 with padding, and with a symbolic batch. Each
// case also checks the kernel the plan gives the convolution.
#include "compiler/codegen/kernel_emitter.h"
#include "compiler/codegen/kernel_plan.h"
#include "op_cases.h"

using namespace sinter;
using ir::Op;
using namespace sinter::test::ops;

namespace {

struct ConvCase {
  std::int64_t C, O, H, W, K, stride, padding, images;  // images 0: a symbolic batch
};

enum class Expect { Alone, InRegisters, PerImage };

// An epilogue: given the convolution's output type, makes its operands (before the convolution, as a
// model's parameters are) and returns what it applies to the convolution's output y.
using Apply = std::function<ir::NodeId(ir::NodeId y)>;
using Epilogue = std::function<Apply(Builder&, const ir::TensorType& out)>;

// The kernel that computes the conv2d of graph g.
const ir::FusionGroup& convKernel(const ir::Graph& g, const codegen::KernelProgram& p) {
  for (const ir::FusionGroup& k : p.kernels)
    if (g.node(k.nodes.front()).op == Op::Conv2D) return k;
  FAIL("no conv2d kernel");
  throw std::logic_error("unreachable");
}

bool stores(const ir::FusionGroup& k, ir::NodeId id) {
  return std::find(k.stored.begin(), k.stored.end(), id) != k.stored.end();
}

void check(const ConvCase& s, bool direct, Expect expect, const Epilogue& epilogue) {
  INFO("conv C " << s.C << " O " << s.O << " " << s.H << "x" << s.W << " kernel " << s.K << " stride " << s.stride
                 << " padding " << s.padding << " images " << s.images);
  Builder b;
  const ir::Dim n = s.images ? test::d(s.images) : test::batch();
  const std::int64_t OH = (s.H + 2 * s.padding - s.K) / s.stride + 1, OW = (s.W + 2 * s.padding - s.K) / s.stride + 1;
  const ir::TensorType out = test::f32({n, d(s.O), d(OH), d(OW)});
  const ir::TensorType xt = test::f32({n, test::d(s.C), test::d(s.H), test::d(s.W)});
  const ir::NodeId x = s.images ? b.P("x", xt.shape) : b.g.addInput("x", xt);
  const ir::NodeId w = b.P("w", {test::d(s.O), test::d(s.C), test::d(s.K), test::d(s.K)});
  const Apply apply = epilogue(b, out);
  const ir::NodeId probe = b.g.addInput("probe", test::f32({n, d(s.O * OH * OW)}));
  const ir::NodeId y = b.op(Op::Conv2D, {x, w},
                            attrs({{"stride", Ints{s.stride, s.stride}},
                                   {"padding", Ints{s.padding, s.padding}},
                                   {"dilation", Ints{1, 1}}}));
  const ir::NodeId value = apply(y);
  // loss = Σ value · probe, through a reshape, so that the loss's product does not join the epilogue.
  const ir::NodeId flat = b.typed(Op::Reshape, {value}, test::f32({n, d(s.O * OH * OW)}));
  const ir::NodeId loss =
      b.op(Op::ReduceSum, {b.op(Op::Mul, {flat, probe})}, attrs({{"axes", Ints{0, 1}}, {"keepdims", std::int64_t{0}}}));
  b.g.name = "conv";
  b.g.results = {{"value", value, ir::Result::Output}, {"loss", loss, ir::Result::Loss}};
  ir::Module m = test::makeModule(b.g);
  for (const ir::Graph* g : {&m.forward, &m.trainStep}) {
    INFO(g->name);
    const codegen::KernelProgram plan = codegen::planKernels(*g);
    const ir::FusionGroup& k = convKernel(*g, plan);
    const ir::Node& conv = g->node(k.nodes.front());
    CHECK(codegen::directConv(*g, conv) == direct);
    CHECK(k.kind == (expect == Expect::Alone ? ir::KernelKind::Convolution : ir::KernelKind::ConvEpilogue));
    CHECK(codegen::convEpilogueInRegisters(*g, k) == (expect == Expect::InRegisters));
    // The convolution's own output reaches memory only when the epilogue reads it back or nothing follows,
    // in the train step too: the activations here (relu, leaky_relu with α > 0, tanh) have gradients that
    // read their output, so no member but the last (and the read-back convolution) is stored.
    CHECK(stores(k, conv.id) == (expect != Expect::InRegisters));
    for (std::size_t i = 1; i + 1 < k.nodes.size(); ++i) {
      INFO("member %" << k.nodes[i] << " " << ir::opName(g->node(k.nodes[i]).op));
      CHECK_FALSE(stores(k, k.nodes[i]));
    }
    CHECK(stores(k, k.nodes.back()));
  }
  auto jit = test::compileJit(m, {});
  auto args = argsFor(b, 11);
  test::compareWithInterpreter(m.forward, jit->descriptor()->forward, args, {3}, 1e-4, 1e-4, {false, 0});
  test::compareWithInterpreter(m.trainStep, jit->descriptor()->train_step, args, {3}, 1e-4, 1e-4, {true, 1});
}

ir::NodeId channels(Builder& b, const std::string& name, const ir::TensorType& out) {
  return b.P(name, {out.shape[1], d(1), d(1)});
}

const Epilogue kBiasRelu = [](Builder& b, const ir::TensorType& out) -> Apply {
  const ir::NodeId bias = channels(b, "b", out);
  return [&b, bias](ir::NodeId y) { return b.op(Op::Relu, {b.op(Op::Add, {y, bias})}); };
};
const Epilogue kRelu = [](Builder& b, const ir::TensorType&) -> Apply {
  return [&b](ir::NodeId y) { return b.op(Op::Relu, {y}); };
};
const Epilogue kNone = [](Builder&, const ir::TensorType&) -> Apply { return [](ir::NodeId y) { return y; }; };
// A scale and a bias per channel, then leaky_relu: two operands from outside, one value per row each. The
// scale is an input: a trained one would make its gradient read the convolution's output, which then
// has two readers and no epilogue.
const Epilogue kScaleBiasLeaky = [](Builder& b, const ir::TensorType& out) -> Apply {
  const ir::NodeId scale = b.g.addInput("s", test::f32({out.shape[1], d(1), d(1)})), bias = channels(b, "b", out);
  return [&b, scale, bias](ir::NodeId y) {
    return b.op(Op::LeakyRelu, {b.op(Op::Add, {b.op(Op::Mul, {scale, y}), bias})}, attrs({{"alpha", 0.1}}));
  };
};
// tanh is a polynomial the loop vectorizer widens: read back per image.
const Epilogue kBiasTanh = [](Builder& b, const ir::TensorType& out) -> Apply {
  const ir::NodeId bias = channels(b, "b", out);
  return [&b, bias](ir::NodeId y) { return b.op(Op::Tanh, {b.op(Op::Add, {y, bias})}); };
};
// A residual of the output's shape varies along the row: read back per image. It is computed (a tanh of an
// input), so the memory planner may write the sum over it in place.
const Epilogue kResidual = [](Builder& b, const ir::TensorType& out) -> Apply {
  const ir::NodeId r = b.op(Op::Tanh, {b.g.addInput("r", out)});
  return [&b, r](ir::NodeId y) { return b.op(Op::Relu, {b.op(Op::Add, {y, r})}); };
};

}  // namespace

TEST_CASE("a direct conv2d with its epilogue in registers matches the interpreter") {
  // The CNN's first layer: one channel, 5x5, padding 2, rows of 28 (the second vector partial).
  check({1, 6, 28, 28, 5, 1, 2, 3}, true, Expect::InRegisters, kBiasRelu);
  check({1, 6, 28, 28, 5, 1, 2, 3}, true, Expect::InRegisters, kRelu);
  // Seven channels (a partial register tile of channels), 9 output rows (a partial tile of rows), rows
  // of 37 (three vectors).
  check({2, 7, 11, 37, 3, 1, 1, 2}, true, Expect::InRegisters, kScaleBiasLeaky);
  // A symbolic batch (run with 3 images).
  check({1, 4, 12, 19, 3, 1, 1, 0}, true, Expect::InRegisters, kBiasRelu);
  check({1, 6, 28, 28, 5, 1, 2, 3}, true, Expect::Alone, kNone);
  // The CNN's second layer (no padding): the output channels in the lanes (test_conv_channels.cpp).
  check({6, 16, 14, 14, 5, 1, 0, 3}, false, Expect::InRegisters, kBiasRelu);
  check({4, 8, 9, 11, 3, 1, 0, 2}, false, Expect::InRegisters, kScaleBiasLeaky);
}

TEST_CASE("a conv2d with its epilogue per image matches the interpreter") {
  // Direct convolutions whose epilogue the registers do not take.
  check({1, 6, 28, 28, 5, 1, 2, 3}, true, Expect::PerImage, kBiasTanh);
  check({1, 5, 10, 13, 3, 1, 1, 2}, true, Expect::PerImage, kResidual);
  // im2col and the product: the CNN's second layer with padding, and more.
  check({6, 16, 14, 14, 5, 1, 2, 3}, false, Expect::PerImage, kBiasRelu);
  check({4, 7, 9, 11, 3, 1, 1, 2}, false, Expect::PerImage, kScaleBiasLeaky);
  check({4, 7, 9, 11, 3, 1, 1, 2}, false, Expect::PerImage, kResidual);
  check({4, 4, 8, 9, 3, 1, 1, 0}, false, Expect::PerImage, kBiasTanh);
  // Stride 2 with padding: not direct even with one input channel.
  check({1, 5, 12, 13, 3, 2, 1, 2}, false, Expect::PerImage, kBiasRelu);
  check({4, 7, 9, 11, 3, 1, 1, 2}, false, Expect::Alone, kNone);
}
