// Loops over sequences (`for x_t in x along 1 { ... }`): one scan per loop, whose values through the f64 reference
// interpreter equal those of the same recurrence written as an unrolled loop over a range (an independent
// elaboration: slices, tuples and stack instead of a body graph), for sequence lengths bound at run time, and
// whose gradients match central differences.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <regex>
#include <set>

#include "compiler/autodiff/gradcheck.h"
#include "compiler/ir/interpreter.h"
#include "helpers.h"

using namespace sinter;

namespace {

// An LSTM forward and a GRU backward over x, with a masked Elman update over (x, m) that assigns its carry
// twice in a step and reads a model param as a closure. `LOOPS` is the loops' text, `T` the time axis.
const char* kModel = R"(import "nn.sn"
model M {
  input x: f32[batch, T, 3]
  input m: f32[batch, T, 1]
  param v: f32[4, 4] = glorot_uniform
  param wu: f32[3, 4] = glorot_uniform
  cell = LSTMCell(3, 4)
  back = GRUCell(3, 4)
  h = zeros((dim(x, 0), 4))
  c = zeros((dim(x, 0), 4))
  g = zeros((dim(x, 0), 4))
  u = zeros((dim(x, 0), 4))
LOOPS
  output last = h + c * g - u
  output steps = hs * gs
  loss = sum(last) + mean(steps * steps)
}
train M {
  minimize loss
}
)";

const char* kScanLoops = R"(  for x_t in x along 1 {
    h, c = cell(x_t, h, c)
    stack hs = h
  }
  for x_t in x along 1 reverse {
    g = back(x_t, g)
    stack gs = g
  }
  for x_t, m_t in x, m along 1 {
    prev = u
    u = tanh(x_t @ wu + u @ v)
    u = m_t * u + (1 - m_t) * prev
  }
)";

const char* kUnrolledLoops = R"(  hl = ()
  for t in 0..T {
    h, c = cell(x[:, t, :], h, c)
    hl = hl + (h,)
  }
  hs = stack(hl, axis = 1)
  gl = ()
  for k in 0..T {
    g = back(x[:, T - 1 - k, :], g)
    gl = (g,) + gl
  }
  gs = stack(gl, axis = 1)
  for t in 0..T {
    prev = u
    u = tanh(x[:, t, :] @ wu + u @ v)
    u = m[:, t, :] * u + (1 - m[:, t, :]) * prev
  }
)";

std::string source(const char* loops, const std::string& steps) {
  std::string s = std::regex_replace(kModel, std::regex("LOOPS\n"), loops);
  return std::regex_replace(s, std::regex("\\bT\\b"), steps);
}

ir::Graph compiled(const std::string& src) {
  auto c = frontend::test::compile(src);
  INFO(src << c.text());
  REQUIRE(c.module);
  REQUIRE(ir::verify(c.module->forward).empty());
  return c.module->forward;
}

int countOps(const ir::Graph& g, ir::Op op) {
  int n = 0;
  for (const ir::Node& node : g.nodes) n += node.op == op;
  return n;
}

}  // namespace

TEST_CASE("a loop over sequences is one scan per result, its body elaborated once", "[language][scan]") {
  const ir::Graph g = compiled(source(kScanLoops, "seq"));
  // Three loops: the LSTM's h, c and stack; the GRU's g and stack; the Elman update's u.
  CHECK(countOps(g, ir::Op::Scan) == 6);
  std::set<const ir::Graph*> bodies;
  for (const ir::Node& n : g.nodes)
    if (n.op == ir::Op::Scan) bodies.insert(n.body.get());
  CHECK(bodies.size() == 3);
  const ir::Node* hs = nullptr;
  for (const ir::Node& n : g.nodes)
    if (n.name == "hs") hs = &n;
  REQUIRE(hs);
  CHECK(hs->type.str() == "f32[batch,seq,4]");
  // The LSTM's body: the carries h and c, the step x_t, then the cell's params as closures, in the order the
  // body reads them (the cell adds its bias to the input product first).
  std::vector<std::string> inputs;
  for (ir::NodeId id : hs->body->inputs) inputs.push_back(hs->body->node(id).name);
  CHECK(inputs == std::vector<std::string>{"h", "c", "x_t", "cell.wx", "cell.b", "cell.wh"});
  CHECK(hs->attrs.getInt("carries") == 2);
  CHECK(hs->attrs.getInt("result") == 2);
}

TEST_CASE("a loop over sequences computes what the unrolled loop computes, for every length it runs at",
          "[language][scan]") {
  const ir::Graph looped = compiled(source(kScanLoops, "seq"));  // compiled once
  for (std::int64_t steps : {1, 3, 6}) {
    INFO("steps " << steps);
    const ir::Graph unrolled = compiled(source(kUnrolledLoops, std::to_string(steps)));
    auto args = autodiff::randomArguments(unrolled, 2, 11);
    // A mask of zeros and ones, so that the masked update both keeps and replaces its carry.
    ir::Tensor& m = args.at("m");
    for (std::size_t i = 0; i < m.data.size(); ++i) m.data[i] = (i * 7 + 3) % 5 < 3 ? 1 : 0;
    const std::vector<ir::Tensor> want = ir::interpret(unrolled, args);
    const std::vector<ir::Tensor> got = ir::interpret(looped, args);
    REQUIRE(got.size() == want.size());
    for (std::size_t r = 0; r < want.size(); ++r) {
      INFO(looped.results[r].name);
      REQUIRE(got[r].shape == want[r].shape);
      for (std::size_t i = 0; i < want[r].data.size(); ++i)
        CHECK(got[r].data[i] == Approx(want[r].data[i]).margin(1e-12));
    }
  }
}

