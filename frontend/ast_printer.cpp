#include "frontend/ast_printer.h"

#include <fmt/format.h>

namespace sinter::frontend {
namespace {

class Printer {
 public:
  std::string out;

  void file(const ast::File& f, const std::string& path) {
    line(0, fmt::format("File '{}'", path));
    for (const ast::Import& i : f.imports)
      line(1, fmt::format("Import \"{}\"{} {}", i.path, i.alias.empty() ? "" : " as " + i.alias, at(i.keywordRange.begin)));
    for (const ast::Layer& l : f.layers) layer(l);
    for (const ast::Function& fn : f.functions) function(1, fn);
    for (const ast::Model& m : f.models) model(m);
    for (const ast::TrainBlock& t : f.trains) train(t);
  }

 private:
  void line(int indent, std::string_view text) {
    out.append(static_cast<std::size_t>(indent) * 2, ' ');
    out += text;
    out += '\n';
  }

  static std::string at(Pos p) { return fmt::format("<{}:{}>", p.line, p.col); }

  static std::string type(const ast::TypeExpr& t) {
    std::string dims;
    for (const ast::DimExpr& d : t.dims) dims += (dims.empty() ? "" : ", ") + d.text;
    return fmt::format("{}[{}]", t.dtype, dims);
  }

  void model(const ast::Model& m) {
    line(1, fmt::format("Model {} {}", m.name, at(m.keywordRange.begin)));
    for (const ast::Decl& d : m.decls) decl(2, d);
  }

  void paramList(int indent, const std::vector<ast::ParamDecl>& params) {
    for (const ast::ParamDecl& p : params) {
      line(indent, fmt::format("Parameter {} {}", p.name, at(p.range.begin)));
      if (p.fallback) expr(indent + 1, *p.fallback);
    }
  }

  void layer(const ast::Layer& l) {
    line(1, fmt::format("Layer {} {}", l.name, at(l.keywordRange.begin)));
    paramList(2, l.params);
    for (const ast::Decl& d : l.body) decl(2, d);
    for (const ast::Function& f : l.methods) function(2, f);
  }

  void function(int indent, const ast::Function& f) {
    line(indent, fmt::format("Def {} {}", f.name, at(f.keywordRange.begin)));
    paramList(indent + 1, f.params);
    for (const ast::Decl& d : f.body) decl(indent + 1, d);
  }

  void decl(int indent, const ast::Decl& d) {
    static constexpr std::string_view kKinds[] = {"Input", "Param", "Let",    "Output", "For",  "Return",
                                                  "If",    "State", "Update", "Scan",   "Stack"};
    std::string head = fmt::format("{} {}", kKinds[d.kind], d.name);
    if (d.kind == ast::Decl::Return || d.kind == ast::Decl::If) head = kKinds[d.kind];
    for (std::size_t i = 1; i < d.targets.size(); ++i) head += ", " + d.targets[i].name;
    if (d.kind == ast::Decl::Input || d.kind == ast::Decl::Param || d.kind == ast::Decl::State)
      head += " : " + type(d.type);
    if (d.reverse) head += " reverse";
    const bool keyword =
        d.kind == ast::Decl::Return || d.kind == ast::Decl::For || d.kind == ast::Decl::If || d.kind == ast::Decl::Scan;
    const Pos pos = keyword ? d.keywordRange.begin : d.nameRange.begin;
    line(indent, fmt::format("{} {}{}", head, at(pos), d.broken ? " (broken)" : ""));
    for (const ast::ExprPtr& s : d.seqs) {
      line(indent + 1, "Sequence");
      expr(indent + 2, *s);
    }
    if (d.axis) {
      line(indent + 1, "Along");
      expr(indent + 2, *d.axis);
    }
    if (d.init) call(indent + 1, "Init", *d.init);
    if (d.value) expr(indent + 1, *d.value);
    if (d.end) expr(indent + 1, *d.end);
    for (const ast::Decl& b : d.body) decl(indent + 1, b);
    if (!d.otherwise.empty()) line(indent, "Else");
    for (const ast::Decl& b : d.otherwise) decl(indent + 1, b);
  }

  void call(int indent, std::string_view kind, const ast::CallExpr& c) {
    line(indent, fmt::format("{} {}{} {}", kind, c.name, c.hasParens ? "()" : "", at(c.nameRange.begin)));
    args(indent + 1, c.args);
  }

