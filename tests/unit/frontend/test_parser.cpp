// The parser, seen through the AST dump: structure, precedence, locations and recovery.
#include <catch2/catch.hpp>
#include <string>

#include "frontend/frontend.h"
#include "helpers.h"

using namespace sinter::frontend;
using sinter::frontend::test::model;

namespace {

// The dump without its "File" line, or the diagnostics when parsing failed.
std::string ast(std::string_view src) {
  DiagnosticEngine diags;
  auto dump = dumpAstSource(src, "p.sn", diags);
  if (!dump) return diags.str();
  return dump->substr(dump->find('\n') + 1);
}

}  // namespace

TEST_CASE("parser: declarations, values and outputs", "[parser]") {
  CHECK(ast(model("  input image: f32[batch, 784]\n"
                  "  param w: f32[784, 10] = glorot_uniform\n"
                  "  param b: f32[10]\n"
                  "  z = image @ w + b\n"
                  "  output p = softmax(z)\n")) ==
        "  Model M <1:1>\n"
        "    Input image : f32[batch, 784] <2:9>\n"
        "    Param w : f32[784, 10] <3:9>\n"
        "      Init glorot_uniform <3:27>\n"
        "    Param b : f32[10] <4:9>\n"
        "    Let z <5:3>\n"
        "      Binary '+' <5:17>\n"
        "        Binary '@' <5:13>\n"
        "          Name image <5:7>\n"
        "          Name w <5:15>\n"
        "        Name b <5:19>\n"
        "    Output p <6:10>\n"
        "      Call softmax <6:14>\n"
        "        Name z <6:22>\n");
}

TEST_CASE("parser: '*' and '@' bind tighter than '+' and group from the left", "[parser]") {
  CHECK(ast(model("  x = a + b @ c * d\n")) ==
        "  Model M <1:1>\n"
        "    Let x <2:3>\n"
        "      Binary '+' <2:9>\n"
        "        Name a <2:7>\n"
        "        Binary '*' <2:17>\n"
        "          Binary '@' <2:13>\n"
        "            Name b <2:11>\n"
        "            Name c <2:15>\n"
        "          Name d <2:19>\n");
  CHECK(ast(model("  x = (a + b) * -2.5\n")) ==
        "  Model M <1:1>\n"
        "    Let x <2:3>\n"
        "      Binary '*' <2:15>\n"
        "        Binary '+' <2:10>\n"
        "          Name a <2:8>\n"
        "          Name b <2:12>\n"
        "        Number -2.5 <2:17>\n");
}

TEST_CASE("parser: line breaks inside brackets continue the statement", "[parser]") {
  CHECK(ast(model("  input x: f32[\n    batch,\n    4,\n  ]\n  y = relu(\n    x +\n    x)\n")) ==
        "  Model M <1:1>\n"
        "    Input x : f32[batch, 4] <2:9>\n"
        "    Let y <6:3>\n"
        "      Call relu <6:7>\n"
        "        Binary '+' <7:7>\n"
        "          Name x <7:5>\n"
        "          Name x <8:5>\n");
}

TEST_CASE("parser: initializers with and without arguments", "[parser]") {
  CHECK(ast(model("  param a: f32[2] = zeros()\n"
                  "  param b: f32[2] = uniform(-0.1, high = 0.1)\n")) ==
        "  Model M <1:1>\n"
        "    Param a : f32[2] <2:9>\n"
        "      Init zeros() <2:21>\n"
        "    Param b : f32[2] <3:9>\n"
        "      Init uniform() <3:21>\n"
        "        Number -0.1 <3:29>\n"
        "        Arg high <3:35>\n"
        "          Number 0.1 <3:42>\n");
}

TEST_CASE("parser: train block", "[parser]") {
  CHECK(
      ast("train M {\n  minimize loss\n  optimizer sgd(0.1, momentum = 0.9)\n  batch 64\n  epochs 5\n  seed 42\n}\n") ==
      "  Train M <1:1>\n"
      "    minimize loss <2:3>\n"
      "    optimizer <3:3>\n"
      "      Optimizer sgd() <3:13>\n"
      "        Number 0.1 <3:17>\n"
      "        Arg momentum <3:22>\n"
      "          Number 0.9 <3:33>\n"
      "    batch 64 <4:3>\n"
      "    epochs 5 <5:3>\n"
      "    seed 42 <6:3>\n");
  // A list may be empty, end in a comma and span lines.
  CHECK(ast("train M {\n  metrics [loss,\n           accuracy,]\n  metrics []\n}\n") ==
        "  Train M <1:1>\n"
        "    metrics [loss, accuracy] <2:3>\n"
        "    metrics [] <4:3>\n");
  // A group: its patterns, then its settings as the arguments of a call named after it.
  CHECK(ast("train M {\n  group nd(\"*.b\",\n    \"ln*\", weight_decay = 0,)\n}\n") ==
        "  Train M <1:1>\n"
        "    group nd [\"*.b\", \"ln*\"] <2:3>\n"
        "      Overrides nd() <2:9>\n"
        "        Arg weight_decay <3:12>\n"
        "          Number 0 <3:27>\n");
}

