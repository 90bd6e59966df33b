// The built-in functions of the model language: one table, each entry with its parameters (defaults
// included) and the C++ function that checks its arguments and adds its nodes. The ops that map 1:1 to a
// builtin (relu, exp, maximum, ...) come from the op table's entries (their `builtin`); the others are
// written in functions.cpp. docs/language.md lists them all with their shapes.
#pragma once

#include <cmath>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include "frontend/elaborator.h"

namespace sinter::frontend {

// A parameter without a value: optional, and absent unless given (axis = None in NumPy's terms).
inline constexpr double kNone = std::numeric_limits<double>::quiet_NaN();

// One call of a built-in: its evaluated arguments in parameter order.
struct CallSite {
  Elaborator& el;
  Frame& f;
  const ast::Expr& call;
  std::string_view name;
  std::vector<Value> args;              // in parameter order; Error for an absent optional one
  std::vector<const ast::Expr*> exprs;  // the argument as written; nullptr when defaulted
  std::vector<bool> given;              // false for an absent optional parameter
  const std::vector<ParamSpec>* params = nullptr;
  std::optional<ir::Op> op = std::nullopt;  // the op of a builtin that maps 1:1 to one

  std::string_view param(std::size_t i) const { return (*params)[i].name; }

  Reporter& r() const { return *f.r; }
  Range at(std::size_t i) const { return exprs[i] ? exprs[i]->range : call.opRange; }
  ir::SourceLoc loc() const { return f.file->loc(call.opRange.begin); }
  // Reports an error about argument i (with a note at its declaration when it is a plain name).
  Value fail(std::size_t i, std::string message) const;
  // Reports an error about the call as a whole.
  Value failCall(std::string message) const;

  // Argument i as a float tensor (a number becomes an f32 constant); nullopt after an error.
  std::optional<Value> tensor(std::size_t i, bool floating = true);
  std::optional<std::int64_t> integer(std::size_t i);
  std::optional<double> number(std::size_t i);
  // An axis of a tensor of the given rank; negative axes count from the end.
  std::optional<std::int64_t> axis(std::size_t i, const ir::TensorType& t);
  // An int or a tuple of ints, each an axis; sorted and distinct.
  std::optional<std::vector<std::int64_t>> axes(std::size_t i, const ir::TensorType& t);
  // An int n (meaning (n, n)) or a pair of ints, each >= min.
  std::optional<std::vector<std::int64_t>> pair(std::size_t i, std::int64_t min);
  // A shape: a tuple of positive ints and symbolic dims (from dim()), or one of them alone.
  std::optional<ir::Shape> shape(std::size_t i, bool allowInfer, std::int64_t* inferAt);
};

struct BuiltinSpec {
  std::string_view name;
  std::vector<ParamSpec> params;  // a fallback of kNone: optional without a value
  Value (*impl)(CallSite&);
  std::optional<ir::Op> op = std::nullopt;  // for the builtins of the op table's entries
};

const std::vector<BuiltinSpec>& builtinFunctions();
const BuiltinSpec* findBuiltin(std::string_view name);

}  // namespace sinter::frontend
