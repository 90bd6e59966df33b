// Each pass changes what it should, and the graph computes the same values before and after it
// (the reference interpreter on random inputs is the judge).
#include <catch2/catch.hpp>
#include <cmath>
#include <map>

#include "compiler/autodiff/autodiff.h"
#include "compiler/ir/interpreter.h"
#include "compiler/ir/parser.h"
#include "compiler/passes/cse.h"
#include "compiler/passes/dce.h"
#include "compiler/passes/fold_constants.h"
#include "compiler/passes/fusion_groups.h"
#include "compiler/passes/pipeline.h"
#include "compiler/passes/schedule.h"
#include "compiler/passes/simplify.h"
#include "op_graphs.h"

using namespace sinter;
using ir::Op;
using test::batch;
using test::d;
using test::f32;

namespace {

ir::Graph parse(std::string_view text) {
  std::vector<ir::ParseError> errs;
  auto g = ir::parseGraph(text, "test.ir", errs);
  for (const auto& e : errs) FAIL_CHECK(e.str);
  REQUIRE(g);
  return std::move(*g);
}

int count(const ir::Graph& g, Op op) {
  return static_cast<int>(std::count_if(g.nodes.begin(), g.nodes.end(), [&](const ir::Node& n) { return n.op == op; }));
}

// Same results on two batch sizes and two seeds; NaN equals NaN.
void checkSameValues(const ir::Graph& before, const ir::Graph& after) {
  for (std::int64_t n : {3, 5}) {
    const auto args = test::randomInputs(before, n, static_cast<std::uint64_t>(n) * 7);
    const auto a = ir::interpret(before, args), b = ir::interpret(after, args);
    REQUIRE(a.size() == b.size());
    for (std::size_t r = 0; r < a.size(); ++r) {
      REQUIRE(a[r].shape == b[r].shape);
      for (std::size_t i = 0; i < a[r].data.size(); ++i) {
        const double x = a[r].data[i], y = b[r].data[i];
        if (std::isnan(x) && std::isnan(y)) continue;
        INFO("result " << before.results[r].name << " element " << i);
        CHECK(y == Approx(x).epsilon(1e-12).margin(1e-12));
      }
    }
  }
}

// Runs pass on a copy of g; checks the verifier, the values, and returns the new graph.
template <class Pass>
ir::Graph runChecked(const ir::Graph& g, Pass pass, bool expectChange = true) {
  ir::Graph out = g;
  CHECK(pass(out) == expectChange);
  const auto errs = ir::verify(out);
  for (const auto& e : errs) FAIL_CHECK(e);
  checkSameValues(g, out);
  return out;
}

ir::Graph trainStep(const ir::Graph& forward) {
  ir::Graph g = autodiff::buildTrainStep(forward, "loss");
  REQUIRE(ir::verify(g).empty());
  return g;
}

const char* kSimplifyInput = R"(
graph @S(%x: f32[batch,4] input, %w: f32[3,4] param = zeros, %b: f32[4] param = zeros) {
  %3 = constant 1                               : f32[]
  %4 = constant 0                               : f32[4]
  %5 = mul(%x, %3)                              : f32[batch,4]
  %6 = add(%4, %5)                              : f32[batch,4]
  %7 = transpose(%6) {perm = [1, 0]}            : f32[4,batch]
  %8 = transpose(%7) {perm = [1, 0]}            : f32[batch,4]
  %9 = neg(%8)                                  : f32[batch,4]
  %10 = neg(%9)                                 : f32[batch,4]
  %11 = transpose(%w) {perm = [1, 0]}           : f32[4,3]
  %12 = matmul(%10, %11)                        : f32[batch,3]
  %13 = reshape(%12)                            : f32[batch,3,1]
  %14 = reshape(%13)                            : f32[batch,3]
  %15 = broadcast(%b)                           : f32[batch,4]
  %16 = add(%x, %15)                            : f32[batch,4]
  %17 = transpose(%16) {perm = [1, 0]}          : f32[4,batch]
  %18 = matmul(%17, %x)                         : f32[4,4]
  %19 = mul(%3, %b)                             : f32[4]
  %20 = add(%19, %4)                            : f32[4]
  %21 = constant 0                              : f32[batch,4]
  %22 = add(%b, %21)                            : f32[batch,4]
  return
    output "y" = %14,
    output "z" = %18,
    output "b" = %20,
    output "bb" = %22
})";

}  // namespace

