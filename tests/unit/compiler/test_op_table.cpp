// The op table is whole: every op has what each layer of the compiler needs from it, a test graph that
// exercises it (op_cases.h, checked against finite differences and the interpreter by test_ops.cpp), and
// its line in docs/ir.md, which `sinter ops` generates from the table.
#include <fstream>
#include <set>
#include <sstream>

#include "frontend/functions.h"
#include "op_cases.h"

using namespace sinter;
using namespace sinter::test::ops;

namespace {

std::string readSource(const std::string& path) {
  std::ifstream f(std::string(SINTER_SOURCE_DIR) + "/" + path);
  REQUIRE(f);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool isArgument(Op op) { return op == Op::Input || op == Op::Param; }

}  // namespace

TEST_CASE("every op has a name, a type rule, docs, a gradient or a reason for none, a reference kernel and a lowering") {
  for (const ir::OpDef& d : ir::allOps()) {
    INFO("op " << d.name);
    CHECK(ir::opFromName(d.name) == d.op);
    CHECK(&ir::opDef(d.op) == &d);
    CHECK(d.typeRule != nullptr);
    CHECK_FALSE(d.doc.empty());
    CHECK_FALSE(std::string_view(d.grad.doc).empty());  // the rule's formula, or why there is none
    // Arguments are given by the caller: no reference kernel and no kernel computes them.
    CHECK((d.reference != nullptr) != isArgument(d.op));
    CHECK((d.kernel == ir::KernelKind::None) == isArgument(d.op));
    CHECK_FALSE(ir::isFusedKind(d.kernel));
    // Elementwise code is the op's formula instantiated over LLVM values.
    if (d.kernel == ir::KernelKind::Elementwise || (d.flags & ir::kElementwise)) CHECK(static_cast<bool>(d.scalar));
    if (d.flags & ir::kLeaf) CHECK(d.arity == 0);
    if (!d.builtin.name.empty()) {
      const frontend::BuiltinSpec* b = frontend::findBuiltin(d.builtin.name);
      REQUIRE(b);
      CHECK(b->op == d.op);
    }
  }
  CHECK_FALSE(ir::opFromName("no_such_op").has_value());
}

TEST_CASE("every op is exercised by a test graph: with a gradient rule as its subject, the others in a train step") {
  std::set<Op> subjects, seen;
  for (const OpCase& c : cases()) {
    Builder b;
    const ir::NodeId v = c.build(b);
    subjects.insert(b.g.node(v).op);
    const ir::Graph step = autodiff::buildTrainStep(wrap(b, v), "loss");
    for (const ir::Node& n : step.nodes) seen.insert(n.op);
  }
  for (const ir::OpDef& d : ir::allOps()) {
    INFO("op " << d.name);
    CHECK(seen.count(d.op) == 1);
    // A rule that emits nodes is checked against central differences with the op as the graph's subject.
    if (d.grad.rule && d.grad.rule != ir::zeroGradient && !(d.flags & ir::kLeaf)) CHECK(subjects.count(d.op) == 1);
  }
}

TEST_CASE("docs/ir.md holds the op reference that `sinter ops` prints") {
  const std::string doc = readSource("docs/ir.md");
  const std::string begin = "<!-- sinter ops: begin -->\n", end = "<!-- sinter ops: end -->";
  const auto b = doc.find(begin), e = doc.find(end);
  REQUIRE(b != std::string::npos);
  REQUIRE(e != std::string::npos);
  INFO("regenerate it with: build/tools/sinter ops, pasted between the markers");
  CHECK(doc.substr(b + begin.size(), e - b - begin.size()) == ir::opReference());
}
