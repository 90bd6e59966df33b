#include "frontend/ast_printer.h"

#include <fmt/format.h>

namespace sinter::frontend {
namespace {

class Printer {
 public:
  std::string out;

  void file(const ast::File& f, const std::string& path) {
    line(0, fmt::format("File '{}'", path));
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
    for (const ast::Decl& d : m.decls) decl(d);
  }

  void decl(const ast::Decl& d) {
    static constexpr std::string_view kKinds[] = {"Input", "Param", "Let", "Output"};
    std::string head = fmt::format("{} {}", kKinds[d.kind], d.name);
    if (d.kind == ast::Decl::Input || d.kind == ast::Decl::Param) head += " : " + type(d.type);
    line(2, fmt::format("{} {}{}", head, at(d.nameRange.begin), d.broken ? " (broken)" : ""));
    if (d.init) call(3, "Init", *d.init);
    if (d.value) expr(3, *d.value);
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
      case ast::Expr::Number:
        line(indent, fmt::format("Number {} {}", e.text, at(e.opRange.begin)));
        break;
      case ast::Expr::Name:
        line(indent, fmt::format("Name {} {}", e.text, at(e.opRange.begin)));
        break;
      case ast::Expr::Binary:
        line(indent, fmt::format("Binary '{}' {}", ast::spelling(e.op), at(e.opRange.begin)));
        expr(indent + 1, *e.lhs);
        expr(indent + 1, *e.rhs);
        break;
      case ast::Expr::Call:
        line(indent, fmt::format("Call {} {}", e.text, at(e.opRange.begin)));
        args(indent + 1, e.args);
        break;
    }
  }

  void train(const ast::TrainBlock& t) {
    line(1, fmt::format("Train {} {}", t.model, at(t.keywordRange.begin)));
    for (const ast::Setting& s : t.settings) {
      const std::string_view key = ast::settingName(s.kind);
      const std::string broken = s.broken ? " (broken)" : "";
      if (s.kind == ast::Setting::Optimizer && !s.broken) {
        line(2, fmt::format("{} {}", key, at(s.keyRange.begin)));
        call(3, "Optimizer", s.optimizer);
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