TEST_CASE("simplify: identities, chains of layout ops, matmuls of transposes") {
  const ir::Graph g = parse(kSimplifyInput);
  ir::Graph s = runChecked(g, passes::simplifyAlgebra);
  passes::eliminateDeadCode(s);
  CHECK(count(s, Op::Transpose) == 0);
  CHECK(count(s, Op::Neg) == 0);
  CHECK(count(s, Op::Mul) == 0);
  CHECK(count(s, Op::Reshape) == 0);
  CHECK(count(s, Op::Broadcast) == 1);  // b + 0 with a bigger 0 becomes broadcast(b)
  CHECK(count(s, Op::MatMulNT) == 1);
  CHECK(count(s, Op::MatMulTN) == 1);
  CHECK(s.node(s.results[2].node).op == Op::Param);  // 1 * b + 0 is b
  CHECK_FALSE(passes::simplifyAlgebra(s));           // a fixed point
}

TEST_CASE("simplify: transpose chains compose into one transpose") {
  ir::Graph g;
  g.name = "T";
  auto x = g.addInput("x", f32({d(2), d(3), d(4)}));
  auto t1 = g.addOp(Op::Transpose, {x}, test::attrs({{"perm", test::ints({1, 2, 0})}}));
  auto t2 = g.addOp(Op::Transpose, {t1}, test::attrs({{"perm", test::ints({0, 2, 1})}}));
  g.results = {{"t", t2, ir::Result::Output}};
  ir::Graph s = runChecked(g, passes::simplifyAlgebra);
  CHECK(s.node(s.results[0].node).operands[0] == x);
}

TEST_CASE("simplify: a sum of slice_grads that tile an axis becomes one concat") {
  // The backward pass of slicing z into four gates, the adds in any order; and a sum with a gap, which stays.
  const ir::Graph g = parse(R"(
graph @G(%a: f32[batch,2] input, %b: f32[batch,3] input, %c: f32[batch,1] input, %d: f32[batch,2] input) {
  %4 = slice_grad(%c) {axis = 1, end = 6, start = 5, step = 1} : f32[batch,8]
  %5 = slice_grad(%a) {axis = 1, end = 2, start = 0, step = 1} : f32[batch,8]
  %6 = slice_grad(%d) {axis = 1, end = 8, start = 6, step = 1} : f32[batch,8]
  %7 = slice_grad(%b) {axis = 1, end = 5, start = 2, step = 1} : f32[batch,8]
  %8 = add(%4, %5)                              : f32[batch,8]
  %9 = add(%6, %7)                              : f32[batch,8]
  %10 = add(%8, %9)                             : f32[batch,8]
  %11 = add(%5, %6)                             : f32[batch,8]
  return
    output "all" = %10,
    output "gap" = %11
})");
  ir::Graph s = runChecked(g, passes::simplifyAlgebra);
  passes::eliminateDeadCode(s);
  const ir::Node& all = s.node(s.results[0].node);
  REQUIRE(all.op == Op::Concat);
  CHECK(all.attrs.getInt("axis") == 1);
  std::string order;  // the pieces in the order of their starts: a, b, c, d
  for (ir::NodeId o : all.operands) order += s.node(o).name;
  CHECK(order == "abcd");
  CHECK(s.node(s.results[1].node).op == Op::Add);  // [0, 2) and [6, 8) leave a gap
}

