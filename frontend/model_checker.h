// Checks one model's declarations in order. Internal to sema: sema.cpp (declarations, types,
// initializers) and check_expr.cpp (expressions).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "frontend/ast.h"
#include "frontend/reporter.h"
#include "frontend/scope.h"

namespace sinter::frontend {

class ModelChecker {
 public:
  ModelChecker(ast::Model& m, Reporter& r) : m_(m), r_(r) {}
  void run();
  const Scope& scope() const { return scope_; }

 private:
  // sema.cpp
  std::optional<ir::TensorType> resolveType(const ast::TypeExpr& t, bool isParam);
  std::optional<ir::Dim> resolveDim(const ast::DimExpr& d, const ast::Decl& decl, bool isParam);
  ir::Init resolveInit(const std::optional<ast::CallExpr>& init);

  // check_expr.cpp
  std::optional<ir::TensorType> check(ast::Expr& e);
  std::optional<ir::TensorType> checkName(ast::Expr& e);
  std::optional<ir::TensorType> checkBinary(ast::Expr& e);
  std::optional<ir::TensorType> checkCall(ast::Expr& e);
  // "note: 'b1' declared here" when an operand in a type error is a plain name.
  void noteDeclaration(const ast::Expr& operand);

  ast::Model& m_;
  Reporter& r_;
  Scope scope_;
  const ast::Decl* current_ = nullptr;                              // the declaration being checked
  std::map<std::string, const ast::Decl*, std::less<>> everyName_;  // first declaration of each name
};

}  // namespace sinter::frontend
