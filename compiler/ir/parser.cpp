// The Graph IR parser: a hand-written lexer and recursive-descent parser for the form docs/ir.md
// describes. Each grammar rule sits above the function that parses it. Statements are line-oriented,
// so after a syntax error the parser skips to the next line and goes on, reporting every error.
#include "compiler/ir/parser.h"

#include <fmt/format.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>

namespace sinter::ir {
namespace {

// ---- lexer ------------------------------------------------------------------------------------

enum class Tok { End, Percent, At, Ident, Number, String, Punct };

struct Token {
  Tok kind = Tok::End;
  std::string text;  // without the sigil for % and @, unescaped for strings
  int line = 0, col = 0;
};

bool isNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

class Lexer {
 public:
  explicit Lexer(std::string_view text) : s_(text) {}

  // Every token of the text; malformed characters become errors (line, col, message).
  std::vector<Token> run(std::vector<std::tuple<int, int, std::string>>& errs) {
    std::vector<Token> out;
    for (;;) {
      skipSpaceAndComments();
      Token t;
      t.line = line_;
      t.col = col();
      if (i_ >= s_.size()) {
        out.push_back(t);
        return out;
      }
      const char c = s_[i_];
      if (c == '%' || c == '@') {
        ++i_;
        t.kind = c == '%' ? Tok::Percent : Tok::At;
        t.text = takeWhile(isNameChar);
        if (t.text.empty()) errs.emplace_back(t.line, t.col, fmt::format("expected a name after '{}'", c));
      } else if (isDigit(c) || ((c == '-' || c == '+') && i_ + 1 < s_.size() &&
                                (isDigit(s_[i_ + 1]) || s_[i_ + 1] == '.' || s_.substr(i_ + 1, 3) == "inf" ||
                                 s_.substr(i_ + 1, 3) == "nan"))) {
        t.kind = Tok::Number;
        t.text = lexNumber();
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        t.kind = Tok::Ident;
        t.text = takeWhile(isNameChar);
      } else if (c == '"') {
        t.kind = Tok::String;
        if (!lexString(t.text)) errs.emplace_back(t.line, t.col, "unterminated string");
      } else if (std::string_view("()[]{},:=").find(c) != std::string_view::npos) {
        t.kind = Tok::Punct;
        t.text = std::string(1, c);
        ++i_;
      } else {
        errs.emplace_back(t.line, t.col, fmt::format("unexpected character '{}'", c));
        ++i_;
        continue;
      }
      out.push_back(std::move(t));
    }
  }

 private:
  int col() const { return static_cast<int>(i_ - lineStart_) + 1; }

  void skipSpaceAndComments() {
    while (i_ < s_.size()) {
      if (s_[i_] == '\n') {
        ++i_;
        ++line_;
        lineStart_ = i_;
      } else if (std::isspace(static_cast<unsigned char>(s_[i_]))) {
        ++i_;
      } else if (s_.substr(i_, 2) == "//") {
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
      } else {
        return;
      }
    }
  }

  template <class Pred>
  std::string takeWhile(Pred p) {
    const std::size_t b = i_;
    while (i_ < s_.size() && p(s_[i_])) ++i_;
    return std::string(s_.substr(b, i_ - b));
  }

  // number ::= [+-] (digits ['.' digits] [('e'|'E') [+-] digits] | 'inf' | 'nan')
  std::string lexNumber() {
    const std::size_t b = i_;
    if (s_[i_] == '-' || s_[i_] == '+') ++i_;
    if (s_.substr(i_, 3) == "inf" || s_.substr(i_, 3) == "nan") {
      i_ += 3;
      return std::string(s_.substr(b, i_ - b));
    }
    while (i_ < s_.size() && (isDigit(s_[i_]) || s_[i_] == '.')) ++i_;
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '-' || s_[i_] == '+')) ++i_;
      while (i_ < s_.size() && isDigit(s_[i_])) ++i_;
    }
    return std::string(s_.substr(b, i_ - b));
  }

  bool lexString(std::string& out) {
    ++i_;  // opening quote
    while (i_ < s_.size() && s_[i_] != '\n') {
      const char c = s_[i_++];
      if (c == '"') return true;
      if (c == '\\' && i_ < s_.size()) {
        const char e = s_[i_++];
        out += e == 'n' ? '\n' : e == 't' ? '\t' : e;
      } else {
        out += c;
      }
    }
    return false;
  }

  std::string_view s_;
  std::size_t i_ = 0, lineStart_ = 0;
  int line_ = 1;
};

