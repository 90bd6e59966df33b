// Binding call arguments (positional, then keyword) to a callee's parameters.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "frontend/ast.h"
#include "frontend/builtins.h"
#include "frontend/reporter.h"

namespace sinter::frontend {

struct Callee {
  std::string_view kind;  // "function", "initializer", "optimizer": for messages
  std::string_view name;
  Range nameRange;
  Range callRange;
};

// Returns, per parameter, the argument given for it (nullptr when none). Reports positional arguments
// after keyword ones, too many arguments, unknown or repeated keywords and missing required parameters;
// returns nullopt after any of them.
std::optional<std::vector<const ast::Arg*>> bindArgs(const Callee& callee, const std::vector<ParamSpec>& params,
                                                     const std::vector<ast::Arg>& args, Reporter& r);

// A numeric-literal argument's value; reports "argument 'low' of 'uniform' must be a number" otherwise.
std::optional<double> numberArg(const Callee& callee, std::string_view param, const ast::Arg& arg, Reporter& r);

}  // namespace sinter::frontend