  void args(int indent, const std::vector<ast::Arg>& args) {
    for (const ast::Arg& a : args) {
      if (a.keyword.empty()) {
        expr(indent, *a.value);
      } else {
        line(indent, fmt::format("Arg {} {}", a.keyword, at(a.keywordRange.begin)));
        expr(indent + 1, *a.value);
      }
    }
  }

  void expr(int indent, const ast::Expr& e) {
    switch (e.kind) {
      case ast::Expr::Number: line(indent, fmt::format("Number {} {}", e.text, at(e.opRange.begin))); break;
      case ast::Expr::Name: line(indent, fmt::format("Name {} {}", e.text, at(e.opRange.begin))); break;
      case ast::Expr::Binary:
        line(indent, fmt::format("Binary '{}' {}", ast::spelling(e.op), at(e.opRange.begin)));
        expr(indent + 1, *e.lhs);
        expr(indent + 1, *e.rhs);
        break;
      case ast::Expr::Neg:
        line(indent, fmt::format("Neg {}", at(e.opRange.begin)));
        expr(indent + 1, *e.lhs);
        break;
      case ast::Expr::Call:
        line(indent, e.lhs ? fmt::format("Call {}", at(e.opRange.begin))
                           : fmt::format("Call {} {}", e.text, at(e.opRange.begin)));
        if (e.lhs) expr(indent + 1, *e.lhs);
        args(indent + 1, e.args);
        break;
      case ast::Expr::Tuple:
        line(indent, fmt::format("Tuple {}", at(e.range.begin)));
        args(indent + 1, e.args);
        break;
      case ast::Expr::Member:
        line(indent, fmt::format("Member {} {}", e.text, at(e.opRange.begin)));
        expr(indent + 1, *e.lhs);
        break;
      case ast::Expr::Index:
        line(indent, fmt::format("Index {}", at(e.opRange.begin)));
        expr(indent + 1, *e.lhs);
        for (const ast::IndexItem& it : e.items) {
          if (!it.isSlice) {
            expr(indent + 1, *it.index);
            continue;
          }
          line(indent + 1, fmt::format("Slice {}", at(it.range.begin)));
          const char* names[] = {"start", "end", "step"};
          const ast::ExprPtr* parts[] = {&it.start, &it.end, &it.step};
          for (int k = 0; k < 3; ++k) {
            if (!*parts[k]) continue;
            line(indent + 2, names[k]);
            expr(indent + 3, **parts[k]);
          }
        }
        break;
    }
  }

  void train(const ast::TrainBlock& t) {
    line(1, fmt::format("Train {} {}", t.model, at(t.keywordRange.begin)));
    for (const ast::Setting& s : t.settings) {
      const std::string_view key = ast::settingName(s.kind);
      const std::string broken = s.broken ? " (broken)" : "";
      if ((s.kind == ast::Setting::Optimizer || s.kind == ast::Setting::Schedule) && !s.broken) {
        line(2, fmt::format("{} {}", key, at(s.keyRange.begin)));
        call(3, s.kind == ast::Setting::Optimizer ? "Optimizer" : "Schedule", s.optimizer);
      } else if (s.kind == ast::Setting::Metrics) {
        std::string names;
        for (const ast::Setting::Name& n : s.names) names += (names.empty() ? "" : ", ") + n.name;
        line(2, fmt::format("{} [{}] {}{}", key, names, at(s.keyRange.begin), broken));
      } else if (s.kind == ast::Setting::Group && !s.broken) {
        std::string patterns;
        for (const ast::Setting::Name& n : s.names) patterns += (patterns.empty() ? "\"" : ", \"") + n.name + "\"";
        line(2, fmt::format("{} {} [{}] {}", key, s.value, patterns, at(s.keyRange.begin)));
        call(3, "Overrides", s.optimizer);
      } else if (s.kind == ast::Setting::Data) {
        std::string fields;
        for (const ast::Setting::Field& f : s.fields) fields += (fields.empty() ? "" : ", ") + f.key + " = " + f.value;
        line(2, fmt::format("{} ({}) {}{}", key, fields, at(s.keyRange.begin), broken));
      } else {
        const std::string value = s.value.empty() ? "" : " " + s.value;
        line(2, fmt::format("{}{} {}{}", key, value, at(s.keyRange.begin), broken));
      }
    }
  }
};

}  // namespace

std::string printAst(const ast::File& file, const std::string& path) {
  Printer p;
  p.file(file, path);
  return p.out;
}

}  // namespace sinter::frontend
