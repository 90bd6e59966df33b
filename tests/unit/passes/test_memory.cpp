// The memory plan: values whose lifetimes overlap never share bytes, offsets are aligned for every
// batch size, elementwise chains run in place, and the arena beats one buffer per temporary.
#include <catch2/catch.hpp>

#include "compiler/autodiff/autodiff.h"
#include "compiler/lower/memory_plan.h"
#include "compiler/passes/pipeline.h"
#include "memory_checks.h"
#include "op_graphs.h"

using namespace sinter;
using ir::Op;
using test::batch;
using test::d;
using test::f32;

namespace {

ir::Graph optimizedTrainStep() {
  ir::Graph g = autodiff::buildTrainStep(test::mlp(), "loss");
  std::ostringstream log;
  passes::runPipeline(g, passes::defaultPipeline(), {}, log);
  return g;
}

}  // namespace

TEST_CASE("symbolic sizes are polynomials of the symbols") {
  const auto s = lower::SymSize::ofType(f32({batch(), d(256)}));
  CHECK(s.str() == "1024*batch");
  CHECK(s.eval({{"batch", 64}}) == 65536);
  CHECK(lower::SymSize::ofType(f32({batch(), d(3)})).alignedUp(64).str() == "64*batch");
  CHECK(lower::SymSize::ofType({ir::DType::F64, {}}).str() == "8");
  CHECK_THROWS_WITH(s.eval({}), Catch::Contains("--bind batch=N"));
}

TEST_CASE("an elementwise chain runs in place in one slot") {
  ir::Graph g;
  g.name = "Chain";
  auto x = g.addInput("x", f32({batch(), d(100)}));
  auto a = g.addOp(Op::Exp, {x});
  auto b = g.addOp(Op::Relu, {a});
  auto c = g.addOp(Op::Tanh, {b});
  auto r = g.addOp(Op::ReduceSum, {c}, test::attrs({{"axes", test::ints({1})}, {"keepdims", std::int64_t{0}}}));
  g.results = {{"r", r, ir::Result::Output}};
  const lower::Bindings at64 = {{"batch", 64}};
  const auto plan = lower::planMemory(g, at64);
  CHECK(plan.slotSize.size() == 1);
  CHECK(plan.inPlaceOf[b] == a);
  CHECK(plan.inPlaceOf[c] == b);
  const auto st = lower::memoryStats(g, plan, at64);
  CHECK(st.naiveBytes == 3 * 400 * 64);
  CHECK(st.arenaBytes == 400 * 64);
  CHECK(st.inPlace == 2);
}

TEST_CASE("the plan of the MLP train step is sound at any batch size and beats the naive sum") {
  const ir::Graph g = optimizedTrainStep();
  const auto plan = lower::planMemory(g, {{"batch", 64}});
  for (std::int64_t n : {1, 7, 64, 1000}) test::checkNoOverlap(g, plan, {{"batch", n}});
  const auto st = lower::memoryStats(g, plan, {{"batch", 64}});
  CHECK(st.arenaBytes < st.naiveBytes);
  CHECK(st.arenaBytes >= st.peakLiveBytes);
  CHECK(st.inPlace > 0);
  const std::string report = lower::memoryReport(g, plan, {{"batch", 64}});
  CHECK_THAT(report, Catch::Contains("below the naive sum") && Catch::Contains("in place of %"));
}

TEST_CASE("the plan of the every-op graph is sound") {
  const ir::Graph g = test::everyOpGraph();
  const auto plan = lower::planMemory(g, {{"batch", 64}});
  for (std::int64_t n : {1, 5, 64}) test::checkNoOverlap(g, plan, {{"batch", n}});
}
