// The parser's internals, shared by parser.cpp (files, models, declarations), parse_expr.cpp
// (expressions and argument lists) and parse_train.cpp (train blocks).
#pragma once

#include <string>
#include <vector>

#include "frontend/parser.h"

namespace sinter::frontend {

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, Reporter& r) : toks_(tokens), r_(r) {}
  ast::File file();

 private:
  // Thrown to abandon the current statement once its error is reported; caught at statement level,
  // which then skips to the end of the line. Exceptions keep every parse function free of error plumbing.
  struct Abort {};

  // Counts one level of ( or [ while alive: inside them line breaks are skipped, as in Python.
  struct Nest {
    explicit Nest(Parser& parser) : p(parser) { ++p.nest_; }
    ~Nest() { --p.nest_; }
    Parser& p;
  };

  // --- tokens (parser.cpp) ---
  std::size_t skipNested(std::size_t i) const;
  const Token& cur() const { return toks_[skipNested(i_)]; }
  const Token& peek(int ahead) const;
  bool at(Tok k) const { return cur().is(k); }
  Token take();
  bool accept(Tok k);
  void skipNewlines();
  // Reports and abandons the statement. An Error token was already reported by the lexer: no new message.
  [[noreturn]] void fail(Range at, std::string message);
  // "expected ...": at the current token, or just after the previous one when the current token is on
  // a later line (the user most likely left something out at the end of the line). An optional note
  // points at the bracket that was left open.
  [[noreturn]] void failExpected(std::string message, const Token* opener = nullptr);
  Range afterPrevious() const { return {prevEnd_, {prevEnd_.line, prevEnd_.col + 1}}; }
  // Skips the rest of the broken statement, up to its line break.
  void sync(bool skipBlock = false);
  // After a statement: a line break, '}' or the end of the file must follow.
  void endOfStatement(std::string_view what);
  Token expectName(std::string message);

  // --- files, blocks and statements (parser.cpp) ---
  ast::Model model();
  ast::Import import();
  ast::Layer layer();
  ast::Function function();
  std::vector<ast::ParamDecl> paramList(std::string_view what);
  // Parses `{ statements }` after a header; `member` handles what only this block allows (a layer's
  // 'def') and returns false for an ordinary statement.
  void block(std::vector<ast::Decl>& out, std::string_view what, bool (*member)(Parser&, void*) = nullptr,
             void* ctx = nullptr);
  void statement(std::vector<ast::Decl>& out);
  void declaration(ast::Decl& d);
  void returnStatement(ast::Decl& d);
  bool assignmentHead(ast::Decl& d, const Token& first);
  void forLoop(ast::Decl& d);
  void ifStatement(ast::Decl& d);
  ast::TypeExpr type();
  ast::DimExpr dim();
  bool closeBlock(const Token& open, std::string_view what);

  // --- expressions (parse_expr.cpp) ---
  ast::ExprPtr expr();
  ast::ExprPtr sum();
  ast::ExprPtr term();
  ast::ExprPtr unary();
  ast::ExprPtr power();
  ast::ExprPtr postfix();
  ast::ExprPtr primary();
  ast::IndexItem indexItem();
  ast::ExprPtr number(const Token* minus);
  ast::ExprPtr binary(ast::BinaryOp op, const Token& opTok, ast::ExprPtr lhs, ast::ExprPtr rhs);
  void checkHeight(ast::Expr& e, int childHeight);
  std::vector<ast::Arg> args();
  ast::CallExpr call(std::string_view expected);  // `expected`: the message when the name is missing
  void enterNesting(const Token& at);

  // --- train blocks (parse_train.cpp) ---
  ast::TrainBlock train();
  void setting(ast::TrainBlock& t);
  void group(ast::Setting& s);
  void dataFields(ast::Setting& s);

  const std::vector<Token>& toks_;
  Reporter& r_;
  std::size_t i_ = 0;  // the next token, line breaks included
  Pos prevEnd_;        // end of the last token taken
  int nest_ = 0;       // open ( and [ around the current token
  int depth_ = 0;      // current expression nesting, capped by kMaxNesting
  int blocks_ = 0;     // open { } blocks, capped by kMaxBlocks
};

}  // namespace sinter::frontend
