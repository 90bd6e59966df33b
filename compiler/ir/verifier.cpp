// The verifier: every invariant a pass or the frontend may break, checked without trusting the graph.
#include <fmt/format.h>
#include <set>

#include "compiler/ir/graph.h"

namespace sinter::ir {
namespace {

// States: params only, listed after every trained param (the ABI puts them last), and each State result
// names one state and has its type (result names are unique: a state has at most one).
void checkStates(const Graph& g, std::vector<std::string>& errs) {
  auto valid = [&](NodeId id) { return id >= 0 && id < static_cast<NodeId>(g.nodes.size()); };
  for (const Node& n : g.nodes)
    if (n.state && n.op != Op::Param) errs.push_back(fmt::format("%{} is marked as state but is not a param", n.id));
  bool sawState = false;
  for (NodeId id : g.params) {
    if (!valid(id)) continue;
    if (g.node(id).state) sawState = true;
    else if (sawState) errs.push_back(fmt::format("param '{}' is listed after a state", g.node(id).name));
  }
  for (const Result& r : g.results) {
    if (r.kind != Result::State || !valid(r.node)) continue;
    const Node* s = nullptr;
    for (NodeId id : g.params)
      if (valid(id) && g.node(id).state && g.node(id).name == r.name) s = &g.node(id);
    if (!s) errs.push_back(fmt::format("state result '{}' names no state", r.name));
    else if (!(g.node(r.node).type == s->type))
      errs.push_back(
          fmt::format("state result '{}' is {} but the state is {}", r.name, g.node(r.node).type.str(), s->type.str()));
  }
}

}  // namespace

std::vector<std::string> verify(const Graph& g) {
  std::vector<std::string> errs;
  auto bad = [&](const Node& n, std::string msg) {
    errs.push_back(fmt::format("%{} ({}): {}", n.id, opName(n.op), msg));
  };
  std::set<std::string> argNames;
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.id != static_cast<NodeId>(i)) {
      errs.push_back(fmt::format("node at index {} has id {}", i, n.id));
      continue;
    }
    const OpDef& info = opDef(n.op);
    if (info.arity < 0 ? n.operands.empty() : static_cast<int>(n.operands.size()) != info.arity) {
      bad(n, info.arity < 0 ? std::string("expects at least one operand")
                            : fmt::format("expects {} operands, has {}", info.arity, n.operands.size()));
      continue;
    }
    bool attrsOk = true;
    for (const AttrSpec& spec : info.attrs)
      if (!n.attrs.has(spec.name) || !attrMatches(n.attrs.all().at(spec.name), spec.kind)) {
        bad(n, fmt::format("attribute '{}' is missing or of the wrong kind", spec.name));
        attrsOk = false;
      }
    if (!attrsOk) continue;
    std::vector<TensorType> types;
    bool operandsOk = true;
    for (NodeId o : n.operands) {
      if (o < 0 || o >= n.id) {
        bad(n, fmt::format("operand %{} is not defined before use", o));
        operandsOk = false;
      } else {
        types.push_back(g.node(o).type);
      }
    }
    if (!operandsOk) continue;
    TensorType expect;
    if (std::string e = info.typeRule(n, types, expect); !e.empty()) bad(n, e);
    else if (!(expect == n.type)) bad(n, fmt::format("type is {} but its rule gives {}", n.type.str(), expect.str()));
    for (const Dim& d : n.type.shape)
      if (!d.isSymbolic() && d.size <= 0) bad(n, "dimension sizes must be positive");
    if (n.op == Op::Input || n.op == Op::Param) {
      if (n.name.empty()) bad(n, "argument has no name");
      else if (!argNames.insert(n.name).second) bad(n, fmt::format("argument name '{}' is used twice", n.name));
    }
    if (n.op == Op::Param && !isFloat(n.type.dtype)) bad(n, "params must be floating point");
    if (n.gradOf >= n.id) bad(n, "differentiates a node that comes after it");
    if (n.body && !(info.flags & kRegion)) bad(n, "only a region op holds a body");
    if (n.body && (n.id == 0 || g.node(n.id - 1).body != n.body))  // a body shared by neighbours is checked once
      for (const std::string& e : verify(*n.body)) bad(n, "in its body: " + e);
  }
  auto checkList = [&](const std::vector<NodeId>& list, Op op, const char* what) {
    std::size_t count = 0;
    for (const Node& n : g.nodes) count += n.op == op;
    if (count != list.size()) errs.push_back(fmt::format("graph lists {} {}s but holds {}", list.size(), what, count));
    for (NodeId id : list)
      if (id < 0 || id >= static_cast<NodeId>(g.nodes.size()) || g.node(id).op != op)
        errs.push_back(fmt::format("%{} is listed as a {} but is not one", id, what));
  };
  checkList(g.inputs, Op::Input, "input");
  checkList(g.params, Op::Param, "param");
  checkStates(g, errs);
  std::set<std::string> resultNames;
  for (const Result& r : g.results) {
    if (r.node < 0 || r.node >= static_cast<NodeId>(g.nodes.size()))
      errs.push_back(fmt::format("result '{}' refers to missing node %{}", r.name, r.node));
    if (!resultNames.insert(r.name).second) errs.push_back(fmt::format("result name '{}' is used twice", r.name));
  }
  return errs;
}

}  // namespace sinter::ir
