#include "frontend/parser.h"

#include <fmt/format.h>

#include "frontend/parser_impl.h"
#include "frontend/suggest.h"

namespace sinter::frontend {

// ---------------------------------------------------------------------------------------------------
// Tokens

std::size_t Parser::skipNested(std::size_t i) const {
  if (nest_ > 0)
    while (toks_[i].is(Tok::Newline)) ++i;
  return i;
}

const Token& Parser::peek(int ahead) const {
  std::size_t i = skipNested(i_);
  for (int k = 0; k < ahead && !toks_[i].is(Tok::Eof); ++k) i = skipNested(i + 1);
  return toks_[i];
}

Token Parser::take() {
  i_ = skipNested(i_);
  const Token t = toks_[i_];
  if (!t.is(Tok::Eof)) ++i_;
  prevEnd_ = t.end();
  return t;
}

bool Parser::accept(Tok k) {
  if (!at(k)) return false;
  take();
  return true;
}

void Parser::skipNewlines() {
  while (toks_[i_].is(Tok::Newline)) ++i_;
}

void Parser::fail(Range at, std::string message) {
  if (!cur().is(Tok::Error)) r_.error(at, std::move(message));
  throw Abort{};
}

void Parser::failExpected(std::string message, const Token* opener) {
  const Token& t = cur();
  if (t.is(Tok::Error)) throw Abort{};
  const bool atLineEnd = t.is(Tok::Newline) || t.is(Tok::Eof) || t.pos.line != prevEnd_.line;
  if (atLineEnd && prevEnd_.line > 0) {
    r_.error(afterPrevious(), std::move(message));
  } else {
    // The statement goes on past the culprit: resume skipping from the culprit, not from a line before.
    i_ = skipNested(i_);
    r_.error(t.range(), std::move(message));
  }
  if (opener) r_.note(opener->range(), fmt::format("to match this {}", tokName(opener->kind)));
  throw Abort{};
}

void Parser::sync() {
  nest_ = 0;
  depth_ = 0;
  while (!toks_[i_].is(Tok::Newline) && !toks_[i_].is(Tok::Eof)) ++i_;
}

void Parser::endOfStatement(std::string_view what) {
  const Token& t = toks_[i_];
  if (t.is(Tok::Newline) || t.is(Tok::Eof) || t.is(Tok::RBrace)) return;
  if (!t.is(Tok::Error)) r_.error(t.range(), fmt::format("expected end of line after {}, found {}", what, describe(t)));
  sync();
}

Token Parser::expectName(std::string message) {
  if (!at(Tok::Ident)) failExpected(std::move(message));
  return take();
}

// ---------------------------------------------------------------------------------------------------
// Files and models

// file = { NEWLINE } { ( model | train ) { NEWLINE } } EOF
ast::File Parser::file() {
  ast::File f;
  while (true) {
    skipNewlines();
    if (at(Tok::Eof) || r_.stopped()) break;
    if (at(Tok::KwModel)) {
      f.models.push_back(model());
    } else if (at(Tok::KwTrain)) {
      f.trains.push_back(train());
    } else {
      if (!at(Tok::Error))
        r_.error(cur().range(), fmt::format("expected 'model' or 'train', found {}", describe(cur())));
      // Skip to the next block so that one stray line costs one error.
      while (!at(Tok::Eof) && !at(Tok::KwModel) && !at(Tok::KwTrain)) ++i_;
    }
  }
  return f;
}

// Ends a { ... } block: true when '}' was found. A block cut short by the end of the file or by the next
// 'model' or 'train' reports the missing '}' and lets the caller go on.
bool Parser::closeBlock(const Token& open, std::string_view what) {
  if (accept(Tok::RBrace)) return true;
  const Token& t = cur();
  if (!t.is(Tok::Eof) && !t.is(Tok::KwModel) && !t.is(Tok::KwTrain)) return false;
  const bool atLineEnd = t.is(Tok::Eof) || t.pos.line != prevEnd_.line;
  // Without an opening '{' (already reported) a missing '}' is no news.
  if (open.is(Tok::LBrace)) {
    r_.error(atLineEnd ? afterPrevious() : t.range(), fmt::format("expected '}}' at the end of {}", what));
    r_.note(open.range(), "to match this '{'");
  }
  return true;
}

// model = "model" NAME "{" { statement NEWLINE } "}"
ast::Model Parser::model() {
  ast::Model m;
  m.keywordRange = take().range();
  if (at(Tok::Ident)) {
    const Token name = take();
    m.name = name.text;
    m.nameRange = name.range();
  } else {
    if (!at(Tok::Error))
      r_.error(at(Tok::LBrace) || at(Tok::Newline) ? afterPrevious() : cur().range(),
               "expected a model name after 'model'");
    if (!at(Tok::LBrace)) sync();  // one error for a broken header
  }
  skipNewlines();
  const Token open = cur();
  if (!accept(Tok::LBrace)) {
    // Parse the body anyway: its statements are still worth checking.
    if (!at(Tok::Error) && !m.name.empty()) r_.error(afterPrevious(), "expected '{' after the model name");
    if (cur().pos.line == prevEnd_.line) sync();
  }
  const std::string what = m.name.empty() ? "the model" : "model " + quoted(m.name);
  while (true) {
    skipNewlines();
    if (closeBlock(open, what) || r_.stopped()) break;
    statement(m);
  }
  return m;
}

// statement = input_decl | param_decl | output_decl | assignment
void Parser::statement(ast::Model& m) {
  ast::Decl d;
  try {
    declaration(d);
  } catch (const Abort&) {
    if (!d.name.empty()) {
      d.broken = true;
      d.value.reset();
      m.decls.push_back(std::move(d));
    }
    sync();
    return;
  }
  const std::string_view what = d.kind == ast::Decl::Input   ? "the input declaration"
                                : d.kind == ast::Decl::Param ? "the parameter declaration"
                                                             : "the expression";
  m.decls.push_back(std::move(d));
  endOfStatement(what);
}

// input_decl  = "input" NAME ":" type
// param_decl  = "param" NAME ":" type [ "=" initializer ]
// output_decl = "output" NAME "=" expr
// assignment  = NAME "=" expr
void Parser::declaration(ast::Decl& d) {
  const Token first = cur();
  switch (first.kind) {
    case Tok::KwInput:
      d.kind = ast::Decl::Input;
      break;
    case Tok::KwParam:
      d.kind = ast::Decl::Param;
      break;
    case Tok::KwOutput:
      d.kind = ast::Decl::Output;
      break;
    case Tok::Ident: {
      const Token& next = peek(1);
      if (next.is(Tok::Equal)) {
        d.kind = ast::Decl::Let;
        break;
      }
      // From here on the statement is broken, but it most likely defines a name: record it, so that
      // its uses do not report "undefined" as well.
      auto recordName = [&](const Token& name) {
        d.name = name.text;
        d.nameRange = d.keywordRange = name.range();
      };
      if (next.is(Tok::Ident)) {
        if (auto s = closestName(first.text, {"input", "param", "output"})) {
          recordName(next);
          fail(first.range(), fmt::format("unknown statement {}; did you mean '{}'?", quoted(first.text), *s));
        }
      }
      recordName(first);
      take();
      if (next.is(Tok::Colon))
        failExpected(
            fmt::format("expected '=' after {}; declarations start with 'input' or 'param'", quoted(first.text)));
      failExpected(fmt::format("expected '=' after {}", quoted(first.text)));
    }
    default:
      fail(first.range(),
           fmt::format("expected a statement (input, param, output or NAME = expression), found {}", describe(first)));
  }
  if (d.kind != ast::Decl::Let) take();
  const Token name = expectName(fmt::format("expected a name after {}", tokName(first.kind)));
  d.keywordRange = first.range();
  d.name = name.text;
  d.nameRange = name.range();
  if (d.kind == ast::Decl::Let || d.kind == ast::Decl::Output) {
    if (!accept(Tok::Equal)) failExpected(fmt::format("expected '=' after {}", quoted(d.name)));
    d.value = expr();
    return;
  }
  if (!accept(Tok::Colon)) failExpected(fmt::format("expected ':' and a type after {}", quoted(d.name)));
  d.type = type();
  if (d.kind == ast::Decl::Param && accept(Tok::Equal))
    d.init = call("expected an initializer such as zeros or glorot_uniform after '='");
}

// type = DTYPE "[" [ dim { "," dim } [ "," ] ] "]"
ast::TypeExpr Parser::type() {
  ast::TypeExpr t;
  const Token dtype = expectName("expected a type such as f32[batch, 784]");
  t.dtype = dtype.text;
  t.dtypeRange = dtype.range();
  if (!at(Tok::LBracket)) {
    if (ir::parseDType(dtype.text))
      failExpected(fmt::format("expected '[' after '{}' (write {}[] for a scalar)", dtype.text, dtype.text));
    failExpected(fmt::format("expected '[' and dimensions after the dtype {}", quoted(dtype.text)));
  }
  const Token open = take();
  {
    Nest nest(*this);
    while (!at(Tok::RBracket)) {
      t.dims.push_back(dim());
      if (!accept(Tok::Comma)) break;
    }
    if (!at(Tok::RBracket)) failExpected("expected ']' after dimensions", &open);
    take();
  }
  t.range = {dtype.pos, prevEnd_};
  return t;
}

// dim = NAME | [ "-" ] INTEGER     (sema checks that integers are positive and fit)
ast::DimExpr Parser::dim() {
  ast::DimExpr d;
  if (at(Tok::Ident)) {
    const Token t = take();
    d.symbolic = true;
    d.text = t.text;
    d.range = t.range();
    return d;
  }
  const bool negative = at(Tok::Minus) && peek(1).is(Tok::Number);
  if (!negative && !at(Tok::Number)) failExpected("expected a dimension (a number or a name)");
  const Pos begin = cur().pos;
  if (negative) take();
  const Token t = take();
  d.text = (negative ? "-" : "") + std::string(t.text);
  d.range = {begin, t.end()};
  return d;
}

ast::File parse(const std::vector<Token>& tokens, Reporter& r) { return Parser(tokens, r).file(); }

}  // namespace sinter::frontend
