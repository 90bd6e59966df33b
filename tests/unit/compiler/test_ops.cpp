// Every op alone: gradients against central finite differences (f64 interpreter), and JIT-compiled code
// (forward and train step) against the interpreter. Shapes are odd on purpose and include broadcasting.
#include <array>
#include <functional>
#include <random>

#include "compiler/autodiff/gradcheck.h"
#include "jit_harness.h"

using namespace sinter;
using ir::Attrs;
using ir::Op;

namespace {

struct Builder {
  ir::Graph g;
  std::map<std::string, std::int64_t> indexRanges;  // i32 inputs and their value range

  ir::NodeId P(const std::string& name, std::vector<ir::Dim> shape) {
    return g.addParam(name, test::f32(std::move(shape)), {});
  }
  ir::NodeId I32(const std::string& name, std::vector<ir::Dim> shape, std::int64_t range) {
    indexRanges[name] = range;
    return g.addInput(name, {ir::DType::I32, std::move(shape)});
  }
  ir::NodeId op(Op o, std::vector<ir::NodeId> xs, Attrs a = {}) { return g.addOp(o, std::move(xs), std::move(a)); }
  ir::NodeId typed(Op o, std::vector<ir::NodeId> xs, ir::TensorType t, Attrs a = {}) {
    return g.addTyped(o, std::move(xs), std::move(t), std::move(a));
  }
  // A positive value: softplus(x) + 0.1, for log, sqrt, pow and division.
  ir::NodeId pos(ir::NodeId x) { return op(Op::Add, {op(Op::Softplus, {x}), g.addConstant(0.1, test::f32({}))}); }
};

Attrs attrs(std::initializer_list<std::pair<const char*, ir::AttrValue>> kv) {
  Attrs a;
  for (const auto& [k, v] : kv) a.set(k, v);
  return a;
}
using Ints = std::vector<std::int64_t>;
ir::Dim d(std::int64_t n) { return ir::Dim::fixed(n); }

struct OpCase {
  const char* name;
  std::function<ir::NodeId(Builder&)> build;
  bool gradMatches = true;  // false for stop_gradient: its gradient is zero by definition, not by calculus
};

std::vector<OpCase> cases() {
  auto unary = [](Op o, Attrs a = {}) { return [o, a](Builder& b) { return b.op(o, {b.P("x", {d(3), d(5)})}, a); }; };
  auto positive = [](Op o) { return [o](Builder& b) { return b.op(o, {b.pos(b.P("x", {d(3), d(5)}))}); }; };
  auto binary = [](Op o, std::vector<ir::Dim> sa, std::vector<ir::Dim> sb, bool posB = false) {
    return [=](Builder& b) {
      ir::NodeId y = b.P("b", sb);
      return b.op(o, {o == Op::Pow ? b.pos(b.P("a", sa)) : b.P("a", sa), posB ? b.pos(y) : y});
    };
  };
  auto reduce = [](Op o, Ints axes, std::int64_t keep) {
    return [=](Builder& b) {
      return b.op(o, {b.P("x", {d(2), d(3), d(4)})}, attrs({{"axes", axes}, {"keepdims", keep}}));
    };
  };
  auto conv = [](Builder& b) {
    return b.op(Op::Conv2D, {b.P("x", {d(2), d(3), d(7), d(6)}), b.P("w", {d(4), d(3), d(3), d(2)})},
                attrs({{"stride", Ints{2, 1}}, {"padding", Ints{1, 0}}, {"dilation", Ints{1, 2}}}));
  };
  auto pool = [](Op o, Ints k, Ints s, Ints p) {
    return [=](Builder& b) {
      return b.op(o, {b.P("x", {d(2), d(2), d(6), d(5)})}, attrs({{"kernel", k}, {"stride", s}, {"padding", p}}));
    };
  };
  return {
      {"neg", unary(Op::Neg)},
      {"exp", unary(Op::Exp)},
      {"log", positive(Op::Log)},
      {"sqrt", positive(Op::Sqrt)},
      {"abs", unary(Op::Abs)},
      {"sign", unary(Op::Sign)},
      {"sigmoid", unary(Op::Sigmoid)},
      {"tanh", unary(Op::Tanh)},
      {"relu", unary(Op::Relu)},
      {"leaky_relu", unary(Op::LeakyRelu, attrs({{"alpha", 0.1}}))},
      {"gelu", unary(Op::Gelu)},
      {"softplus", unary(Op::Softplus)},
      {"stop_gradient", unary(Op::StopGradient), false},
      {"dropout", unary(Op::Dropout, attrs({{"p", 0.3}, {"salt", std::int64_t{5}}}))},
      {"add (broadcast)", binary(Op::Add, {d(3), d(4)}, {d(4)})},
      {"sub (both broadcast)", binary(Op::Sub, {d(3), d(1)}, {d(1), d(4)})},
      {"mul (rank 3 by rank 2)", binary(Op::Mul, {d(2), d(3), d(4)}, {d(3), d(1)})},
      {"div", binary(Op::Div, {d(3), d(4)}, {d(4)}, true)},
      {"pow", binary(Op::Pow, {d(3), d(4)}, {d(4)})},
      {"maximum", binary(Op::Maximum, {d(3), d(4)}, {d(4)})},
      {"minimum", binary(Op::Minimum, {d(3), d(4)}, {d(3), d(4)})},
      {"greater_equal", binary(Op::GreaterEqual, {d(3), d(4)}, {d(4)})},
      {"add with a symbolic batch",
       [](Builder& b) {
         return b.op(Op::Add,
                     {b.op(Op::Tanh, {b.g.addInput("in", test::f32({test::batch(), d(4)}))}), b.P("b", {d(4)})});
       }},
      {"reduce_sum", reduce(Op::ReduceSum, {1}, 0)},
      {"reduce_mean keepdims", reduce(Op::ReduceMean, {0, 2}, 1)},
      {"reduce_max", reduce(Op::ReduceMax, {1}, 0)},
      {"reduce_sum over everything", reduce(Op::ReduceSum, {0, 1, 2}, 0)},
      {"count",
       [](Builder& b) {
         return b.op(Op::Mul, {b.op(Op::Count, {b.P("x", {d(2), d(3)})}, attrs({{"axes", Ints{1}}})), b.P("s", {})});
       }},
      {"sum_to",
       [](Builder& b) {
         return b.typed(Op::SumTo, {b.P("x", {d(3), d(4)})}, test::f32({d(1), d(4)}));
       }},
      {"broadcast",
       [](Builder& b) {
         return b.typed(Op::Broadcast, {b.P("x", {d(4)})}, test::f32({d(3), d(4)}));
       }},
      {"softmax axis 1",
       [](Builder& b) {
         return b.op(Op::Softmax, {b.P("x", {d(2), d(5), d(3)})}, attrs({{"axis", std::int64_t{1}}}));
       }},
      {"log_softmax axis 2",
       [](Builder& b) {
         return b.op(Op::LogSoftmax, {b.P("x", {d(2), d(3), d(5)})}, attrs({{"axis", std::int64_t{2}}}));
       }},
      {"reshape",
       [](Builder& b) {
         return b.typed(Op::Reshape, {b.P("x", {d(2), d(3), d(4)})}, test::f32({d(6), d(4)}));
       }},
      {"transpose",
       [](Builder& b) {
         return b.op(Op::Transpose, {b.P("x", {d(2), d(3), d(4)})}, attrs({{"perm", Ints{2, 0, 1}}}));
       }},
      {"concat",
       [](Builder& b) {
         return b.op(Op::Concat, {b.P("a", {d(2), d(3)}), b.P("b", {d(2), d(5)}), b.P("c", {d(2), d(1)})},
                     attrs({{"axis", std::int64_t{1}}}));
       }},
      {"slice with step",
       [](Builder& b) {
         return b.op(Op::Slice, {b.P("x", {d(3), d(8)})},
                     attrs({{"axis", std::int64_t{1}},
                            {"start", std::int64_t{1}},
                            {"end", std::int64_t{7}},
                            {"step", std::int64_t{2}}}));
       }},
      {"gather (embedding)",
       [](Builder& b) {
         return b.op(Op::Gather, {b.P("table", {d(5), d(3)}), b.I32("idx", {d(2), d(4)}, 5)});
       }},
      {"matmul", binary(Op::MatMul, {d(3), d(4)}, {d(4), d(5)})},
      {"matmul batched, broadcast b", binary(Op::MatMul, {d(2), d(3), d(4)}, {d(4), d(5)})},
      {"matmul batched", binary(Op::MatMul, {d(2), d(3), d(4)}, {d(2), d(4), d(5)})},
      {"matmul_tn", binary(Op::MatMulTN, {d(4), d(3)}, {d(4), d(5)})},
      {"matmul_nt", binary(Op::MatMulNT, {d(3), d(4)}, {d(5), d(4)})},
      {"conv2d stride, padding, dilation", conv},
      {"max_pool2d", pool(Op::MaxPool2D, {2, 2}, {2, 2}, {0, 1})},
      {"avg_pool2d", pool(Op::AvgPool2D, {3, 3}, {2, 2}, {1, 1})},
      // Windows that tile the 6 x 5 image exactly (the CNN's kind): the gather-form kernel without bounds tests.
      {"max_pool2d, tiling windows", pool(Op::MaxPool2D, {3, 5}, {3, 5}, {0, 0})},
      {"avg_pool2d, tiling windows", pool(Op::AvgPool2D, {2, 1}, {2, 1}, {0, 0})},
      {"cross_entropy",
       [](Builder& b) {
         return b.op(Op::CrossEntropy, {b.P("logits", {d(4), d(5)}), b.I32("labels", {d(4)}, 5)});
       }},
      // The losses' targets are params here, so that their adjoints are checked too.
      {"soft_cross_entropy",
       [](Builder& b) {
         return b.op(Op::SoftCrossEntropy, {b.P("logits", {d(4), d(5)}), b.P("targets", {d(4), d(5)})});
       }},
      {"mse",
       [](Builder& b) {
         return b.op(Op::Mse, {b.P("pred", {d(3), d(5)}), b.P("target", {d(3), d(5)})});
       }},
      {"mse of scalars",
       [](Builder& b) {
         return b.op(Op::Mse, {b.P("pred", {}), b.P("target", {})});
       }},
      {"bce_with_logits",
       [](Builder& b) {
         return b.op(Op::BceWithLogits, {b.P("logits", {d(2), d(3), d(2)}), b.P("targets", {d(2), d(3), d(2)})});
       }},
      {"mse with a symbolic batch",
       [](Builder& b) {
         return b.op(Op::Mse, {b.op(Op::Tanh, {b.g.addInput("in", test::f32({test::batch(), d(4)}))}),
                               b.op(Op::Add, {b.g.addInput("t", test::f32({test::batch(), d(4)})), b.P("b", {d(4)})})});
       }},
  };
}

// loss = Σ value * probe, with a random probe, so that every element of the op's value matters.
ir::Graph wrap(Builder& b, ir::NodeId value) {
  ir::Graph& g = b.g;
  g.name = "op";
  const ir::TensorType t = g.node(value).type;
  ir::NodeId probe = g.addInput("probe", t);
  ir::NodeId prod = g.addOp(Op::Mul, {value, probe});
  Ints all;
  for (std::size_t i = 0; i < t.shape.size(); ++i) all.push_back(static_cast<std::int64_t>(i));
  ir::NodeId loss = g.addOp(Op::ReduceSum, {prod}, attrs({{"axes", all}, {"keepdims", std::int64_t{0}}}));
  g.results = {{"value", value, ir::Result::Output}, {"loss", loss, ir::Result::Loss}};
  return g;
}

std::map<std::string, ir::Tensor> argsFor(const Builder& b, std::uint64_t seed) {
  auto args = test::randomArgs(b.g, 3, seed);
  std::mt19937_64 rng(seed + 1);
  for (const auto& [name, range] : b.indexRanges) {
    ir::Tensor& t = args.at(name);
    std::uniform_int_distribution<std::int64_t> dist(0, range - 1);
    for (double& v : t.data) v = static_cast<double>(dist(rng));
  }
  return args;
}

}  // namespace

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
    SECTION(c.name) {
      Builder b;
      ir::Graph g = wrap(b, c.build(b));
      ir::Module m = test::makeModule(g);
      REQUIRE(ir::verify(m.trainStep).empty());
      auto jit = codegen::JitModel::compile(m, {});
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
    auto jit = codegen::JitModel::compile(m, {});
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
    auto jit = codegen::JitModel::compile(m, {});
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
  auto jit = codegen::JitModel::compile(m, {});
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
