// The parser reads back what the printer writes, and points at malformed IR with line:col.
#include <catch2/catch.hpp>
#include <set>

#include "compiler/ir/parser.h"
#include "op_graphs.h"

using namespace sinter;

namespace {

std::string roundTrip(const ir::Graph& g) {
  std::vector<ir::ParseError> errs;
  auto parsed = ir::parseGraph(ir::print(g), "test.ir", errs);
  for (const auto& e : errs) FAIL_CHECK(e.str);
  REQUIRE(parsed);
  CHECK(ir::verify(*parsed).empty());
  return ir::print(*parsed);
}

std::vector<ir::ParseError> errorsOf(std::string_view text) {
  std::vector<ir::ParseError> errs;
  CHECK_FALSE(ir::parseGraph(text, "bad.ir", errs));
  return errs;
}

}  // namespace

TEST_CASE("the every-op graph uses every op of the table") {
  ir::Graph g = test::everyOpGraph();
  REQUIRE(ir::verify(g).empty());
  std::set<ir::Op> used;
  for (const ir::Node& n : g.nodes) used.insert(n.op);
  for (const ir::OpDef& info : ir::allOps())
    if (!used.count(info.op)) FAIL_CHECK("op not covered: " << info.name);
}

TEST_CASE("print(parse(print(g))) == print(g) for every op") {
  ir::Graph g = test::everyOpGraph();
  CHECK(roundTrip(g) == ir::print(g));
}

TEST_CASE("round trip of the hand-built MLP and its shuffled argument order") {
  CHECK(roundTrip(test::mlp()) == ir::print(test::mlp()));
  // A param declared before an input in node order still prints and parses back the same.
  ir::Graph g;
  g.name = "Order";
  auto w = g.addParam("w", test::f32({test::d(3), test::d(2)}), {ir::Init::Zeros});
  auto c = g.addConstant(2, test::f32({}));
  auto x = g.addInput("x", test::f32({test::batch(), test::d(3)}));
  auto m = g.addOp(ir::Op::Mul, {g.addOp(ir::Op::MatMul, {x, w}), c});
  g.results = {{"m", m, ir::Result::Output}};
  CHECK(roundTrip(g) == ir::print(g));
}

TEST_CASE("constants keep their exact value") {
  ir::Graph g;
  g.name = "Consts";
  for (double v : {0.1, -0.0, 1e-300, 3.141592653589793, 1e20, -2.5e-7}) g.addConstant(v, test::f32({}));
  g.results = {{"c", 0, ir::Result::Output}};
  std::vector<ir::ParseError> errs;
  auto parsed = ir::parseGraph(ir::print(g), "c.ir", errs);
  REQUIRE(parsed);
  for (std::size_t i = 0; i < g.nodes.size(); ++i) CHECK(parsed->nodes[i].scalar == g.nodes[i].scalar);
}

TEST_CASE("hand-written IR with its own numbering is renumbered") {
  std::vector<ir::ParseError> errs;
  auto g = ir::parseGraph(R"(// a comment
graph @H(%x: f32[2,3] input, %w: f32[3,3] param = zeros) {
  %7 = matmul(%x, %w) : f32[2,3]
  %3 = relu(%7)       : f32[2,3] name("h")
  return
    output "h" = %3
})",
                          "h.ir", errs);
  REQUIRE(errs.empty());
  REQUIRE(g);
  CHECK(ir::verify(*g).empty());
  CHECK_THAT(ir::print(*g), Catch::Contains("%3 = relu(%2)"));
}

TEST_CASE("malformed IR gives line:col errors, all of them") {
  auto errs = errorsOf(R"(graph @B(%x: f32[2,3] input) {
  %1 = relu(%x, %x) : f32[2,3]
  %2 = frobnicate(%x) : f32[2,3]
  %3 = relu(%x) : f32[2,4]
  %4 = reduce_sum(%x) {axes = [0]} : f32[3]
  %5 = exp(%9) : f32[2,3]
  return
    output "y" = %3
})");
  std::vector<std::string> msgs;
  for (const auto& e : errs) msgs.push_back(e.str);
  REQUIRE(errs.size() >= 3);
  CHECK_THAT(errs[0].str, Catch::StartsWith("bad.ir:2:12: error: relu takes 1 operand, found 2"));
  CHECK_THAT(errs[1].str, Catch::StartsWith("bad.ir:3:8: error: unknown op 'frobnicate'"));
  CHECK_THAT(errs[1].str, Catch::EndsWith("\n  %2 = frobnicate(%x) : f32[2,3]\n       ^"));
  CHECK_THAT(errs[2].str, Catch::StartsWith("bad.ir:5:36: error: reduce_sum needs the attribute 'keepdims'"));
}

TEST_CASE("semantic errors: undefined values and wrong types") {
  auto errs = errorsOf(R"(graph @B(%x: f32[2,3] input) {
  %1 = exp(%9) : f32[2,3]
  %2 = relu(%x) : f32[2,4]
  %3 = transpose(%x) {perm = [1, 1]} : f32[3,2]
  return
    output "y" = %nope
})");
  REQUIRE(errs.size() == 2);
  CHECK_THAT(errs[0].str, Catch::StartsWith("bad.ir:2:12: error: use of undefined value '%9'"));
  CHECK_THAT(errs[1].str, Catch::StartsWith("bad.ir:6:18: error: use of undefined value '%nope'"));
  errs = errorsOf(R"(graph @B(%x: f32[2,3] input) {
  %2 = relu(%x) : f32[2,4]
  %3 = transpose(%x) {perm = [1, 1]} : f32[3,2]
  return
})");
  REQUIRE(errs.size() == 2);
  CHECK_THAT(errs[0].str, Catch::StartsWith("bad.ir:2:19: error: relu gives f32[2,3], not the printed f32[2,4]"));
  CHECK_THAT(errs[1].str, Catch::StartsWith("bad.ir:3:8: error: transpose: perm must be a permutation"));
}

TEST_CASE("mangled IR never crashes the parser") {
  const std::string text = ir::print(test::everyOpGraph());
  std::mt19937_64 rng(42);
  const std::string junk = "%@()[]{},:=\"-.0123456789e xyz\n";
  for (int i = 0; i < 3000; ++i) {
    std::string t = text;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k) {
      const std::size_t at = rng() % t.size();
      switch (rng() % 4) {
        case 0: t.erase(at, 1 + rng() % 8); break;
        case 1: t.insert(at, 1, junk[rng() % junk.size()]); break;
        case 2: t[at] = junk[rng() % junk.size()]; break;
        default: t.insert(at, t.substr(rng() % t.size(), rng() % 40)); break;
      }
    }
    std::vector<ir::ParseError> errs;
    std::optional<ir::Graph> g;
    REQUIRE_NOTHROW(g = ir::parseGraph(t, "fuzz.ir", errs));
    if (g) {
      CHECK(errs.empty());
      CHECK(ir::verify(*g).empty());
    } else {
      CHECK_FALSE(errs.empty());
    }
  }
}
