// Every op alone: gradients against central finite differences (f64 interpreter), and JIT-compiled code
// (forward and train step) against the interpreter. Shapes are odd on purpose and include broadcasting.
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <random>

#include "op_cases.h"

using namespace sinter;
using ir::Attrs;
using ir::Op;

using namespace sinter::test::ops;

TEST_CASE("every op: gradient matches central differences") {
  for (const OpCase& c : cases()) {
    SECTION(c.name) {
      Builder b;
      ir::Graph g = wrap(b, c.build(b));
      REQUIRE(ir::verify(g).empty());
      auto args = argsFor(b, 7);
      auto rows = autodiff::gradCheck(g, "loss", args, 1000);
      for (const auto& r : rows) {
        INFO(c.name << ": " << r.param << " max abs error " << r.maxAbsError << ", max rel " << r.maxRelError);
        CHECK(r.checked > 0);
        CHECK(r.ok == c.gradMatches);
      }
    }
  }
}

TEST_CASE("every op: generated code matches the interpreter, forward and train step") {
  for (const OpCase& c : cases()) {
    if (!c.compiled) continue;
    SECTION(c.name) {
      Builder b;
      ir::Graph g = wrap(b, c.build(b));
      ir::Module m = test::makeModule(g);
      REQUIRE(ir::verify(m.trainStep).empty());
      auto jit = test::compileJit(m, {});
      auto args = argsFor(b, 11);
      test::compareWithInterpreter(m.forward, jit->descriptor()->forward, args, {3}, 1e-4, 1e-5, {false, 0});
      test::compareWithInterpreter(m.trainStep, jit->descriptor()->train_step, args, {3}, 1e-4, 1e-5, {true, 12345});
    }
  }
}

// Products and convolutions on random shapes, drawn afresh from a fixed seed: every form (A B, Aᵀ B, A Bᵀ,
// batched), rows and columns that are and are not whole register tiles, sizes of 1, depths that cross the
// cache blocks; convolutions with random stride, padding and dilation. The train step runs the backward
// forms (both convolution gradients, the transposed products) on the same shapes.
TEST_CASE("random shapes: products and convolutions match the interpreter") {
  std::mt19937 rng(20261129);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int round = 0; round < 12; ++round) {
    const Op form = std::array{Op::MatMul, Op::MatMulTN, Op::MatMulNT}[static_cast<std::size_t>(pick(0, 2))];
    // Every third round is deep and wide enough to be packed and cut into K blocks (K > 256).
    const bool deep = round % 3 == 0;
    const std::int64_t M = pick(0, 3) == 0 ? 1 : pick(1, 40), K = deep ? pick(257, 600) : pick(1, 64),
                       N = deep              ? pick(33, 140)
                           : pick(0, 3) == 0 ? 1
                                             : pick(1, 80),
                       batch = pick(0, 2) == 0 ? 2 : 0;
    INFO(ir::opName(form) << " M " << M << " K " << K << " N " << N << " batch " << batch);
    Builder b;
    auto shape = [&](std::int64_t r, std::int64_t c) {
      std::vector<ir::Dim> s = {d(r), d(c)};
      if (batch) s.insert(s.begin(), d(batch));
      return s;
    };
    ir::NodeId a = b.P("a", form == Op::MatMulTN ? shape(K, M) : shape(M, K));
    ir::NodeId w = b.P("w", form == Op::MatMulNT ? shape(N, K) : shape(K, N));
    // Every other round adds the product to a value of its type: computed straight into the sum's buffer.
    ir::NodeId product = b.op(form, {a, w});
    if (round % 2 == 1) product = b.op(Op::Add, {b.P("acc", shape(M, N)), product});
    ir::Module m = test::makeModule(wrap(b, product));
    auto jit = test::compileJit(m, {});
    auto args = argsFor(b, static_cast<std::uint64_t>(round));
    test::compareWithInterpreter(m.forward, jit->descriptor()->forward, args, {3}, 1e-4, 1e-4, {false, 0});
    test::compareWithInterpreter(m.trainStep, jit->descriptor()->train_step, args, {3}, 1e-4, 1e-4, {true, 1});
  }
  for (int round = 0; round < 6; ++round) {
    const std::int64_t C = pick(1, 4), O = pick(1, 9), kh = pick(1, 3), kw = pick(1, 3), s0 = pick(1, 2),
                       s1 = pick(1, 2), p0 = pick(0, 1), p1 = pick(0, 1), d0 = pick(1, 2), d1 = pick(1, 2);
    const std::int64_t H = pick((kh - 1) * d0 + 1, 12), W = pick((kw - 1) * d1 + 1, 12), images = pick(1, 3);
    INFO("conv C " << C << " O " << O << " " << H << "x" << W << " kernel " << kh << "x" << kw << " stride " << s0
                   << "," << s1 << " padding " << p0 << "," << p1 << " dilation " << d0 << "," << d1 << " images "
                   << images);
    Builder b;
    ir::NodeId y = b.op(Op::Conv2D, {b.P("x", {d(images), d(C), d(H), d(W)}), b.P("w", {d(O), d(C), d(kh), d(kw)})},
                        attrs({{"stride", Ints{s0, s1}}, {"padding", Ints{p0, p1}}, {"dilation", Ints{d0, d1}}}));
    ir::Module m = test::makeModule(wrap(b, y));
    auto jit = test::compileJit(m, {});
    auto args = argsFor(b, 100 + static_cast<std::uint64_t>(round));
    test::compareWithInterpreter(m.forward, jit->descriptor()->forward, args, {3}, 1e-4, 1e-4, {false, 0});
    test::compareWithInterpreter(m.trainStep, jit->descriptor()->train_step, args, {3}, 1e-4, 1e-4, {true, 1});
  }
}

