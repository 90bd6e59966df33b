// The built-in functions: argument checks in the user's terms, then the nodes.
#include "frontend/functions.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "frontend/type_rules.h"

namespace sinter::frontend {

// ---------------------------------------------------------------------------------------------------
// Arguments

Value CallSite::fail(std::size_t i, std::string message) const {
  r().error(at(i), std::move(message));
  el.noteDeclaration(f, exprs[i]);
  return Value::error();
}

Value CallSite::failCall(std::string message) const {
  r().error(call.opRange, std::move(message), {call.range});
  return Value::error();
}

std::optional<Value> CallSite::tensor(std::size_t i, bool floating) {
  const Value& v = args[i];
  if (v.kind == Value::Number && floating) {
    Value t = el.constant(f, v.num, ir::DType::F32, at(i));
    if (!t.ok()) return std::nullopt;
    return t;
  }
  if (!v.isTensor()) {
    fail(i, fmt::format("argument '{}' of '{}' must be a tensor, but it is {}", param(i), name, v.describe()));
    return std::nullopt;
  }
  if (floating && !ir::isFloat(v.type.dtype)) {
    fail(i, fmt::format("'{}' needs a floating-point tensor, got {}", name, v.type.str()));
    return std::nullopt;
  }
  return v;
}

std::optional<double> CallSite::number(std::size_t i) {
  const Value& v = args[i];
  if (v.kind == Value::Number) return v.num;
  fail(i, fmt::format("argument '{}' of '{}' must be a number known at compile time, but it is {}", param(i), name,
                      v.describe()));
  return std::nullopt;
}

std::optional<std::int64_t> CallSite::integer(std::size_t i) {
  const Value& v = args[i];
  if (v.kind == Value::Number && v.isInt) return static_cast<std::int64_t>(v.num);
  fail(i, fmt::format("argument '{}' of '{}' must be an integer known at compile time, but it is {}", param(i), name,
                      v.describe()));
  return std::nullopt;
}

std::optional<std::int64_t> CallSite::axis(std::size_t i, const ir::TensorType& t) {
  auto a = integer(i);
  if (!a) return std::nullopt;
  const auto rank = static_cast<std::int64_t>(t.shape.size());
  if (*a < -rank || *a >= rank) {
    fail(i, fmt::format("axis {} is out of range for {} (rank {})", *a, t.str(), rank));
    return std::nullopt;
  }
  return *a < 0 ? *a + rank : *a;
}

std::optional<std::vector<std::int64_t>> CallSite::axes(std::size_t i, const ir::TensorType& t) {
  std::vector<std::int64_t> out;
  const Value v = args[i];
  const std::vector<Value> items = v.kind == Value::Tuple ? v.elems : std::vector<Value>{v};
  for (const Value& item : items) {
    args[i] = item;
    auto a = axis(i, t);
    args[i] = v;
    if (!a) return std::nullopt;
    out.push_back(*a);
  }
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end()) {
    fail(i, "an axis is listed twice");
    return std::nullopt;
  }
  return out;
}

std::optional<std::vector<std::int64_t>> CallSite::pair(std::size_t i, std::int64_t min) {
  const Value v = args[i];
  std::vector<Value> items = v.kind == Value::Tuple ? v.elems : std::vector<Value>{v, v};
  if (items.size() != 2) {
    fail(i, fmt::format("argument '{}' of '{}' must be an integer or a pair of integers", param(i), name));
    return std::nullopt;
  }
  std::vector<std::int64_t> out;
  for (const Value& item : items) {
    if (item.kind != Value::Number || !item.isInt || item.num < static_cast<double>(min) || item.num > 1e9) {
      fail(i, fmt::format("argument '{}' of '{}' must be an integer >= {} or a pair of them, but it is {}", param(i),
                          name, min, item.describe()));
      return std::nullopt;
    }
    out.push_back(static_cast<std::int64_t>(item.num));
  }
  return out;
}