// ---- what the text says, before ids are assigned ----------------------------------------------

struct Ref {
  std::string text;  // "12" for a node, "fc1.w" for an argument
  int line = 0, col = 0;
};

struct ArgText {
  Node node;
  int line = 0, col = 0;
};

struct StmtText {
  Node node;  // op, attrs, type, scalar, name, loc, gradOperand; ids are resolved later
  int printedId = 0, line = 0, col = 0, opLine = 0, opCol = 0, typeLine = 0, typeCol = 0;
  std::vector<Ref> operands;
  std::optional<Ref> gradOf;
  std::optional<Ref> bodyRef;  // `body(%7)`: the body of an earlier statement
};

struct ResultText {
  Result result;
  Ref ref;
};

struct GraphText {
  std::string name;
  std::vector<ArgText> args;
  std::vector<StmtText> stmts;
  std::vector<ResultText> results;
};

struct SyntaxError {};  // unwinds to the enclosing line, which the parser skips

// ---- parser -----------------------------------------------------------------------------------

class Parser {
 public:
  Parser(std::string_view text, std::string_view file, std::vector<ParseError>& errors)
      : text_(text), file_(file), errors_(errors) {
    std::vector<std::tuple<int, int, std::string>> lexErrs;
    toks_ = Lexer(text).run(lexErrs);
    for (auto& [l, c, m] : lexErrs) report(l, c, m);
  }

  // file ::= graph*
  std::vector<Graph> parseFile() {
    std::vector<Graph> graphs;
    while (peek().kind != Tok::End) {
      if (!isIdent("graph")) {
        report(peek(), fmt::format("expected 'graph', found {}", describe(peek())));
        skipLine();
        continue;
      }
      GraphText gt;
      if (parseGraph(gt)) {
        if (auto g = build(gt)) graphs.push_back(std::move(*g));
      }
    }
    return graphs;
  }