TEST_CASE("hand-derived derivatives") {
  // d/dx σ(x) at 0 is 1/4; d/dx tanh(x) at 0 is 1; d/dx softplus(x) at 0 is 1/2; d/dx gelu(x) at 0 is 1/2.
  for (auto [o, expect] : {std::pair{Op::Sigmoid, 0.25}, {Op::Tanh, 1.0}, {Op::Softplus, 0.5}, {Op::Gelu, 0.5}}) {
    Builder b;
    ir::NodeId x = b.P("x", {});
    ir::Graph g = wrap(b, b.op(o, {x}));
    auto out =
        ir::interpret(autodiff::buildTrainStep(g, "loss"), {{"x", ir::Tensor::zeros({})}, {"probe", {{}, {1.0}}}});
    CHECK(out[1].data[0] == Approx(expect).epsilon(1e-12));
  }
}

// relu's and leaky_relu's gradients read the activation's output y (same sign as x), so that a fused bias
// add before them need not be stored; leaky_relu with α < 0 flips y's sign below 0 and reads x. At both
// signs, ±0, a value just above 0 and NaN, hand-derived: d/dx Σ probe · f(x) = probe · f'(x) with f'(x) 1
// above 0 and 0 (relu) or α elsewhere (NaN too: NaN > 0 is false), in the f64 interpreter and in compiled
// f32 code.
TEST_CASE("relu and leaky_relu gradients read the output: hand-derived at both signs, zeros and NaN") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> xs = {-2, -0.5, -0.0, 0.0, 1e-30, 0.5, 3, nan};
  const std::vector<double> probe = {1, 2, 3, 4, 5, 6, 7, 8};
  struct Case {
    Op op;
    double alpha;
    bool readsOutput;
  };
  for (const Case c : {Case{Op::Relu, 0, true}, Case{Op::LeakyRelu, 0.2, true}, Case{Op::LeakyRelu, 0, true},
                       Case{Op::LeakyRelu, -0.5, false}}) {
    INFO(ir::opName(c.op) << " alpha " << c.alpha);
    Builder b;
    const ir::NodeId x = b.P("x", {d(8)});
    const ir::NodeId y = b.op(c.op, {x}, c.op == Op::Relu ? Attrs{} : attrs({{"alpha", c.alpha}}));
    ir::Module m = test::makeModule(wrap(b, y));
    int grads = 0;
    for (const ir::Node& n : m.trainStep.nodes)
      if (n.op == Op::ReluGrad || n.op == Op::LeakyReluGrad) {
        ++grads;
        CHECK(n.operands[1] == (c.readsOutput ? y : x));
      }
    CHECK(grads == 1);
    std::vector<double> expect(xs.size());
    for (std::size_t i = 0; i < xs.size(); ++i) expect[i] = probe[i] * (xs[i] > 0 ? 1 : c.alpha);
    const std::map<std::string, ir::Tensor> args = {{"x", {{8}, xs}}, {"probe", {{8}, probe}}};
    auto jit = test::compileJit(m, {});
    const auto interpreted = ir::interpret(m.trainStep, args, {true, 0});
    const auto compiled = test::runEntry(jit->descriptor()->train_step, m.trainStep, args, {}, 0);
    REQUIRE(m.trainStep.results[1].name == "grad.x");
    for (std::size_t i = 0; i < xs.size(); ++i) {
      INFO("x = " << xs[i]);
      CHECK(interpreted[1].data[i] == Approx(expect[i]).epsilon(1e-12));
      CHECK(compiled[1][i] == Approx(expect[i]).epsilon(1e-6));
    }
    // The forward value: NaN stays NaN (relu is not max(x, 0) with a NaN-dropping max).
    const auto value = test::runEntry(jit->descriptor()->forward, m.forward, args, {}, 0);
    CHECK(std::isnan(value[0][7]));
    CHECK(std::isnan(ir::interpret(m.forward, args)[0].data[7]));
  }
}

