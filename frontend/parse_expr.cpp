// Expressions, calls and argument lists.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "frontend/parser_impl.h"

namespace sinter::frontend {

void Parser::enterNesting(const Token& at) {
  if (++depth_ > kMaxNesting)
    fail(at.range(),
         fmt::format("expression nests too deeply (more than {} levels of parentheses and calls)", kMaxNesting));
}

void Parser::unsupportedOperator(const Token& t) {
  fail(t.range(),
       fmt::format("the {} operator is not supported yet; the operators are '+', '*' and '@'", tokName(t.kind)));
}

ast::ExprPtr Parser::binary(ast::BinaryOp op, const Token& opTok, ast::ExprPtr lhs, ast::ExprPtr rhs) {
  auto e = std::make_unique<ast::Expr>();
  e->kind = ast::Expr::Binary;
  e->op = op;
  e->opRange = opTok.range();
  e->range = join(lhs->range, rhs->range);
  // Long operator chains build deep trees too, and sema and to_graph recurse over them.
  e->height = 1 + std::max(lhs->height, rhs->height);
  if (e->height > kMaxExprHeight)
    fail(opTok.range(), fmt::format("expression is too long (more than {} nested operations); split it into "
                                    "several statements",
                                    kMaxExprHeight));
  e->lhs = std::move(lhs);
  e->rhs = std::move(rhs);
  return e;
}

// expr = term { "+" term }
ast::ExprPtr Parser::expr() {
  ast::ExprPtr lhs = term();
  while (true) {
    if (at(Tok::Minus)) unsupportedOperator(cur());
    if (!at(Tok::Plus)) return lhs;
    const Token op = take();
    lhs = binary(ast::BinaryOp::Add, op, std::move(lhs), term());
  }
}

// term = primary { ( "*" | "@" ) primary }      (Python's precedence: '*' and '@' bind tighter than '+')
ast::ExprPtr Parser::term() {
  ast::ExprPtr lhs = primary();
  while (true) {
    if (at(Tok::Slash) || at(Tok::Power)) unsupportedOperator(cur());
    if (!at(Tok::Star) && !at(Tok::At)) return lhs;
    const Token op = take();
    const auto kind = op.is(Tok::Star) ? ast::BinaryOp::Mul : ast::BinaryOp::MatMul;
    lhs = binary(kind, op, std::move(lhs), primary());
  }
}

// primary = NUMBER | "-" NUMBER | NAME | NAME "(" [ args ] ")" | "(" expr ")"
ast::ExprPtr Parser::primary() {
  const Token t = cur();
  switch (t.kind) {
    case Tok::Number:
      return number(nullptr);
    case Tok::Minus:
      if (!peek(1).is(Tok::Number)) fail(t.range(), "unary '-' is only supported before a number for now");
      take();
      return number(&t);
    case Tok::Ident: {
      if (peek(1).is(Tok::LParen)) {
        ast::CallExpr c = call("expected a function name");
        auto e = std::make_unique<ast::Expr>();
        e->kind = ast::Expr::Call;
        e->text = std::move(c.name);
        e->opRange = c.nameRange;
        e->range = c.range;
        for (const ast::Arg& a : c.args) e->height = std::max(e->height, a.value->height + 1);
        if (e->height > kMaxExprHeight)
          fail(e->opRange, fmt::format("expression is too long (more than {} nested operations); split it into "
                                       "several statements",
                                       kMaxExprHeight));
        e->args = std::move(c.args);
        return e;
      }
      take();
      auto e = std::make_unique<ast::Expr>();
      e->kind = ast::Expr::Name;
      e->text = t.text;
      e->range = e->opRange = t.range();
      return e;
    }
    case Tok::LParen: {
      enterNesting(t);
      take();
      Nest nest(*this);
      ast::ExprPtr e = expr();
      if (!at(Tok::RParen)) failExpected("expected ')' after the expression", &t);
      take();
      --depth_;
      e->range = {t.pos, prevEnd_};
      return e;
    }
    default:
      failExpected("expected an expression");
  }
}

// A numeric literal; `minus` is the '-' before it, if any.
ast::ExprPtr Parser::number(const Token* minus) {
  const Token t = take();
  auto e = std::make_unique<ast::Expr>();
  e->kind = ast::Expr::Number;
  e->text = (minus ? "-" : "") + std::string(t.text);
  e->range = e->opRange = {minus ? minus->pos : t.pos, t.end()};
  // strtod rather than from_chars: it says which way a value is out of range. Underflow to zero is
  // harmless; overflow would become inf.
  e->number = std::strtod(std::string(t.text).c_str(), nullptr);
  if (std::isinf(e->number)) {
    r_.error(e->range, fmt::format("number {} is too large", quoted(e->text)));
    e->number = 0;
  }
  if (minus) e->number = -e->number;
  return e;
}

// call = NAME [ "(" [ args ] ")" ]      (the parentheses are optional for initializers and optimizers)
ast::CallExpr Parser::call(std::string_view expected) {
  ast::CallExpr c;
  const Token name = expectName(std::string(expected));
  c.name = name.text;
  c.nameRange = name.range();
  c.range = name.range();
  if (!at(Tok::LParen)) return c;
  const Token open = cur();
  enterNesting(open);
  take();
  {
    Nest nest(*this);
    c.hasParens = true;
    c.args = args();
    if (!at(Tok::RParen)) failExpected("expected ')' after the arguments", &open);
    take();
  }
  --depth_;
  c.range = {name.pos, prevEnd_};
  return c;
}

// args = arg { "," arg } [ "," ]
// arg  = [ NAME "=" ] expr
std::vector<ast::Arg> Parser::args() {
  std::vector<ast::Arg> out;
  while (!at(Tok::RParen)) {
    ast::Arg a;
    if (at(Tok::Ident) && peek(1).is(Tok::Equal)) {
      const Token k = take();
      a.keyword = k.text;
      a.keywordRange = k.range();
      take();
    }
    a.value = expr();
    out.push_back(std::move(a));
    if (!accept(Tok::Comma)) break;
  }
  return out;
}

}  // namespace sinter::frontend