 private:
  // ---- tokens ----
  const Token& peek(std::size_t ahead = 0) const { return toks_[std::min(pos_ + ahead, toks_.size() - 1)]; }
  const Token& next() {
    const Token& t = peek();
    if (pos_ < toks_.size() - 1) ++pos_;
    return t;
  }
  bool isPunct(char c) const { return peek().kind == Tok::Punct && peek().text[0] == c; }
  bool isIdent(std::string_view s) const { return peek().kind == Tok::Ident && peek().text == s; }

  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Tok::End: return "the end of the input";
      case Tok::Percent: return fmt::format("'%{}'", t.text);
      case Tok::At: return fmt::format("'@{}'", t.text);
      case Tok::String: return fmt::format("\"{}\"", t.text);
      case Tok::Ident:
      case Tok::Number:
      case Tok::Punct: return fmt::format("'{}'", t.text);
    }
    return "?";
  }

  void report(int line, int col, std::string msg) {
    std::string src;
    std::size_t b = 0;
    for (int l = 1; l < line && b != std::string_view::npos; ++l) {
      b = text_.find('\n', b);
      if (b != std::string_view::npos) ++b;
    }
    if (b != std::string_view::npos && b <= text_.size()) {
      const std::size_t e = text_.find('\n', b);
      src = std::string(text_.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b));
    }
    std::string str = fmt::format("{}:{}:{}: error: {}", file_, line, col, msg);
    if (!src.empty())
      str += fmt::format("\n{}\n{}^", src, std::string(static_cast<std::size_t>(std::max(col - 1, 0)), ' '));
    errors_.push_back({line, col, std::move(msg), std::move(str)});
  }
  void report(const Token& t, std::string msg) { report(t.line, t.col, std::move(msg)); }
  [[noreturn]] void fail(const Token& t, std::string msg) {
    report(t, std::move(msg));
    throw SyntaxError{};
  }

  // Skips the rest of the line of the last consumed or current token.
  void skipLine() {
    const int line = peek().line;
    while (peek().kind != Tok::End && peek().line == line) next();
  }

  void expectPunct(char c) {
    if (!isPunct(c)) fail(peek(), fmt::format("expected '{}', found {}", c, describe(peek())));
    next();
  }
  const Token& expect(Tok kind, const char* what) {
    if (peek().kind != kind) fail(peek(), fmt::format("expected {}, found {}", what, describe(peek())));
    return next();
  }
  void expectIdent(std::string_view s) {
    if (!isIdent(s)) fail(peek(), fmt::format("expected '{}', found {}", s, describe(peek())));
    next();
  }

  double number() {
    if (peek().kind == Tok::Ident && (peek().text == "inf" || peek().text == "nan"))
      return next().text == "inf" ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
    const Token& t = expect(Tok::Number, "a number");
    const char* b = t.text.c_str();
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(b, &end);
    if (end != b + t.text.size()) fail(t, fmt::format("malformed number '{}'", t.text));
    return v;
  }
  std::int64_t integer() {
    const Token& t = peek();
    const double v = number();
    if (t.text.find_first_of(".eEn") != std::string::npos)
      fail(t, fmt::format("expected an integer, found '{}'", t.text));
    if (std::abs(v) > 9.0e15) fail(t, fmt::format("integer '{}' is too large", t.text));
    return static_cast<std::int64_t>(v);
  }
  Ref ref() {
    const Token& t = expect(Tok::Percent, "a value (%name)");
    return {t.text, t.line, t.col};
  }

  // type ::= dtype '[' [dim (',' dim)*] ']'     dim ::= integer | symbol
  TensorType type() {
    const Token& t = expect(Tok::Ident, "a type such as f32[batch,784]");
    auto dt = parseDType(t.text);
    if (!dt) fail(t, fmt::format("unknown element type '{}' (f32, f64, i32)", t.text));
    TensorType out{*dt, {}};
    expectPunct('[');
    while (!isPunct(']')) {
      if (!out.shape.empty()) expectPunct(',');
      if (peek().kind == Tok::Ident) out.shape.push_back(Dim::sym(next().text));
      else out.shape.push_back(Dim::fixed(integer()));
    }
    next();
    return out;
  }

  // loc ::= 'loc' '(' string ':' integer ':' integer ')'
  SourceLoc loc() {
    expectIdent("loc");
    expectPunct('(');
    SourceLoc l;
    l.file = expect(Tok::String, "a file name").text;
    expectPunct(':');
    l.line = static_cast<int>(integer());
    expectPunct(':');
    l.col = static_cast<int>(integer());
    expectPunct(')');
    return l;
  }

  // init ::= 'zeros' | 'ones' | 'glorot_uniform' | 'he_normal' | 'lecun_uniform'
  //        | 'constant' '(' number ')' | ('uniform' | 'normal') '(' number ',' number ')'
  Init init() {
    const Token& t = expect(Tok::Ident, "an initializer");
    static const std::map<std::string, Init::Kind> plain = {{"zeros", Init::Zeros},
                                                            {"ones", Init::Ones},
                                                            {"glorot_uniform", Init::GlorotUniform},
                                                            {"he_normal", Init::HeNormal},
                                                            {"lecun_uniform", Init::LecunUniform}};
    if (auto it = plain.find(t.text); it != plain.end()) return {it->second};
    Init i;
    if (t.text == "constant") i.kind = Init::Constant;
    else if (t.text == "uniform") i.kind = Init::Uniform;
    else if (t.text == "normal") i.kind = Init::Normal;
    else if (t.text == "values")  // what the printer writes for Init::Data: the values themselves are not printed
      fail(t, "a param initialized with given values (an imported ONNX model's) cannot be read back from text");
    else fail(t, fmt::format("unknown initializer '{}'", t.text));
    expectPunct('(');
    i.a = number();
    if (i.kind != Init::Constant) {
      expectPunct(',');
      i.b = number();
    }
    expectPunct(')');
    return i;
  }

  // arg ::= '%' name ':' type ('input' | ('param' | 'state') ['=' init]) [loc]
  ArgText arg() {
    ArgText a;
    const Token& t = expect(Tok::Percent, "an argument (%name)");
    a.line = t.line;
    a.col = t.col;
    a.node.name = t.text;
    expectPunct(':');
    a.node.type = type();
    const Token& kind = expect(Tok::Ident, "'input', 'param' or 'state'");
    if (kind.text == "input") {
      a.node.op = Op::Input;
    } else if (kind.text == "param" || kind.text == "state") {
      a.node.op = Op::Param;
      a.node.state = kind.text == "state";
      if (isPunct('=')) {
        next();
        a.node.init = init();
      }
    } else {
      fail(kind, fmt::format("expected 'input', 'param' or 'state', found '{}'", kind.text));
    }
    if (isIdent("loc")) a.node.loc = loc();
    return a;
  }

  // attrs ::= '{' [name '=' value (',' name '=' value)*] '}'    value ::= number | '[' [integer (',' integer)*] ']'
  // Names and kinds come from the op table; an integer where a float is due is read as that float.
  void attrs(StmtText& s) {
    const OpDef& info = opDef(s.node.op);
    expectPunct('{');
    while (!isPunct('}')) {
      if (!s.node.attrs.all().empty()) expectPunct(',');
      const Token& nameTok = expect(Tok::Ident, "an attribute name");
      auto spec =
          std::find_if(info.attrs.begin(), info.attrs.end(), [&](const AttrSpec& a) { return nameTok.text == a.name; });
      if (spec == info.attrs.end()) fail(nameTok, fmt::format("{} has no attribute '{}'", info.name, nameTok.text));
      if (s.node.attrs.has(nameTok.text)) fail(nameTok, fmt::format("attribute '{}' is given twice", nameTok.text));
      expectPunct('=');
      const Token& v = peek();
      switch (spec->kind) {
        case AttrKind::Int: s.node.attrs.set(nameTok.text, integer()); break;
        case AttrKind::Float: s.node.attrs.set(nameTok.text, number()); break;
        case AttrKind::Ints: {
          if (!isPunct('[')) fail(v, fmt::format("attribute '{}' is a list of integers: [1, 2]", nameTok.text));
          next();
          std::vector<std::int64_t> list;
          while (!isPunct(']')) {
            if (!list.empty()) expectPunct(',');
            list.push_back(integer());
          }
          next();
          s.node.attrs.set(nameTok.text, std::move(list));
          break;
        }
      }
    }
    next();
  }

  // stmt ::= '%' integer '=' op ('constant' number | '(' [value (',' value)*] ')') [attrs] ':' type annotation*
  // annotation ::= 'name' '(' string ')' | 'grad' '(' value [',' 'wrt' integer] ')' | loc
  // A region op ends with its body: stmt ::= ... annotation* ('body' graph | 'body' '(' value ')')
  StmtText stmt() {
    StmtText s;
    const Token& id = expect(Tok::Percent, "a statement (%id = ...)");
    s.line = id.line;
    s.col = id.col;
    if (id.text.empty() || !std::all_of(id.text.begin(), id.text.end(), isDigit))
      fail(id, fmt::format("a statement defines a numbered value (%12), not '%{}'", id.text));
    if (id.text.size() > 9) fail(id, fmt::format("value number %{} is too large", id.text));
    s.printedId = std::stoi(id.text);
    expectPunct('=');
    const Token& opTok = expect(Tok::Ident, "an op name");
    s.opLine = opTok.line;
    s.opCol = opTok.col;
    auto op = opFromName(opTok.text);
    if (!op) fail(opTok, fmt::format("unknown op '{}'", opTok.text));
    if (*op == Op::Input || *op == Op::Param)
      fail(opTok, fmt::format("{}s are declared in the graph's header", opTok.text));
    s.node.op = *op;
    const OpDef& info = opDef(*op);
    if (*op == Op::Constant) {
      s.node.scalar = number();
    } else {
      const Token& open = peek();
      expectPunct('(');
      while (!isPunct(')')) {
        if (!s.operands.empty()) expectPunct(',');
        s.operands.push_back(ref());
      }
      next();
      const int n = static_cast<int>(s.operands.size());
      if (info.arity < 0 ? n == 0 : n != info.arity)
        fail(open, info.arity < 0 ? fmt::format("{} takes at least one operand", info.name)
                                  : fmt::format("{} takes {} operand{}, found {}", info.name, info.arity,
                                                info.arity == 1 ? "" : "s", n));
    }
    if (isPunct('{')) attrs(s);
    for (const AttrSpec& spec : info.attrs)
      if (!s.node.attrs.has(spec.name)) fail(peek(), fmt::format("{} needs the attribute '{}'", info.name, spec.name));
    expectPunct(':');
    s.typeLine = peek().line;
    s.typeCol = peek().col;
    s.node.type = type();
    for (;;) {
      if (isIdent("name")) {
        next();
        expectPunct('(');
        s.node.name = expect(Tok::String, "a quoted name").text;
        expectPunct(')');
      } else if (isIdent("grad")) {
        next();
        expectPunct('(');
        s.gradOf = ref();
        if (isPunct(',')) {
          next();
          expectIdent("wrt");
          s.node.gradOperand = static_cast<int>(integer());
        }
        expectPunct(')');
      } else if (isIdent("loc")) {
        s.node.loc = loc();
      } else if (isIdent("body")) {
        if (body(s)) return s;  // the body's closing brace ends the statement
      } else {
        break;
      }
    }
    if (peek().kind != Tok::End && peek().line == s.line)
      fail(peek(), fmt::format("unexpected {} after the statement", describe(peek())));
    return s;
  }

  // Reads a body after 'body': a nested graph, which it returns true after, or a reference to the body of
  // an earlier statement.
  bool body(StmtText& s) {
    next();  // body
    if (isPunct('(')) {
      next();
      s.bodyRef = ref();
      expectPunct(')');
      return false;
    }
    if (!isIdent("graph"))
      fail(peek(), fmt::format("expected a graph or '(' after 'body', found {}", describe(peek())));
    GraphText gt;
    if (parseGraph(gt))
      if (auto g = build(gt)) s.node.body = std::make_shared<const Graph>(std::move(*g));
    return true;
  }

  // result ::= ('output' | 'loss' | 'grad' | 'state') string '=' value
  ResultText result() {
    ResultText r;
    const Token& k = expect(Tok::Ident, "'output', 'loss', 'grad' or 'state'");
    if (k.text == "output") r.result.kind = Result::Output;
    else if (k.text == "loss") r.result.kind = Result::Loss;
    else if (k.text == "grad") r.result.kind = Result::Grad;
    else if (k.text == "state") r.result.kind = Result::State;
    else fail(k, fmt::format("expected 'output', 'loss', 'grad' or 'state', found '{}'", k.text));
    r.result.name = expect(Tok::String, "a quoted result name").text;
    expectPunct('=');
    r.ref = ref();
    return r;
  }

  // graph ::= 'graph' '@' name '(' [arg (',' arg)*] ')' '{' stmt* 'return' [result (',' result)*] '}'
  // Returns false after errors; the tokens up to the graph's closing brace are consumed either way.
  bool parseGraph(GraphText& gt) {
    const std::size_t errorsBefore = errors_.size();
    try {
      next();  // graph
      gt.name = expect(Tok::At, "the graph's name (@name)").text;
      expectPunct('(');
    } catch (const SyntaxError&) {
      skipLine();
    }
    // Arguments, one a line.
    while (peek().kind != Tok::End && !isPunct(')') && !isPunct('{')) {
      try {
        gt.args.push_back(arg());
        if (isPunct(',')) next();
        else if (!isPunct(')')) fail(peek(), fmt::format("expected ',' or ')', found {}", describe(peek())));
      } catch (const SyntaxError&) {
        skipLine();
      }
    }
    try {
      expectPunct(')');
      expectPunct('{');
    } catch (const SyntaxError&) {
      skipLine();
    }
    // Statements, one a line, then the results.
    bool returned = false;
    while (peek().kind != Tok::End && !isPunct('}')) {
      try {
        if (isIdent("return")) {
          if (returned) fail(peek(), "a graph has one 'return'");
          returned = true;
          next();
          if (!isPunct('}')) {
            gt.results.push_back(result());
            while (isPunct(',')) {
              next();
              gt.results.push_back(result());
            }
          }
        } else if (peek().kind == Tok::Percent) {
          if (returned) fail(peek(), "statements must come before 'return'");
          gt.stmts.push_back(stmt());
        } else {
          fail(peek(), fmt::format("expected a statement or 'return', found {}", describe(peek())));
        }
      } catch (const SyntaxError&) {
        skipLine();
      }
    }
    if (!isPunct('}')) report(peek(), "expected '}' at the end of the graph");
    else next();
    if (!returned && errors_.size() == errorsBefore) report(peek(), fmt::format("graph @{} has no 'return'", gt.name));
    return errors_.size() == errorsBefore;
  }

  // ---- from text to a Graph ----

  // Node ids: a statement keeps the id it was printed with, and the arguments fill the remaining ids,
  // ordered by first use, so that printing the parsed graph gives back the same text. Hand-written IR
  // whose ids do not fit that scheme is renumbered: arguments first, then statements in text order.
  std::vector<NodeId> assignIds(const GraphText& gt, const std::map<std::string, std::size_t>& argIndex,
                                std::vector<NodeId>& argIds) {
    const std::size_t numArgs = gt.args.size(), total = numArgs + gt.stmts.size();
    std::vector<NodeId> stmtIds(gt.stmts.size());
    bool keep = true;
    for (std::size_t i = 0; i < gt.stmts.size() && keep; ++i)
      keep = gt.stmts[i].printedId >= 0 && static_cast<std::size_t>(gt.stmts[i].printedId) < total &&
             (i == 0 || gt.stmts[i].printedId > gt.stmts[i - 1].printedId);
    argIds.assign(numArgs, -1);
    if (keep) {
      std::vector<NodeId> firstUse(numArgs, std::numeric_limits<NodeId>::max());
      for (const StmtText& s : gt.stmts) {
        auto use = [&](const Ref& r) {
          if (auto it = argIndex.find(r.text); it != argIndex.end())
            firstUse[it->second] = std::min(firstUse[it->second], s.printedId);
        };
        for (const Ref& r : s.operands) use(r);
        if (s.gradOf) use(*s.gradOf);
      }
      std::vector<std::size_t> order(numArgs);
      for (std::size_t i = 0; i < numArgs; ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(),
                       [&](std::size_t a, std::size_t b) { return firstUse[a] < firstUse[b]; });
      std::vector<bool> taken(total, false);
      for (const StmtText& s : gt.stmts) taken[static_cast<std::size_t>(s.printedId)] = true;
      std::size_t k = 0;
      for (NodeId id = 0; id < static_cast<NodeId>(total); ++id) {
        if (taken[static_cast<std::size_t>(id)]) continue;
        if (id >= firstUse[order[k]]) keep = false;
        argIds[order[k++]] = id;
      }
      for (std::size_t i = 0; i < gt.stmts.size(); ++i) stmtIds[i] = gt.stmts[i].printedId;
    }
    if (!keep) {
      for (std::size_t i = 0; i < numArgs; ++i) argIds[i] = static_cast<NodeId>(i);
      for (std::size_t i = 0; i < gt.stmts.size(); ++i) stmtIds[i] = static_cast<NodeId>(numArgs + i);
    }
    return stmtIds;
  }

  std::optional<Graph> build(const GraphText& gt) {
    const std::size_t errorsBefore = errors_.size();
    std::map<std::string, std::size_t> argIndex;
    for (std::size_t i = 0; i < gt.args.size(); ++i)
      if (!argIndex.emplace(gt.args[i].node.name, i).second)
        report(gt.args[i].line, gt.args[i].col, fmt::format("argument '%{}' is declared twice", gt.args[i].node.name));
    std::map<int, std::size_t> stmtIndex;  // printed id -> statement
    for (std::size_t i = 0; i < gt.stmts.size(); ++i)
      if (!stmtIndex.emplace(gt.stmts[i].printedId, i).second)
        report(gt.stmts[i].line, gt.stmts[i].col, fmt::format("%{} is defined twice", gt.stmts[i].printedId));
    if (errors_.size() != errorsBefore) return std::nullopt;

    std::vector<NodeId> argIds;
    const std::vector<NodeId> stmtIds = assignIds(gt, argIndex, argIds);
    // A reference resolves to an argument or to a statement earlier in the text.
    auto resolve = [&](const Ref& r, std::size_t before) -> NodeId {
      if (auto it = argIndex.find(r.text); it != argIndex.end()) return argIds[it->second];
      const bool numeric = !r.text.empty() && r.text.size() <= 9 && std::all_of(r.text.begin(), r.text.end(), isDigit);
      auto st = numeric ? stmtIndex.find(std::stoi(r.text)) : stmtIndex.end();
      if (st == stmtIndex.end()) {
        report(r.line, r.col, fmt::format("use of undefined value '%{}'", r.text));
        return -1;
      }
      if (st->second >= before) {
        report(r.line, r.col, fmt::format("'%{}' is used before its definition", r.text));
        return -1;
      }
      return stmtIds[st->second];
    };

    Graph g;
    g.name = gt.name;
    g.nodes.resize(gt.args.size() + gt.stmts.size());
    for (std::size_t i = 0; i < gt.args.size(); ++i) {
      Node n = gt.args[i].node;
      n.id = argIds[i];
      (n.op == Op::Input ? g.inputs : g.params).push_back(n.id);
      g.nodes[static_cast<std::size_t>(n.id)] = std::move(n);
    }
    std::vector<std::size_t> stmtAt(g.nodes.size(), SIZE_MAX);
    for (std::size_t i = 0; i < gt.stmts.size(); ++i) {
      const StmtText& s = gt.stmts[i];
      Node n = s.node;
      n.id = stmtIds[i];
      for (const Ref& r : s.operands) n.operands.push_back(resolve(r, i));
      if (s.gradOf) n.gradOf = resolve(*s.gradOf, i);
      if (s.bodyRef) {
        const NodeId holder = resolve(*s.bodyRef, i);
        if (holder >= 0 && !g.node(holder).body)
          report(s.bodyRef->line, s.bodyRef->col, fmt::format("'%{}' has no body", s.bodyRef->text));
        else if (holder >= 0) n.body = g.node(holder).body;
      }
      stmtAt[static_cast<std::size_t>(n.id)] = i;
      g.nodes[static_cast<std::size_t>(n.id)] = std::move(n);
    }
    for (const ResultText& r : gt.results) {
      Result res = r.result;
      res.node = resolve(r.ref, gt.stmts.size());
      g.results.push_back(std::move(res));
    }
    if (errors_.size() != errorsBefore) return std::nullopt;

    // Types, in id order: the op table's rule must accept the operands and, unless the op carries its
    // type, give the printed type.
    for (Node& n : g.nodes) {
      if (stmtAt[static_cast<std::size_t>(n.id)] == SIZE_MAX) continue;
      const StmtText& s = gt.stmts[stmtAt[static_cast<std::size_t>(n.id)]];
      const OpDef& info = opDef(n.op);
      std::vector<TensorType> types;
      for (NodeId o : n.operands) types.push_back(g.node(o).type);
      TensorType out;
      if (std::string e = info.typeRule(n, types, out); !e.empty())
        report(s.opLine, s.opCol, fmt::format("{}: {}", info.name, e));
      else if (!(out == n.type))
        report(s.typeLine, s.typeCol,
               fmt::format("{} gives {}, not the printed {}", info.name, out.str(), n.type.str()));
    }
    if (errors_.size() != errorsBefore) return std::nullopt;
    return g;
  }

  std::string_view text_, file_;
  std::vector<ParseError>& errors_;
  std::vector<Token> toks_;
  std::size_t pos_ = 0;
};

}  // namespace

std::vector<Graph> parseGraphs(std::string_view text, std::string_view file, std::vector<ParseError>& errors) {
  const std::size_t before = errors.size();
  Parser p(text, file, errors);
  std::vector<Graph> graphs = p.parseFile();
  if (errors.size() != before) return {};
  return graphs;
}

std::optional<Graph> parseGraph(std::string_view text, std::string_view file, std::vector<ParseError>& errors) {
  std::vector<Graph> graphs = parseGraphs(text, file, errors);
  if (graphs.size() == 1) return std::move(graphs[0]);
  if (!errors.empty()) return std::nullopt;
  const std::string msg =
      graphs.empty() ? "expected a graph" : fmt::format("expected one graph, found {}", graphs.size());
  errors.push_back({1, 1, msg, fmt::format("{}:1:1: error: {}", file, msg)});
  return std::nullopt;
}

}  // namespace sinter::ir