TEST_CASE("gradients through loops over sequences match central differences", "[language][scan][gradcheck]") {
  const ir::Graph g = compiled(source(kScanLoops, "seq"));
  const auto args = autodiff::randomArguments(g, 3, 5);  // batch and seq bound to 3
  const auto rows = autodiff::gradCheck(g, "loss", args, 200);
  REQUIRE(rows.size() == g.params.size());
  for (const auto& r : rows) {
    INFO(r.param << ": max abs error " << r.maxAbsError << ", max rel error " << r.maxRelError);
    CHECK(r.checked > 0);
    CHECK(r.ok);
  }
}

TEST_CASE("loops over sequences nest, and a loop over a range may run inside one", "[language][scan]") {
  // A sequence of sequences: the inner loop sums each step's rows with a carried accumulator.
  const char* src = R"(model M {
  input x: f32[batch, seq, 5, 3]
  param w: f32[3, 3]
  h = zeros((dim(x, 0), 3))
  for x_t in x along 1 {
    a = zeros((dim(x, 0), 3))
    for r in x_t along 1 {
      a = a + tanh(r @ w)
    }
    for k in 0..2 {
      h = h * 0.5
    }
    h = h + a
  }
  output y = h
}
)";
  const ir::Graph looped = compiled(src);
  CHECK(countOps(looped, ir::Op::Scan) == 1);
  auto args = autodiff::randomArguments(looped, 2, 3);
  ir::Tensor x = ir::Tensor::zeros({2, 4, 5, 3});
  for (std::size_t i = 0; i < x.data.size(); ++i) x.data[i] = std::sin(0.37 * static_cast<double>(i));
  args["x"] = x;
  const ir::Tensor y = ir::interpret(looped, args)[0];
  // By hand: h = h / 4 + Σ_r tanh(x[b, t, r] · w), step by step.
  const ir::Tensor& w = args.at("w");
  for (std::int64_t b = 0; b < 2; ++b) {
    std::vector<double> h(3, 0.0);
    for (std::int64_t t = 0; t < 4; ++t) {
      std::vector<double> a(3, 0.0);
      for (std::int64_t r = 0; r < 5; ++r)
        for (std::int64_t j = 0; j < 3; ++j) {
          double z = 0;
          for (std::int64_t k = 0; k < 3; ++k)
            z += x.data[static_cast<std::size_t>(((b * 4 + t) * 5 + r) * 3 + k)] *
                 w.data[static_cast<std::size_t>(k * 3 + j)];
          a[static_cast<std::size_t>(j)] += std::tanh(z);
        }
      for (std::size_t j = 0; j < 3; ++j) h[j] = h[j] * 0.25 + a[j];
    }
    for (std::size_t j = 0; j < 3; ++j)
      CHECK(y.data[static_cast<std::size_t>(b) * 3 + j] == Approx(h[j]).margin(1e-12));
  }
}

TEST_CASE("lib/nn.sn's recurrent layers: their loops compute what the cell unrolled computes", "[language][scan]") {
  // Each layer's forward (a loop over time-major input products) against .unrolled (a copy of the cell per
  // step), .reversed against .unrolled over the steps flipped, and .sequence's last step against forward.
  std::string src = "import \"nn.sn\"\nmodel M {\n  input x: f32[batch, 5, 3]\n";
  for (const char* layer : {"SimpleRNN", "LSTM", "GRU"}) {
    const std::string n = std::string(layer) == "SimpleRNN" ? "r" : std::string(layer) == "LSTM" ? "l" : "g";
    src += fmt::format(
        "  {0} = {1}(3, 4)\n  output {0}_loop = {0}(x)\n  output {0}_unrolled = {0}.unrolled(x)\n"
        "  output {0}_rev = {0}.reversed(x)\n  output {0}_rev_unrolled = {0}.unrolled(x[:, ::-1, :])\n"
        "  output {0}_seq_last = {0}.sequence(x)[:, 4, :]\n",
        n, layer);
  }
  src += "}\n";
  const ir::Graph g = compiled(src);
  CHECK(countOps(g, ir::Op::Scan) >= 9);
  const auto args = autodiff::randomArguments(g, 3, 5);
  const std::vector<ir::Tensor> out = ir::interpret(g, args);
  for (std::size_t r = 0; r < g.results.size(); r += 5) {
    INFO(g.results[r].name);
    for (std::size_t i = 0; i < out[r].data.size(); ++i) {
      CHECK(out[r].data[i] == Approx(out[r + 1].data[i]).margin(1e-12));      // loop = unrolled
      CHECK(out[r + 2].data[i] == Approx(out[r + 3].data[i]).margin(1e-12));  // reversed = unrolled, flipped
      CHECK(out[r + 4].data[i] == Approx(out[r].data[i]).margin(1e-12));      // sequence's last = forward
    }
    CHECK(out[r].data != out[r + 2].data);  // the direction matters
  }
}
