// The parser: tokens to a syntax tree (grammar in docs/language.md). It recovers at statement
// boundaries, so one run reports every syntax error, and keeps the names of broken statements so that
// their later uses do not cascade into "undefined" errors.
#pragma once

#include <vector>

#include "frontend/ast.h"
#include "frontend/reporter.h"
#include "frontend/token.h"

namespace sinter::frontend {

// Limits that turn absurd input into an error rather than a stack overflow: nesting of parentheses and
// calls, and the height of an expression's tree (a chain `a + b + c ...` is as tall as it is long).
inline constexpr int kMaxNesting = 256;
inline constexpr int kMaxExprHeight = 1024;
inline constexpr int kMaxBlocks = 64;  // nested { } blocks (loops in loops)

ast::File parse(const std::vector<Token>& tokens, Reporter& r);

}  // namespace sinter::frontend
