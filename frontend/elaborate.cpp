// Statements, declarations, loops, layers and the model as a whole.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "frontend/args.h"
#include "frontend/elaborator.h"
#include "frontend/functions.h"
#include "frontend/suggest.h"

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

std::string_view frameName(Frame::Kind k) {
  switch (k) {
    case Frame::Model: return "a model";
    case Frame::LayerBody: return "a layer's body";
    case Frame::Def: return "a 'def'";
  }
  return "?";
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Definitions

void Elaborator::defineGlobal(const std::string& name, Range at, std::string_view kind, Value v, const SourceFile& file,
                              Reporter& r) {
  reporters_[&file] = &r;
  if (findBuiltin(name)) {
    r.error(at, fmt::format("{} is a built-in function; give the {} another name", quoted(name), kind));
    return;
  }
  if (const Binding* prev = globals_.findLocal(name)) {
    r.error(at, fmt::format("redefinition of {}", quoted(name)));
    if (auto it = reporters_.find(prev->file); it != reporters_.end())
      it->second->note(prev->range, fmt::format("{} first defined here", quoted(name)));
    return;
  }
  globals_.set(name, {std::move(v), nullptr, at, &file, true});
}

void Elaborator::define(ast::File& f, const SourceFile& file, Reporter& r) {
  reporters_[&file] = &r;
  auto add = [&](const std::string& name, Range at, std::string_view kind, Value v) {
    defineGlobal(name, at, kind, std::move(v), file, r);
  };
  for (ast::Layer& l : f.layers) {
    l.file = &file;
    for (ast::Function& m : l.methods) m.file = &file;
    Value v;
    v.kind = Value::Callable;
    v.layer = &l;
    add(l.name, l.nameRange, "layer", std::move(v));
  }
  for (ast::Function& fn : f.functions) {
    fn.file = &file;
    Value v;
    v.kind = Value::Callable;
    v.function = &fn;
    add(fn.name, fn.nameRange, "function", std::move(v));
  }
}

// ---------------------------------------------------------------------------------------------------
// The model

void Elaborator::model(const ast::Model& m, const SourceFile& file, Reporter& r) {
  reporters_[&file] = &r;
  g_.name = m.name;
  modelEnv_ = std::make_unique<Env>(&globals_);
  Frame f;
  f.kind = Frame::Model;
  f.env = modelEnv_.get();
  f.r = &r;
  f.file = &file;
  collectNames(f, m.decls);
  statements(f, m.decls);
  // The values the train block may name: top-level tensors (and broken ones, as error types).
  for (const std::string& name : modelEnv_->order()) {
    const Binding* b = modelEnv_->findLocal(name);
    if (!b->decl) continue;
    if (b->value.isTensor()) scope_.add(name, *b->decl, b->value.type);
    else if (!b->value.ok()) scope_.add(name, *b->decl, std::nullopt);
  }
  if (summary_) {
    summary_->model = m.name;
    for (const auto& inst : instances_) summarize(*inst);
    for (ir::NodeId p : g_.params) {
      if (g_.node(p).state) continue;  // not a trained param, as torch's buffers
      const ir::TensorType& t = g_.node(p).type;
      const std::int64_t n = ir::staticNumElements(t.shape).value_or(0);
      summary_->totalParams += n;
      summary_->totalBytes += n * static_cast<std::int64_t>(ir::dtypeSize(t.dtype));
    }
    std::int64_t inLayers = 0;
    for (const LayerSummary& l : summary_->layers)
      if (l.depth == 0) inLayers += l.params;
    summary_->modelParams = summary_->totalParams - inLayers;
  }
}

std::int64_t Elaborator::countParams(const Instance& inst, std::int64_t* bytes) const {
  std::int64_t n = 0;
  for (ir::NodeId p : inst.params) {
    const ir::TensorType& t = g_.node(p).type;
    const std::int64_t k = ir::staticNumElements(t.shape).value_or(0);
    n += k;
    *bytes += k * static_cast<std::int64_t>(ir::dtypeSize(t.dtype));
  }
  for (const auto& c : inst.children) n += countParams(*c, bytes);
  return n;
}

void Elaborator::summarize(const Instance& inst) {
  LayerSummary s;
  s.path = inst.path;
  s.layer = inst.layerName();
  s.depth = inst.depth;
  s.output = inst.output;
  s.params = countParams(inst, &s.bytes);
  summary_->layers.push_back(std::move(s));
  for (const auto& c : inst.children) summarize(*c);
}

void Elaborator::finish(const std::optional<ir::TrainConfig>& train) {
  const std::string loss = train ? train->loss : std::string();
  for (const auto& [name, node] : outputs_)
    if (name != loss) g_.results.push_back({name, node, ir::Result::Output});
  if (train)
    if (const Binding* b = modelEnv_->findLocal(loss); b && b->value.isTensor())
      g_.results.push_back({loss, b->value.node, ir::Result::Loss});
  // The ABI lists the trained params first, then the states; in train mode every state has a next value, its
  // own when no update gave it one.
  std::stable_partition(g_.params.begin(), g_.params.end(), [&](ir::NodeId p) { return !g_.node(p).state; });
  if (training_)
    for (ir::NodeId p : g_.params)
      if (g_.node(p).state) {
        auto next = nextState_.find(p);
        g_.results.push_back({g_.node(p).name, next == nextState_.end() ? p : next->second.value, ir::Result::State});
      }
  // Inputs first, then params, then the operations, each group in the order it was made: params are
  // made as layers instantiate, between operations, but the printed graph reads best with its arguments
  // first.
  std::vector<ir::NodeId> order(g_.inputs.begin(), g_.inputs.end());
  order.insert(order.end(), g_.params.begin(), g_.params.end());
  for (const ir::Node& n : g_.nodes)
    if (n.op != ir::Op::Input && n.op != ir::Op::Param) order.push_back(n.id);
  ir::reorderNodes(g_, order);
}

// ---------------------------------------------------------------------------------------------------
// Statements

void Elaborator::collectNames(Frame& f, const std::vector<ast::Decl>& body) {
  for (const ast::Decl& d : body) {
    if (d.kind == ast::Decl::For || d.kind == ast::Decl::If || d.kind == ast::Decl::Scan) {
      collectNames(f, d.body);
      collectNames(f, d.otherwise);
      continue;
    }
    if (d.kind == ast::Decl::Return) continue;
    if (d.targets.empty()) f.everyName.emplace(d.name, &d);
    for (const ast::Decl::Target& t : d.targets) f.everyName.emplace(t.name, &d);
  }
}

void Elaborator::statements(Frame& f, const std::vector<ast::Decl>& body) {
  for (const ast::Decl& d : body) {
    if (aborted_) return;
    // Nested loops can run a statement very many times without adding a node: bound the work too.
    if (++steps_ > kMaxSteps) {
      f.r->error(d.keywordRange, fmt::format("the model takes more than {} statement runs to elaborate; are loops "
                                             "nested too deeply?",
                                             kMaxSteps));
      aborted_ = true;
      return;
    }
    if (f.returned) {
      f.r->error(d.keywordRange, "statement after 'return' is never run");
      return;
    }
    statement(f, d);
  }
}

void Elaborator::statement(Frame& f, const ast::Decl& d) {
  const ast::Decl* outer = f.current;
  f.current = &d;
  Reporter& r = *f.r;
  auto misplaced = [&](std::string_view what, std::string_view where) {
    r.error(d.keywordRange, fmt::format("{} is not allowed in {}; it belongs in {}", what,
                                        f.loops ? "a loop" : frameName(f.kind), where));
  };
  if (d.broken) {
    if (d.kind != ast::Decl::Return) bind(f, d, d.name, d.nameRange, Value::error(), false);
  } else {
    switch (d.kind) {
      case ast::Decl::Input:
        if (f.kind != Frame::Model || f.loops) {
          misplaced("'input'", "the top level of a model");
          break;
        }
        input(f, d);
        break;
      case ast::Decl::Param:
      case ast::Decl::State:
        if (f.kind == Frame::Def || f.loops) {
          misplaced(d.kind == ast::Decl::Param ? "'param'" : "'state'",
                    "a model or a layer's body (outside loops and 'def')");
          break;
        }
        param(f, d);
        break;
      case ast::Decl::Update: update(f, d); break;
      case ast::Decl::Output: {
        if (f.kind != Frame::Model || f.loops) {
          misplaced("'output'", "the top level of a model");
          break;
        }
        f.assigning = d.name;
        const std::size_t before = g_.nodes.size();
        Value v = eval(f, *d.value);
        if (v.kind == Value::Number) v = asTensor(f, v, ir::DType::F32, d.value->range);
        if (v.ok() && !v.isTensor()) {
          r.error(d.value->range,
                  fmt::format("output {} must be a tensor, but it is {}", quoted(d.name), v.describe()));
          v = Value::error();
        }
        if (v.isTensor() && static_cast<std::size_t>(v.node) >= before) g_.node(v.node).name = d.name;
        const bool tensor = v.isTensor();
        const ir::NodeId node = v.node;
        if (bind(f, d, d.name, d.nameRange, std::move(v), true) && tensor) outputs_.emplace_back(d.name, node);
        break;
      }
      case ast::Decl::Let: assign(f, d); break;
      case ast::Decl::For: forLoop(f, d); break;
      case ast::Decl::Scan: scanLoop(f, d); break;
      case ast::Decl::Stack: stackStatement(f, d); break;
      case ast::Decl::If: ifStatement(f, d); break;
      case ast::Decl::Return: {
        if (f.kind != Frame::Def) {
          misplaced("'return'", "a 'def'");
          break;
        }
        if (f.loops) {
          r.error(d.keywordRange, "'return' inside a loop is not supported; return after the loop");
          break;
        }
        Value v = eval(f, *d.value);
        f.returned = std::move(v);
        break;
      }
    }
  }
  f.current = outer;
  f.assigning.clear();
}

// Binds a name in the frame's scope. Inside a loop a name may be bound again (that is how state flows
// from one step to the next), and so inside an if or else block (a configuration that changes a value);
// elsewhere a name is bound once.
bool Elaborator::bind(Frame& f, const ast::Decl& d, const std::string& name, Range at, Value v, bool fixed) {
  Reporter& r = *f.r;
  if (const Binding* prev = f.env->find(name)) {
    const bool local = f.env->findLocal(name) != nullptr;
    const bool global = !local && globals_.findLocal(name) == prev;
    if (global) {
      r.error(at, fmt::format("{} already names a {}; choose another name", quoted(name),
                              prev->value.layer ? "layer" : "function"));
      return false;
    }
    const bool rebinding = f.loops > 0 || f.branches > 0;
    if (!local || prev->fixed || !rebinding || fixed) {
      if (prev->fixed && local && rebinding) {
        const std::string_view what = !prev->decl                            ? "a loop variable"
                                      : prev->decl->kind == ast::Decl::Input ? "an input"
                                      : prev->decl->kind == ast::Decl::Param ? "a param"
                                                                             : "an output";
        r.error(at, fmt::format("cannot assign to {}, which is {}", quoted(name), what));
      } else {
        r.error(at, fmt::format("redefinition of {}", quoted(name)));
      }
      r.note(prev->range, fmt::format("{} declared here", quoted(name)));
      return false;
    }
  }
  f.env->set(name, {std::move(v), &d, at, f.file, fixed});
  return true;
}

void Elaborator::assign(Frame& f, const ast::Decl& d) {
  f.assigning = d.targets.empty() ? d.name : std::string();
  const ir::NodeId before = nextId();
  Value v = eval(f, *d.value);
  // The outermost name wins: `h1 = relu(...)` names the relu node h1, even when a layer named it first.
  const std::string prefix = f.self && f.kind == Frame::Def ? f.self->path + "." : std::string();
  auto name = [&](const Value& x, const std::string& n) {
    if (ir::Node* node = nodeSince(x, before)) node->name = prefix + n;
  };
  if (d.targets.empty()) {
    name(v, d.name);
    bind(f, d, d.name, d.nameRange, std::move(v), false);
    return;
  }
  if (v.ok() && (v.kind != Value::Tuple || v.elems.size() != d.targets.size())) {
    const Range all = join(d.targets.front().range, d.targets.back().range);
    if (v.kind != Value::Tuple)
      f.r->error(all, fmt::format("cannot unpack {} into {} names: it is not a tuple", v.describe(), d.targets.size()));
    else
      f.r->error(all,
                 fmt::format("cannot unpack a tuple of {} values into {} names", v.elems.size(), d.targets.size()));
    v = Value::error();
  }
  for (std::size_t i = 0; i < d.targets.size(); ++i) {
    Value x = v.ok() ? v.elems[i] : Value::error();
    name(x, d.targets[i].name);
    bind(f, d, d.targets[i].name, d.targets[i].range, std::move(x), false);
  }
}

// for t in a..b { body }: the body runs once per t at compile time; each run adds its own nodes.
void Elaborator::forLoop(Frame& f, const ast::Decl& d) {
  Reporter& r = *f.r;
  auto bound = [&](const ast::Expr& e, std::string_view which) -> std::optional<std::int64_t> {
    Value v = eval(f, e);
    if (!v.ok()) return std::nullopt;
    if (v.kind != Value::Number || !v.isInt || std::abs(v.num) > 1e15) {
      r.error(e.range, fmt::format("the {} of a loop's range must be an integer known at compile time, but it is {}",
                                   which, v.describe()));
      return std::nullopt;
    }
    return static_cast<std::int64_t>(v.num);
  };
  const auto lo = bound(*d.value, "start");
  const auto hi = bound(*d.end, "end");
  if (!lo || !hi) return;
  if (*hi - *lo > kMaxLoopTrips) {
    r.error(join(d.value->range, d.end->range),
            fmt::format("the loop would unroll {} times; the limit is {}", *hi - *lo, kMaxLoopTrips));
    return;
  }
  if (f.env->findLocal(d.name) || globals_.findLocal(d.name)) {
    const Binding* prev = f.env->find(d.name);
    r.error(d.nameRange, fmt::format("loop variable {} hides another name; choose another name", quoted(d.name)));
    if (prev) r.note(prev->range, fmt::format("{} declared here", quoted(d.name)));
    return;
  }
  ++f.loops;
  const int errorsBefore = r.errorReports();
  for (std::int64_t t = *lo; t < *hi && !aborted_ && !f.r->stopped(); ++t) {
    f.env->set(d.name, {Value::number(static_cast<double>(t), true), nullptr, d.nameRange, f.file, true});
    statements(f, d.body);
    if (r.errorReports() != errorsBefore) break;  // one report, not one per step
  }
  --f.loops;
  f.env->erase(d.name);
}

// `if cond { ... } else { ... }`: the condition is a number known at compile time (a setting, a size, a
// comparison of them); the statements of the branch it picks run as if written in place.
void Elaborator::ifStatement(Frame& f, const ast::Decl& d) {
  const Value c = eval(f, *d.value);
  if (!c.ok()) return;
  if (c.kind != Value::Number) {
    f.r->error(d.value->range, fmt::format("'if' needs a condition known at compile time (a number, such as a "
                                           "comparison of sizes or settings), but it is {}; for tensors, use where()",
                                           c.describe()));
    return;
  }
  ++f.branches;
  statements(f, c.num != 0 ? d.body : d.otherwise);
  --f.branches;
}

// ---------------------------------------------------------------------------------------------------
// Inputs and params

void Elaborator::input(Frame& f, const ast::Decl& d) {
  auto type = resolveType(f, d, false);
  Value v = Value::error();
  if (type) v = Value::tensor(*type, g_.addInput(d.name, *type, f.file->loc(d.nameRange.begin)));
  bind(f, d, d.name, d.nameRange, v, true);
}

void Elaborator::param(Frame& f, const ast::Decl& d) {
  auto type = resolveType(f, d, true);
  const ir::Init init = resolveInit(f, d.init);
  Value v = Value::error();
  if (type) {
    const std::string name = f.self ? f.self->path + "." + d.name : d.name;
    const ir::NodeId id = g_.addParam(name, *type, init, f.file->loc(d.nameRange.begin));
    g_.node(id).state = d.kind == ast::Decl::State;
    if (f.self && !g_.node(id).state) f.self->params.push_back(id);
    v = Value::tensor(*type, id);
  }
  bind(f, d, d.name, d.nameRange, v, true);
}

// `update NAME = value`: in train mode, the value the state NAME holds after the step. Reads of NAME in the
// step see the value before it. Inference checks the update and ignores it: it never changes a state.
void Elaborator::update(Frame& f, const ast::Decl& d) {
  Reporter& r = *f.r;
  if (level() > 0) {
    r.error(d.keywordRange, "'update' is not allowed in a loop over sequences; update the state after the loop");
    return;
  }
  const Binding* b = f.env->find(d.name);
  Value v = eval(f, *d.value);
  const ir::Node* state = b && b->value.isTensor() ? &nodeOf(b->value.node) : nullptr;
  if (!state || !state->state) {
    if (b && !b->value.ok()) return;
    r.error(d.nameRange, fmt::format("{} is {}; 'update' gives a state (declared with 'state') its next value",
                                     quoted(d.name), b ? "not a state" : "not defined"));
    if (b)
      if (auto it = reporters_.find(b->file); it != reporters_.end())
        it->second->note(b->range, fmt::format("{} is defined here", quoted(d.name)));
    return;
  }
  if (!v.ok()) return;
  if (!v.isTensor() || !(v.type == state->type)) {
    r.error(d.value->range, fmt::format("the next value of state {} must be {} like the state, but it is {}",
                                        quoted(d.name), state->type.str(), v.describe()));
    return;
  }
  if (!training_) return;
  auto [it, fresh] = nextState_.emplace(b->value.node, NextState{v.node, d.keywordRange, &r});
  if (!fresh) {
    r.error(d.keywordRange, fmt::format("state {} is updated twice in one train step", quoted(state->name)));
    it->second.r->note(it->second.at, "the first update is here");
  }
}

std::optional<ir::TensorType> Elaborator::resolveType(Frame& f, const ast::Decl& decl, bool isParam) {
  const ast::TypeExpr& t = decl.type;
  Reporter& r = *f.r;
  bool ok = true;
  ir::TensorType out;
  if (auto dt = ir::parseDType(t.dtype)) {
    out.dtype = *dt;
  } else {
    std::string hint;
    if (auto alias = dtypeAlias(t.dtype)) hint = fmt::format("; did you mean '{}'?", *alias);
    else hint = didYouMean(t.dtype, {"f32", "f64", "i32"});
    if (hint.empty()) hint = "; the dtypes are f32, f64 and i32";
    r.error(t.dtypeRange, fmt::format("unknown dtype {}{}", quoted(t.dtype), hint));
    ok = false;
  }
  if (ok && isParam && !ir::isFloat(out.dtype)) {
    r.error(t.dtypeRange,
            fmt::format("{} {} must have a floating-point dtype (f32 or f64), not {}",
                        decl.kind == ast::Decl::State ? "state" : "parameter", quoted(decl.name), t.dtype));
    ok = false;
  }
  for (const ast::DimExpr& d : t.dims) {
    if (auto dim = resolveDim(f, d, decl, isParam)) out.shape.push_back(*dim);
    else ok = false;
  }
  if (!ok) return std::nullopt;
  // Sizes computed later (bytes of a buffer) must not overflow.
  std::int64_t bytes = static_cast<std::int64_t>(ir::dtypeSize(out.dtype));
  for (const ir::Dim& d : out.shape) {
    if (d.isSymbolic()) continue;
    if (__builtin_mul_overflow(bytes, d.size, &bytes) || bytes > (std::int64_t{1} << 48)) {
      r.error(t.range, fmt::format("{} is too large: it needs more than 2^48 bytes", out.str()));
      return std::nullopt;
    }
  }
  return out;
}

// A dimension: an integer, a symbolic name, or (in a layer) the name of a compile-time number such as
// the layer's argument `in`.
std::optional<ir::Dim> Elaborator::resolveDim(Frame& f, const ast::DimExpr& d, const ast::Decl& decl, bool isParam) {
  Reporter& r = *f.r;
  if (d.symbolic) {
    if (const Binding* b = f.env->find(d.text); b && b->value.kind != Value::Tensor) {
      const Value& v = b->value;
      if (!v.ok()) return std::nullopt;
      if (v.kind == Value::Number && v.isInt && v.num >= 1 && v.num <= static_cast<double>(kMaxDim))
        return ir::Dim::fixed(static_cast<std::int64_t>(v.num));
      if (v.kind == Value::Dim && !isParam) return v.dim;
      r.error(d.range,
              fmt::format("dimension {} must be a positive integer, but it is {}", quoted(d.text), v.describe()));
      return std::nullopt;
    }
    if (!isParam) return ir::Dim::sym(d.text);
    r.error(d.range,
            fmt::format("the shape of {} {} must be fixed, but {} is a symbolic dimension",
                        decl.kind == ast::Decl::State ? "state" : "parameter", quoted(decl.name), quoted(d.text)));
    return std::nullopt;
  }
  std::int64_t v = 0;
  const char* first = d.text.data();
  const char* last = first + d.text.size();
  const auto [ptr, ec] = std::from_chars(first, last, v);
  if (ec == std::errc::result_out_of_range) {
    if (d.text[0] == '-') r.error(d.range, fmt::format("dimension must be positive, got {}", d.text));
    else r.error(d.range, fmt::format("dimension {} is too large (the limit is 2^31 - 1 = {})", d.text, kMaxDim));
    return std::nullopt;
  }
  if (ec != std::errc{} || ptr != last) {
    r.error(d.range, fmt::format("dimension must be an integer, got {}", d.text));
    return std::nullopt;
  }
  if (v <= 0) {
    r.error(d.range, fmt::format("dimension must be positive, got {}", d.text));
    return std::nullopt;
  }
  if (v > kMaxDim) {
    r.error(d.range, fmt::format("dimension {} is too large (the limit is 2^31 - 1 = {})", d.text, kMaxDim));
    return std::nullopt;
  }
  return ir::Dim::fixed(v);
}

ir::Init Elaborator::resolveInit(Frame& f, const std::optional<ast::CallExpr>& init) {
  Reporter& r = *f.r;
  if (!init) return {};  // zeros
  const InitSpec* spec = findInitializer(init->name);
  if (!spec) {
    std::string hint = didYouMean(init->name, namesOf(initializers()));
    if (hint.empty()) hint = "; the initializers are " + listNames(namesOf(initializers()), "and");
    r.error(init->nameRange, fmt::format("unknown initializer {}{}", quoted(init->name), hint));
    return {};
  }
  const Callee callee{"initializer", spec->name, init->nameRange, init->range};
  auto bound = bindArgs(callee, spec->params, init->args, r);
  ir::Init out;
  out.kind = spec->kind;
  if (!bound) return out;
  double values[2] = {0, 0};
  for (std::size_t i = 0; i < spec->params.size(); ++i) {
    const ParamSpec& p = spec->params[i];
    if (const ast::Arg* a = (*bound)[i]) {
      // Any compile-time number: a literal, or a layer argument such as `std = scale / 10`.
      Value v = eval(f, *a->value);
      if (v.kind == Value::Number) values[i] = v.num;
      else if (v.ok())
        r.error(a->value->range, fmt::format("argument '{}' of '{}' must be a number", p.name, callee.name));
    } else {
      values[i] = *p.fallback;
    }
  }
  out.a = values[0];
  out.b = values[1];
  if (out.kind == ir::Init::Uniform && !(out.a < out.b))
    r.error(init->range, fmt::format("uniform needs low < high, got low = {} and high = {}", out.a, out.b));
  if (out.kind == ir::Init::Normal && !(out.b > 0))
    r.error(init->range, fmt::format("normal needs a positive std, got {}", out.b));
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Layers and defs

std::optional<std::vector<Value>> Elaborator::bindParams(Frame& f, const ast::Expr& call, std::string_view kind,
                                                         std::string_view name,
                                                         const std::vector<ast::ParamDecl>& params,
                                                         const SourceFile* defFile, std::vector<Value> args) {
  std::vector<ParamSpec> specs;
  for (const ast::ParamDecl& p : params)
    specs.push_back({p.name, p.fallback ? std::optional<double>(0) : std::nullopt});
  const Callee callee{kind, name, call.opRange, call.range};
  auto bound = bindArgs(callee, specs, call.args, *f.r);
  if (!bound) return std::nullopt;
  std::vector<Value> out;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const ast::Arg* a = (*bound)[i];
    if (a) {
      out.push_back(args[static_cast<std::size_t>(a - call.args.data())]);
      continue;
    }
    // A default is evaluated where it is written, with the file's layers and defs and the earlier
    // parameters in view: `layer MaxPool2D(kernel, stride = kernel)`.
    Env env(&globals_);
    for (std::size_t k = 0; k < i; ++k) env.set(params[k].name, {out[k], nullptr, params[k].range, defFile, true});
    Frame df;
    df.kind = Frame::Def;
    df.env = &env;
    df.file = defFile;
    df.r = reporters_.at(defFile);
    out.push_back(eval(df, *params[i].fallback));
  }
  return out;
}

std::shared_ptr<Instance> Elaborator::newInstance(Frame& f, const ast::Expr& call, const std::string& layerName) {
  // `fc1 = Dense(...)` names the instance fc1; `y = Dense(...)(x)` leaves it unnamed.
  std::string local = f.current && f.current->value.get() == &call ? f.assigning : std::string();
  const std::string prefix = f.self ? f.self->path + "." : std::string();
  // Each run of a loop over a range makes a new instance, numbered after the name its statement assigns:
  // `blocks = blocks + (Block(64),)` makes blocks.0, blocks.1, ..., as torch's ModuleList names them.
  if (f.loops > 0 && !f.assigning.empty())
    local = fmt::format("{}.{}", f.assigning, loopInstances_[prefix + f.assigning]++);
  if (local.empty()) {
    // dense_1, dense_2, ...: a name no statement of this body binds, so that params stay unique.
    std::string base;
    for (char c : layerName) base += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    do {
      local = fmt::format("{}_{}", base, ++autoNames_[prefix + base]);
    } while (f.everyName.count(local) || f.env->find(local) || usedPaths_.count(prefix + local));
  }
  auto inst = std::make_shared<Instance>();
  inst->path = prefix + local;
  usedPaths_.insert(inst->path);
  inst->createdAt = call.range;
  inst->createdIn = f.file;
  inst->depth = f.self ? f.self->depth + 1 : 0;
  inst->members = std::make_unique<Env>(&globals_);
  return inst;
}

bool Elaborator::mayInstantiate(Frame& f, const ast::Expr& call, const std::string& layerName) {
  if (f.kind != Frame::Def && level() == 0) return true;
  f.r->error(call.range, fmt::format("layer {} can only be instantiated in a model or a layer's body, outside 'def' "
                                     "and loops over sequences; create it there and call the instance here",
                                     quoted(layerName)));
  return false;
}

Value Elaborator::instantiate(Frame& f, const ast::Layer& layer, const ast::Expr& call, std::vector<Value> args) {
  Reporter& r = *f.r;
  if (!mayInstantiate(f, call, layer.name)) return Value::error();
  if (callDepth_ >= kMaxCallDepth) {
    r.error(call.range,
            fmt::format("layers nest more than {} deep; is layer {} recursive?", kMaxCallDepth, quoted(layer.name)));
    aborted_ = true;
    return Value::error();
  }
  auto bound = bindParams(f, call, "layer", layer.name, layer.params, layer.file, std::move(args));
  if (!bound) return Value::error();
  for (std::size_t i = 0; i < bound->size(); ++i) {
    const Value& v = (*bound)[i];
    if (v.isTensor()) {
      const ast::Arg* a = nullptr;
      for (const ast::Arg& x : call.args)
        if (x.keyword == layer.params[i].name) a = &x;
      if (!a && i < call.args.size() && call.args[i].keyword.empty()) a = &call.args[i];
      r.error(a ? a->value->range : call.range,
              fmt::format("argument {} of layer {} must be known at compile time (a number, a tuple or a layer), "
                          "but it is a tensor {}; pass tensors when calling the instance",
                          quoted(layer.params[i].name), quoted(layer.name), v.type.str()));
      return Value::error();
    }
  }
  std::shared_ptr<Instance> inst = newInstance(f, call, layer.name);
  inst->layer = &layer;
  for (std::size_t i = 0; i < layer.params.size(); ++i)
    inst->members->set(layer.params[i].name, {(*bound)[i], nullptr, layer.params[i].range, layer.file, true});
  if (f.self) f.self->children.push_back(inst);
  else instances_.push_back(inst);
  Frame body;
  body.kind = Frame::LayerBody;
  body.env = inst->members.get();
  body.r = reporters_.at(layer.file);
  body.file = layer.file;
  body.self = inst;
  collectNames(body, layer.body);
  ++callDepth_;
  const int errorsBefore = r.errorReports();
  statements(body, layer.body);
  --callDepth_;
  if (r.errorReports() != errorsBefore)
    r.note(call.opRange, fmt::format("in instance {} of layer {} made here", quoted(inst->path), quoted(layer.name)));
  Value v;
  v.kind = Value::Instance;
  v.inst = std::move(inst);
  return v;
}

Value Elaborator::callFunction(Frame& f, const ast::Function& fn, const std::shared_ptr<Instance>& self,
                               const ast::Expr& call, std::vector<Value> args) {
  Reporter& r = *f.r;
  if (callDepth_ >= kMaxCallDepth) {
    r.error(call.range, fmt::format("calls nest more than {} deep; is {} recursive?", kMaxCallDepth, quoted(fn.name)));
    aborted_ = true;
    return Value::error();
  }
  const std::string display = self ? fmt::format("{}.{}", self->path, fn.name) : fn.name;
  auto bound = bindParams(f, call, self ? "method" : "function", display, fn.params, fn.file, std::move(args));
  if (!bound) return Value::error();
  Env env(self ? self->members.get() : &globals_);
  Frame body;
  body.kind = Frame::Def;
  body.env = &env;
  body.r = reporters_.at(fn.file);
  body.file = fn.file;
  body.self = self;
  body.callSite = &call;
  for (std::size_t i = 0; i < fn.params.size(); ++i)
    env.set(fn.params[i].name, {(*bound)[i], nullptr, fn.params[i].range, fn.file, false});
  collectNames(body, fn.body);
  ++callDepth_;
  const int errorsBefore = r.errorReports();
  statements(body, fn.body);
  --callDepth_;
  const bool failed = r.errorReports() != errorsBefore;
  if (failed) r.note(call.opRange, fmt::format("in the call of {} here", quoted(display)));
  if (!body.returned) {
    if (!failed) body.r->error(fn.nameRange, fmt::format("{} ends without 'return'", quoted(fn.name)));
    return Value::error();
  }
  Value out = std::move(*body.returned);
  if (self && out.ok()) {
    std::string t = out.describe();
    if (out.kind == Value::Tuple) {
      t = "(";
      for (std::size_t i = 0; i < out.elems.size(); ++i) t += (i ? ", " : "") + out.elems[i].describe();
      t += ")";
    }
    // A layer used only through another method (l1.sequence(rows)) shows that method's result, named.
    if (fn.name == "forward") self->output = ++self->calls > 1 && self->output != t ? "multiple" : t;
    else if (self->calls == 0) self->output = fmt::format("{} (.{})", t, fn.name);
  }
  return out;
}

}  // namespace sinter::frontend
