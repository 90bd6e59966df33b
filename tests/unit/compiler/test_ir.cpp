// The graph's type rules, the printer and the verifier (the op table's own checks: test_op_table.cpp).
#include <catch2/catch.hpp>

#include "compiler/ir/graph.h"
#include "test_graphs.h"

using namespace sinter;
using sinter::test::batch;
using sinter::test::d;
using sinter::test::f32;

TEST_CASE("broadcasting follows NumPy") {
  auto s = ir::broadcastShapes({batch(), d(256)}, {d(256)});
  REQUIRE(s);
  CHECK(ir::shapeStr(*s) == "batch,256");
  CHECK(ir::shapeStr(*ir::broadcastShapes({d(1), d(3)}, {d(4), d(1)})) == "4,3");
  // The shorter shape may come first or second.
  CHECK(ir::shapeStr(*ir::broadcastShapes({d(256)}, {batch(), d(256)})) == "batch,256");
  CHECK(ir::shapeStr(*ir::broadcastShapes({}, {d(2), d(1)})) == "2,1");
  CHECK(ir::shapeStr(*ir::broadcastShapes({d(1)}, {batch()})) == "batch");
  CHECK_FALSE(ir::broadcastShapes({d(3)}, {d(2), d(4)}));
  CHECK_FALSE(ir::broadcastShapes({batch(), d(256)}, {d(128)}));
  CHECK_FALSE(ir::broadcastShapes({ir::Dim::sym("n")}, {ir::Dim::sym("m")}));
}

TEST_CASE("type rules infer result types and reject bad operands") {
  ir::Graph g;
  auto x = g.addInput("x", f32({batch(), d(784)}));
  auto w = g.addParam("w", f32({d(784), d(256)}), {});
  auto v = g.addParam("v", f32({d(100), d(10)}), {});
  auto mm = g.addOp(ir::Op::MatMul, {x, w});
  CHECK(g.node(mm).type.str() == "f32[batch,256]");
  CHECK(g.node(g.addOp(ir::Op::MatMulTN, {x, g.addOp(ir::Op::Relu, {mm})})).type.str() == "f32[784,256]");
  CHECK_THROWS_WITH(g.addOp(ir::Op::MatMul, {x, v}), Catch::Contains("inner dimensions differ: 784 vs 100"));
  CHECK_THROWS_WITH(g.addOp(ir::Op::Add, {mm, v}), Catch::Contains("do not broadcast"));
  CHECK_THROWS_WITH(g.addOp(ir::Op::Relu, {x, w}), Catch::Contains("takes 1 operands, got 2"));
}

TEST_CASE("the printer shows types, names, locations and results") {
  ir::Graph g = test::mlpGraph();
  g.node(g.results[1].node).loc = {"m.sn", 9, 10};
  const std::string text = ir::print(g);
  CHECK_THAT(text, Catch::StartsWith("graph @MLP(\n    %x: f32[batch,6] input,"));
  CHECK_THAT(text, Catch::Contains("%w1: f32[6,5] param = glorot_uniform"));
  CHECK_THAT(text, Catch::Contains("%w2: f32[5,3] param = normal(0, 0.1)"));
  CHECK_THAT(text, Catch::Contains("= matmul(%x, %w1)"));
  CHECK_THAT(text, Catch::Contains(": f32[batch,5]"));
  CHECK_THAT(text, Catch::Contains("= cross_entropy(%10, %y)"));
  CHECK_THAT(text, Catch::Contains("name(\"loss\") loc(\"m.sn\":9:10)"));
  CHECK_THAT(text, Catch::EndsWith("return\n    output \"probs\" = %11,\n    loss \"loss\" = %12\n}\n"));
}

TEST_CASE("the verifier accepts built graphs and reports broken ones") {
  ir::Graph g = test::mlpGraph();
  CHECK(ir::verify(g).empty());

  ir::Graph wrongType = g;
  wrongType.nodes[8].type = f32({batch(), d(7)});
  auto errs = ir::verify(wrongType);
  REQUIRE(errs.size() >= 1);
  CHECK_THAT(errs[0], Catch::Contains("%8 (relu): type is f32[batch,7] but its rule gives f32[batch,5]"));

  ir::Graph useBeforeDef = g;
  useBeforeDef.nodes[6].operands[1] = 9;
  CHECK_THAT(ir::verify(useBeforeDef)[0], Catch::Contains("operand %9 is not defined before use"));

  ir::Graph dupResult = g;
  dupResult.results.push_back({"loss", 12, ir::Result::Output});
  CHECK_THAT(ir::verify(dupResult).back(), Catch::Contains("result name 'loss' is used twice"));

  ir::Graph badList = g;
  badList.params.pop_back();
  CHECK_THAT(ir::verify(badList).back(), Catch::Contains("graph lists 3 params but holds 4"));
}

TEST_CASE("the interpreter computes hand-derived values") {
  ir::Graph g;
  auto x = g.addInput("x", f32({d(2), d(2)}));
  auto y = g.addInput("y", {ir::DType::I32, {d(2)}});
  auto b = g.addParam("b", f32({d(2)}), {});
  auto logits = g.addOp(ir::Op::Add, {g.addOp(ir::Op::Relu, {x}), b});
  auto loss = g.addOp(ir::Op::CrossEntropy, {logits, y});
  g.results = {{"logits", logits, ir::Result::Output}, {"loss", loss, ir::Result::Loss}};
  ir::Tensor xv{{2, 2}, {1, -1, 0, 2}};
  auto out = ir::interpret(g, {{"x", xv}, {"y", {{2}, {0, 1}}}, {"b", {{2}, {0.5, 0}}}});
  CHECK(out[0].data == std::vector<double>{1.5, 0, 0.5, 2});
  // row 0: logits (1.5, 0), label 0: log(1 + e^-1.5); row 1: (0.5, 2), label 1: log(1 + e^-1.5)
  CHECK(out[1].data[0] == Approx(std::log(1 + std::exp(-1.5))).epsilon(1e-12));
}
