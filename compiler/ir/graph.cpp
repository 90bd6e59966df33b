#include "compiler/ir/graph.h"

#include "compiler/ir/node_map.h"

#include <fmt/format.h>
#include <algorithm>
#include <stdexcept>

namespace sinter::ir {

std::string initStr(const Init& i) {
  switch (i.kind) {
    case Init::Zeros: return "zeros";
    case Init::Ones: return "ones";
    case Init::Constant: return fmt::format("constant({})", i.a);
    case Init::Uniform: return fmt::format("uniform({}, {})", i.a, i.b);
    case Init::Normal: return fmt::format("normal({}, {})", i.a, i.b);
    case Init::GlorotUniform: return "glorot_uniform";
    case Init::HeNormal: return "he_normal";
    case Init::LecunUniform: return "lecun_uniform";
    case Init::Data: return fmt::format("values({})", i.data ? i.data->size() : 0);
  }
  return "?";
}

NodeId Graph::add(Node n) {
  const OpDef& info = opDef(n.op);
  if (info.arity < 0 ? n.operands.empty() : static_cast<int>(n.operands.size()) != info.arity)
    throw std::logic_error(fmt::format("{} takes {} operands, got {}", info.name, info.arity, n.operands.size()));
  std::vector<TensorType> types;
  for (NodeId o : n.operands) {
    if (o < 0 || o >= static_cast<NodeId>(nodes.size()))
      throw std::logic_error(fmt::format("{}: operand %{} does not exist", info.name, o));
    types.push_back(node(o).type);
  }
  for (const AttrSpec& spec : info.attrs)
    if (!n.attrs.has(spec.name) || !attrMatches(n.attrs.all().at(spec.name), spec.kind))
      throw std::logic_error(fmt::format("{}: attribute '{}' is missing or of the wrong kind", info.name, spec.name));
  TensorType out;
  if (std::string err = info.typeRule(n, types, out); !err.empty())
    throw std::logic_error(fmt::format("{}: {}", info.name, err));
  n.type = out;
  n.id = static_cast<NodeId>(nodes.size());
  nodes.push_back(std::move(n));
  return nodes.back().id;
}

NodeId Graph::addInput(std::string argName, TensorType t, SourceLoc loc) {
  Node n;
  n.op = Op::Input;
  n.name = std::move(argName);
  n.type = std::move(t);
  n.loc = std::move(loc);
  NodeId id = add(std::move(n));
  inputs.push_back(id);
  return id;
}

NodeId Graph::addParam(std::string argName, TensorType t, Init init, SourceLoc loc) {
  Node n;
  n.op = Op::Param;
  n.name = std::move(argName);
  n.type = std::move(t);
  n.init = init;
  n.loc = std::move(loc);
  NodeId id = add(std::move(n));
  params.push_back(id);
  return id;
}

std::vector<NodeId> Graph::trainedParams() const {
  std::vector<NodeId> out;
  for (NodeId id : params)
    if (!node(id).state) out.push_back(id);
  return out;
}

std::string_view argKeyword(const Node& n) {
  if (n.op == Op::Input) return "input";
  return n.state ? "state" : "param";
}

NodeId Graph::addConstant(double value, TensorType t, SourceLoc loc) {
  Node n;
  n.op = Op::Constant;
  n.scalar = value;
  n.type = std::move(t);
  n.loc = std::move(loc);
  return add(std::move(n));
}

NodeId Graph::addOp(Op op, std::vector<NodeId> operands, SourceLoc loc, std::string valueName) {
  Node n;
  n.op = op;
  n.operands = std::move(operands);
  n.loc = std::move(loc);
  n.name = std::move(valueName);
  return add(std::move(n));
}

NodeId Graph::addOp(Op op, std::vector<NodeId> operands, Attrs attrs, SourceLoc loc, std::string valueName) {
  Node n;
  n.op = op;
  n.operands = std::move(operands);
  n.attrs = std::move(attrs);
  n.loc = std::move(loc);
  n.name = std::move(valueName);
  return add(std::move(n));
}

NodeId Graph::addTyped(Op op, std::vector<NodeId> operands, TensorType type, Attrs attrs, SourceLoc loc) {
  Node n;
  n.op = op;
  n.operands = std::move(operands);
  n.type = std::move(type);
  n.attrs = std::move(attrs);
  n.loc = std::move(loc);
  return add(std::move(n));
}

std::vector<std::string> Graph::symbols() const {
  std::vector<std::string> out;
  for (const Node& n : nodes)
    for (const Dim& d : n.type.shape)
      if (d.isSymbolic() && std::find(out.begin(), out.end(), d.symbol) == out.end()) out.push_back(d.symbol);
  return out;
}

const Result* Graph::findResult(std::string_view resultName) const {
  for (const Result& r : results)
    if (r.name == resultName) return &r;
  return nullptr;
}

void reorderNodes(Graph& g, const std::vector<NodeId>& order) {
  NodeMap<NodeId> newId(g, -1);
  for (std::size_t i = 0; i < order.size(); ++i) newId[order[i]] = static_cast<NodeId>(i);
  auto remap = [&](NodeId& id) {
    if (id >= 0) id = newId[id];
  };
  std::vector<Node> nodes;
  nodes.reserve(order.size());
  for (NodeId id : order) nodes.push_back(std::move(g.node(id)));
  for (Node& n : nodes) {
    remap(n.id);
    for (NodeId& o : n.operands) remap(o);
    remap(n.gradOf);
  }
  for (NodeId& id : g.inputs) remap(id);
  for (NodeId& id : g.params) remap(id);
  for (Result& r : g.results) remap(r.node);
  g.nodes = std::move(nodes);
}

bool removeDeadNodes(Graph& g) {
  const std::size_t n = g.nodes.size();
  NodeMap<bool> live(g, false);
  for (const Result& r : g.results) live[r.node] = true;
  // Operands precede their users, so one backward sweep finds every node a result depends on.
  for (auto it = g.nodes.rbegin(); it != g.nodes.rend(); ++it)
    if (live[it->id])
      for (NodeId o : it->operands) live[o] = true;
  for (NodeId id : g.inputs) live[id] = true;
  for (NodeId id : g.params) live[id] = true;

  NodeMap<NodeId> newId(g, -1);
  std::vector<Node> kept;
  for (Node& node : g.nodes) {
    if (!live[node.id]) continue;
    newId[node.id] = static_cast<NodeId>(kept.size());
    kept.push_back(std::move(node));
  }
  if (kept.size() == n) {
    g.nodes = std::move(kept);
    return false;
  }
  auto remap = [&](NodeId& id) { id = newId[id]; };
  for (Node& node : kept) {
    remap(node.id);
    for (NodeId& o : node.operands) remap(o);
    if (node.gradOf >= 0) remap(node.gradOf);  // -1 when the forward node itself died
  }
  for (NodeId& id : g.inputs) remap(id);
  for (NodeId& id : g.params) remap(id);
  for (Result& r : g.results) remap(r.node);
  g.nodes = std::move(kept);
  return true;
}

}  // namespace sinter::ir
