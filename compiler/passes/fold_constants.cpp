#include "compiler/passes/fold_constants.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <stdexcept>

#include "compiler/ir/interpreter.h"

namespace sinter::passes {
namespace {

constexpr std::int64_t kMaxElements = 1 << 16;  // larger splats are not worth an interpreter run

// The splat value of node n of g evaluated with every symbolic dimension equal to `symValue`, or
// nullopt when it is not a splat (or too big to evaluate).
std::optional<double> evaluate(const ir::Graph& g, const ir::Node& n, std::int64_t symValue) {
  ir::Graph mini;
  // One dummy input binds every symbol the node's types mention.
  ir::Shape symShape;
  std::vector<std::string> seen;
  auto collect = [&](const ir::TensorType& t) {
    for (const ir::Dim& d : t.shape)
      if (d.isSymbolic() && std::find(seen.begin(), seen.end(), d.symbol) == seen.end()) {
        seen.push_back(d.symbol);
        symShape.push_back(d);
      }
  };
  collect(n.type);
  for (ir::NodeId o : n.operands) collect(g.node(o).type);
  std::map<std::string, ir::Tensor> args;
  if (!symShape.empty()) {
    mini.addInput("syms", {ir::DType::F32, symShape});
    args["syms"] = ir::Tensor::zeros(std::vector<std::int64_t>(symShape.size(), symValue));
  }
  ir::Node copy = n;
  copy.operands.clear();
  for (ir::NodeId o : n.operands) {
    const ir::Node& c = g.node(o);
    std::int64_t elems = 1;
    for (const ir::Dim& d : c.type.shape) elems *= d.isSymbolic() ? symValue : d.size;
    if (elems > kMaxElements) return std::nullopt;
    copy.operands.push_back(mini.addConstant(c.scalar, c.type));
  }
  std::int64_t elems = 1;
  for (const ir::Dim& d : n.type.shape) elems *= d.isSymbolic() ? symValue : d.size;
  if (elems > kMaxElements) return std::nullopt;
  copy.gradOf = -1;
  mini.results = {{"value", mini.add(copy), ir::Result::Output}};
  const ir::Tensor v = ir::interpret(mini, args).at(0);
  if (v.data.empty() || std::isnan(v.data[0])) return std::nullopt;
  for (double x : v.data)
    if (x != v.data[0]) return std::nullopt;
  return v.data[0];
}

}  // namespace

bool foldConstants(ir::Graph& g) {
  bool changed = false;
  // Topological order: a folded node is a constant by the time its users are visited.
  for (ir::Node& n : g.nodes) {
    if (opDef(n.op).flags & (ir::kLeaf | ir::kStochastic) || n.operands.empty()) continue;  // dropout differs per step
    bool allConstant = true;
    for (ir::NodeId o : n.operands) allConstant &= g.node(o).op == ir::Op::Constant;
    if (!allConstant) continue;
    std::optional<double> a, b;
    try {
      a = evaluate(g, n, 2);
      b = evaluate(g, n, 3);
    } catch (const std::exception&) {
      continue;  // the interpreter rejects it (say, a label out of range): leave it to run time
    }
    if (!a || !b || *a != *b) continue;  // not a splat, or it depends on a symbol (a sum over batch)
    n.op = ir::Op::Constant;
    n.operands.clear();
    n.attrs = {};
    n.scalar = *a;
    changed = true;
  }
  return changed;
}

}  // namespace sinter::passes
