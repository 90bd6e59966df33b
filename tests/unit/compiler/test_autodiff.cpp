// Reverse-mode gradients against central finite differences (f64 reference interpreter) and hand-derived values.
#include <catch2/catch.hpp>

#include "compiler/autodiff/autodiff.h"
#include "compiler/autodiff/gradcheck.h"
#include "compiler/passes/dce.h"
#include "test_graphs.h"

using namespace sinter;

namespace {
void requireAllOk(const std::vector<autodiff::GradCheckRow>& rows, std::size_t params) {
  REQUIRE(rows.size() == params);
  for (const auto& r : rows) {
    INFO(r.param << ": checked " << r.checked << ", max abs error " << r.maxAbsError << ", max rel " << r.maxRelError);
    CHECK(r.checked > 0);
    CHECK(r.ok);
  }
}
}  // namespace

TEST_CASE("MLP gradients match central differences") {
  ir::Graph g = test::mlpGraph();
  requireAllOk(autodiff::gradCheck(g, "loss", test::randomArgs(g, 7, 1), 1000), 4);
}

TEST_CASE("mul, broadcast, softmax and sum_to gradients match central differences") {
  ir::Graph g = test::mixedGraph();
  requireAllOk(autodiff::gradCheck(g, "loss", test::randomArgs(g, 5, 2), 1000), 3);
}

TEST_CASE("a wrong gradient rule is caught by the check") {
  // Guard against a check that cannot fail: feed it a graph whose backward pass is broken on purpose.
  ir::Graph g = test::mlpGraph();
  auto args = test::randomArgs(g, 4, 3);
  ir::Graph step = autodiff::buildTrainStep(g, "loss");
  for (ir::Node& n : step.nodes)
    if (n.op == ir::Op::ReluGrad) n.operands[1] = n.operands[0];  // dy * [dy > 0] instead of dy * [x > 0]
  auto good = ir::interpret(autodiff::buildTrainStep(g, "loss"), args);
  auto bad = ir::interpret(step, args);
  double diff = 0;
  for (std::size_t i = 0; i < good[1].data.size(); ++i) diff += std::fabs(good[1].data[i] - bad[1].data[i]);
  CHECK(diff > 1e-3);
}

TEST_CASE("hand-derived gradient of a one-layer net") {
  // loss = CE(x w, y) with x = [[1, 2]], w = 0, y = [1]: softmax is uniform (1/2, 1/2), so
  // dL/dlogits = (1/2, -1/2) and dL/dw = xᵀ dL/dlogits = [[0.5, -0.5], [1, -1]].
  ir::Graph g;
  auto x = g.addInput("x", test::f32({test::batch(), test::d(2)}));
  auto y = g.addInput("y", {ir::DType::I32, {test::batch()}});
  auto w = g.addParam("w", test::f32({test::d(2), test::d(2)}), {});
  auto loss = g.addOp(ir::Op::CrossEntropy, {g.addOp(ir::Op::MatMul, {x, w}), y});
  g.results = {{"loss", loss, ir::Result::Loss}};
  auto out = ir::interpret(autodiff::buildTrainStep(g, "loss"),
                           {{"x", {{1, 2}, {1, 2}}}, {"y", {{1}, {1}}}, {"w", ir::Tensor::zeros({2, 2})}});
  CHECK(out[0].data[0] == Approx(std::log(2.0)));
  CHECK(out[1].data == std::vector<double>{0.5, -0.5, 1, -1});
}

TEST_CASE("the train step is valid IR with loss and one gradient per param, each marked as backward") {
  ir::Graph step = autodiff::buildTrainStep(test::mlpGraph(), "loss");
  CHECK(ir::verify(step).empty());
  REQUIRE(step.results.size() == 5);
  CHECK(step.results[0].kind == ir::Result::Loss);
  CHECK(step.results[1].name == "grad.w1");
  CHECK(step.node(step.results[1].node).op == ir::Op::MatMulTN);
  CHECK(step.node(step.results[2].node).op == ir::Op::SumTo);  // bias: batch axis summed away
  CHECK(step.node(step.results[2].node).gradOf >= 0);
  // The forward graph's softmax output is not needed to train: DCE removes it.
  const auto before = step.nodes.size();
  CHECK(passes::eliminateDeadCode(step));
  CHECK(step.nodes.size() == before - 1);
  CHECK(ir::verify(step).empty());
  CHECK_FALSE(passes::eliminateDeadCode(step));
}

TEST_CASE("a param that does not reach the loss gets a zero gradient, and a bad loss is rejected") {
  ir::Graph g = test::mlpGraph();
  g.addParam("unused", test::f32({test::d(3)}), {});
  ir::Graph step = autodiff::buildTrainStep(g, "loss");
  CHECK(step.node(step.results.back().node).op == ir::Op::Constant);
  CHECK_THROWS_WITH(autodiff::buildTrainStep(g, "probs"), Catch::Contains("must be a floating scalar"));
  CHECK_THROWS_WITH(autodiff::buildTrainStep(g, "nope"), Catch::Contains("'nope' is not a result"));
}
