// Type checking of expressions: names, operators and calls.
#include <fmt/format.h>

#include <algorithm>

#include "frontend/args.h"
#include "frontend/builtins.h"
#include "frontend/model_checker.h"
#include "frontend/suggest.h"
#include "frontend/type_rules.h"

namespace sinter::frontend {
namespace {

// A literal has no dtype of its own: next to a floating tensor it takes that tensor's dtype, so that
// `x * 2` works for f64 as well as f32.
void adaptLiteral(ast::Expr& lit, std::optional<ir::TensorType>& litType, const ir::TensorType& other) {
  if (lit.kind != ast::Expr::Number || !ir::isFloat(other.dtype)) return;
  litType->dtype = other.dtype;
  lit.type = litType;
}

}  // namespace

std::optional<ir::TensorType> ModelChecker::check(ast::Expr& e) {
  switch (e.kind) {
    case ast::Expr::Number:
      e.type = ir::TensorType{ir::DType::F32, {}};
      break;
    case ast::Expr::Name:
      e.type = checkName(e);
      break;
    case ast::Expr::Binary:
      e.type = checkBinary(e);
      break;
    case ast::Expr::Call:
      e.type = checkCall(e);
      break;
  }
  return e.type;
}

std::optional<ir::TensorType> ModelChecker::checkName(ast::Expr& e) {
  if (const Symbol* s = scope_.find(e.text)) return s->type;
  auto later = everyName_.find(e.text);
  if (later != everyName_.end()) {
    if (later->second == current_) {
      r_.error(e.range, fmt::format("{} is used in its own definition", quoted(e.text)));
    } else {
      r_.error(e.range, fmt::format("{} is used before it is defined", quoted(e.text)));
      r_.note(later->second->nameRange, fmt::format("{} is defined here", quoted(e.text)));
    }
    return std::nullopt;
  }
  if (findFunction(e.text)) {
    r_.error(e.range, fmt::format("{} is a function; call it as {}(...)", quoted(e.text), e.text));
    return std::nullopt;
  }
  // Latest first: among equally close names, the one defined nearest the use is the likelier meant.
  std::vector<std::string_view> names = scope_.names();
  std::reverse(names.begin(), names.end());
  r_.error(e.range, fmt::format("use of undefined value {}{}", quoted(e.text), didYouMean(e.text, names)));
  if (auto best = closestName(e.text, names))
    r_.note(scope_.find(*best)->decl->nameRange, fmt::format("{} declared here", quoted(*best)));
  return std::nullopt;
}

void ModelChecker::noteDeclaration(const ast::Expr& operand) {
  if (operand.kind != ast::Expr::Name) return;
  if (const Symbol* s = scope_.find(operand.text); s && s->type)
    r_.note(s->decl->nameRange, fmt::format("{} declared here as {}", quoted(operand.text), s->type->str()));
}

std::optional<ir::TensorType> ModelChecker::checkBinary(ast::Expr& e) {
  auto lhs = check(*e.lhs);
  auto rhs = check(*e.rhs);
  if (!lhs || !rhs) return std::nullopt;  // already reported
  adaptLiteral(*e.lhs, lhs, *rhs);
  adaptLiteral(*e.rhs, rhs, *lhs);
  const TypeCheck tc = e.op == ast::BinaryOp::MatMul ? checkMatMul(*lhs, *rhs) : checkElementwise(e.op, *lhs, *rhs);
  if (tc.type) return tc.type;
  r_.error(e.opRange, tc.error, {e.lhs->range, e.rhs->range});
  if (tc.culprit != 1) noteDeclaration(*e.lhs);
  const bool sameName = e.lhs->kind == ast::Expr::Name && e.rhs->kind == ast::Expr::Name && e.lhs->text == e.rhs->text;
  if (tc.culprit != 0 && !(sameName && tc.culprit != 1)) noteDeclaration(*e.rhs);
  return std::nullopt;
}

std::optional<ir::TensorType> ModelChecker::checkCall(ast::Expr& e) {
  // Arguments first: their own errors are worth reporting even when the callee is unknown.
  bool argsOk = true;
  for (ast::Arg& a : e.args) argsOk = check(*a.value).has_value() && argsOk;
  const FunctionSpec* fn = findFunction(e.text);
  if (!fn) {
    if (scope_.find(e.text)) {
      r_.error(e.opRange, fmt::format("{} is a value, not a function", quoted(e.text)));
    } else if (findInitializer(e.text)) {
      r_.error(e.opRange,
               fmt::format("{} is an initializer; it can only follow '=' in a param declaration", quoted(e.text)));
    } else {
      std::string hint = didYouMean(e.text, namesOf(functions()));
      if (hint.empty()) hint = "; the functions are " + listNames(namesOf(functions()), "and");
      r_.error(e.opRange, fmt::format("unknown function {}{}", quoted(e.text), hint));
    }
    return std::nullopt;
  }
  auto bound = bindArgs({"function", fn->name, e.opRange, e.range}, fn->params, e.args, r_);
  if (!bound || !argsOk) return std::nullopt;
  // Put the arguments in parameter order: to_graph then takes operands as they come.
  std::vector<ast::Arg> ordered;
  for (const ast::Arg* a : *bound) {
    auto it = std::find_if(e.args.begin(), e.args.end(), [&](const ast::Arg& x) { return &x == a; });
    ordered.push_back(std::move(*it));
  }
  e.args = std::move(ordered);
  Types types;
  for (const ast::Arg& a : e.args) types.push_back(*a.value->type);
  const TypeCheck tc = fn->rule(types);
  if (tc.type) return tc.type;
  if (tc.culprit >= 0) {
    const ast::Expr& arg = *e.args[static_cast<std::size_t>(tc.culprit)].value;
    r_.error(arg.range, tc.error);
    noteDeclaration(arg);
  } else {
    r_.error(e.opRange, tc.error, {e.range});
  }
  return std::nullopt;
}

}  // namespace sinter::frontend
