#include "compiler/ir/scan.h"

#include "compiler/ir/graph.h"

namespace sinter::ir {

bool extendsBody(const Graph& big, const Graph& small) {
  if (&big == &small) return true;
  if (big.results.size() < small.results.size() || big.nodes.size() != small.nodes.size()) return false;
  Graph cut = big;
  cut.results.resize(small.results.size());
  cut.name = small.name;
  return print(cut) == print(small);
}

bool sameSteps(const Node& a, const Node& b) {
  if (a.op != b.op || !a.body || !b.body || a.operands != b.operands) return false;
  Attrs x = a.attrs, y = b.attrs;
  x.set("result", std::int64_t{0});
  y.set("result", std::int64_t{0});
  return x.str() == y.str();
}

}  // namespace sinter::ir