TEST_CASE("simplify: the ReLU mask of a max-pool gradient moves to the pooled values") {
  // %5 is the CNN's pattern; %7 pools other windows and %9 masks on another tensor, so both stay; %10's
  // pool gradient has a second user, so its mask stays too.
  const ir::Graph g = parse(R"(
graph @P(%x: f32[batch,2,4,6] input, %dy: f32[batch,2,2,3] input, %z: f32[batch,2,4,6] input) {
  %3 = relu(%x)                                                                  : f32[batch,2,4,6]
  %4 = max_pool2d(%3) {kernel = [2, 2], padding = [0, 0], stride = [2, 2]}        : f32[batch,2,2,3]
  %5 = max_pool2d_grad(%dy, %3) {kernel = [2, 2], padding = [0, 0], stride = [2, 2]} : f32[batch,2,4,6]
  %6 = relu_grad(%5, %3)                                                         : f32[batch,2,4,6]
  %7 = max_pool2d_grad(%dy, %3) {kernel = [1, 1], padding = [0, 0], stride = [2, 2]} : f32[batch,2,4,6]
  %8 = relu_grad(%7, %3)                                                         : f32[batch,2,4,6]
  %9 = max_pool2d_grad(%dy, %z) {kernel = [2, 2], padding = [0, 0], stride = [2, 2]} : f32[batch,2,4,6]
  %10 = relu_grad(%9, %3)                                                        : f32[batch,2,4,6]
  %11 = max_pool2d_grad(%dy, %3) {kernel = [2, 2], padding = [0, 0], stride = [2, 2]} : f32[batch,2,4,6]
  %12 = relu_grad(%11, %3)                                                       : f32[batch,2,4,6]
  %13 = add(%12, %11)                                                            : f32[batch,2,4,6]
  return
    output "p" = %4,
    output "moved" = %6,
    output "windows" = %8,
    output "other" = %10,
    output "shared" = %13
})");
  ir::Graph s = runChecked(g, passes::simplifyAlgebra);
  const ir::Node& moved = s.node(s.results[1].node);
  REQUIRE(moved.op == Op::MaxPool2DGrad);
  CHECK(moved.operands[1] == g.node(g.results[0].node).operands[0]);  // still routed by r = relu(x)
  const ir::Node& mask = s.node(moved.operands[0]);
  REQUIRE(mask.op == Op::ReluGrad);
  CHECK(mask.type == s.node(s.results[0].node).type);  // on the pooled shape
  CHECK(mask.operands[1] == s.results[0].node);         // tested on the pooled values
  CHECK(s.node(s.node(s.results[2].node).operands[0]).op == Op::MaxPool2DGrad);
  CHECK(s.node(s.node(s.results[3].node).operands[0]).op == Op::MaxPool2DGrad);
  CHECK(s.node(s.node(s.node(s.results[4].node).operands[0]).operands[0]).op == Op::MaxPool2DGrad);
  CHECK_FALSE(passes::simplifyAlgebra(s));  // a fixed point
}

TEST_CASE("fold: constant chains become one constant, symbol-dependent values stay") {
  const ir::Graph g = parse(R"(
graph @F(%x: f32[batch,4] input) {
  %1 = constant 0                               : f32[]
  %2 = exp(%1)                                  : f32[]
  %3 = constant 3                               : f32[batch,4]
  %4 = mul(%2, %3)                              : f32[batch,4]
  %5 = reduce_mean(%4) {axes = [0], keepdims = 0} : f32[4]
  %6 = reduce_sum(%4) {axes = [0], keepdims = 0} : f32[4]
  %7 = add(%x, %5)                              : f32[batch,4]
  %8 = add(%7, %6)                              : f32[batch,4]
  return
    output "y" = %8
})");
  ir::Graph f = runChecked(g, passes::foldConstants);
  passes::eliminateDeadCode(f);
  CHECK(count(f, Op::Exp) == 0);
  CHECK(count(f, Op::ReduceMean) == 0);
  CHECK(count(f, Op::ReduceSum) == 1);  // 3 * batch depends on the batch size
  CHECK_THAT(ir::print(f), Catch::Contains("= constant 3 ") && Catch::Contains("f32[4]"));
  CHECK_FALSE(passes::foldConstants(f));
}