TEST_CASE("second order: the gradient of a gradient (gradient penalty)") {
  // L = CE(tanh(x w1) w2, y); penalty = Σ (dL/dw1)²; differentiating the penalty differentiates the
  // backward pass itself (matmul_nt/_tn, mul, sub, cross_entropy_grad is avoided by using an MSE-like loss).
  Builder b;
  ir::Graph& g = b.g;
  g.name = "penalty";
  ir::NodeId x = g.addInput("x", test::f32({d(3), d(4)}));
  ir::NodeId t = g.addInput("t", test::f32({d(3), d(2)}));
  ir::NodeId w1 = b.P("w1", {d(4), d(5)});
  ir::NodeId w2 = b.P("w2", {d(5), d(2)});
  ir::NodeId h = b.op(Op::Tanh, {b.op(Op::MatMul, {x, w1})});
  ir::NodeId e = b.op(Op::Sub, {b.op(Op::MatMul, {h, w2}), t});
  ir::NodeId loss =
      b.op(Op::ReduceSum, {b.op(Op::Mul, {e, e})}, attrs({{"axes", Ints{0, 1}}, {"keepdims", std::int64_t{0}}}));
  g.results = {{"loss", loss, ir::Result::Loss}};
  ir::Graph step = autodiff::buildTrainStep(g, "loss");
  ir::NodeId gw1 = step.results[1].node;
  ir::NodeId penalty = step.addOp(Op::ReduceSum, {step.addOp(Op::Mul, {gw1, gw1})},
                                  attrs({{"axes", Ints{0, 1}}, {"keepdims", std::int64_t{0}}}));
  step.results = {{"penalty", penalty, ir::Result::Loss}};
  REQUIRE(ir::verify(step).empty());
  auto rows = autodiff::gradCheck(step, "penalty", test::randomArgs(step, 3, 5), 1000);
  for (const auto& r : rows) {
    INFO(r.param << " max abs error " << r.maxAbsError);
    CHECK(r.ok);
  }
}

TEST_CASE("an op without a gradient rule on a needed path is reported with its location") {
  Builder b;
  ir::NodeId x = b.P("x", {d(2), d(3)});
  ir::NodeId y = b.op(Op::Softmax, {x}, attrs({{"axis", std::int64_t{1}}}));
  ir::NodeId sg = b.op(Op::SoftmaxGrad, {x, y}, attrs({{"axis", std::int64_t{1}}}));
  b.g.node(sg).loc = {"m.sn", 4, 7};
  ir::Graph g = wrap(b, sg);
  CHECK_THROWS_WITH(autodiff::buildTrainStep(g, "loss"), Catch::Contains("softmax_grad at m.sn:4:7"));
}