std::optional<ir::Shape> CallSite::shape(std::size_t i, bool allowInfer, std::int64_t* inferAt) {
  const Value v = args[i];
  const std::vector<Value> items = v.kind == Value::Tuple ? v.elems : std::vector<Value>{v};
  ir::Shape out;
  for (std::size_t k = 0; k < items.size(); ++k) {
    const Value& d = items[k];
    if (d.kind == Value::Dim) {
      out.push_back(d.dim);
      continue;
    }
    if (d.kind == Value::Number && d.isInt && d.num == -1 && allowInfer && *inferAt < 0) {
      *inferAt = static_cast<std::int64_t>(k);
      out.push_back(ir::Dim::fixed(1));
      continue;
    }
    if (d.kind != Value::Number || !d.isInt || d.num < 1 || d.num > 2147483647.0) {
      fail(i, fmt::format("a shape's dimensions must be positive integers or dim(x, axis){}, but one is {}",
                          allowInfer ? " (and at most one -1)" : "", d.describe()));
      return std::nullopt;
    }
    out.push_back(ir::Dim::fixed(static_cast<std::int64_t>(d.num)));
  }
  // Sizes computed later (bytes of a buffer) must not overflow, as for declared types.
  std::int64_t bytes = 8;
  for (const ir::Dim& d : out)
    if (!d.isSymbolic() && (__builtin_mul_overflow(bytes, d.size, &bytes) || bytes > (std::int64_t{1} << 48))) {
      fail(i, fmt::format("the shape {} is too large: it needs more than 2^48 bytes", ir::shapeStr(out)));
      return std::nullopt;
    }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Implementations

namespace {

// Elements as (product of fixed dims, sorted symbols), as the IR's reshape rule counts them.
std::pair<std::int64_t, std::vector<std::string>> elementCount(const ir::Shape& s) {
  std::int64_t n = 1;
  std::vector<std::string> syms;
  for (const ir::Dim& d : s) {
    if (d.isSymbolic()) syms.push_back(d.symbol);
    else n *= d.size;
  }
  std::sort(syms.begin(), syms.end());
  return {n, syms};
}

// A builtin that maps 1:1 to an op of the table (its entry's `builtin`): operands, then the op's attributes
// that have a fallback. Compile-time numbers fold through the op's scalar formula.
Value tableOp(CallSite& s) {
  const ir::OpDef& def = ir::opDef(*s.op);
  const auto operands = static_cast<std::size_t>(def.arity);
  ir::Attrs attrs;
  for (std::size_t i = operands; i < s.args.size(); ++i) {
    const ir::AttrSpec& spec = def.attrs[i - operands];
    if (spec.kind == ir::AttrKind::Float) {
      auto v = s.number(i);
      if (!v) return Value::error();
      attrs.set(spec.name, *v);
    } else {
      auto v = s.integer(i);
      if (!v) return Value::error();
      attrs.set(spec.name, *v);
    }
  }
  bool numbers = true, integers = true;
  std::vector<double> x;
  for (std::size_t i = 0; i < operands; ++i) {
    numbers = numbers && s.args[i].kind == Value::Number;
    integers = integers && s.args[i].isInt;
    x.push_back(s.args[i].num);
  }
  if (numbers) {
    const double v = def.scalar.f64(attrs, ir::DType::F64, x.data());
    if (!std::isfinite(v)) {
      const std::string what =
          operands == 1 ? fmt::format("the number {}", x[0]) : fmt::format("the numbers {} and {}", x[0], x[1]);
      return s.fail(0, fmt::format("'{}' of {} is undefined", s.name, what));
    }
    const bool integral =
        def.builtin.integral == ir::Builtin::Always || (def.builtin.integral == ir::Builtin::IfOperandsAre && integers);
    return Value::number(v, integral);
  }
  if (operands == 2)
    return s.el.elementwise(s.f, def.op, def.builtin.verb, s.args[0], s.args[1], s.call.opRange, s.exprs[0],
                            s.exprs[1]);
  auto t = s.tensor(0);
  if (!t) return Value::error();
  return s.el.emit(s.f, def.op, {t->node}, std::move(attrs), s.call.opRange);
}

// sum, mean, max: over the given axes (all when none), keeping them as size 1 with keepdims = 1.
template <ir::Op kOp>
Value reduce(CallSite& s) {
  auto x = s.tensor(0);
  if (!x) return Value::error();
  std::vector<std::int64_t> axes;
  if (s.given[1]) {
    auto a = s.axes(1, x->type);
    if (!a) return Value::error();
    axes = *a;
  } else {
    for (std::size_t i = 0; i < x->type.shape.size(); ++i) axes.push_back(static_cast<std::int64_t>(i));
  }
  auto keep = s.integer(2);
  if (!keep) return Value::error();
  if (axes.empty()) return *x;
  ir::Attrs a;
  a.set("axes", axes);
  a.set("keepdims", static_cast<std::int64_t>(*keep != 0));
  return s.el.emit(s.f, kOp, {x->node}, std::move(a), s.call.opRange);
}

template <ir::Op kOp>
Value softmaxLike(CallSite& s) {
  auto x = s.tensor(0);
  if (!x) return Value::error();
  if (x->type.shape.empty())
    return s.fail(
        0, fmt::format("'{}' normalizes along an axis, so it needs rank 1 or more, got {}", s.name, x->type.str()));
  auto axis = s.axis(1, x->type);
  if (!axis) return Value::error();
  ir::Attrs a;
  a.set("axis", *axis);
  return s.el.emit(s.f, kOp, {x->node}, std::move(a), s.call.opRange);
}

Value transpose(CallSite& s) {
  auto x = s.tensor(0, false);
  if (!x) return Value::error();
  const std::size_t rank = x->type.shape.size();
  std::vector<std::int64_t> perm;
  if (!s.given[1]) {
    if (rank < 2)
      return s.fail(
          0, fmt::format("transpose swaps the last two axes, so it needs rank 2 or more, got {}", x->type.str()));
    for (std::size_t i = 0; i < rank; ++i) perm.push_back(static_cast<std::int64_t>(i));
    std::swap(perm[rank - 1], perm[rank - 2]);
  } else {
    const Value p = s.args[1];
    if (p.kind != Value::Tuple || p.elems.size() != rank)
      return s.fail(1, fmt::format("perm must be a tuple of {} axes for {}", rank, x->type.str()));
    for (const Value& v : p.elems) {
      s.args[1] = v;
      auto a = s.axis(1, x->type);
      s.args[1] = p;
      if (!a) return Value::error();
      perm.push_back(*a);
    }
    std::vector<std::int64_t> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
      return s.fail(1, "perm must name every axis once");
  }
  ir::Attrs a;
  a.set("perm", perm);
  return s.el.emit(s.f, ir::Op::Transpose, {x->node}, std::move(a), s.call.opRange);
}

// The tensors of a tuple argument (concat, stack).
std::optional<std::vector<Value>> tensorList(CallSite& s, std::size_t i) {
  const Value v = s.args[i];
  if (v.kind != Value::Tuple || v.elems.empty()) {
    s.fail(i, fmt::format("'{}' takes a tuple of tensors, such as ({}((a, b), axis = 1))", s.name, s.name));
    return std::nullopt;
  }
  std::vector<Value> out;
  for (const Value& e : v.elems) {
    s.args[i] = e;
    auto t = s.tensor(i, false);
    s.args[i] = v;
    if (!t) return std::nullopt;
    out.push_back(*t);
  }
  return out;
}

Value concatValues(CallSite& s, const std::vector<Value>& xs, std::int64_t axis) {
  const ir::TensorType& first = xs[0].type;
  std::vector<ir::NodeId> nodes;
  for (std::size_t k = 0; k < xs.size(); ++k) {
    const ir::TensorType& t = xs[k].type;
    if (t.dtype != first.dtype || t.shape.size() != first.shape.size())
      return s.fail(0, fmt::format("cannot concatenate {} and {}: dtypes and ranks must agree", first.str(), t.str()));
    for (std::size_t d = 0; d < t.shape.size(); ++d) {
      if (static_cast<std::int64_t>(d) == axis) {
        if (t.shape[d].isSymbolic() && xs.size() > 1)
          return s.fail(0, fmt::format("cannot concatenate along axis {}: its size '{}' is only known at run time", d,
                                       t.shape[d].symbol));
        continue;
      }
      if (!(t.shape[d] == first.shape[d]))
        return s.fail(0, fmt::format("cannot concatenate {} and {} along axis {}: dimension {} is {} vs {}",
                                     first.str(), t.str(), axis, d, first.shape[d].str(), t.shape[d].str()));
    }
    nodes.push_back(xs[k].node);
  }
  if (xs.size() == 1) return xs[0];
  ir::Attrs a;
  a.set("axis", axis);
  return s.el.emit(s.f, ir::Op::Concat, std::move(nodes), std::move(a), s.call.opRange);
}

Value concat(CallSite& s) {
  auto xs = tensorList(s, 0);
  if (!xs) return Value::error();
  auto axis = s.axis(1, (*xs)[0].type);
  if (!axis) return Value::error();
  return concatValues(s, *xs, *axis);
}

// stack((a, b, ...), axis): a new axis of size n at `axis`.
Value stack(CallSite& s) {
  auto xs = tensorList(s, 0);
  if (!xs) return Value::error();
  ir::TensorType widened = (*xs)[0].type;
  widened.shape.push_back(ir::Dim::fixed(1));
  auto axis = s.axis(1, widened);
  if (!axis) return Value::error();
  std::vector<Value> parts;
  for (const Value& x : *xs) {
    if (!(x.type == (*xs)[0].type))
      return s.fail(0, fmt::format("cannot stack {} and {}: every tensor must have the same type", (*xs)[0].type.str(),
                                   x.type.str()));
    ir::TensorType t = x.type;
    t.shape.insert(t.shape.begin() + *axis, ir::Dim::fixed(1));
    parts.push_back(s.el.emitTyped(s.f, ir::Op::Reshape, {x.node}, std::move(t), {}, s.call.opRange));
    if (!parts.back().ok()) return Value::error();
  }
  return concatValues(s, parts, *axis);
}

Value reshapeTo(CallSite& s, const Value& x, ir::Shape target, std::int64_t inferAt) {
  auto [have, haveSyms] = elementCount(x.type.shape);
  if (inferAt >= 0) {
    // The -1 takes what is left: a fixed size, or the one symbolic dimension the target lacks.
    auto [want, wantSyms] = elementCount(target);
    std::vector<std::string> extra;
    std::set_difference(haveSyms.begin(), haveSyms.end(), wantSyms.begin(), wantSyms.end(), std::back_inserter(extra));
    std::vector<std::string> missing;
    std::set_difference(wantSyms.begin(), wantSyms.end(), haveSyms.begin(), haveSyms.end(),
                        std::back_inserter(missing));
    if (!missing.empty() || extra.size() > 1 || have % want != 0 || (extra.size() == 1 && have != want))
      return s.fail(1, fmt::format("cannot infer the -1 in the new shape of {}", x.type.str()));
    target[static_cast<std::size_t>(inferAt)] = extra.empty() ? ir::Dim::fixed(have / want) : ir::Dim::sym(extra[0]);
  }
  ir::TensorType t{x.type.dtype, target};
  if (elementCount(target) != std::pair(have, haveSyms))
    return s.fail(1, fmt::format("cannot reshape {} to {}: the numbers of elements differ", x.type.str(), t.str()));
  if (t == x.type) return x;
  return s.el.emitTyped(s.f, ir::Op::Reshape, {x.node}, std::move(t), {}, s.call.opRange);
}

Value reshape(CallSite& s) {
  auto x = s.tensor(0, false);
  if (!x) return Value::error();
  std::int64_t inferAt = -1;
  auto target = s.shape(1, true, &inferAt);
  if (!target) return Value::error();
  return reshapeTo(s, *x, *target, inferAt);
}

// flatten(x): [N, d1, d2, ...] -> [N, d1 * d2 * ...]; the trailing dimensions must be fixed.
Value flatten(CallSite& s) {
  auto x = s.tensor(0, false);
  if (!x) return Value::error();
  const ir::Shape& sh = x->type.shape;
  if (sh.empty()) return s.fail(0, "flatten needs rank 1 or more, got a scalar");
  std::int64_t n = 1;
  for (std::size_t i = 1; i < sh.size(); ++i) {
    if (sh[i].isSymbolic())
      return s.fail(0, fmt::format("flatten needs fixed sizes after the first axis, but {} has '{}'", x->type.str(),
                                   sh[i].symbol));
    n *= sh[i].size;
  }
  return reshapeTo(s, *x, {sh[0], ir::Dim::fixed(n)}, -1);
}

Value matmul(CallSite& s) {
  auto a = s.tensor(0, false);
  auto b = s.tensor(1, false);
  if (!a || !b) return Value::error();
  const TypeCheck tc = checkMatMul(a->type, b->type);
  if (!tc.type) return tc.culprit >= 0 ? s.fail(static_cast<std::size_t>(tc.culprit), tc.error) : s.failCall(tc.error);
  return s.el.emit(s.f, ir::Op::MatMul, {a->node, b->node}, {}, s.call.opRange);
}

// Output extent of a window op, or 0 when the window does not fit the padded input.
std::int64_t windowOut(std::int64_t in, std::int64_t k, std::int64_t st, std::int64_t p, std::int64_t d) {
  const std::int64_t room = in + 2 * p - d * (k - 1) - 1;
  return room < 0 ? 0 : room / st + 1;
}

// conv2d(x[N,C,H,W], w[O,C,KH,KW], stride, padding, dilation) -> [N,O,OH,OW]
Value conv2d(CallSite& s) {
  auto x = s.tensor(0);
  auto w = s.tensor(1);
  auto groups = s.integer(5);
  if (!x || !w || !groups) return Value::error();
  const ir::TensorType &xt = x->type, &wt = w->type;
  if (xt.shape.size() != 4) return s.fail(0, fmt::format("conv2d needs an input x[N, C, H, W], got {}", xt.str()));
  if (wt.shape.size() != 4) return s.fail(1, fmt::format("conv2d needs filters w[O, C, KH, KW], got {}", wt.str()));
  for (std::size_t i = 1; i < 4; ++i) {
    if (xt.shape[i].isSymbolic())
      return s.fail(0, fmt::format("conv2d needs fixed channels, height and width, but {} has '{}'", xt.str(),
                                   xt.shape[i].symbol));
  }
  if (xt.dtype != wt.dtype)
    return s.failCall(fmt::format("conv2d's input {} and filters {} differ in dtype", xt.str(), wt.str()));
  const std::int64_t g = *groups;
  if (g < 1 || wt.shape[0].size % g != 0)
    return s.fail(5, fmt::format("groups must be a positive divisor of the filters' {} output channels, got {}",
                                 wt.shape[0].size, g));
  if (xt.shape[1].size != wt.shape[1].size * g)
    return s.failCall(fmt::format("conv2d's input {} has {} channels, but the filters {} expect {}", xt.str(),
                                  xt.shape[1].str(), wt.str(), wt.shape[1].size * g));
  auto st = s.pair(2, 1);
  auto pad = s.pair(3, 0);
  auto dil = s.pair(4, 1);
  if (!st || !pad || !dil) return Value::error();
  for (int k = 0; k < 2; ++k) {
    const std::int64_t in = xt.shape[2 + static_cast<std::size_t>(k)].size;
    const std::int64_t kk = wt.shape[2 + static_cast<std::size_t>(k)].size;
    if (windowOut(in, kk, (*st)[k], (*pad)[k], (*dil)[k]) < 1)
      return s.failCall(fmt::format("conv2d's {}x{} kernel does not fit the padded {}x{} input", wt.shape[2].size,
                                    wt.shape[3].size, xt.shape[2].size, xt.shape[3].size));
  }
  const ir::Attrs a = ir::Attrs::of({{"stride", *st}, {"padding", *pad}, {"dilation", *dil}});
  if (g == 1) return s.el.emit(s.f, ir::Op::Conv2D, {x->node, w->node}, a, s.call.opRange);
  // Grouped: group i convolves its slice of the input channels with its slice of the filters, and the
  // outputs are concatenated along the channels (PyTorch's groups, filters w[O, C / groups, KH, KW]).
  auto channels = [&](ir::NodeId of, std::int64_t axis, std::int64_t width, std::int64_t i) {
    return s.el.emit(
        s.f, ir::Op::Slice, {of},
        ir::Attrs::of({{"axis", axis}, {"start", i * width}, {"end", (i + 1) * width}, {"step", std::int64_t{1}}}),
        s.call.opRange);
  };
  std::vector<ir::NodeId> outputs;
  for (std::int64_t i = 0; i < g; ++i) {
    const Value xs = channels(x->node, 1, wt.shape[1].size, i);
    const Value ws = channels(w->node, 0, wt.shape[0].size / g, i);
    if (!xs.ok() || !ws.ok()) return Value::error();
    Value y = s.el.emit(s.f, ir::Op::Conv2D, {xs.node, ws.node}, a, s.call.opRange);
    if (!y.ok()) return y;
    outputs.push_back(y.node);
  }
  return s.el.emit(s.f, ir::Op::Concat, std::move(outputs), ir::Attrs::of({{"axis", std::int64_t{1}}}), s.call.opRange);
}

// conv_transpose2d(x[N, C, H, W], w[C, O, KH, KW], stride, padding, output_padding, dilation) -> [N, O, OH, OW]
// with OH = (H - 1) stride - 2 padding + dilation (KH - 1) + output_padding + 1: the adjoint of conv2d
// (its input gradient, conv2d_grad_input in the IR), with PyTorch's ConvTranspose2d weight layout.
Value convTranspose2d(CallSite& s) {
  auto x = s.tensor(0);
  auto w = s.tensor(1);
  if (!x || !w) return Value::error();
  const ir::TensorType &xt = x->type, &wt = w->type;
  if (xt.shape.size() != 4)
    return s.fail(0, fmt::format("conv_transpose2d needs an input x[N, C, H, W], got {}", xt.str()));
  if (wt.shape.size() != 4)
    return s.fail(1, fmt::format("conv_transpose2d needs filters w[C, O, KH, KW], got {}", wt.str()));
  for (std::size_t i = 1; i < 4; ++i)
    if (xt.shape[i].isSymbolic())
      return s.fail(0, fmt::format("conv_transpose2d needs fixed channels, height and width, but {} has '{}'", xt.str(),
                                   xt.shape[i].symbol));
  if (xt.dtype != wt.dtype || !(xt.shape[1] == wt.shape[0]))
    return s.failCall(fmt::format("conv_transpose2d's input {} has {} channels of {}, but the filters {} expect {}",
                                  xt.str(), xt.shape[1].str(), ir::dtypeName(xt.dtype), wt.str(), wt.shape[0].str()));
  auto st = s.pair(2, 1);
  auto pad = s.pair(3, 0);
  auto extra = s.pair(4, 0);
  auto dil = s.pair(5, 1);
  if (!st || !pad || !extra || !dil) return Value::error();
  ir::Shape out = {xt.shape[0], wt.shape[1], {}, {}};
  for (std::size_t k = 0; k < 2; ++k) {
    if ((*extra)[k] >= std::max((*st)[k], (*dil)[k]))
      return s.fail(4, "output_padding must be smaller than the stride or the dilation");
    const std::int64_t size = (xt.shape[2 + k].size - 1) * (*st)[k] - 2 * (*pad)[k] +
                              (*dil)[k] * (wt.shape[2 + k].size - 1) + (*extra)[k] + 1;
    if (size < 1) return s.failCall("conv_transpose2d's padding leaves no output");
    out[2 + k] = ir::Dim::fixed(size);
  }
  const ir::Attrs a = ir::Attrs::of({{"stride", *st}, {"padding", *pad}, {"dilation", *dil}});
  return s.el.emitTyped(s.f, ir::Op::Conv2DGradInput, {x->node, w->node}, {xt.dtype, out}, a, s.call.opRange);
}

// upsample2d(x[N, C, H, W], scale): nearest neighbour, each pixel repeated scale x scale times, as
// torch.nn.Upsample(scale_factor=scale): x seen as [N, C, H, 1, W, 1], broadcast, reshaped.
Value upsample2d(CallSite& s) {
  auto x = s.tensor(0);
  auto k = s.pair(1, 1);
  if (!x || !k) return Value::error();
  const ir::TensorType& xt = x->type;
  if (xt.shape.size() != 4 || xt.shape[2].isSymbolic() || xt.shape[3].isSymbolic())
    return s.fail(
        0, fmt::format("upsample2d needs an input x[N, C, H, W] with a fixed height and width, got {}", xt.str()));
  const ir::Shape& sh = xt.shape;
  const auto one = ir::Dim::fixed(1);
  Value spread = s.el.emitTyped(s.f, ir::Op::Reshape, {x->node}, {xt.dtype, {sh[0], sh[1], sh[2], one, sh[3], one}}, {},
                                s.call.opRange);
  if (!spread.ok()) return spread;
  Value repeated = s.el.emitTyped(
      s.f, ir::Op::Broadcast, {spread.node},
      {xt.dtype, {sh[0], sh[1], sh[2], ir::Dim::fixed((*k)[0]), sh[3], ir::Dim::fixed((*k)[1])}}, {}, s.call.opRange);
  if (!repeated.ok()) return repeated;
  return s.el.emitTyped(
      s.f, ir::Op::Reshape, {repeated.node},
      {xt.dtype, {sh[0], sh[1], ir::Dim::fixed(sh[2].size * (*k)[0]), ir::Dim::fixed(sh[3].size * (*k)[1])}}, {},
      s.call.opRange);
}

// max_pool2d / avg_pool2d(x[N,C,H,W], kernel, stride = kernel, padding = 0)
template <ir::Op kOp>
Value pool(CallSite& s) {
  auto x = s.tensor(0);
  if (!x) return Value::error();
  const ir::TensorType& xt = x->type;
  if (xt.shape.size() != 4)
    return s.fail(0, fmt::format("'{}' needs an input x[N, C, H, W], got {}", s.name, xt.str()));
  if (xt.shape[2].isSymbolic() || xt.shape[3].isSymbolic())
    return s.fail(0, fmt::format("'{}' needs a fixed height and width, got {}", s.name, xt.str()));
  auto k = s.pair(1, 1);
  if (!k) return Value::error();
  auto st = s.given[2] ? s.pair(2, 1) : k;
  auto pad = s.pair(3, 0);
  if (!st || !pad) return Value::error();
  if ((*pad)[0] * 2 > (*k)[0] || (*pad)[1] * 2 > (*k)[1]) return s.fail(3, "padding must be at most half the kernel");
  for (int i = 0; i < 2; ++i)
    if (windowOut(xt.shape[2 + static_cast<std::size_t>(i)].size, (*k)[i], (*st)[i], (*pad)[i], 1) < 1)
      return s.failCall(fmt::format("the {}x{} window does not fit the padded {}x{} input", (*k)[0], (*k)[1],
                                    xt.shape[2].size, xt.shape[3].size));
  ir::Attrs a;
  a.set("kernel", *k);
  a.set("stride", *st);
  a.set("padding", *pad);
  return s.el.emit(s.f, kOp, {x->node}, std::move(a), s.call.opRange);
}

// gather(table[V, D...], indices i32[S...]) -> [S..., D...]
Value gather(CallSite& s) {
  auto table = s.tensor(0);
  auto ids = s.tensor(1, false);
  if (!table || !ids) return Value::error();
  if (table->type.shape.empty()) return s.fail(0, fmt::format("'{}' needs a table of rank 1 or more", s.name));
  if (ids->type.dtype != ir::DType::I32)
    return s.fail(1, fmt::format("'{}' needs integer indices (i32), got {}", s.name, ids->type.str()));
  return s.el.emit(s.f, ir::Op::Gather, {table->node, ids->node}, {}, s.call.opRange);
}

// where(cond, a, b): a where cond is nonzero, else b; all three broadcast. Numbers take the branches' dtype.
Value where(CallSite& s) {
  const Value &c = s.args[0], &a = s.args[1], &b = s.args[2];
  if (c.kind == Value::Number && a.kind == Value::Number && b.kind == Value::Number) return c.num != 0 ? a : b;
  const ir::DType dt = a.isTensor() ? a.type.dtype : b.isTensor() ? b.type.dtype : ir::DType::F32;
  std::vector<ir::NodeId> nodes;
  std::optional<ir::Shape> shape = ir::Shape{};
  for (std::size_t i = 0; i < 3; ++i) {
    const Value& v = s.args[i];
    Value t = v;
    if (v.kind == Value::Number) t = s.el.constant(s.f, v.num, i == 0 ? ir::DType::F32 : dt, s.at(i));
    else if (!v.isTensor())
      return s.fail(i, fmt::format("'where' needs tensors or numbers, but this is {}", v.describe()));
    if (!t.ok()) return t;
    if (i > 0 && t.type.dtype != dt)
      return s.failCall(fmt::format("where's branches differ in dtype: {} and {}", a.describe(), b.describe()));
    if (shape) shape = ir::broadcastShapes(*shape, t.type.shape);
    nodes.push_back(t.node);
  }
  if (!shape)
    return s.failCall(
        fmt::format("where's condition {}, a {} and b {} do not broadcast", c.describe(), a.describe(), b.describe()));
  return s.el.emit(s.f, ir::Op::Where, std::move(nodes), {}, s.call.opRange);
}

// f32(x), f64(x), i32(x): x in another dtype; to i32 truncated toward zero and saturated (NaN gives 0).
template <ir::DType kTo>
Value castTo(CallSite& s) {
  const Value& v = s.args[0];
  if (v.kind == Value::Number) return Value::number(ir::num::convert(v.num, kTo), kTo == ir::DType::I32 || v.isInt);
  auto x = s.tensor(0, false);
  if (!x) return Value::error();
  if (x->type.dtype == kTo) return *x;
  return s.el.emitTyped(s.f, ir::Op::Cast, {x->node}, {kTo, x->type.shape}, {}, s.call.opRange);
}

// argmax(x, axis = -1): the i32 index of the first maximum along the axis.
Value argmax(CallSite& s) {
  auto x = s.tensor(0);
  if (!x) return Value::error();
  if (x->type.shape.empty()) return s.fail(0, fmt::format("'argmax' needs rank 1 or more, got {}", x->type.str()));
  auto axis = s.axis(1, x->type);
  if (!axis) return Value::error();
  return s.el.emit(s.f, ir::Op::ArgMax, {x->node}, ir::Attrs::of({{"axis", *axis}}), s.call.opRange);
}

// one_hot(indices, classes): f32 rows with a 1 at each index (zeros for an index outside [0, classes)).
Value oneHot(CallSite& s) {
  auto ids = s.tensor(0, false);
  auto classes = s.integer(1);
  if (!ids || !classes) return Value::error();
  if (ids->type.dtype != ir::DType::I32)
    return s.fail(0, fmt::format("'one_hot' needs integer indices (i32), got {}", ids->type.str()));
  if (*classes < 1 || *classes > (std::int64_t{1} << 24))
    return s.fail(1, fmt::format("'one_hot' needs 1 to 16777216 classes, got {}", *classes));
  return s.el.emit(s.f, ir::Op::OneHot, {ids->node}, ir::Attrs::of({{"classes", *classes}}), s.call.opRange);
}

// pad(x, pads, value = 0): as torch.nn.functional.pad, pairs (before, after) for the last axes, the last
// axis first: pad(img, (1, 1, 2, 2)) adds 1 column on each side and 2 rows above and below.
Value pad(CallSite& s) {
  auto x = s.tensor(0, false);
  auto value = s.number(2);
  if (!x || !value) return Value::error();
  const std::size_t rank = x->type.shape.size();
  const Value& p = s.args[1];
  const std::vector<Value> items = p.kind == Value::Tuple ? p.elems : std::vector<Value>{p};
  if (items.size() % 2 != 0 || items.size() > 2 * rank)
    return s.fail(1, fmt::format("'pad' takes pairs (before, after) for the last axes, last axis first: an even "
                                 "count of at most {} integers for {}",
                                 2 * rank, x->type.str()));
  std::vector<std::int64_t> before(rank, 0), after(rank, 0);
  for (std::size_t k = 0; k < items.size(); ++k) {
    const Value& v = items[k];
    if (v.kind != Value::Number || !v.isInt || v.num < 0 || v.num > 1e9)
      return s.fail(1, fmt::format("'pad' needs counts that are integers >= 0, but one is {}", v.describe()));
    const std::size_t axis = rank - 1 - k / 2;
    (k % 2 == 0 ? before : after)[axis] = static_cast<std::int64_t>(v.num);
    if (v.num > 0 && x->type.shape[axis].isSymbolic())
      return s.fail(1, fmt::format("cannot pad axis {} of {}: its size '{}' is only known at run time", axis,
                                   x->type.str(), x->type.shape[axis].symbol));
  }
  if (std::all_of(before.begin(), before.end(), [](auto b) { return b == 0; }) &&
      std::all_of(after.begin(), after.end(), [](auto a) { return a == 0; }))
    return *x;
  return s.el.emit(s.f, ir::Op::Pad, {x->node},
                   ir::Attrs::of({{"before", before}, {"after", after}, {"value", *value}}), s.call.opRange);
}

// cross_entropy(logits[N, C], labels): labels are class indices i32[N], or one-hot (or soft) targets of
// the logits' type [N, C], as torch.nn.functional.cross_entropy takes either.
Value crossEntropy(CallSite& s) {
  auto logits = s.tensor(0, false);
  auto labels = s.tensor(1, false);
  if (!logits || !labels) return Value::error();
  const ir::TensorType &lt = logits->type, &yt = labels->type;
  if (lt.shape.size() != 2 || !ir::isFloat(lt.dtype))
    return s.fail(0, fmt::format("cross_entropy needs floating-point logits of shape [N, C], got {}", lt.str()));
  if (yt == lt) return s.el.emit(s.f, ir::Op::SoftCrossEntropy, {logits->node, labels->node}, {}, s.call.opRange);
  if (yt.dtype != ir::DType::I32 || yt.shape.size() != 1)
    return s.fail(
        1, fmt::format("cross_entropy needs class labels i32[N] or one-hot targets {} (the logits' type), got {}",
                       lt.str(), yt.str()));
  if (!(lt.shape[0] == yt.shape[0]))
    return s.failCall(fmt::format("cross_entropy's logits {} and labels {} disagree on N ({} vs {})", lt.str(),
                                  yt.str(), lt.shape[0].str(), yt.shape[0].str()));
  return s.el.emit(s.f, ir::Op::CrossEntropy, {logits->node, labels->node}, {}, s.call.opRange);
}

// dropout(x, p): while training, zeroes each element with probability p and scales the others by
// 1 / (1 - p), as torch.nn.Dropout does; forward() (inference) leaves x alone. The mask comes from the
// step's seed and the node's salt (compiler/ir/dropout_mask.h). The salt numbers the dropout calls in
// the order they are elaborated, so that two calls (two layers, or one layer called twice) draw
// different masks while the same model always gets the same salts.
Value dropout(CallSite& s) {
  auto x = s.tensor(0);
  auto p = s.number(1);
  if (!x || !p) return Value::error();
  if (!(*p >= 0 && *p < 1)) return s.fail(1, fmt::format("dropout probability p must be in [0, 1), got {}", *p));
  ir::Attrs a;
  a.set("p", *p);
  a.set("salt", s.el.nextDropoutSalt());
  return s.el.emit(s.f, ir::Op::Dropout, {x->node}, std::move(a), s.call.opRange);
}

// mse(pred, target), bce_with_logits(logits, targets): the mean over every element. Both operands have one
// type: broadcasting [N, 1] against [N] would silently average an N x N matrix.
template <ir::Op kOp>
Value elementwiseLoss(CallSite& s) {
  auto x = s.tensor(0);
  auto t = s.tensor(1);
  if (!x || !t) return Value::error();
  if (!(x->type == t->type))
    return s.failCall(fmt::format("'{}' needs operands of one type, got {} and {}; reshape one of them", s.name,
                                  x->type.str(), t->type.str()));
  return s.el.emit(s.f, kOp, {x->node, t->node}, {}, s.call.opRange);
}

// dim(x, axis): the size of an axis, a number when fixed and a symbolic dimension otherwise.
Value dim(CallSite& s) {
  auto x = s.tensor(0, false);
  if (!x) return Value::error();
  auto axis = s.axis(1, x->type);
  if (!axis) return Value::error();
  const ir::Dim& d = x->type.shape[static_cast<std::size_t>(*axis)];
  if (!d.isSymbolic()) return Value::number(static_cast<double>(d.size), true);
  Value v;
  v.kind = Value::Dim;
  v.dim = d;
  return v;
}

// zeros(shape), ones(shape): a constant broadcast to the shape (which may hold symbolic dims).
template <int kValue>
Value filled(CallSite& s) {
  std::int64_t none = -1;
  auto shape = s.shape(0, false, &none);
  if (!shape) return Value::error();
  Value c = s.el.constant(s.f, kValue, ir::DType::F32, s.call.opRange);
  if (!c.ok() || shape->empty()) return c;
  return s.el.emitTyped(s.f, ir::Op::Broadcast, {c.node}, {ir::DType::F32, *shape}, {}, s.call.opRange);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// The table

namespace {

// The builtins that check or convert their arguments in the user's terms.
const std::vector<BuiltinSpec>& writtenBuiltins() {
  using O = ir::Op;
  static const std::vector<BuiltinSpec> table = {
      // The ops of the table with a 1:1 builtin come first (see below).
      {"dropout", {{"x", {}}, {"p", 0.5}}, dropout},
      // Reductions.
      {"sum", {{"x", {}}, {"axis", kNone}, {"keepdims", 0.0}}, reduce<O::ReduceSum>},
      {"mean", {{"x", {}}, {"axis", kNone}, {"keepdims", 0.0}}, reduce<O::ReduceMean>},
      {"max", {{"x", {}}, {"axis", kNone}, {"keepdims", 0.0}}, reduce<O::ReduceMax>},
      {"softmax", {{"x", {}}, {"axis", -1.0}}, softmaxLike<O::Softmax>},
      {"log_softmax", {{"x", {}}, {"axis", -1.0}}, softmaxLike<O::LogSoftmax>},
      // Layout.
      {"transpose", {{"x", {}}, {"perm", kNone}}, transpose},
      {"reshape", {{"x", {}}, {"shape", {}}}, reshape},
      {"flatten", {{"x", {}}}, flatten},
      {"concat", {{"xs", {}}, {"axis", 0.0}}, concat},
      {"stack", {{"xs", {}}, {"axis", 0.0}}, stack},
      {"gather", {{"table", {}}, {"indices", {}}}, gather},
      {"one_hot", {{"indices", {}}, {"classes", {}}}, oneHot},
      {"pad", {{"x", {}}, {"pads", {}}, {"value", 0.0}}, pad},
      // Selection, conversion and indices.
      {"where", {{"cond", {}}, {"a", {}}, {"b", {}}}, where},
      {"f32", {{"x", {}}}, castTo<ir::DType::F32>},
      {"f64", {{"x", {}}}, castTo<ir::DType::F64>},
      {"i32", {{"x", {}}}, castTo<ir::DType::I32>},
      {"argmax", {{"x", {}}, {"axis", -1.0}}, argmax},
      {"matmul", {{"a", {}}, {"b", {}}}, matmul},
      // Convolution and pooling, NCHW.
      {"conv2d", {{"x", {}}, {"w", {}}, {"stride", 1.0}, {"padding", 0.0}, {"dilation", 1.0}, {"groups", 1.0}}, conv2d},
      {"conv_transpose2d",
       {{"x", {}}, {"w", {}}, {"stride", 1.0}, {"padding", 0.0}, {"output_padding", 0.0}, {"dilation", 1.0}},
       convTranspose2d},
      {"upsample2d", {{"x", {}}, {"scale", 2.0}}, upsample2d},
      {"max_pool2d", {{"x", {}}, {"kernel", {}}, {"stride", kNone}, {"padding", 0.0}}, pool<O::MaxPool2D>},
      {"avg_pool2d", {{"x", {}}, {"kernel", {}}, {"stride", kNone}, {"padding", 0.0}}, pool<O::AvgPool2D>},
      // Losses.
      {"cross_entropy", {{"logits", {}}, {"labels", {}}}, crossEntropy},
      {"mse", {{"pred", {}}, {"target", {}}}, elementwiseLoss<O::Mse>},
      {"bce_with_logits", {{"logits", {}}, {"targets", {}}}, elementwiseLoss<O::BceWithLogits>},
      // Compile-time shapes and constants.
      {"dim", {{"x", {}}, {"axis", {}}}, dim},
      {"zeros", {{"shape", {}}}, filled<0>},
      {"ones", {{"shape", {}}}, filled<1>},
  };
  return table;
}

// The builtins of the op table's entries, then those written here.
std::vector<BuiltinSpec> allBuiltins() {
  std::vector<BuiltinSpec> out;
  for (const ir::OpDef& def : ir::allOps()) {
    if (def.builtin.name.empty()) continue;
    BuiltinSpec b{def.builtin.name, {}, tableOp, def.op};
    if (def.arity == 1) b.params.push_back({"x", {}});
    else b.params = {{"a", {}}, {"b", {}}};
    for (const ir::AttrSpec& a : def.attrs)
      if (a.fallback) b.params.push_back({a.name, *a.fallback});
    out.push_back(std::move(b));
  }
  for (const BuiltinSpec& b : writtenBuiltins()) out.push_back(b);
  return out;
}

}  // namespace

const std::vector<BuiltinSpec>& builtinFunctions() {
  static const std::vector<BuiltinSpec> table = allBuiltins();
  return table;
}

const BuiltinSpec* findBuiltin(std::string_view name) {
  for (const BuiltinSpec& b : builtinFunctions())
    if (b.name == name) return &b;
  return nullptr;
}

}  // namespace sinter::frontend
