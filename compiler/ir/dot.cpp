#include "compiler/ir/dot.h"

#include "compiler/ir/node_map.h"

#include <fmt/format.h>

namespace sinter::ir {
namespace {

std::string label(const Graph& g, const Node& n) {
  if (n.op == Op::Input || n.op == Op::Param) {
    std::string s = fmt::format("%{}\n{} {}", n.name, argKeyword(n), n.type.str());
    if (n.op == Op::Param) s += "\n= " + initStr(n.init);
    return s;
  }
  std::string head = fmt::format("%{} = {}", n.id, opName(n.op));
  if (n.op == Op::Constant) head += fmt::format(" {}", n.scalar);
  if (!n.attrs.all().empty()) head += " " + n.attrs.str();
  std::string s = head + "\n" + n.type.str();
  if (!n.name.empty()) s += fmt::format("\n\"{}\"", n.name);
  if (n.gradOf >= 0) {
    const Node& f = g.node(n.gradOf);
    const std::string of = f.op == Op::Input || f.op == Op::Param ? "%" + f.name : fmt::format("%{}", f.id);
    s += n.gradOperand >= 0 ? fmt::format("\ngrad({}, wrt {})", of, n.gradOperand) : fmt::format("\ngrad({})", of);
  }
  return s;
}

}  // namespace

std::string printDot(const Graph& g, const std::vector<DotBox>& boxes) {
  std::string out =
      fmt::format("digraph {} {{\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n", quote(g.name));
  auto isArg = [](const Node& n) { return n.op == Op::Input || n.op == Op::Param; };
  // Side of a node: 0 argument, 1 forward, 2 backward; a box's side is its nodes' if they agree, else 3.
  auto side = [&](const Node& n) { return isArg(n) ? 0 : n.gradOf < 0 ? 1 : 2; };
  NodeMap<int> boxOf(g, -1);
  std::vector<int> boxSide(boxes.size(), -1);
  for (std::size_t b = 0; b < boxes.size(); ++b)
    for (NodeId id : boxes[b].nodes) {
      boxOf[id] = static_cast<int>(b);
      const int s = side(g.node(id));
      boxSide[b] = boxSide[b] < 0 || boxSide[b] == s ? s : 3;
    }
  auto nodeLine = [&](const Node& n, const char* indent) {
    return fmt::format("{}n{} [label={}];\n", indent, n.id, quote(label(g, n)));
  };
  auto boxesOn = [&](int s, const char* indent) {
    std::string body;
    for (std::size_t b = 0; b < boxes.size(); ++b) {
      if (boxSide[b] != s) continue;
      body +=
          fmt::format("{}subgraph cluster_box{} {{\n{}  label={}; style=filled; fillcolor=\"#f4f4f4\"; color=gray;\n",
                      indent, b, indent, quote(boxes[b].label));
      for (NodeId id : boxes[b].nodes) body += nodeLine(g.node(id), (std::string(indent) + "  ").c_str());
      body += fmt::format("{}}}\n", indent);
    }
    return body;
  };
  auto cluster = [&](const char* id, const char* title, const char* style, int s) {
    std::string body;
    for (const Node& n : g.nodes)
      if (side(n) == s && boxOf[n.id] < 0) body += nodeLine(n, "    ");
    body += boxesOn(s, "    ");
    if (body.empty()) return;
    out += fmt::format("  subgraph cluster_{} {{\n    label=\"{}\";\n    {}\n{}  }}\n", id, title, style, body);
  };
  cluster("args", "arguments", "style=dashed; node [shape=ellipse];", 0);
  cluster("forward", "forward", "style=rounded; color=blue;", 1);
  cluster("backward", "backward", "style=rounded; color=red;", 2);
  out += boxesOn(3, "  ");
  for (const Node& n : g.nodes)
    for (std::size_t i = 0; i < n.operands.size(); ++i)
      out += fmt::format("  n{} -> n{}{};\n", n.operands[i], n.id,
                         n.operands.size() > 1 ? fmt::format(" [label=\"{}\"]", i) : "");
  for (std::size_t i = 0; i < g.results.size(); ++i) {
    const Result& r = g.results[i];
    const char* kind = r.kind == Result::Output ? "output"
                       : r.kind == Result::Loss ? "loss"
                       : r.kind == Result::Grad ? "grad"
                                                : "state";
    out += fmt::format("  r{} [shape=note, label={}];\n  n{} -> r{};\n", i,
                       quote(fmt::format("{} \"{}\"", kind, r.name)), r.node, i);
  }
  return out + "}\n";
}

}  // namespace sinter::ir