TEST_CASE("dropout drops a fraction p while training, scales the rest, and is the identity otherwise") {
  Builder b;
  ir::NodeId x = b.g.addInput("in", test::f32({d(100), d(100)}));
  ir::Graph g =
      wrap(b, b.op(Op::Dropout, {b.op(Op::Add, {x, b.P("bias", {})})}, attrs({{"p", 0.3}, {"salt", std::int64_t{1}}})));
  ir::Module m = test::makeModule(g);
  auto jit = test::compileJit(m, {});
  auto args = argsFor(b, 3);
  for (double& v : args.at("in").data) v = 1.0;
  args.at("bias").data[0] = 0.0;
  auto countKept = [&](const std::vector<double>& v) {
    std::int64_t kept = 0;
    for (double e : v) {
      if (e != 0) CHECK(e == Approx(1 / 0.7));
      kept += e != 0;
    }
    return kept;
  };
  // The train step's forward part: 10,000 draws, about 7,000 kept (4 standard deviations: ±183).
  auto train1 = test::runEntry(jit->descriptor()->train_step, m.trainStep, args, {}, 1);
  auto train2 = test::runEntry(jit->descriptor()->train_step, m.trainStep, args, {}, 2);
  ir::Graph values = m.trainStep;  // expose the dropout's value as a result to count it
  for (const ir::Node& n : values.nodes)
    if (n.op == Op::Dropout) values.results = {{"dropped", n.id, ir::Result::Output}};
  auto drawn1 = ir::interpret(values, args, {true, 1})[0].data;
  auto drawn2 = ir::interpret(values, args, {true, 2})[0].data;
  const auto kept = countKept(drawn1);
  CHECK(std::llabs(kept - 7000) < 183);
  CHECK(drawn1 != drawn2);  // a new seed, a new mask
  // The generated train step draws the same mask as the interpreter: its gradient of the bias equals
  // Σ probe · mask, computed from the interpreter's mask.
  double expect = 0;
  for (std::size_t i = 0; i < drawn1.size(); ++i) expect += args.at("probe").data[i] * drawn1[i];
  CHECK(train1[1][0] == Approx(expect).epsilon(1e-4));
  CHECK(train2[1][0] != Approx(expect).epsilon(1e-4));
  // Evaluation (the forward entry point) does not drop.
  auto eval = test::runEntry(jit->descriptor()->forward, m.forward, args, {}, 1);
  for (double e : eval[0]) CHECK(e == 1.0);
}

// The formulas of the activations added through the op table alone, at points whose values were derived by
// hand (closed forms evaluated with Python's math module): erf(0.5), σ, log1p(e^x), relu6.
TEST_CASE("the table's newer activations at hand-derived points") {
  struct Point {
    Op op;
    double x, expect;
  };
  const Point points[] = {
      {Op::Erf, 0.5, 0.5204998778130465},        {Op::Erf, -1.5, -0.9661051464753108},
      {Op::Silu, 1.0, 0.7310585786300049},       {Op::Silu, -2.0, -0.2384058440442351},
      {Op::Mish, 1.0, 0.8650983882673103},       {Op::Mish, -1.0, -0.30340146137410895},
      {Op::Mish, 3.0, 2.9865350049679575},       {Op::Hardswish, -4.0, 0.0},
      {Op::Hardswish, -1.0, -1.0 / 3},           {Op::Hardswish, 1.0, 2.0 / 3},
      {Op::Hardswish, 4.0, 4.0},                 {Op::Softsign, 3.0, 0.75},
      {Op::Softsign, -1.0, -0.5},
  };
  for (const Point& p : points) {
    INFO(ir::opName(p.op) << "(" << p.x << ")");
    Builder b;
    ir::Graph g = wrap(b, b.op(p.op, {b.P("x", {})}));
    const auto out = ir::interpret(g, {{"x", {{}, {p.x}}}, {"probe", {{}, {1.0}}}});
    CHECK(out[0].data[0] == Approx(p.expect).epsilon(1e-14).margin(1e-15));
    // The same formula in generated f32 code.
    auto jit = test::compileJit(test::makeModule(g), {});
    const auto got = test::runEntry(jit->descriptor()->forward, g, {{"x", {{}, {p.x}}}, {"probe", {{}, {1.0}}}}, {});
    CHECK(got[0][0] == Approx(p.expect).epsilon(2e-7).margin(1e-7));
  }
}
