// Expressions: names, operators, calls, members and indexing. Compile-time numbers fold; tensors become
// nodes after their shapes are checked.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "frontend/args.h"
#include "frontend/elaborator.h"
#include "frontend/functions.h"
#include "frontend/suggest.h"
#include "frontend/type_rules.h"

namespace sinter::frontend {
namespace {

std::string_view verb(ast::BinaryOp op) {
  switch (op) {
    case ast::BinaryOp::Add: return "add";
    case ast::BinaryOp::Sub: return "subtract";
    case ast::BinaryOp::Mul: return "multiply";
    case ast::BinaryOp::Div: return "divide";
    case ast::BinaryOp::Pow: return "raise to a power";
    case ast::BinaryOp::MatMul: return "matmul";
    case ast::BinaryOp::Less:
    case ast::BinaryOp::LessEqual:
    case ast::BinaryOp::Greater:
    case ast::BinaryOp::GreaterEqual:
    case ast::BinaryOp::Equal:
    case ast::BinaryOp::NotEqual: return "compare";
  }
  return "?";
}

ir::Op elementwiseOp(ast::BinaryOp op) {
  switch (op) {
    case ast::BinaryOp::Add: return ir::Op::Add;
    case ast::BinaryOp::Sub: return ir::Op::Sub;
    case ast::BinaryOp::Mul: return ir::Op::Mul;
    case ast::BinaryOp::Div: return ir::Op::Div;
    case ast::BinaryOp::Pow: return ir::Op::Pow;
    case ast::BinaryOp::MatMul: return ir::Op::MatMul;
    case ast::BinaryOp::Less: return ir::Op::Less;
    case ast::BinaryOp::LessEqual: return ir::Op::LessEqual;
    case ast::BinaryOp::Greater: return ir::Op::Greater;
    case ast::BinaryOp::GreaterEqual: return ir::Op::GreaterEqual;
    case ast::BinaryOp::Equal: return ir::Op::Equal;
    case ast::BinaryOp::NotEqual: return ir::Op::NotEqual;
  }
  throw std::logic_error("unknown binary operator");
}

bool integral(double v) { return std::floor(v) == v && std::abs(v) < 9.0e15; }

}  // namespace

std::string Value::describe() const {
  switch (kind) {
    case Error: return "an erroneous value";
    case Number: return fmt::format("the number {}", num);
    case Dim: return fmt::format("the symbolic dimension '{}'", dim.symbol);
    case Tensor: return type.str();
    case Tuple: return fmt::format("a tuple of {} value{}", elems.size(), elems.size() == 1 ? "" : "s");
    case Instance: return fmt::format("layer instance '{}' ({})", inst->path, inst->layerName());
    case Callable:
      if (layer) return fmt::format("layer '{}'", layer->name);
      if (foreign) return fmt::format("layer '{}'", foreign->name);
      if (function) return fmt::format("function '{}'", function->name);
      return "a built-in function";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------------
// Nodes

Value Elaborator::emit(Frame& f, ir::Op op, std::vector<ir::NodeId> operands, ir::Attrs attrs, Range at) {
  return emitNode(f, op, std::move(operands), std::nullopt, std::move(attrs), at);
}

Value Elaborator::emitTyped(Frame& f, ir::Op op, std::vector<ir::NodeId> operands, ir::TensorType type, ir::Attrs attrs,
                            Range at) {
  return emitNode(f, op, std::move(operands), std::move(type), std::move(attrs), at);
}

Value Elaborator::emitNode(Frame& f, ir::Op op, std::vector<ir::NodeId> operands, std::optional<ir::TensorType> type,
                           ir::Attrs attrs, Range at) {
  if (graph().nodes.size() >= kMaxNodes) {
    if (!aborted_) f.r->error(at, fmt::format("the model is too large: it needs more than {} graph nodes", kMaxNodes));
    aborted_ = true;
    return Value::error();
  }
  if (op == ir::Op::Dropout && level() > 0) {
    f.r->error(at,
               "dropout in a loop over sequences would draw one mask for every step; apply it to the sequence "
               "before the loop or to the stacked values after it");
    return Value::error();
  }
  auto local = localOperands(f, std::move(operands), at);
  if (!local) return Value::error();
  try {
    ir::Graph& g = graph();
    const ir::SourceLoc loc = f.file->loc(at.begin);
    const ir::NodeId id = type ? g.addTyped(op, std::move(*local), std::move(*type), std::move(attrs), loc)
                               : g.addOp(op, std::move(*local), std::move(attrs), loc);
    return Value::tensor(g.node(id).type, levelId(level(), id));
  } catch (const std::logic_error& e) {
    // The checks before each emit should make this unreachable; a message beats an abort.
    f.r->error(at, fmt::format("internal compiler error: the IR rejects this {}: {}", ir::opName(op), e.what()));
    return Value::error();
  }
}

Value Elaborator::constant(Frame& f, double v, ir::DType dtype, Range at) {
  if (graph().nodes.size() >= kMaxNodes) {
    if (!aborted_) f.r->error(at, fmt::format("the model is too large: it needs more than {} graph nodes", kMaxNodes));
    aborted_ = true;
    return Value::error();
  }
  ir::TensorType t{dtype, {}};
  return Value::tensor(t, levelId(level(), graph().addConstant(v, t, f.file->loc(at.begin))));
}

Value Elaborator::asTensor(Frame& f, const Value& v, ir::DType dtype, Range at) {
  if (v.kind == Value::Number) return constant(f, v.num, dtype, at);
  return v;
}

void Elaborator::noteDeclaration(Frame& f, const ast::Expr* operand) {
  if (!operand || operand->kind != ast::Expr::Name) return;
  const Binding* b = f.env->find(operand->text);
  if (!b || !b->value.isTensor()) return;
  auto it = reporters_.find(b->file);
  if (it == reporters_.end()) return;
  it->second->note(b->range, fmt::format("{} declared here as {}", quoted(operand->text), b->value.type.str()));
}

// ---------------------------------------------------------------------------------------------------
// Expressions

Value Elaborator::eval(Frame& f, const ast::Expr& e) {
  if (aborted_) return Value::error();
  // Each expression is at most kMaxExprHeight deep, but calls stack them: bound the total, or a chain
  // of defs could overflow the stack.
  if (evalDepth_ >= kMaxEvalDepth) {
    f.r->error(e.range,
               fmt::format("calls and expressions nest too deeply (more than {} levels in all)", kMaxEvalDepth));
    aborted_ = true;
    return Value::error();
  }
  struct Depth {
    int& count;
    explicit Depth(int& c) : count(++c) {}
    ~Depth() { --count; }
  } depth(evalDepth_);
  switch (e.kind) {
    case ast::Expr::Number: return Value::number(e.number, e.integer && integral(e.number));
    case ast::Expr::Name: return evalName(f, e);
    case ast::Expr::Binary: return evalBinary(f, e);
    case ast::Expr::Neg: return evalNeg(f, e);
    case ast::Expr::Call: return evalCall(f, e);
    case ast::Expr::Index: return evalIndex(f, e);
    case ast::Expr::Member: return evalMember(f, e);
    case ast::Expr::Tuple: {
      std::vector<Value> elems;
      bool ok = true;
      for (const ast::Arg& a : e.args) {
        elems.push_back(eval(f, *a.value));
        ok = ok && elems.back().ok();
      }
      return ok ? Value::tuple(std::move(elems)) : Value::error();
    }
  }
  throw std::logic_error("unknown expression kind");
}

Value Elaborator::evalName(Frame& f, const ast::Expr& e) {
  Reporter& r = *f.r;
  if (const Binding* b = f.env->find(e.text)) return b->value;
  if (findBuiltin(e.text)) {
    r.error(e.range, fmt::format("{} is a function; call it as {}(...)", quoted(e.text), e.text));
    return Value::error();
  }
  if (auto step = f.stepValues.find(e.text); step != f.stepValues.end()) {
    r.error(e.range, fmt::format("{} is a value of one step of a loop over sequences, and is gone after the loop; "
                                 "'stack' it in the loop to keep every step's value, or assign it to a name "
                                 "defined before the loop to carry it",
                                 quoted(e.text)));
    r.note(step->second, "the loop is here");
    return Value::error();
  }
  if (auto later = f.everyName.find(e.text); later != f.everyName.end()) {
    if (later->second == f.current) {
      r.error(e.range, fmt::format("{} is used in its own definition", quoted(e.text)));
    } else {
      r.error(e.range, fmt::format("{} is used before it is defined", quoted(e.text)));
      r.note(later->second->nameRange, fmt::format("{} is defined here", quoted(e.text)));
    }
    return Value::error();
  }
  if (e.text == "training") {  // a name the model may rebind; unbound, whether this is the train step
    readsTraining_ = true;
    return Value::number(training_ ? 1 : 0, true);
  }
  std::vector<std::string_view> names = f.env->names();
  r.error(e.range, fmt::format("use of undefined value {}{}", quoted(e.text), didYouMean(e.text, names)));
  if (auto best = closestName(e.text, names)) {
    const Binding* b = f.env->find(*best);
    if (auto it = reporters_.find(b->file); it != reporters_.end())
      it->second->note(b->range, fmt::format("{} declared here", quoted(*best)));
  }
  return Value::error();
}

Value Elaborator::numberOp(Frame& f, ast::BinaryOp op, const Value& a, const Value& b, const ast::Expr& e) {
  double v = 0;
  bool isInt = a.isInt && b.isInt;
  switch (op) {
    case ast::BinaryOp::Add: v = a.num + b.num; break;
    case ast::BinaryOp::Sub: v = a.num - b.num; break;
    case ast::BinaryOp::Mul: v = a.num * b.num; break;
    case ast::BinaryOp::Div:
      if (b.num == 0) {
        f.r->error(e.opRange, "division by zero", {e.lhs->range, e.rhs->range});
        return Value::error();
      }
      v = a.num / b.num;
      isInt = isInt && integral(v);  // 784 / 28 is the integer 28; 1 / 2 is 0.5
      break;
    case ast::BinaryOp::Pow:
      v = std::pow(a.num, b.num);
      isInt = isInt && b.num >= 0;
      break;
    case ast::BinaryOp::MatMul:
      f.r->error(e.opRange, "'@' needs tensors of rank 2 or more, not numbers", {e.lhs->range, e.rhs->range});
      return Value::error();
    case ast::BinaryOp::Less:
    case ast::BinaryOp::LessEqual:
    case ast::BinaryOp::Greater:
    case ast::BinaryOp::GreaterEqual:
    case ast::BinaryOp::Equal:
    case ast::BinaryOp::NotEqual: {
      // The comparison op's own formula: 1 or 0, an integer, so that `if n > 2 { ... }` and masks fold alike.
      const double x[] = {a.num, b.num};
      v = ir::opDef(elementwiseOp(op)).scalar.f64({}, ir::DType::F64, x);
      isInt = true;
      break;
    }
  }
  if (!std::isfinite(v)) {
    f.r->error(e.opRange, fmt::format("this arithmetic on numbers gives {}", v), {e.lhs->range, e.rhs->range});
    return Value::error();
  }
  return Value::number(v, isInt && integral(v));
}

Value Elaborator::elementwise(Frame& f, ir::Op op, std::string_view how, const Value& a, const Value& b, Range at,
                              const ast::Expr* lhs, const ast::Expr* rhs) {
  Reporter& r = *f.r;
  std::vector<Range> both;
  if (lhs) both.push_back(lhs->range);
  if (rhs) both.push_back(rhs->range);
  for (int i = 0; i < 2; ++i) {
    const Value& v = i == 0 ? a : b;
    if (v.kind == Value::Number || v.isTensor()) continue;
    r.error(at,
            fmt::format("cannot {} {} and {}: {} is not a tensor or a number", how, a.describe(), b.describe(),
                        v.describe()),
            both);
    return Value::error();
  }
  const Value& t = a.isTensor() ? a : b;  // at least one is a tensor
  // Integer tensors (labels, token ids, lengths) add, subtract, multiply and compare; a quotient or a power of
  // them would not be an integer.
  if (!ir::isFloat(t.type.dtype) && (op == ir::Op::Div || op == ir::Op::Pow)) {
    r.error(at,
            fmt::format("cannot {} {} and {}: this arithmetic needs floating-point tensors; convert with f32(...)", how,
                        a.describe(), b.describe()),
            both);
    noteDeclaration(f, a.isTensor() ? lhs : rhs);
    return Value::error();
  }
  const Value& other = a.isTensor() ? b : a;
  if (!ir::isFloat(t.type.dtype) && other.kind == Value::Number && !other.isInt) {
    r.error(at, fmt::format("cannot {} {} and {}: an i32 tensor meets only integers", how, a.describe(), b.describe()),
            both);
    return Value::error();
  }
  const Value x = asTensor(f, a, t.type.dtype, lhs ? lhs->range : at);
  const Value y = asTensor(f, b, t.type.dtype, rhs ? rhs->range : at);
  if (!x.ok() || !y.ok()) return Value::error();
  const TypeCheck tc = checkElementwise(how, x.type, y.type);
  if (!tc.type) {
    r.error(at, tc.error, both);
    noteDeclaration(f, lhs);
    const bool sameName =
        lhs && rhs && lhs->kind == ast::Expr::Name && rhs->kind == ast::Expr::Name && lhs->text == rhs->text;
    if (!sameName) noteDeclaration(f, rhs);
    return Value::error();
  }
  return emit(f, op, {x.node, y.node}, {}, at);
}

Value Elaborator::matmul(Frame& f, const Value& a, const Value& b, const ast::Expr& e) {
  for (int i = 0; i < 2; ++i) {
    const Value& v = i == 0 ? a : b;
    if (v.isTensor()) continue;
    f.r->error(e.opRange,
               fmt::format("'@' needs tensors on both sides, but the {} operand is {}", i == 0 ? "left" : "right",
                           v.describe()),
               {e.lhs->range, e.rhs->range});
    return Value::error();
  }
  const TypeCheck tc = checkMatMul(a.type, b.type);
  if (!tc.type) {
    f.r->error(e.opRange, tc.error, {e.lhs->range, e.rhs->range});
    const bool sameName =
        e.lhs->kind == ast::Expr::Name && e.rhs->kind == ast::Expr::Name && e.lhs->text == e.rhs->text;
    if (tc.culprit != 1) noteDeclaration(f, e.lhs.get());
    if (tc.culprit != 0 && !(sameName && tc.culprit != 1)) noteDeclaration(f, e.rhs.get());
    return Value::error();
  }
  return emit(f, ir::Op::MatMul, {a.node, b.node}, {}, e.opRange);
}

Value Elaborator::evalBinary(Frame& f, const ast::Expr& e) {
  const Value a = eval(f, *e.lhs);
  const Value b = eval(f, *e.rhs);
  if (!a.ok() || !b.ok()) return Value::error();
  if (a.kind == Value::Number && b.kind == Value::Number) return numberOp(f, e.op, a, b, e);
  if (a.kind == Value::Tuple && b.kind == Value::Tuple && e.op == ast::BinaryOp::Add) {
    // Tuples concatenate, so that a loop can collect its steps: hs = hs + (h,)
    if (a.elems.size() + b.elems.size() > kMaxTupleSize) {
      f.r->error(e.opRange, fmt::format("tuples are limited to {} values", kMaxTupleSize));
      return Value::error();
    }
    std::vector<Value> elems = a.elems;
    elems.insert(elems.end(), b.elems.begin(), b.elems.end());
    return Value::tuple(std::move(elems));
  }
  if (e.op == ast::BinaryOp::MatMul) return matmul(f, a, b, e);
  return elementwise(f, elementwiseOp(e.op), verb(e.op), a, b, e.opRange, e.lhs.get(), e.rhs.get());
}

Value Elaborator::evalNeg(Frame& f, const ast::Expr& e) {
  Value a = eval(f, *e.lhs);
  if (!a.ok()) return a;
  if (a.kind == Value::Number) return Value::number(-a.num, a.isInt);
  if (!a.isTensor() || !ir::isFloat(a.type.dtype)) {
    f.r->error(e.opRange,
               fmt::format("unary '-' needs a floating-point tensor or a number, but its operand is {}", a.describe()),
               {e.lhs->range});
    return Value::error();
  }
  return emit(f, ir::Op::Neg, {a.node}, {}, e.opRange);
}

// ---------------------------------------------------------------------------------------------------
// Calls

Value Elaborator::evalCall(Frame& f, const ast::Expr& e) {
  Reporter& r = *f.r;
  // Arguments first: their own errors are worth reporting even when the callee is unknown.
  std::vector<Value> args;
  bool argsOk = true;
  for (const ast::Arg& a : e.args) {
    args.push_back(eval(f, *a.value));
    argsOk = argsOk && args.back().ok();
  }
  Value callee;
  if (e.lhs) {
    callee = eval(f, *e.lhs);
    if (!callee.ok()) return callee;
  } else {
    const Binding* b = f.env->find(e.text);
    const ast::Function* method = nullptr;
    if (!b && f.self)  // a layer's methods call each other by name
      for (const ast::Function& m : f.self->layer->methods)
        if (m.name == e.text) method = &m;
    if (b && (b->value.kind == Value::Instance || b->value.kind == Value::Callable)) {
      callee = b->value;
    } else if (method) {
      callee.kind = Value::Callable;
      callee.function = method;
      callee.inst = f.self;
    } else if (const BuiltinSpec* spec = findBuiltin(e.text)) {
      callee.kind = Value::Callable;
      callee.builtin = spec;
    } else if (b) {
      if (b->value.ok()) r.error(e.opRange, fmt::format("{} is a value, not a function", quoted(e.text)));
      return Value::error();
    } else if (findInitializer(e.text)) {
      r.error(e.opRange,
              fmt::format("{} is an initializer; it can only follow '=' in a param declaration", quoted(e.text)));
      return Value::error();
    } else {
      std::vector<std::string_view> names = namesOf(builtinFunctions());
      for (std::string_view n : globals_.order()) names.push_back(n);
      std::string hint = didYouMean(e.text, names);
      if (hint.empty()) hint = "; the functions are listed in docs/language.md";
      r.error(e.opRange, fmt::format("unknown function {}{}", quoted(e.text), hint));
      return Value::error();
    }
  }
  if (!argsOk) return Value::error();
  if (callee.kind == Value::Instance) {
    if (callee.inst->foreign) return callForeign(f, callee.inst, e, std::move(args));
    const ast::Layer& layer = *callee.inst->layer;
    for (const ast::Function& m : layer.methods)
      if (m.name == "forward") return callFunction(f, m, callee.inst, e, std::move(args));
    r.error(e.opRange, fmt::format("layer {} has no 'def forward(...)', so its instance {} cannot be called",
                                   quoted(layer.name), quoted(callee.inst->path)));
    return Value::error();
  }
  if (callee.kind != Value::Callable) {
    r.error(e.opRange, fmt::format("{} cannot be called", callee.describe()));
    return Value::error();
  }
  if (callee.builtin) return callBuiltin(f, e, *callee.builtin, args);
  if (callee.layer) return instantiate(f, *callee.layer, e, std::move(args));
  if (callee.foreign) return instantiateForeign(f, *callee.foreign, e, std::move(args));
  return callFunction(f, *callee.function, callee.inst, e, std::move(args));
}

// A builtin's arguments bound to its parameters (defaults filled in), then its implementation.
Value Elaborator::callBuiltin(Frame& f, const ast::Expr& e, const BuiltinSpec& spec, const std::vector<Value>& args) {
  const std::vector<ParamSpec>& params = spec.params;
  CallSite site{*this, f, e, spec.name, {}, {}, {}, &params, spec.op};
  auto bound = bindArgs({"function", spec.name, e.opRange, e.range}, params, e.args, *f.r);
  if (!bound) return Value::error();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const ast::Arg* a = (*bound)[i];
    if (a) {
      site.args.push_back(args[static_cast<std::size_t>(a - e.args.data())]);
      site.exprs.push_back(a->value.get());
      site.given.push_back(true);
    } else {
      const double d = *params[i].fallback;
      site.args.push_back(std::isnan(d) ? Value::error() : Value::number(d, integral(d)));
      site.exprs.push_back(nullptr);
      site.given.push_back(!std::isnan(d));
    }
  }
  return spec.impl(site);
}

Value Elaborator::evalMember(Frame& f, const ast::Expr& e) {
  Value base = eval(f, *e.lhs);
  if (!base.ok()) return base;
  if (base.isTensor() && e.text == "T") return transposeLastTwo(f, base, e);
  if (base.kind != Value::Instance) {
    f.r->error(e.opRange, fmt::format("'.' needs a layer instance on its left, but it is {}", base.describe()),
               {e.lhs->range});
    return Value::error();
  }
  const Instance& inst = *base.inst;
  if (const Binding* b = inst.members->findLocal(e.text)) return b->value;
  const std::vector<ast::Function> none;
  const std::vector<ast::Function>& methods = inst.layer ? inst.layer->methods : none;
  for (const ast::Function& m : methods) {
    if (m.name != e.text) continue;
    Value v;
    v.kind = Value::Callable;
    v.function = &m;
    v.inst = base.inst;
    return v;
  }
  std::vector<std::string_view> names(inst.members->order().begin(), inst.members->order().end());
  for (const ast::Function& m : methods) names.push_back(m.name);
  std::string hint = didYouMean(e.text, names);
  if (hint.empty() && !names.empty()) hint = "; its members are " + listNames(names, "and");
  f.r->error(e.opRange, fmt::format("instance {} of layer {} has no member {}{}", quoted(inst.path),
                                    quoted(inst.layerName()), quoted(e.text), hint));
  return Value::error();
}

// ---------------------------------------------------------------------------------------------------
// Indexing: x[i], x[a:b], x[:, t, :]. An index picks one position and drops the axis; a slice keeps it.

// x.T: the last two axes swapped, as NumPy's and PyTorch's .T of a matrix (and .mT of a batch of them).
Value Elaborator::transposeLastTwo(Frame& f, const Value& x, const ast::Expr& e) {
  const std::size_t rank = x.type.shape.size();
  if (rank < 2) {
    f.r->error(e.opRange, fmt::format("'.T' swaps the last two axes, so it needs rank 2 or more, got {}", x.type.str()),
               {e.lhs->range});
    return Value::error();
  }
  std::vector<std::int64_t> perm(rank);
  for (std::size_t i = 0; i < rank; ++i) perm[i] = static_cast<std::int64_t>(i);
  std::swap(perm[rank - 1], perm[rank - 2]);
  return emit(f, ir::Op::Transpose, {x.node}, ir::Attrs::of({{"perm", perm}}), e.opRange);
}

// An index, a slice's start, end or step: nullopt after an error, an empty optional when not written.
std::optional<std::optional<std::int64_t>> Elaborator::indexPart(Frame& f, const ast::ExprPtr& p,
                                                                 std::string_view what) {
  if (!p) return std::optional<std::int64_t>();
  const Value v = eval(f, *p);
  if (!v.ok()) return std::nullopt;
  if (v.kind != Value::Number || !v.isInt) {
    f.r->error(p->range, fmt::format("{} must be an integer known at compile time, but it is {}", what, v.describe()));
    return std::nullopt;
  }
  return std::optional<std::int64_t>(static_cast<std::int64_t>(v.num));
}

// t[i] of a tuple: one value.
Value Elaborator::indexTuple(Frame& f, const ast::Expr& e, const Value& base) {
  if (e.items.size() != 1 || e.items[0].isSlice) {
    f.r->error(e.opRange, "a tuple takes one index, such as t[0]", {e.range});
    return Value::error();
  }
  auto i = indexPart(f, e.items[0].index, "an index");
  if (!i) return Value::error();
  const auto n = static_cast<std::int64_t>(base.elems.size());
  const std::int64_t k = **i < 0 ? **i + n : **i;
  if (k < 0 || k >= n) {
    f.r->error(e.items[0].range, fmt::format("index {} is out of range for a tuple of {} values", **i, n));
    return Value::error();
  }
  return base.elems[static_cast<std::size_t>(k)];
}

// What item `axis` of x[...] selects of tensor type t: nullopt after an error. Python's rules: negative
// positions count from the end; a slice's positions clamp to the axis; an index drops the axis.
std::optional<Elaborator::AxisRange> Elaborator::axisRange(Frame& f, const ast::Expr& e, std::size_t axis,
                                                           const ir::TensorType& t) {
  Reporter& r = *f.r;
  const ast::IndexItem& it = e.items[axis];
  const ir::Dim& d = t.shape[axis];
  auto fixedSize = [&](const char* verb) {
    if (!d.isSymbolic()) return true;
    r.error(it.range, fmt::format("cannot {} axis {} of {}: its size '{}' is only known at run time", verb, axis,
                                  t.str(), d.symbol));
    return false;
  };
  if (!it.isSlice) {
    auto i = indexPart(f, it.index, "an index");
    if (!i || !fixedSize("index")) return std::nullopt;
    const std::int64_t start = **i < 0 ? **i + d.size : **i;
    if (start < 0 || start >= d.size) {
      r.error(it.range,
              fmt::format("index {} is out of range for axis {} of {} (size {})", **i, axis, t.str(), d.size));
      noteDeclaration(f, e.lhs.get());
      return std::nullopt;
    }
    return AxisRange{start, start + 1, 1, true, false};
  }
  auto s = indexPart(f, it.start, "a slice's start");
  auto en = indexPart(f, it.end, "a slice's end");
  auto st = indexPart(f, it.step, "a slice's step");
  if (!s || !en || !st) return std::nullopt;
  if (!*s && !*en && (!*st || **st == 1)) return AxisRange{0, d.size, 1, false, true};  // ':' keeps it all
  if (*st && **st == 0) {
    r.error(it.step->range, "a slice's step cannot be 0");
    return std::nullopt;
  }
  if (!fixedSize("slice")) return std::nullopt;
  AxisRange out{0, d.size, *st ? **st : 1, false, false};
  if (out.step > 0) {
    auto clampPos = [&](std::int64_t p) { return std::clamp(p < 0 ? p + d.size : p, std::int64_t{0}, d.size); };
    out.start = *s ? clampPos(**s) : 0;
    out.end = *en ? clampPos(**en) : d.size;
  } else {  // walking down: from the last element by default, to before element 0 (end -1)
    auto clampDown = [&](std::int64_t p) { return std::clamp(p < 0 ? p + d.size : p, std::int64_t{-1}, d.size - 1); };
    out.start = *s ? clampDown(**s) : d.size - 1;
    out.end = *en ? clampDown(**en) : -1;
  }
  if (out.step > 0 ? out.start >= out.end : out.start <= out.end) {
    const std::string by = out.step == 1 ? "" : fmt::format(" by {}", out.step);
    r.error(it.range, fmt::format("the slice is empty: it selects {}..{}{} of axis {} of {} (size {})", out.start,
                                  out.end, by, axis, t.str(), d.size));
    return std::nullopt;
  }
  out.whole = out.start == 0 && out.end == d.size && out.step == 1;
  return out;
}

// x[i, a:b:s, ...]: a slice per axis that selects less than all of it, then a reshape that drops the
// indexed axes; t[i] of a tuple.
Value Elaborator::evalIndex(Frame& f, const ast::Expr& e) {
  Value base = eval(f, *e.lhs);
  if (!base.ok()) return base;
  if (base.kind == Value::Tuple) return indexTuple(f, e, base);
  if (!base.isTensor()) {
    f.r->error(e.opRange, fmt::format("only tensors and tuples can be indexed, not {}", base.describe()),
               {e.lhs->range});
    return Value::error();
  }
  const ir::TensorType& t = base.type;
  if (e.items.size() > t.shape.size()) {
    f.r->error(e.items[t.shape.size()].range, fmt::format("too many indices: {} has rank {}, but {} are given", t.str(),
                                                          t.shape.size(), e.items.size()));
    noteDeclaration(f, e.lhs.get());
    return Value::error();
  }
  Value cur = base;
  std::vector<bool> dropped(t.shape.size(), false);
  for (std::size_t axis = 0; axis < e.items.size(); ++axis) {
    const std::optional<AxisRange> range = axisRange(f, e, axis, t);
    if (!range) return Value::error();
    dropped[axis] = range->drop;
    if (range->whole) continue;
    ir::Attrs attrs = ir::Attrs::of({{"axis", static_cast<std::int64_t>(axis)},
                                     {"start", range->start},
                                     {"end", range->end},
                                     {"step", range->step}});
    cur = emit(f, ir::Op::Slice, {cur.node}, std::move(attrs), e.opRange);
    if (!cur.ok()) return cur;
  }
  if (std::find(dropped.begin(), dropped.end(), true) == dropped.end()) return cur;
  ir::TensorType out{t.dtype, {}};
  for (std::size_t i = 0; i < cur.type.shape.size(); ++i)
    if (!dropped[i]) out.shape.push_back(cur.type.shape[i]);
  return emitTyped(f, ir::Op::Reshape, {cur.node}, std::move(out), {}, e.opRange);
}

}  // namespace sinter::frontend