TEST_CASE("cse: equal nodes merge, different attributes or types do not") {
  const ir::Graph g = parse(R"(
graph @C(%x: f32[batch,4] input, %w: f32[4,4] param = zeros) {
  %2 = matmul(%x, %w)                           : f32[batch,4]
  %3 = matmul(%x, %w)                           : f32[batch,4]
  %4 = relu(%2)                                 : f32[batch,4]
  %5 = relu(%3)                                 : f32[batch,4]
  %6 = add(%4, %5)                              : f32[batch,4]
  %7 = constant 2                               : f32[]
  %8 = constant 2                               : f32[]
  %9 = constant 2                               : f32[4]
  %10 = mul(%6, %7)                             : f32[batch,4]
  %11 = mul(%10, %8)                            : f32[batch,4]
  %12 = add(%11, %9)                            : f32[batch,4]
  %13 = reduce_sum(%12) {axes = [0], keepdims = 0} : f32[4]
  %14 = reduce_sum(%12) {axes = [0], keepdims = 1} : f32[1,4]
  return
    output "y" = %13,
    output "z" = %14
})");
  ir::Graph c = runChecked(g, passes::eliminateCommonSubexpressions);
  passes::eliminateDeadCode(c);
  CHECK(count(c, Op::MatMul) == 1);
  CHECK(count(c, Op::Relu) == 1);
  CHECK(count(c, Op::Constant) == 2);   // f32[] 2 and f32[4] 2 differ in type
  CHECK(count(c, Op::ReduceSum) == 2);  // keepdims differs
  CHECK_FALSE(passes::eliminateCommonSubexpressions(c));
}

TEST_CASE("dce: unused nodes go, arguments stay") {
  ir::Graph g = test::mlp();
  g.results.pop_back();  // drop the loss: cross_entropy is dead
  ir::Graph d = runChecked(g, passes::eliminateDeadCode);
  CHECK(count(d, Op::CrossEntropy) == 0);
  CHECK(d.inputs.size() == 2);
}

TEST_CASE("schedule: the next node is the one that frees memory") {
  ir::Graph g;
  g.name = "Two";
  auto x = g.addInput("x", f32({batch(), d(1000)}));
  auto ax = test::attrs({{"axes", test::ints({1})}, {"keepdims", std::int64_t{0}}});
  auto a = g.addOp(Op::Exp, {x});
  auto b = g.addOp(Op::Tanh, {x});
  auto ra = g.addOp(Op::ReduceSum, {a}, ax);
  auto rb = g.addOp(Op::ReduceSum, {b}, ax);
  g.results = {{"s", g.addOp(Op::Add, {ra, rb}), ir::Result::Output}};
  const std::int64_t before = passes::peakLiveBytes(g);
  ir::Graph s = runChecked(g, passes::scheduleForMemory);
  CHECK(passes::peakLiveBytes(s) < before);
  CHECK(s.node(2).op == Op::ReduceSum);  // exp, its reduction, then tanh
  CHECK_FALSE(passes::scheduleForMemory(s));
}

TEST_CASE("every pass keeps the values of the MLP train step and the every-op graph") {
  for (const ir::Graph& g : {trainStep(test::mlp()), test::everyOpGraph()}) {
    for (const passes::Pass& p : passes::allPasses()) {
      INFO("pass " << p.name << " on @" << g.name);
      ir::Graph out = g;
      p.run(out);
      for (const auto& e : ir::verify(out)) FAIL_CHECK(e);
      checkSameValues(g, out);
    }
  }
}

TEST_CASE("the default pipeline keeps values, verifies, and reaches a fixed point") {
  const ir::Graph g = trainStep(test::mlp());
  ir::Graph opt = g;
  std::ostringstream log;
  passes::PassManagerOptions o;
  o.verifyEach = true;
  o.printChanged = true;
  auto runs = passes::runPipeline(opt, passes::defaultPipeline(), o, log);
  CHECK(runs.size() == passes::defaultPipeline().size());
  checkSameValues(g, opt);
  CHECK(count(opt, Op::Softmax) == 0);  // probs is not a result of the train step
  CHECK_THAT(log.str(), Catch::Contains("(unchanged)") && Catch::Contains("// ----- after dce"));
  // Running it again changes nothing.
  ir::Graph again = opt;
  for (const auto& r : passes::runPipeline(again, passes::defaultPipeline(), {}, log)) CHECK_FALSE(r.changed);
}