TEST_CASE("parser: comments, blank lines and '{' on its own line", "[parser]") {
  CHECK(ast("# header\n\nmodel M   # trailing\n{\n\n  # inside\n  x = 1\n}\n") ==
        "  Model M <3:1>\n"
        "    Let x <7:3>\n"
        "      Number 1 <7:7>\n");
}

TEST_CASE("parser: a syntax error gives no dump", "[parser]") {
  DiagnosticEngine diags;
  CHECK_FALSE(dumpAstSource("model M {\n  x = (1\n}\n", "p.sn", diags));
  CHECK(diags.errorCount() == 1);
}

TEST_CASE("parser: recovery at line breaks finds every syntax error", "[parser]") {
  const std::string text =
      ast(model("  input x f32[2]\n"
                "  y = x +\n"
                "  z = relu(x\n"
                "  w = x\n"
                "  v = ) x\n"));
  CHECK(text ==
        "p.sn:2:11: error: expected ':' and a type after 'x'\n"
        "  input x f32[2]\n"
        "          ^~~\n"
        "p.sn:3:10: error: expected an expression\n"
        "  y = x +\n"
        "         ^\n"
        "p.sn:4:13: error: expected ')' after the arguments\n"
        "  z = relu(x\n"
        "            ^\n"
        "p.sn:4:11: note: to match this '('\n"
        "  z = relu(x\n"
        "          ^\n"
        "p.sn:6:7: error: expected an expression\n"
        "  v = ) x\n"
        "      ^\n"
        "4 errors generated.\n");
}

TEST_CASE("parser: a missing '}' is reported where the block should end", "[parser]") {
  CHECK(ast("model M {\n  x = 1\n\ntrain M {\n  minimize x\n}\n") ==
        "p.sn:2:8: error: expected '}' at the end of model 'M'\n"
        "  x = 1\n"
        "       ^\n"
        "p.sn:1:9: note: to match this '{'\n"
        "model M {\n"
        "        ^\n"
        "1 error generated.\n");
}

TEST_CASE("parser: imports, layers, defs, loops, tuples, indexing and members", "[parser]") {
  CHECK(ast("import \"nn.sn\"\n"
            "layer L(n, k = 2) {\n"
            "  param w: f32[n]\n"
            "  def forward(x) {\n"
            "    return x * w, -x ** 2\n"
            "  }\n"
            "}\n"
            "model M {\n"
            "  a, b = f(x)[0].y(1)\n"
            "  for t in 0..n {\n"
            "    h = x[:, t, 1:] @ (h,)\n"
            "  }\n"
            "}\n") ==
        "  Import \"nn.sn\" <1:1>\n"
        "  Layer L <2:1>\n"
        "    Parameter n <2:9>\n"
        "    Parameter k <2:12>\n"
        "      Number 2 <2:16>\n"
        "    Param w : f32[n] <3:9>\n"
        "    Def forward <4:3>\n"
        "      Parameter x <4:15>\n"
        "      Return <5:5>\n"
        "        Tuple <5:12>\n"
        "          Binary '*' <5:14>\n"
        "            Name x <5:12>\n"
        "            Name w <5:16>\n"
        "          Neg <5:19>\n"
        "            Binary '**' <5:22>\n"
        "              Name x <5:20>\n"
        "              Number 2 <5:25>\n"
        "  Model M <8:1>\n"
        "    Let a, b <9:3>\n"
        "      Call <9:18>\n"
        "        Member y <9:18>\n"
        "          Index <9:14>\n"
        "            Call f <9:10>\n"
        "              Name x <9:12>\n"
        "            Number 0 <9:15>\n"
        "        Number 1 <9:20>\n"
        "    For t <10:3>\n"
        "      Number 0 <10:12>\n"
        "      Name n <10:15>\n"
        "      Let h <11:5>\n"
        "        Binary '@' <11:21>\n"
        "          Index <11:10>\n"
        "            Name x <11:9>\n"
        "            Slice <11:11>\n"
        "            Name t <11:14>\n"
        "            Slice <11:17>\n"
        "              start\n"
        "                Number 1 <11:17>\n"
        "          Tuple <11:23>\n"
        "            Name h <11:24>\n");
  // -2 ** 2 is -(2 ** 2), as in Python; -2 alone stays a literal.
  CHECK(ast(model("  x = -2 ** 2\n  y = -2\n")) ==
        "  Model M <1:1>\n"
        "    Let x <2:3>\n"
        "      Neg <2:7>\n"
        "        Binary '**' <2:10>\n"
        "          Number 2 <2:8>\n"
        "          Number 2 <2:13>\n"
        "    Let y <3:3>\n"
        "      Number -2 <3:7>\n");
}
