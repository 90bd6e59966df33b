#include "compiler/ir/interpreter.h"

#include <fmt/format.h>
#include <stdexcept>


namespace sinter::ir {

Tensor Tensor::zeros(std::vector<std::int64_t> s) {
  Tensor t;
  t.shape = std::move(s);
  t.data.assign(static_cast<std::size_t>(t.numel()), 0.0);
  return t;
}

std::int64_t Tensor::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

namespace {

std::vector<std::int64_t> concrete(const Shape& s, const std::map<std::string, std::int64_t>& syms) {
  std::vector<std::int64_t> out;
  for (const Dim& d : s) {
    if (!d.isSymbolic()) {
      out.push_back(d.size);
      continue;
    }
    auto it = syms.find(d.symbol);
    if (it == syms.end()) throw std::runtime_error("unbound symbolic dimension '" + d.symbol + "'");
    out.push_back(it->second);
  }
  return out;
}

// The symbols of the graphs being interpreted on this thread, the innermost last. A loop's body (which the scan's
// reference kernel interprets as a graph of its own) may have a symbolic dimension none of its inputs has, as a
// constant of the model's shape: it takes the enclosing graph's value, as generated code passes every symbol
// to the loop's body.
thread_local std::vector<const std::map<std::string, std::int64_t>*> enclosingSymbols;

struct SymbolScope {
  explicit SymbolScope(const std::map<std::string, std::int64_t>& syms) { enclosingSymbols.push_back(&syms); }
  ~SymbolScope() { enclosingSymbols.pop_back(); }
  SymbolScope(const SymbolScope&) = delete;
  SymbolScope& operator=(const SymbolScope&) = delete;
};

}  // namespace

std::vector<Tensor> interpretAll(const Graph& g, const std::map<std::string, Tensor>& args, RunMode mode) {
  // Bind symbolic dimensions from the arguments.
  std::map<std::string, std::int64_t> syms;
  for (const auto* list : {&g.inputs, &g.params})
    for (NodeId id : *list) {
      const Node& n = g.node(id);
      auto it = args.find(n.name);
      if (it == args.end()) throw std::runtime_error("missing argument '" + n.name + "'");
      if (it->second.shape.size() != n.type.shape.size())
        throw std::runtime_error(fmt::format("argument '{}' has rank {}, expected {}", n.name, it->second.shape.size(),
                                             n.type.shape.size()));
      for (std::size_t d = 0; d < n.type.shape.size(); ++d)
        if (n.type.shape[d].isSymbolic()) syms.emplace(n.type.shape[d].symbol, it->second.shape[d]);
    }
  for (auto outer = enclosingSymbols.rbegin(); outer != enclosingSymbols.rend(); ++outer)
    syms.insert((*outer)->begin(), (*outer)->end());  // the graph's own bindings stay
  const SymbolScope scope(syms);

  std::vector<Tensor> v(g.nodes.size());
  for (const Node& n : g.nodes) {
    const std::vector<std::int64_t> shape = concrete(n.type.shape, syms);
    Tensor r;
    if (n.op == Op::Input || n.op == Op::Param) {  // arguments: given
      r = args.at(n.name);
      if (r.shape != shape || static_cast<std::int64_t>(r.data.size()) != r.numel())
        throw std::runtime_error(fmt::format("argument '{}' does not have type {}", n.name, n.type.str()));
    } else {
      std::vector<const Tensor*> in;
      for (NodeId o : n.operands) in.push_back(&v[static_cast<std::size_t>(o)]);
      r = opDef(n.op).reference({n, in, shape, mode});
    }
    r.shape = shape;
    v[static_cast<std::size_t>(n.id)] = std::move(r);
  }
  return v;
}

std::vector<Tensor> interpret(const Graph& g, const std::map<std::string, Tensor>& args, RunMode mode) {
  std::vector<Tensor> all = interpretAll(g, args, mode);
  std::vector<Tensor> out;
  for (const Result& r : g.results) out.push_back(all.at(static_cast<std::size_t>(r.node)));
  return out;
}

}  // namespace sinter::ir