TEST_CASE("the pass manager stops after a pass and rejects unknown names") {
  ir::Graph g = trainStep(test::mlp());
  std::ostringstream log;
  passes::PassManagerOptions o;
  o.stopAfter = "cse";
  o.timePasses = true;
  auto runs = passes::runPipeline(g, passes::defaultPipeline(), o, log);
  CHECK(runs.back().name == "cse");
  CHECK_THAT(log.str(), Catch::Contains("stopped after cse") && Catch::Contains("pass timing"));
  o.stopAfter = "nope";
  CHECK_THROWS_WITH(passes::runPipeline(g, passes::defaultPipeline(), o, log), Catch::Contains("no pass named 'nope'"));
}

TEST_CASE("random ops are neither folded nor merged") {
  const ir::Graph g = parse(R"(
graph @R(%x: f32[batch,4] input) {
  %1 = constant 2                                  : f32[batch,4]
  %2 = dropout(%1) {p = 0.5, salt = 1}             : f32[batch,4]
  %3 = dropout(%x) {p = 0.5, salt = 2}             : f32[batch,4]
  %4 = dropout(%x) {p = 0.5, salt = 2}             : f32[batch,4]
  %5 = add(%2, %3)                                 : f32[batch,4]
  %6 = add(%5, %4)                                 : f32[batch,4]
  return
    output "y" = %6
})");
  ir::Graph f = runChecked(g, passes::foldConstants, false);
  ir::Graph c = runChecked(g, passes::eliminateCommonSubexpressions, false);
  CHECK(count(c, Op::Dropout) == 3);
}

TEST_CASE(
    "fusion groups: an epilogue never waits for a later product, and elementwise chains run through shared values") {
  // A weight gradient summed over two time steps: s = p1 + p2. The add cannot run in p1's kernel (p2 comes
  // later); it runs in p2's, as its epilogue. t = tanh(exp(y)) is read twice, and its chain still takes both readers.
  const ir::Graph g = parse(R"(
graph @G(%x1: f32[4,3] input, %d1: f32[4,5] input, %x2: f32[4,3] input, %d2: f32[4,5] input, %y: f32[3,5] input) {
  %5 = matmul_tn(%x1, %d1)                      : f32[3,5]
  %6 = matmul_tn(%x2, %d2)                      : f32[3,5]
  %7 = add(%5, %6)                              : f32[3,5]
  %8 = exp(%y)                                  : f32[3,5]
  %9 = tanh(%8)                                 : f32[3,5]
  %10 = mul(%9, %9)                             : f32[3,5]
  %11 = add(%10, %9)                            : f32[3,5]
  return
    output "s" = %7,
    output "u" = %11
})");
  const auto groups = passes::findFusionGroups(g);
  std::map<ir::NodeId, int> groupOf;
  for (std::size_t i = 0; i < groups.size(); ++i)
    for (ir::NodeId id : groups[i].nodes) groupOf[id] = static_cast<int>(i);
  CHECK(groupOf.count(5) == 0);  // p1 alone
  REQUIRE(groupOf.count(6) == 1);
  CHECK(groupOf.at(7) == groupOf.at(6));  // the add is p2's epilogue
  CHECK(groups[static_cast<std::size_t>(groupOf.at(6))].kind == ir::KernelKind::GemmEpilogue);
  REQUIRE(groupOf.count(8) == 1);  // exp, tanh, mul, add: one chain though tanh has two readers
  for (ir::NodeId id : {9, 10, 11}) CHECK(groupOf.at(id) == groupOf.at(8));
}

