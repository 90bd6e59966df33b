// Expressions, calls, indexing and argument lists.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "frontend/parser_impl.h"

namespace sinter::frontend {
namespace {

ast::ExprPtr node(ast::Expr::Kind kind, Range range, Range opRange) {
  auto e = std::make_unique<ast::Expr>();
  e->kind = kind;
  e->range = range;
  e->opRange = opRange;
  return e;
}

}  // namespace

void Parser::enterNesting(const Token& at) {
  if (++depth_ > kMaxNesting)
    fail(at.range(),
         fmt::format("expression nests too deeply (more than {} levels of parentheses and calls)", kMaxNesting));
}

// Long operator chains build deep trees too, and the checker recurses over them.
void Parser::checkHeight(ast::Expr& e, int childHeight) {
  e.height = std::max(e.height, childHeight + 1);
  if (e.height > kMaxExprHeight)
    fail(e.opRange, fmt::format("expression is too long (more than {} nested operations); split it into "
                                "several statements",
                                kMaxExprHeight));
}

ast::ExprPtr Parser::binary(ast::BinaryOp op, const Token& opTok, ast::ExprPtr lhs, ast::ExprPtr rhs) {
  auto e = node(ast::Expr::Binary, join(lhs->range, rhs->range), opTok.range());
  e->op = op;
  checkHeight(*e, std::max(lhs->height, rhs->height));
  e->lhs = std::move(lhs);
  e->rhs = std::move(rhs);
  return e;
}

// expr = sum [ ( "<" | "<=" | ">" | ">=" | "==" | "!=" ) sum ]      (lowest precedence; no chains)
ast::ExprPtr Parser::expr() {
  ast::ExprPtr lhs = sum();
  const Token op = cur();
  ast::BinaryOp kind{};
  if (op.is(Tok::Less)) kind = ast::BinaryOp::Less;
  else if (op.is(Tok::LessEqual)) kind = ast::BinaryOp::LessEqual;
  else if (op.is(Tok::Greater)) kind = ast::BinaryOp::Greater;
  else if (op.is(Tok::GreaterEqual)) kind = ast::BinaryOp::GreaterEqual;
  else if (op.is(Tok::EqualEqual)) kind = ast::BinaryOp::Equal;
  else if (op.is(Tok::NotEqual)) kind = ast::BinaryOp::NotEqual;
  else return lhs;
  take();
  ast::ExprPtr e = binary(kind, op, std::move(lhs), sum());
  const Token& next = cur();
  if (next.is(Tok::Less) || next.is(Tok::LessEqual) || next.is(Tok::Greater) || next.is(Tok::GreaterEqual) ||
      next.is(Tok::EqualEqual) || next.is(Tok::NotEqual))
    fail(next.range(), "comparisons do not chain: write logical_and(a < b, b < c)");
  return e;
}

// sum = term { ( "+" | "-" ) term }
ast::ExprPtr Parser::sum() {
  ast::ExprPtr lhs = term();
  while (at(Tok::Plus) || at(Tok::Minus)) {
    const Token op = take();
    lhs = binary(op.is(Tok::Plus) ? ast::BinaryOp::Add : ast::BinaryOp::Sub, op, std::move(lhs), term());
  }
  return lhs;
}

// term = unary { ( "*" | "/" | "@" ) unary }      (Python's precedence: they bind tighter than '+')
ast::ExprPtr Parser::term() {
  ast::ExprPtr lhs = unary();
  while (at(Tok::Star) || at(Tok::Slash) || at(Tok::At)) {
    const Token op = take();
    const auto kind = op.is(Tok::Star)    ? ast::BinaryOp::Mul
                      : op.is(Tok::Slash) ? ast::BinaryOp::Div
                                          : ast::BinaryOp::MatMul;
    lhs = binary(kind, op, std::move(lhs), unary());
  }
  return lhs;
}

// unary = "-" unary | power
// A '-' right before a number is part of the literal ("-1"), unless '**' follows: -2 ** 2 is -(2 ** 2).
ast::ExprPtr Parser::unary() {
  if (!at(Tok::Minus)) return power();
  const Token minus = cur();
  if (peek(1).is(Tok::Number)) {
    const Tok after = peek(2).kind;
    if (after != Tok::Power && after != Tok::LBracket && after != Tok::LParen && after != Tok::Dot) {
      take();
      return number(&minus);
    }
  }
  take();
  enterNesting(minus);
  ast::ExprPtr operand = unary();
  --depth_;
  auto e = node(ast::Expr::Neg, {minus.pos, operand->range.end}, minus.range());
  checkHeight(*e, operand->height);
  e->lhs = std::move(operand);
  return e;
}

// power = postfix [ "**" unary ]      (right-associative: 2 ** 3 ** 2 is 2 ** 9)
ast::ExprPtr Parser::power() {
  ast::ExprPtr base = postfix();
  if (!at(Tok::Power)) return base;
  const Token op = take();
  enterNesting(op);
  ast::ExprPtr exponent = unary();
  --depth_;
  return binary(ast::BinaryOp::Pow, op, std::move(base), std::move(exponent));
}

// postfix = primary { "(" [ args ] ")" | "[" items "]" | "." NAME }
ast::ExprPtr Parser::postfix() {
  ast::ExprPtr e = primary();
  while (true) {
    if (at(Tok::LParen)) {
      const Token open = cur();
      enterNesting(open);
      take();
      auto c = node(ast::Expr::Call, e->range, e->opRange);
      {
        Nest nest(*this);
        c->args = args();
        if (!at(Tok::RParen)) failExpected("expected ')' after the arguments", &open);
        take();
      }
      --depth_;
      c->range = {e->range.begin, prevEnd_};
      for (const ast::Arg& a : c->args) checkHeight(*c, a.value->height);
      checkHeight(*c, e->height);
      if (e->kind == ast::Expr::Name) {
        c->text = e->text;
      } else {
        c->opRange = e->kind == ast::Expr::Member ? e->opRange : e->range;
        c->lhs = std::move(e);
      }
      e = std::move(c);
    } else if (at(Tok::LBracket)) {
      const Token open = cur();
      enterNesting(open);
      take();
      auto ix = node(ast::Expr::Index, e->range, open.range());
      {
        Nest nest(*this);
        while (!at(Tok::RBracket)) {
          ix->items.push_back(indexItem());
          for (const ast::ExprPtr* p :
               {&ix->items.back().index, &ix->items.back().start, &ix->items.back().end, &ix->items.back().step})
            if (*p) checkHeight(*ix, (*p)->height);
          if (!accept(Tok::Comma)) break;
        }
        if (!at(Tok::RBracket)) failExpected("expected ']' after the indices", &open);
        take();
      }
      --depth_;
      if (ix->items.empty()) fail({open.pos, prevEnd_}, "expected an index or a slice between '[' and ']'");
      ix->range = {e->range.begin, prevEnd_};
      checkHeight(*ix, e->height);
      ix->lhs = std::move(e);
      e = std::move(ix);
    } else if (at(Tok::Dot)) {
      take();
      const Token name = expectName("expected a name after '.'");
      auto m = node(ast::Expr::Member, {e->range.begin, name.end()}, name.range());
      m->text = name.text;
      checkHeight(*m, e->height);
      m->lhs = std::move(e);
      e = std::move(m);
    } else {
      return e;
    }
  }
}

// item = expr | [ expr ] ":" [ expr ] [ ":" [ expr ] ]
ast::IndexItem Parser::indexItem() {
  ast::IndexItem it;
  const Pos begin = cur().pos;
  auto endsPart = [&] { return at(Tok::Colon) || at(Tok::Comma) || at(Tok::RBracket); };
  ast::ExprPtr first = endsPart() ? nullptr : expr();
  if (!at(Tok::Colon)) {
    if (!first) failExpected("expected an index or a slice");
    it.range = first->range;
    it.index = std::move(first);
    return it;
  }
  it.isSlice = true;
  it.start = std::move(first);
  take();
  if (!endsPart()) it.end = expr();
  if (accept(Tok::Colon) && !endsPart()) it.step = expr();
  it.range = {begin, prevEnd_};
  return it;
}

// primary = NUMBER | NAME | "(" expr ")" | "(" [ expr "," { expr "," } [ expr ] ] ")"     (a tuple)
ast::ExprPtr Parser::primary() {
  const Token t = cur();
  if (t.kind == Tok::Number) return number(nullptr);
  if (t.kind == Tok::Ident) {
    take();
    auto e = node(ast::Expr::Name, t.range(), t.range());
    e->text = t.text;
    return e;
  }
  if (t.kind == Tok::String) fail(t.range(), "a string can only follow 'import'");
  if (t.kind != Tok::LParen) failExpected("expected an expression");
  enterNesting(t);
  take();
  Nest nest(*this);
  if (at(Tok::RParen)) {  // () is the empty tuple
    take();
    --depth_;
    return node(ast::Expr::Tuple, {t.pos, prevEnd_}, t.range());
  }
  ast::ExprPtr e = expr();
  if (at(Tok::Comma)) {
    auto tuple = node(ast::Expr::Tuple, {}, t.range());
    checkHeight(*tuple, e->height);
    tuple->args.push_back({{}, {}, std::move(e)});
    while (accept(Tok::Comma) && !at(Tok::RParen)) {
      tuple->args.push_back({{}, {}, expr()});
      checkHeight(*tuple, tuple->args.back().value->height);
    }
    e = std::move(tuple);
  }
  if (!at(Tok::RParen)) failExpected("expected ')' after the expression", &t);
  take();
  --depth_;
  e->range = {t.pos, prevEnd_};
  return e;
}

// A numeric literal; `minus` is the '-' before it, if any.
ast::ExprPtr Parser::number(const Token* minus) {
  const Token t = take();
  auto e = node(ast::Expr::Number, {minus ? minus->pos : t.pos, t.end()}, {});
  e->opRange = e->range;
  e->text = (minus ? "-" : "") + std::string(t.text);
  e->integer = t.text.find_first_of(".eE") == std::string_view::npos;
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

// call = NAME [ "(" [ args ] ")" ]      (initializers, optimizers: the parentheses are optional)
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
