// ONNX's Reshape, Flatten and Transpose: shapes resolved at import time, symbolic dimensions kept.
#include <fmt/format.h>

#include <algorithm>

#include "frontend/onnx/importer.h"

namespace sinter::onnxio {
namespace {

using ir::Op;
using Ints = std::vector<std::int64_t>;

// The fixed part of a group of dims and its symbols: [batch, 16, 5] is 80 with {batch}.
struct Extent {
  std::int64_t fixed = 1;
  std::vector<std::string> symbols;
};

Extent extent(const ir::Shape& s, std::size_t from, std::size_t to) {
  Extent e;
  for (std::size_t i = from; i < to; ++i) {
    if (s[i].isSymbolic()) e.symbols.push_back(s[i].symbol);
    else e.fixed *= s[i].size;
  }
  return e;
}

// One dim standing for a group: a fixed size, or a lone symbol with nothing fixed beside it.
ir::Dim merged(const Extent& e, std::string_view what) {
  if (e.symbols.empty()) return ir::Dim::fixed(e.fixed);
  if (e.symbols.size() == 1 && e.fixed == 1) return ir::Dim::sym(e.symbols[0]);
  throw Unsupported(
      fmt::format("{} would merge symbolic dimension '{}' with other dims, which a shape of the IR "
                  "cannot state",
                  what, e.symbols[0]));
}

// The shape a Reshape to `target` gives: 0 copies the input's dim (unless allowzero), -1 takes what is left;
// a symbolic entry (from Shape) is that symbol.
ir::Shape reshaped(const ir::Shape& in, const Constant& target, bool allowZero) {
  ir::Shape out(target.values.size());
  int inferred = -1;
  Extent have = extent(in, 0, in.size()), want;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::int64_t t = target.dim(i).isSymbolic() ? 1 : target.dim(i).size;
    if (target.dim(i).isSymbolic()) {
      out[i] = target.dim(i);
    } else if (t == -1) {
      if (inferred >= 0) throw Unsupported("its shape has two -1 entries");
      inferred = static_cast<int>(i);
    } else if (t == 0 && !allowZero) {
      if (i >= in.size()) throw Unsupported(fmt::format("its shape copies dim {} of a rank-{} input", i, in.size()));
      out[i] = in[i];
    } else if (t < 0) {
      throw Unsupported(fmt::format("its shape has the invalid entry {}", t));
    } else {
      out[i] = ir::Dim::fixed(t);
    }
    if (static_cast<int>(i) == inferred) continue;
    if (out[i].isSymbolic()) want.symbols.push_back(out[i].symbol);
    else want.fixed *= out[i].size;
  }
  // What is left of the input once the target's dims are taken out of it.
  Extent left;
  for (const std::string& s : want.symbols) {
    const auto it = std::find(have.symbols.begin(), have.symbols.end(), s);
    if (it == have.symbols.end()) throw Unsupported(fmt::format("its shape names dim '{}' the input lacks", s));
    have.symbols.erase(it);
  }
  if (want.fixed == 0 || have.fixed % want.fixed != 0)
    throw Unsupported(
        fmt::format("its input {} has no whole number of the shape's {} fixed elements", ir::shapeStr(in), want.fixed));
  left.fixed = have.fixed / want.fixed;
  left.symbols = have.symbols;
  if (inferred >= 0) {
    out[inferred] = merged(left, "its -1");
  } else if (!left.symbols.empty() || left.fixed != 1) {
    throw Unsupported(fmt::format("its shape does not hold the {} elements of its input", ir::shapeStr(in)));
  }
  return out;
}

ir::NodeId reshapeTo(Importer& im, ir::NodeId x, ir::Shape shape) {
  if (im.type(x).shape == shape) return x;
  return im.typed(Op::Reshape, {x}, {im.type(x).dtype, std::move(shape)});
}

void reshape(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
  const ir::NodeId x = im.value(n.input(0));
  const Constant& shape = im.requireConstant(n.input(1), "shape");
  if (shape.dims.size() != 1) throw Unsupported("its shape must be a vector");
  im.define(n.output(0), reshapeTo(im, x, reshaped(im.type(x).shape, shape, a.i("allowzero", 0) != 0)));
}

// [d0, ..., dn] -> [d0 ... d(axis-1), d(axis) ... dn]
void flatten(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
  const ir::NodeId x = im.value(n.input(0));
  const ir::Shape& s = im.type(x).shape;
  const auto rank = static_cast<std::int64_t>(s.size());
  std::int64_t axis = a.i("axis", 1);
  if (axis < -rank || axis > rank) throw Unsupported(fmt::format("axis {} is out of range for rank {}", axis, rank));
  if (axis < 0) axis += rank;
  const auto cut = static_cast<std::size_t>(axis);
  ir::Shape out{merged(extent(s, 0, cut), "it"), merged(extent(s, cut, s.size()), "it")};
  im.define(n.output(0), reshapeTo(im, x, std::move(out)));
}

void transpose(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
  const ir::NodeId x = im.value(n.input(0));
  const auto rank = static_cast<std::int64_t>(im.type(x).shape.size());
  Ints perm = a.ints("perm");
  if (perm.empty())  // the default reverses the dims
    for (std::int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
  im.define(n.output(0), im.op(Op::Transpose, {x}, ir::Attrs::of({{"perm", perm}})));
}

// ONNX's clamping of one axis's slice to [begin, end) by step, on an axis of `size` elements.
struct Range {
  std::int64_t start, end, step;
};

Range clampRange(std::int64_t start, std::int64_t end, std::int64_t step, std::int64_t size) {
  if (step == 0) throw Unsupported("a step of 0 is invalid");
  auto wrap = [size](std::int64_t i) { return i < 0 ? i + size : i; };
  start = wrap(start);
  end = wrap(end);
  if (step > 0) return {std::clamp(start, std::int64_t{0}, size), std::clamp(end, std::int64_t{0}, size), step};
  return {std::clamp(start, std::int64_t{0}, size - 1), std::clamp(end, std::int64_t{-1}, size - 1), step};
}

Ints constantInts(Importer& im, const std::string& name, std::string_view what) {
  Ints v;
  for (double x : im.requireConstant(name, what).values) v.push_back(static_cast<std::int64_t>(x));
  return v;
}

// Slice (opset 10 on: starts, ends, axes and steps are inputs): one IR slice per axis that changes; a whole
// symbolic axis (0 to the end) stays. A slice of a constant vector (of a shape) folds.
void slice(Importer& im, const onnx::NodeProto& n, const NodeAttrs&) {
  const Ints starts = constantInts(im, n.input(1), "starts"), ends = constantInts(im, n.input(2), "ends");
  Ints axes, steps(starts.size(), 1);
  for (std::size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<std::int64_t>(i));
  if (const std::string a = input(n, 3); !a.empty()) axes = constantInts(im, a, "axes");
  if (const std::string st = input(n, 4); !st.empty()) steps = constantInts(im, st, "steps");
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    throw Unsupported("its starts, ends, axes and steps differ in length");
  if (const Constant* c = im.constant(n.input(0)); c && c->dims.size() == 1 && starts.size() == 1) {
    const Range r = clampRange(starts[0], ends[0], steps[0], c->dims[0]);
    Constant out;
    out.name = n.output(0);
    out.isFloat = c->isFloat;
    for (std::int64_t i = r.start; r.step > 0 ? i < r.end : i > r.end; i += r.step) {
      out.values.push_back(c->values[i]);
      out.symbols.push_back(c->symbol(static_cast<std::size_t>(i)));
    }
    out.dims = {static_cast<std::int64_t>(out.values.size())};
    return im.addConstant(std::move(out));
  }
  ir::NodeId x = im.value(n.input(0));
  for (std::size_t i = 0; i < starts.size(); ++i) {
    const auto rank = static_cast<std::int64_t>(im.type(x).shape.size());
    std::int64_t axis = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (axis < 0 || axis >= rank) throw Unsupported(fmt::format("axis {} is out of range for rank {}", axes[i], rank));
    const ir::Dim d = im.type(x).shape[static_cast<std::size_t>(axis)];
    if (d.isSymbolic()) {
      if (starts[i] == 0 && ends[i] >= (std::int64_t{1} << 31) && steps[i] == 1) continue;
      throw Unsupported(fmt::format("it slices symbolic dim '{}', which is only supported whole", d.symbol));
    }
    const Range r = clampRange(starts[i], ends[i], steps[i], d.size);
    if (r.start == 0 && r.end == d.size && r.step == 1) continue;
    x = im.op(Op::Slice, {x}, ir::Attrs::of({{"axis", axis}, {"start", r.start}, {"end", r.end}, {"step", r.step}}));
  }
  im.define(n.output(0), x);
}

}  // namespace

void addLayoutConverters(std::vector<OpConverter>& t) {
  t.push_back({"Reshape", {"allowzero"}, reshape});
  t.push_back({"Flatten", {"axis"}, flatten});
  t.push_back({"Transpose", {"perm"}, transpose});
  t.push_back({"Slice", {}, slice});
}

}  // namespace sinter::onnxio