TEST_CASE("fusion groups of the MLP train step leave no standalone bias add, activation or transpose") {
  ir::Graph g = trainStep(test::mlp());
  std::ostringstream log;
  passes::runPipeline(g, passes::defaultPipeline(), {}, log);
  const auto groups = passes::findFusionGroups(g);
  std::vector<int> groupOf(g.nodes.size(), -1);
  for (std::size_t i = 0; i < groups.size(); ++i)
    for (ir::NodeId id : groups[i].nodes) {
      CHECK(groupOf[static_cast<std::size_t>(id)] == -1);  // one group per node
      groupOf[static_cast<std::size_t>(id)] = static_cast<int>(i);
    }
  for (const ir::Node& n : g.nodes) {
    INFO("%" << n.id << " " << ir::opName(n.op));
    if (n.op == Op::Add || n.op == Op::Relu || n.op == Op::ReluGrad || n.op == Op::SumTo ||
        n.op == Op::CrossEntropyGrad)
      CHECK(groupOf[static_cast<std::size_t>(n.id)] >= 0);
    CHECK(n.op != Op::Transpose);
  }
  int epilogues = 0, biasGrads = 0, sce = 0;
  for (const auto& grp : groups) {
    epilogues += grp.kind == ir::KernelKind::GemmEpilogue;
    biasGrads += grp.kind == ir::KernelKind::GemmBiasGradient;
    sce += grp.kind == ir::KernelKind::SoftmaxCrossEntropy;
    CHECK_FALSE(grp.stored.empty());
  }
  CHECK(epilogues == 3);  // the two forward layers, and the backward matmul_nt with relu_grad
  CHECK(biasGrads == 2);
  CHECK(sce == 1);
  CHECK_THAT(passes::fusionReport(g, groups),
             Catch::Contains("gemm + epilogue") && Catch::Contains("kernels instead of"));
}

TEST_CASE("fusion groups of a train step store a hidden layer's bias add only when its gradient reads it") {
  // relu(x w1 + b1) w2 → loss, with other activations in relu's place. relu, leaky_relu with α ≥ 0, sigmoid
  // and tanh have gradients that read their output, so the layer's GEMM epilogue stores the activation
  // alone; leaky_relu with α < 0 (y's sign flips below 0) and gelu read the pre-activation, stored too.
  struct Case {
    Op op;
    double alpha;
    bool storesAdd;
  };
  for (const Case c : {Case{Op::Relu, 0, false}, Case{Op::LeakyRelu, 0.1, false}, Case{Op::LeakyRelu, 0, false},
                       Case{Op::Sigmoid, 0, false}, Case{Op::Tanh, 0, false}, Case{Op::LeakyRelu, -0.1, true},
                       Case{Op::Gelu, 0, true}}) {
    INFO(ir::opName(c.op) << " alpha " << c.alpha);
    ir::Graph f = test::mlp();
    for (ir::Node& n : f.nodes)
      if (n.op == Op::Relu) {
        n.op = c.op;
        if (c.op == Op::LeakyRelu) n.attrs = test::attrs({{"alpha", c.alpha}});
      }
    REQUIRE(ir::verify(f).empty());
    ir::Graph g = trainStep(f);
    std::ostringstream log;
    passes::runPipeline(g, passes::defaultPipeline(), {}, log);
    int layers = 0;
    for (const ir::FusionGroup& grp : passes::findFusionGroups(g)) {
      if (grp.kind != ir::KernelKind::GemmEpilogue || g.node(grp.nodes.back()).op != c.op) continue;
      ++layers;
      REQUIRE(grp.nodes.size() == 3);  // matmul, add, the activation
      const ir::NodeId add = grp.nodes[1], act = grp.nodes[2];
      CHECK(g.node(add).op == Op::Add);
      CHECK(std::count(grp.stored.begin(), grp.stored.end(), act) == 1);
      CHECK(std::count(grp.stored.begin(), grp.stored.end(), add) == (c.storesAdd ? 1 : 0));
    }
    CHECK(layers == 1);
  }
}
