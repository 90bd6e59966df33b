// The scan op: its type rule and verifier, its printed form and the reference interpreter's loop.
#include <catch2/catch.hpp>

#include "compiler/autodiff/autodiff.h"
#include "compiler/autodiff/gradcheck.h"
#include "compiler/ir/parser.h"
#include "scan_graphs.h"

using namespace sinter;
using sinter::test::batch;
using sinter::test::d;
using sinter::test::f32;

namespace {

// h0[2,4], xs[2,steps,3] and the params, drawn as the gradient check draws them.
std::map<std::string, ir::Tensor> rnnArgs(const ir::Graph& g, std::int64_t steps, std::uint64_t seed = 7) {
  std::map<std::string, ir::Tensor> a = autodiff::randomArguments(g, 2, seed);
  ir::Tensor xs = ir::Tensor::zeros({2, steps, 3});
  for (std::size_t i = 0; i < xs.data.size(); ++i) xs.data[i] = std::sin(0.7 * static_cast<double>(i) + 0.3);
  a["xs"] = xs;
  return a;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("a scan's result types: the carry after the last step, or the steps stacked along the axis") {
  ir::Graph g = test::rnnGraph(std::nullopt);
  CHECK(ir::verify(g).empty());
  CHECK(g.node(g.findResult("ys")->node).type.str() == "f32[batch,seq,4]");
  CHECK(g.node(g.findResult("h")->node).type.str() == "f32[batch,4]");
  CHECK(test::rnnGraph(5).node(5).type.str() == "f32[batch,5,4]");
}

TEST_CASE("the interpreter runs a scan step by step, forward and in reverse, for any trip count") {
  for (bool reverse : {false, true}) {
    const ir::Graph g = test::rnnGraph(std::nullopt, reverse);
    for (std::int64_t steps : {1, 3, 6}) {  // one graph, sequences of different lengths
      const auto args = rnnArgs(g, steps);
      const std::vector<ir::Tensor> out = ir::interpret(g, args);
      const ir::Tensor want = test::rnnByHand(args, reverse);
      REQUIRE(out[0].shape == want.shape);
      for (std::size_t i = 0; i < want.data.size(); ++i) CHECK(out[0].data[i] == Approx(want.data[i]).margin(1e-12));
      // The last carry is the stacked output at the last step taken.
      const std::int64_t last = reverse ? 0 : steps - 1;
      for (std::int64_t r = 0; r < 2; ++r)
        for (std::int64_t j = 0; j < 4; ++j)
          CHECK(out[1].data[static_cast<std::size_t>(r * 4 + j)] ==
                Approx(want.data[static_cast<std::size_t>((r * steps + last) * 4 + j)]).margin(1e-12));
    }
  }
}

TEST_CASE("the verifier checks a scan's body against its operands") {
  const ir::Graph g = test::rnnGraph(std::nullopt);
  auto errorOf = [](ir::Graph bad) {
    std::string all;
    for (const std::string& e : ir::verify(bad)) all += e + "\n";
    return all.empty() ? std::string("(valid)") : all;
  };
  const ir::NodeId ys = g.findResult("ys")->node;
  auto withBody = [&](auto edit) {
    ir::Graph bad = g;
    auto body = std::make_shared<ir::Graph>(*bad.node(ys).body);
    edit(*body);
    bad.node(ys).body = body;
    return errorOf(bad);
  };
  CHECK_THAT(withBody([](ir::Graph& b) {
               b.node(1).type = f32({batch(), d(5)});
             }),
             Catch::Contains("body input %x (a step of a sequence) is f32[batch,5] but the scan passes f32[batch,3]"));
  CHECK_THAT(withBody([](ir::Graph& b) { b.results.resize(1); }),
             Catch::Contains("result 1 is not one of the body's 1"));
  CHECK_THAT(withBody([](ir::Graph& b) {
               b.nodes[9].type = f32({batch(), d(5)});
             }),
             Catch::Contains("in its body: %9 (tanh): type is f32[batch,5]"));

  auto withAttr = [&](const char* name, std::int64_t v) {
    ir::Graph bad = g;
    bad.node(ys).attrs.set(name, v);
    return errorOf(bad);
  };
  CHECK_THAT(withAttr("result", 2), Catch::Contains("result 2 is not one of the body's 2"));
  CHECK_THAT(withAttr("seqs", 0), Catch::Contains("carries = 1 and seqs = 0 (at least 1) do not fit its 5 operands"));
  CHECK_THAT(withAttr("axis", 3), Catch::Contains("axis 3 is not an axis of f32[batch,seq,3]"));
  CHECK_THAT(withAttr("carries", 0), Catch::Contains("body input %h (a step of a sequence) is f32[batch,4]"));

  ir::Graph noBody = g;
  noBody.node(ys).body = nullptr;
  CHECK_THAT(errorOf(noBody), Catch::Contains("a scan needs a body"));
  ir::Graph stray = g;
  stray.node(g.findResult("loss")->node).body = g.node(ys).body;
  CHECK_THAT(errorOf(stray), Catch::Contains("only a region op holds a body"));
}

TEST_CASE("a scan prints its body once and parses back") {
  const ir::Graph g = test::rnnGraph(std::nullopt);
  const std::string text = ir::print(g);
  CHECK(count(text, "graph @cell(") == 1);
  CHECK(count(text, "body(%5)") == 1);
  std::vector<ir::ParseError> errs;
  const std::optional<ir::Graph> back = ir::parseGraph(text, "rnn.ir", errs);
  REQUIRE(errs.empty());
  REQUIRE(back);
  CHECK(ir::print(*back) == text);
  CHECK(ir::verify(*back).empty());
  CHECK(back->node(5).body == back->node(6).body);  // one loop's results share its body
  const auto args = rnnArgs(g, 4);
  CHECK(ir::interpret(*back, args)[2].data == ir::interpret(g, args)[2].data);
}

TEST_CASE("gradients through a scan match central differences, for trip counts bound at run time") {
  for (bool reverse : {false, true}) {
    const ir::Graph g = test::rnnGraph(std::nullopt, reverse);
    for (std::int64_t steps : {1, 3, 5}) {
      for (const autodiff::GradCheckRow& r : autodiff::gradCheck(g, "loss", rnnArgs(g, steps), 64)) {
        INFO((reverse ? "reverse, " : "")
             << steps << " steps, " << r.param << ": max abs error " << r.maxAbsError << ", max rel " << r.maxRelError);
        CHECK(r.checked > 0);
        CHECK(r.ok);
      }
    }
  }
}

TEST_CASE("a scan's train step: the saved carries and the reverse loop, valid IR that prints each body once") {
  const ir::Graph step = autodiff::buildTrainStep(test::rnnGraph(std::nullopt), "loss");
  REQUIRE(ir::verify(step).empty());
  const std::string text = ir::print(step);
  // Each of the two forward results (ys, h) is differentiated by one saving loop and one reverse loop.
  CHECK(count(text, "graph @cell.saving(") == 2);
  CHECK(count(text, "graph @cell.reverse(") == 2);
  // Each reverse loop is one node: it stacks every step's adjoint of the pre-activation, from which d wx,
  // d wh (a matmul_tn each) and d b (a sum_to) are taken over all steps after it, not summed in carries.
  CHECK(count(text, "reverse = 1") == 2);
  CHECK(count(text, "output \"step.") == 2);
  std::vector<ir::ParseError> errs;
  const std::optional<ir::Graph> back = ir::parseGraph(text, "step.ir", errs);
  REQUIRE(errs.empty());
  CHECK(ir::print(*back) == text);
}
