#include "compiler/codegen/loop_ir.h"

#include <fmt/format.h>
#include <algorithm>

namespace sinter::codegen::loop {

Expr Expr::sym(const std::string& s) {
  Expr e;
  e.kind = Sym;
  e.name = s;
  return e;
}

Expr Expr::var(const std::string& v) {
  Expr e;
  e.kind = Var;
  e.name = v;
  return e;
}

Expr Expr::dim(const ir::Dim& d) { return d.isSymbolic() ? sym(d.symbol) : Expr(d.size); }

namespace {
Expr node(Expr::Kind k, std::vector<Expr> args, std::int64_t value = 0) {
  Expr e;
  e.kind = k;
  e.args = std::move(args);
  e.value = value;
  return e;
}
}  // namespace

Expr operator+(const Expr& a, const Expr& b) {
  if (a.isConst() && b.isConst()) return a.value + b.value;
  if (a.isConst(0)) return b;
  if (b.isConst(0)) return a;
  return node(Expr::Add, {a, b});
}

Expr operator-(const Expr& a, const Expr& b) {
  if (b.isConst()) return a + Expr(-b.value);
  if (a.str() == b.str()) return 0;
  return node(Expr::Add, {a, node(Expr::Mul, {Expr(-1), b})});
}

Expr operator*(const Expr& a, const Expr& b) {
  if (a.isConst() && b.isConst()) return a.value * b.value;
  if (a.isConst(0) || b.isConst(0)) return 0;
  if (a.isConst(1)) return b;
  if (b.isConst(1)) return a;
  return node(Expr::Mul, {a, b});
}

Expr min(const Expr& a, const Expr& b) {
  if (a.isConst() && b.isConst()) return std::min(a.value, b.value);
  if (a.str() == b.str()) return a;
  return node(Expr::Min, {a, b});
}

Expr ceilDiv(const Expr& a, std::int64_t d) {
  if (d == 1) return a;
  if (a.isConst()) return (a.value + d - 1) / d;
  return node(Expr::CeilDiv, {a}, d);
}

Expr floorDiv(const Expr& a, std::int64_t d) {
  if (d == 1) return a;
  if (a.isConst()) return a.value / d;
  return node(Expr::FloorDiv, {a}, d);
}

Expr operator/(const Expr& a, const Expr& b) {
  if (b.isConst()) return floorDiv(a, b.value);
  return node(Expr::Quot, {a, b});
}

Expr select(const Expr& a, const Expr& b, const Expr& x, const Expr& y) {
  if (a.isConst() && b.isConst()) return a.value >= b.value ? x : y;
  if (x.str() == y.str()) return x;
  return node(Expr::Select, {a, b, x, y});
}

Expr named(std::vector<Stmt>& body, const std::string& name, const Expr& value) {
  if (value.kind == Expr::Const || value.kind == Expr::Var || value.kind == Expr::Sym) return value;
  body.push_back(Stmt::of(Let{name, value}));
  return Expr::var(name);
}

Expr numel(const ir::Shape& s) {
  Expr n = 1;
  for (const ir::Dim& d : s) n = n * Expr::dim(d);
  return n;
}

std::string Expr::str() const {
  auto paren = [](const Expr& e) { return e.kind == Add ? "(" + e.str() + ")" : e.str(); };
  switch (kind) {
    case Const: return std::to_string(value);
    case Sym:
    case Var: return name;
    case Add: {
      // x + -1*y prints as x - y
      const Expr& r = args[1];
      if (r.kind == Mul && r.args[0].isConst(-1)) return fmt::format("{} - {}", args[0].str(), paren(r.args[1]));
      if (r.isConst() && r.value < 0) return fmt::format("{} - {}", args[0].str(), -r.value);
      return fmt::format("{} + {}", args[0].str(), r.str());
    }
    case Mul: return fmt::format("{}*{}", paren(args[0]), paren(args[1]));
    case Min: return fmt::format("min({}, {})", args[0].str(), args[1].str());
    case CeilDiv: return fmt::format("ceil({}/{})", args[0].str(), value);
    case FloorDiv: return fmt::format("{}/{}", paren(args[0]), value);
    case Quot: return fmt::format("{}/{}", paren(args[0]), paren(args[1]));
    case Select: return fmt::format("({} >= {} ? {} : {})", args[0].str(), args[1].str(), args[2].str(), args[3].str());
  }
  return "?";
}

std::string Buffer::str() const { return node >= 0 ? fmt::format("%{}", node) : scratch; }

namespace {

std::string access(const Access& a) { return fmt::format("{}[{}]", a.buffer.str(), a.index.str()); }

std::string loopHead(const Loop& l) {
  std::string range = fmt::format("{} in [{}, {})", l.var, l.begin.str(), l.end.str());
  if (l.step != 1) range += fmt::format(" step {}", l.step);
  std::string head;
  switch (l.kind) {
    case Loop::Serial: head = "for " + range; break;
    case Loop::Parallel: head = fmt::format("parallel {} chunks, {} .. {}.end", range, l.var, l.var); break;
    case Loop::Vector: head = fmt::format("for {} vectorize({})", range, l.width); break;
  }
  if (!l.role.empty()) head += "   // " + l.role;
  return head;
}

// The expression of a fused chain's last member in terms of its operands, as nested calls.
std::string formula(const ir::Graph& g, const Compute& c, ir::NodeId id) {
  for (const auto& [n, a] : c.loads)
    if (n == id) return access(a);
  if (std::find(c.ops.begin(), c.ops.end(), id) == c.ops.end()) return fmt::format("%{}", id);
  const ir::Node& n = g.node(id);
  if (n.op == ir::Op::Constant) return fmt::format("{}", n.scalar);
  std::string args;
  for (ir::NodeId o : n.operands) args += (args.empty() ? "" : ", ") + formula(g, c, o);
  return fmt::format("{}({})", ir::opName(n.op), args);
}

// A panel and, when it holds several blocks (B packed once per loop), where the block starts.
std::string panelAt(const std::string& panel, const Expr& at) {
  return at.isConst(0) ? panel : fmt::format("{}[{}]", panel, at.str());
}

std::string product(const Product& p, const std::string& panel) {
  return fmt::format("{}{} {}= {}{}{} · {}{}", access(p.c),
                     !p.ldc.isConst(0) ? " (rows " + p.ldc.str() + " apart)" : "", p.accumulate ? "+" : "",
                     p.addTo ? access(p.init) + (p.initRow ? " (a row)" : "") + " + " : "", access(p.a),
                     p.transA ? "ᵀ" : "", panel.empty() ? access(p.b) : panel, panel.empty() && p.transB ? "ᵀ" : "");
}

std::string prim(const ir::Graph& g, const Prim& p) {
  switch (p.kind) {
    case Prim::MicroKernel:
      // unroll(r x v): the tile's rows and vectors are unrolled into r·v accumulators held in registers.
      return fmt::format("microkernel {}x{} unroll({}x{}) at ({}, {}), k in [{}, {}), rows clamped below {}: {}{}",
                         p.rows, p.cols, p.rows, p.cols / std::max(p.lanes, 1), p.i.str(), p.j0.str(), p.k0.str(),
                         (p.k0 + p.kc).str(), p.rowEnd.str(), product(p.product, panelAt(p.panel, p.panelAt)),
                         p.panel.empty() ? ", columns past N masked" : "");
    case Prim::PackB:
      return fmt::format("pack {} <- {}{} rows [{}, {}), columns [{}, {}), in strips of {}, zero past N",
                         panelAt(p.panel, p.panelAt), p.product.b.buffer.str(), p.product.transB ? "ᵀ" : "", p.k0.str(),
                         (p.k0 + p.kc).str(), p.j0.str(), p.j1.str(), p.cols);
    case Prim::ColumnSums:
      return fmt::format("%{} [{}, {}) = column sums of %{} over its rows", p.nodes[0], p.j0.str(), p.j1.str(),
                         g.node(p.nodes[0]).operands[0]);
    case Prim::Im2Col:
      return fmt::format("{} <- im2col of image {} of %{}{}", p.buffer.str(), p.i.str(), p.nodes[0],
                         !p.j1.isConst(0) ? fmt::format(", input channels [{}, {})", p.j0.str(), p.j1.str()) : "");
    case Prim::Col2Im: return fmt::format("%{}[image {}] <- col2im of {}", p.nodes[0], p.i.str(), p.buffer.str());
    case Prim::DirectConvWeights:
      return fmt::format("%{} output channels [{}, {}) <- direct sums over images [0, {}), lane-wise in {}", p.nodes[0],
                         p.j0.str(), p.j1.str(), p.i.str(), p.buffer.str());
    case Prim::ChannelConv:
      return fmt::format("%{} conv2d images [{}, {}) from {}: {}", p.nodes[0], p.j0.str(), p.j1.str(), p.buffer.str(),
                         p.what);
    case Prim::ChannelConvWeights:
      return fmt::format("%{} conv2d_grad_weight input channels [{}, {}) over images [0, {}) in {}: {}", p.nodes[0],
                         p.j0.str(), p.j1.str(), p.i.str(), p.buffer.str(), p.what);
    case Prim::DirectConvInput:
      return fmt::format("%{} conv2d_grad_input images [{}, {}): {}", p.nodes[0], p.j0.str(), p.j1.str(), p.what);
    case Prim::Zero: return fmt::format("{}[{} .. {}) = 0", p.buffer.str(), p.j0.str(), p.j1.str());
    case Prim::Node: {
      std::string range = p.j0.isConst() && p.j1.isConst() && p.j0.value == p.j1.value
                              ? ""
                              : fmt::format(" [{}, {})", p.j0.str(), p.j1.str());
      return fmt::format("%{} {}{}: {}", p.nodes[0], ir::opName(g.node(p.nodes[0]).op), range, p.what);
    }
  }
  return "?";
}

void printStmts(const ir::Graph& g, const std::vector<Stmt>& body, int indent, std::string& out) {
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  for (const Stmt& s : body) {
    switch (s.kind) {
      case Stmt::LoopStmt: {
        out += pad + loopHead(s.loop) + "\n";
        for (const Scratch& sc : s.loop.scratch)
          out += fmt::format("{}  scratch {}: {} f32{}\n", pad, sc.name, sc.floats.str(),
                             s.loop.kind == Loop::Parallel ? " per chunk" : "");
        printStmts(g, s.loop.body, indent + 2, out);
        break;
      }
      case Stmt::ComputeStmt:
        for (const auto& [id, a] : s.compute.stores)
          out += fmt::format("{}{} = {}\n", pad, access(a), formula(g, s.compute, id));
        break;
      case Stmt::PrimStmt: out += pad + prim(g, s.prim) + "\n"; break;
      case Stmt::LetStmt: out += fmt::format("{}let {} = {}\n", pad, s.let.name, s.let.value.str()); break;
      case Stmt::IfStmt:
        out += fmt::format("{}if {} >= {}{}\n", pad, s.branch.lhs.str(), s.branch.rhs.str(),
                           s.branch.role.empty() ? "" : "   // " + s.branch.role);
        printStmts(g, s.branch.then, indent + 2, out);
        out += pad + "else\n";
        printStmts(g, s.branch.otherwise, indent + 2, out);
        break;
    }
  }
}

}  // namespace

std::string print(const ir::Graph& g, const Nest& nest, int indent) {
  std::string out;
  printStmts(g, nest.body, indent, out);
  return out;
}

}  // namespace sinter::codegen::loop
