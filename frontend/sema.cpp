#include "frontend/sema.h"

#include <fmt/format.h>

#include <charconv>
#include <limits>

#include "frontend/args.h"
#include "frontend/builtins.h"
#include "frontend/model_checker.h"
#include "frontend/suggest.h"
#include "frontend/train_checker.h"

namespace sinter::frontend {
namespace {

constexpr std::int64_t kMaxDim = (std::int64_t{1} << 31) - 1;

// Other languages' spellings of our dtypes, for a precise "did you mean".
std::optional<std::string_view> dtypeAlias(std::string_view s) {
  if (s == "float" || s == "float32" || s == "f") return "f32";
  if (s == "double" || s == "float64") return "f64";
  if (s == "int" || s == "int32" || s == "i") return "i32";
  return std::nullopt;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Declarations

void ModelChecker::run() {
  // Every name up front, so that a use before the definition says so rather than "undefined".
  for (const ast::Decl& d : m_.decls) everyName_.emplace(d.name, &d);
  for (ast::Decl& d : m_.decls) {
    current_ = &d;
    std::optional<ir::TensorType> type;
    if (!d.broken) {
      switch (d.kind) {
        case ast::Decl::Input:
          type = resolveType(d.type, false);
          break;
        case ast::Decl::Param:
          type = resolveType(d.type, true);
          d.initValue = resolveInit(d.init);
          break;
        case ast::Decl::Let:
        case ast::Decl::Output:
          type = check(*d.value);
          break;
      }
    }
    d.resolved = type;
    if (const Symbol* prev = scope_.find(d.name)) {
      r_.error(d.nameRange, fmt::format("redefinition of {}", quoted(d.name)));
      r_.note(prev->decl->nameRange, fmt::format("{} declared here", quoted(d.name)));
      continue;
    }
    scope_.add(d, type);
  }
  current_ = nullptr;
}

// ---------------------------------------------------------------------------------------------------
// Types

std::optional<ir::TensorType> ModelChecker::resolveType(const ast::TypeExpr& t, bool isParam) {
  const ast::Decl& decl = *current_;
  bool ok = true;
  ir::TensorType out;
  if (auto dt = ir::parseDType(t.dtype)) {
    out.dtype = *dt;
  } else {
    std::string hint;
    if (auto alias = dtypeAlias(t.dtype))
      hint = fmt::format("; did you mean '{}'?", *alias);
    else
      hint = didYouMean(t.dtype, {"f32", "f64", "i32"});
    if (hint.empty()) hint = "; the dtypes are f32, f64 and i32";
    r_.error(t.dtypeRange, fmt::format("unknown dtype {}{}", quoted(t.dtype), hint));
    ok = false;
  }
  if (ok && isParam && !ir::isFloat(out.dtype)) {
    r_.error(t.dtypeRange, fmt::format("parameter {} must have a floating-point dtype (f32 or f64), not {}",
                                       quoted(decl.name), t.dtype));
    ok = false;
  }
  for (const ast::DimExpr& d : t.dims) {
    if (auto dim = resolveDim(d, decl, isParam))
      out.shape.push_back(*dim);
    else
      ok = false;
  }
  if (!ok) return std::nullopt;
  // Sizes computed later (bytes of a buffer) must not overflow.
  std::int64_t bytes = static_cast<std::int64_t>(ir::dtypeSize(out.dtype));
  for (const ir::Dim& d : out.shape) {
    if (d.isSymbolic()) continue;
    if (__builtin_mul_overflow(bytes, d.size, &bytes) || bytes > (std::int64_t{1} << 48)) {
      r_.error(t.range, fmt::format("{} is too large: it needs more than 2^48 bytes", out.str()));
      return std::nullopt;
    }
  }
  return out;
}

std::optional<ir::Dim> ModelChecker::resolveDim(const ast::DimExpr& d, const ast::Decl& decl, bool isParam) {
  if (d.symbolic) {
    if (!isParam) return ir::Dim::sym(d.text);
    r_.error(d.range, fmt::format("the shape of parameter {} must be fixed, but {} is a symbolic dimension",
                                  quoted(decl.name), quoted(d.text)));
    return std::nullopt;
  }
  std::int64_t v = 0;
  const char* first = d.text.data();
  const char* last = first + d.text.size();
  const auto [ptr, ec] = std::from_chars(first, last, v);
  if (ec == std::errc::result_out_of_range) {
    if (d.text[0] == '-')
      r_.error(d.range, fmt::format("dimension must be positive, got {}", d.text));
    else
      r_.error(d.range, fmt::format("dimension {} is too large (the limit is 2^31 - 1 = {})", d.text, kMaxDim));
    return std::nullopt;
  }
  if (ec != std::errc{} || ptr != last) {
    r_.error(d.range, fmt::format("dimension must be an integer, got {}", d.text));
    return std::nullopt;
  }
  if (v <= 0) {
    r_.error(d.range, fmt::format("dimension must be positive, got {}", d.text));
    return std::nullopt;
  }
  if (v > kMaxDim) {
    r_.error(d.range, fmt::format("dimension {} is too large (the limit is 2^31 - 1 = {})", d.text, kMaxDim));
    return std::nullopt;
  }
  return ir::Dim::fixed(v);
}

// ---------------------------------------------------------------------------------------------------
// Initializers

ir::Init ModelChecker::resolveInit(const std::optional<ast::CallExpr>& init) {
  if (!init) return {};  // zeros
  const InitSpec* spec = findInitializer(init->name);
  if (!spec) {
    std::string hint = didYouMean(init->name, namesOf(initializers()));
    if (hint.empty()) hint = "; the initializers are " + listNames(namesOf(initializers()), "and");
    r_.error(init->nameRange, fmt::format("unknown initializer {}{}", quoted(init->name), hint));
    return {};
  }
  const Callee callee{"initializer", spec->name, init->nameRange, init->range};
  auto bound = bindArgs(callee, spec->params, init->args, r_);
  ir::Init out;
  out.kind = spec->kind;
  if (!bound) return out;
  double values[2] = {0, 0};
  for (std::size_t i = 0; i < spec->params.size(); ++i) {
    const ParamSpec& p = spec->params[i];
    if (const ast::Arg* a = (*bound)[i]) {
      if (auto v = numberArg(callee, p.name, *a, r_)) values[i] = *v;
    } else {
      values[i] = *p.fallback;
    }
  }
  out.a = values[0];
  out.b = values[1];
  if (out.kind == ir::Init::Uniform && !(out.a < out.b))
    r_.error(init->range, fmt::format("uniform needs low < high, got low = {} and high = {}", out.a, out.b));
  if (out.kind == ir::Init::Normal && !(out.b > 0))
    r_.error(init->range, fmt::format("normal needs a positive std, got {}", out.b));
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The file

std::optional<CheckedFile> check(ast::File& file, Reporter& r) {
  if (file.models.empty()) {
    r.fileError("no model found; a model file needs a 'model Name { ... }' block");
    return std::nullopt;
  }
  ast::Model& model = file.models.front();
  for (std::size_t i = 1; i < file.models.size(); ++i) {
    r.error(file.models[i].keywordRange, "only one model per file is supported for now");
    r.note(model.keywordRange, "the first model is here");
  }
  for (std::size_t i = 1; i < file.trains.size(); ++i) {
    r.error(file.trains[i].keywordRange, "only one train block per file is supported");
    r.note(file.trains.front().keywordRange, "the first train block is here");
  }
  ModelChecker checker(model, r);
  checker.run();
  CheckedFile out{&model, std::nullopt};
  if (!file.trains.empty()) out.train = checkTrain(file.trains.front(), model, checker.scope(), r);
  return out;
}

}  // namespace sinter::frontend
