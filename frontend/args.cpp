#include "frontend/args.h"

#include <fmt/format.h>

#include "frontend/suggest.h"

namespace sinter::frontend {
namespace {

std::string plural(std::size_t n, std::string_view word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); }

std::string given(std::size_t n) { return n == 1 ? "1 was given" : fmt::format("{} were given", n); }

std::string paramList(const std::vector<ParamSpec>& params) {
  std::vector<std::string_view> names;
  for (const ParamSpec& p : params) names.push_back(p.name);
  return listNames(names, "and");
}

bool allRequired(const std::vector<ParamSpec>& params) {
  for (const ParamSpec& p : params)
    if (p.fallback) return false;
  return true;
}

// "'relu' takes 1 argument" / "'adam' takes at most 5 arguments" / "'zeros' takes no arguments"
std::string takes(const Callee& c, const std::vector<ParamSpec>& params) {
  if (params.empty()) return fmt::format("'{}' takes no arguments", c.name);
  const std::string count = plural(params.size(), "argument");
  if (allRequired(params)) return fmt::format("'{}' takes {} ({})", c.name, count, paramList(params));
  return fmt::format("'{}' takes at most {} ({})", c.name, count, paramList(params));
}

}  // namespace

std::optional<std::vector<const ast::Arg*>> bindArgs(const Callee& callee, const std::vector<ParamSpec>& params,
                                                     const std::vector<ast::Arg>& args, Reporter& r) {
  std::vector<const ast::Arg*> bound(params.size(), nullptr);
  bool ok = true;
  std::size_t positional = 0;
  bool sawKeyword = false;
  for (const ast::Arg& a : args) {
    if (a.keyword.empty()) {
      if (sawKeyword) {
        r.error(a.value->range, "positional argument after a keyword argument");
        ok = false;
      } else if (positional >= params.size()) {
        r.error(a.value->range, fmt::format("{}, but {}", takes(callee, params), given(args.size())));
        return std::nullopt;
      } else {
        bound[positional++] = &a;
      }
      continue;
    }
    sawKeyword = true;
    std::size_t i = 0;
    while (i < params.size() && params[i].name != a.keyword) ++i;
    if (i == params.size()) {
      std::vector<std::string_view> names;
      for (const ParamSpec& p : params) names.push_back(p.name);
      std::string hint = didYouMean(a.keyword, names);
      if (hint.empty()) hint = params.empty() ? "; it takes no arguments" : "; its parameters are " + paramList(params);
      r.error(a.keywordRange,
              fmt::format("{} '{}' has no parameter {}{}", callee.kind, callee.name, quoted(a.keyword), hint));
      ok = false;
    } else if (bound[i]) {
      r.error(a.keywordRange, fmt::format("argument '{}' is given twice", params[i].name));
      const ast::Arg* first = bound[i];
      r.note(first->keyword.empty() ? first->value->range : first->keywordRange, "first given here");
      ok = false;
    } else {
      bound[i] = &a;
    }
  }
  if (!ok) return std::nullopt;
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (bound[i] || params[i].fallback) continue;
    if (allRequired(params) && !sawKeyword)
      r.error(callee.nameRange, fmt::format("{}, but {}", takes(callee, params), given(args.size())),
              {callee.callRange});
    else
      r.error(callee.nameRange, fmt::format("'{}' needs a value for '{}'", callee.name, params[i].name),
              {callee.callRange});
    return std::nullopt;
  }
  return bound;
}

std::optional<double> numberArg(const Callee& callee, std::string_view param, const ast::Arg& arg, Reporter& r) {
  if (arg.value->kind == ast::Expr::Number) return arg.value->number;
  r.error(arg.value->range, fmt::format("argument '{}' of '{}' must be a number", param, callee.name));
  return std::nullopt;
}

}  // namespace sinter::frontend
