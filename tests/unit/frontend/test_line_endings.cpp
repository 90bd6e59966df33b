// Model files with any line ending, LF, CRLF or a lone CR, compile to the same graph, and their
// diagnostics point at the same line and column.
#include <catch2/catch.hpp>

#include <string>

#include "compiler/ir/graph.h"
#include "helpers.h"

using namespace sinter::frontend;
using namespace sinter::frontend::test;

namespace {

std::string withEndings(const std::string& lf, const std::string& ending) {
  std::string out;
  for (char c : lf) out += c == '\n' ? ending : std::string(1, c);
  return out;
}

const std::string kModel =
    "# a comment line\n"
    "model M {\n"
    "  input x: f32[batch, 3]\n"
    "  param w: f32[3, 2] = zeros\n"
    "  output y = relu(x @ w)   # trailing comment\n"
    "}\n";

}  // namespace

TEST_CASE("line endings: LF, CRLF and lone CR compile to the same graph") {
  const Compiled lf = compile(kModel);
  REQUIRE(lf.module);
  const std::string expected = sinter::ir::print(lf.module->forward);
  for (const std::string ending : {"\r\n", "\r"}) {
    INFO("ending " << (ending == "\r" ? "CR" : "CRLF"));
    const Compiled c = compile(withEndings(kModel, ending));
    INFO(c.text());
    REQUIRE(c.module);
    CHECK(sinter::ir::print(c.module->forward) == expected);
  }
}

TEST_CASE("line endings: a diagnostic in a CR-only file names its line and quotes it alone") {
  const std::string src = withEndings(model("  input x: f32[batch, 3]\n  output y = relu(z)\n"), "\r");
  const Compiled c = compile(src);
  CHECK(c.first() == "m.sn:3:19: error: use of undefined value 'z'");
  CHECK_THAT(c.text(), Catch::Contains("\n    3 |   output y = relu(z)\n") || Catch::Contains("  output y = relu(z)\n"));
  CHECK_THAT(c.text(), !Catch::Contains("input x"));
}
