// The textual form of a graph (docs/ir.md describes it).
#include <fmt/format.h>

#include <map>

#include "compiler/ir/graph.h"

namespace sinter::ir {
namespace {

std::string ref(const Graph& g, NodeId id) {
  const Node& n = g.node(id);
  if (n.op == Op::Input || n.op == Op::Param) return "%" + n.name;
  return fmt::format("%{}", id);
}

std::string locStr(const SourceLoc& l) {
  if (!l.valid()) return {};
  return fmt::format("loc({}:{}:{})", quote(l.file), l.line, l.col);
}

std::string_view kindStr(Result::Kind k) {
  switch (k) {
    case Result::Output: return "output";
    case Result::Loss: return "loss";
    case Result::Grad: return "grad";
    case Result::State: return "state";
  }
  return "?";
}

// Every line after the first indented by two more spaces: a body nested in the statement that holds it.
std::string indented(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    out += text[i];
    if (text[i] == '\n' && i + 1 < text.size()) out += "  ";
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

// Shared with the DOT writer, whose string literals escape the same way.
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') out += "\\n";
    else out += c;
  }
  return out + "\"";
}

std::string print(const Graph& g) {
  std::string out = fmt::format("graph @{}(", g.name);
  bool first = true;
  for (const auto* list : {&g.inputs, &g.params}) {
    for (NodeId id : *list) {
      const Node& n = g.node(id);
      out += first ? "\n    " : ",\n    ";
      first = false;
      out += fmt::format("%{}: {} {}", n.name, n.type.str(), argKeyword(n));
      if (n.op == Op::Param) out += " = " + initStr(n.init);
      if (n.loc.valid()) out += "  " + locStr(n.loc);
    }
  }
  out += ") {\n";
  std::map<const Graph*, NodeId> bodies;  // each body is printed with the first node that holds it
  for (const Node& n : g.nodes) {
    if (n.op == Op::Input || n.op == Op::Param) continue;
    std::string lhs = fmt::format("  %{} = {}", n.id, opName(n.op));
    if (n.op == Op::Constant) {
      lhs += fmt::format(" {}", n.scalar);
    } else {
      lhs += "(";
      for (std::size_t i = 0; i < n.operands.size(); ++i) lhs += (i ? ", " : "") + ref(g, n.operands[i]);
      lhs += ")";
    }
    if (!n.attrs.all().empty()) lhs += " " + n.attrs.str();
    std::string line = fmt::format("{:<44} : {:<16}", lhs, n.type.str());
    if (!n.name.empty()) line += fmt::format(" name({})", quote(n.name));
    if (n.gradOf >= 0 && n.gradOperand >= 0) line += fmt::format(" grad({}, wrt {})", ref(g, n.gradOf), n.gradOperand);
    else if (n.gradOf >= 0) line += fmt::format(" grad({})", ref(g, n.gradOf));  // the seed d(loss)/d(loss)
    if (n.loc.valid()) line += " " + locStr(n.loc);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    if (n.body) {
      auto [it, isNew] = bodies.emplace(n.body.get(), n.id);
      line += isNew ? " body " + indented(print(*n.body)) : fmt::format(" body(%{})", it->second);
    }
    out += line + "\n";
  }
  out += "  return";
  for (std::size_t i = 0; i < g.results.size(); ++i) {
    const Result& r = g.results[i];
    out += fmt::format("{}\n    {} {} = {}", i ? "," : "", kindStr(r.kind), quote(r.name), ref(g, r.node));
  }
  out += "\n}\n";
  return out;
}

}  // namespace sinter::ir
