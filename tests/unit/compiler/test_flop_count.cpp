// The FLOP count of compiler/lower/flop_count.h against counts derived by hand: 2 per multiply-add of every
// product form, batched products once per batch element, a loop body once per step and once per loop.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "compiler/lower/flop_count.h"
#include "scan_graphs.h"

using namespace sinter;
using test::batch;
using test::d;
using test::f32;

TEST_CASE("a dense layer's product and its two gradient forms cost 2 B I O each") {
  // x[B, 6] w[6, 5]: forward x w, weight gradient xᵀ dy (matmul_tn), input gradient dy wᵀ (matmul_nt).
  ir::Graph g;
  auto x = g.addInput("x", f32({batch(), d(6)}));
  auto dy = g.addInput("dy", f32({batch(), d(5)}));
  auto w = g.addParam("w", f32({d(6), d(5)}), {ir::Init::GlorotUniform});
  auto y = g.addOp(ir::Op::MatMul, {x, w});
  auto dw = g.addOp(ir::Op::MatMulTN, {x, dy});
  auto dx = g.addOp(ir::Op::MatMulNT, {dy, w});
  auto r = g.addOp(ir::Op::Relu, {y});
  g.results = {{"r", r}, {"dw", dw}, {"dx", dx}};
  const lower::FlopCount c = lower::countFlops(g, {{"batch", 64}});
  const std::int64_t dense = std::int64_t{2} * 64 * 6 * 5;
  CHECK(c.total == 3 * dense);
  REQUIRE(c.products.size() == 3);
  CHECK(c.products[0].dims == "64x6x5");
  CHECK(c.products[1].dims == "6x64x5");  // M x K x N of xᵀ dy: K is the batch
  CHECK(c.products[2].dims == "64x5x6");
  for (const lower::ProductFlops& p : c.products) CHECK(p.flops == dense);
  CHECK(lower::nodeFlops(g, g.node(r), {{"batch", 64}}) == 0);  // elementwise work is not counted
}

TEST_CASE("a batched product costs its batch times one product, broadcast operands count once per result") {
  ir::Graph g;
  auto a = g.addInput("a", f32({d(3), d(4), d(7)}));
  auto b = g.addInput("b", f32({d(7), d(2)}));  // broadcast over a's batch of 3
  auto c = g.addOp(ir::Op::MatMul, {a, b});
  g.results = {{"c", c}};
  const lower::FlopCount n = lower::countFlops(g, {});
  CHECK(n.total == std::int64_t{2} * 3 * 4 * 7 * 2);
  CHECK(n.products.at(0).dims == "3*4x7x2");
}

TEST_CASE("a convolution and its gradients cost 2 N O OH OW C KH KW each") {
  // x[B, 2, 9, 9] w[3, 2, 3, 3], stride 2, padding 1: OH = OW = (9 + 2 - 2 - 1) / 2 + 1 = 5.
  ir::Graph g;
  auto x = g.addInput("x", f32({batch(), d(2), d(9), d(9)}));
  auto w = g.addParam("w", f32({d(3), d(2), d(3), d(3)}), {ir::Init::GlorotUniform});
  const ir::Attrs attrs = ir::Attrs::of({{"stride", std::vector<std::int64_t>{2, 2}},
                                         {"padding", std::vector<std::int64_t>{1, 1}},
                                         {"dilation", std::vector<std::int64_t>{1, 1}}});
  auto y = g.addOp(ir::Op::Conv2D, {x, w}, attrs);
  auto dx = g.addTyped(ir::Op::Conv2DGradInput, {y, w}, g.node(x).type, attrs);
  auto dw = g.addTyped(ir::Op::Conv2DGradWeight, {x, y}, g.node(w).type, attrs);
  g.results = {{"dx", dx}, {"dw", dw}};
  const lower::FlopCount c = lower::countFlops(g, {{"batch", 4}});
  const std::int64_t conv = std::int64_t{2} * 4 * 3 * 5 * 5 * 2 * 3 * 3;
  CHECK(c.total == 3 * conv);
  for (const lower::ProductFlops& p : c.products) {
    CHECK(p.flops == conv);
    CHECK(p.dims == "4x3x5x5 <- 2x3x3");
  }
}

TEST_CASE("a loop's body counts once per step, once however many of its results are read") {
  // The RNN cell per step: x[B,3] wx[3,4] and h[B,4] wh[4,4]; both results of the loop share one body.
  const std::int64_t step = std::int64_t{2} * 2 * 3 * 4 + std::int64_t{2} * 2 * 4 * 4;
  const lower::FlopCount fixed = lower::countFlops(test::rnnGraph(5), {{"batch", 2}});
  CHECK(fixed.total == 5 * step);
  REQUIRE(fixed.products.size() == 2);
  CHECK(fixed.products[0].runs == 5);
  CHECK(fixed.products[0].where.find('/') != std::string::npos);  // "%loop/%node"
  CHECK(lower::countFlops(test::rnnGraph(std::nullopt), {{"batch", 2}, {"seq", 7}}).total == 7 * step);
  // A symbolic trip count with no value is an error naming the symbol, not a count of zero.
  CHECK_THROWS_WITH(lower::countFlops(test::rnnGraph(std::nullopt), {{"batch", 2}}), Catch::Contains("'seq'"));
}
