// Layout ops: the same elements in another shape or order, pieces of a tensor, and rows gathered by index.
#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "compiler/ir/ops/common.h"

namespace sinter::ir::ops {
namespace {

// ---- type rules ------------------------------------------------------------------------------------------------

// Elements as (product of fixed dims, sorted symbols): equal for shapes with equally many elements.
std::pair<std::int64_t, std::vector<std::string>> elementCount(const Shape& s) {
  std::int64_t n = 1;
  std::vector<std::string> syms;
  for (const Dim& d : s) {
    if (d.isSymbolic()) syms.push_back(d.symbol);
    else n *= d.size;
  }
  std::sort(syms.begin(), syms.end());
  return {n, syms};
}

std::string reshape(const Node& n, const Types& in, TensorType& out) {
  if (in[0].dtype != n.type.dtype) return "reshape keeps the dtype";
  if (elementCount(in[0].shape) != elementCount(n.type.shape))
    return fmt::format("cannot reshape {} to {}: element counts differ", in[0].str(), n.type.str());
  out = n.type;
  return {};
}

std::string transpose(const Node& n, const Types& in, TensorType& out) {
  const auto& perm = n.attrs.getInts("perm");
  if (perm.size() != in[0].shape.size()) return "perm must list every axis";
  Ints sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i)
    if (sorted[i] != static_cast<std::int64_t>(i)) return "perm must be a permutation of the axes";
  out = {in[0].dtype, {}};
  for (std::int64_t p : perm) out.shape.push_back(in[0].shape[static_cast<std::size_t>(p)]);
  return {};
}

std::string concat(const Node& n, const Types& in, TensorType& out) {
  const std::int64_t axis = n.attrs.getInt("axis");
  const std::size_t rank = in[0].shape.size();
  if (axis < 0 || axis >= static_cast<std::int64_t>(rank)) return fmt::format("axis {} out of range", axis);
  out = in[0];
  std::int64_t total = 0;
  for (const TensorType& t : in) {
    if (t.dtype != in[0].dtype || t.shape.size() != rank) return "operands must have the same dtype and rank";
    for (std::size_t d = 0; d < rank; ++d)
      if (static_cast<std::int64_t>(d) != axis && !(t.shape[d] == in[0].shape[d]))
        return fmt::format("operands differ in dimension {}: {} vs {}", d, t.str(), in[0].str());
    const Dim& a = t.shape[static_cast<std::size_t>(axis)];
    if (a.isSymbolic() && in.size() > 1) return "the concatenated axis must have a fixed size";
    total += a.size;
  }
  if (in.size() > 1) out.shape[static_cast<std::size_t>(axis)] = Dim::fixed(total);
  return {};
}

// slice{axis, start, end, step}: elements start, start+step, ... along a fixed-size axis, before end: below it
// for a positive step, above it for a negative one (end = -1 reaches element 0).
std::string sliceShape(const Node& n, const TensorType& x, TensorType& out) {
  const std::int64_t axis = n.attrs.getInt("axis"), start = n.attrs.getInt("start"), end = n.attrs.getInt("end"),
                     step = n.attrs.getInt("step");
  if (axis < 0 || axis >= static_cast<std::int64_t>(x.shape.size())) return fmt::format("axis {} out of range", axis);
  const Dim& d = x.shape[static_cast<std::size_t>(axis)];
  if (d.isSymbolic()) return "cannot slice a symbolic dimension";
  const bool up = step > 0 && start >= 0 && end <= d.size && start < end;
  const bool down = step < 0 && start < d.size && end >= -1 && start > end;
  if (!up && !down) return fmt::format("slice {}:{}:{} is empty or outside 0..{}", start, end, step, d.size);
  out = x;
  const std::int64_t span = up ? end - start : start - end, stride = up ? step : -step;
  out.shape[static_cast<std::size_t>(axis)] = Dim::fixed((span + stride - 1) / stride);
  return {};
}

std::string slice(const Node& n, const Types& in, TensorType& out) { return sliceShape(n, in[0], out); }

std::string sliceGrad(const Node& n, const Types& in, TensorType& out) {
  TensorType sliced;
  if (auto e = sliceShape(n, n.type, sliced); !e.empty()) return e;
  if (!(sliced == in[0])) return fmt::format("slicing {} does not give {}", n.type.str(), in[0].str());
  out = n.type;
  return {};
}

// gather(table[V, D...], indices i32[S...]) -> [S..., D...]: rows of the table (an embedding lookup).
std::string gather(const Node&, const Types& in, TensorType& out) {
  if (in[0].shape.empty() || !isFloat(in[0].dtype)) return "table must be a floating tensor of rank >= 1";
  if (in[1].dtype != DType::I32) return "indices must be i32";
  out = {in[0].dtype, in[1].shape};
  out.shape.insert(out.shape.end(), in[0].shape.begin() + 1, in[0].shape.end());
  return {};
}

std::string gatherGrad(const Node& n, const Types& in, TensorType& out) {
  TensorType g;
  if (auto e = gather(n, {n.type, in[1]}, g); !e.empty()) return e;
  if (!(g == in[0])) return fmt::format("gathering from {} does not give {}", n.type.str(), in[0].str());
  out = n.type;
  return {};
}

// one_hot{classes}(indices i32[S...]) -> f32[S..., classes]
std::string oneHot(const Node& n, const Types& in, TensorType& out) {
  if (in[0].dtype != DType::I32) return "indices must be i32";
  if (n.attrs.getInt("classes") < 1) return "classes must be at least 1";
  out = {DType::F32, in[0].shape};
  out.shape.push_back(Dim::fixed(n.attrs.getInt("classes")));
  return {};
}

// pad{before, after, value}(x): each axis grows by before[i] + after[i] elements of `value`.
std::string pad(const Node& n, const Types& in, TensorType& out) {
  const Ints& before = n.attrs.getInts("before");
  const Ints& after = n.attrs.getInts("after");
  if (before.size() != in[0].shape.size() || after.size() != in[0].shape.size())
    return fmt::format("before and after must list one count per axis of {}", in[0].str());
  out = in[0];
  for (std::size_t i = 0; i < before.size(); ++i) {
    if (before[i] < 0 || after[i] < 0) return "padding counts must be >= 0";
    Dim& d = out.shape[i];
    if (before[i] + after[i] == 0) continue;
    if (d.isSymbolic()) return fmt::format("cannot pad axis {}: its size '{}' is only known at run time", i, d.symbol);
    d = Dim::fixed(d.size + before[i] + after[i]);
  }
  return {};
}

// ---- reference kernels -------------------------------------------------------------------------------------

Tensor refReshape(const RefCall& c) {
  Tensor r = Tensor::zeros(c.shape);
  r.data = c.in[0]->data;
  return r;
}

Tensor refTranspose(const RefCall& c) {
  const Tensor& x = *c.in[0];
  Tensor r = Tensor::zeros(c.shape);
  const auto& perm = c.node.attrs.getInts("perm");
  const Extents xs = strides(x.shape), rs = strides(c.shape);
  for (std::int64_t i = 0; i < r.numel(); ++i) {
    std::int64_t src = 0, rest = i;
    for (std::size_t d = 0; d < c.shape.size(); ++d) {
      src += (rest / rs[d]) * xs[static_cast<std::size_t>(perm[d])];
      rest %= rs[d];
    }
    r.data[i] = x.data[src];
  }
  return r;
}

Tensor refConcat(const RefCall& c) {
  Tensor r = Tensor::zeros(c.shape);
  const std::int64_t axis = c.node.attrs.getInt("axis");
  const AxisView out(c.shape, axis);
  std::int64_t base = 0;
  for (const Tensor* t : c.in) {
    const AxisView v(t->shape, axis);
    for (std::int64_t o = 0; o < v.outer; ++o)
      for (std::int64_t k = 0; k < v.len; ++k)
        for (std::int64_t i = 0; i < v.inner; ++i) r.data[out.at(o, base + k, i)] = t->data[v.at(o, k, i)];
    base += v.len;
  }
  return r;
}

// slice reads every step-th element of the range; slice_grad adds them back into zeros of the big shape.
Tensor refSlice(const RefCall& c) {
  const Tensor& x = *c.in[0];
  Tensor r = Tensor::zeros(c.shape);
  const Attrs& a = c.node.attrs;
  const std::int64_t axis = a.getInt("axis"), start = a.getInt("start"), step = a.getInt("step");
  const bool grad = c.node.op == Op::SliceGrad;
  const AxisView big(grad ? c.shape : x.shape, axis), small(grad ? x.shape : c.shape, axis);
  for (std::int64_t o = 0; o < small.outer; ++o)
    for (std::int64_t k = 0; k < small.len; ++k)
      for (std::int64_t i = 0; i < small.inner; ++i) {
        const std::int64_t b = big.at(o, start + k * step, i), s = small.at(o, k, i);
        if (grad) r.data[b] += x.data[s];
        else r.data[s] = x.data[b];
      }
  return r;
}

// gather(table[V,D..], idx[S..]) copies rows; gather_grad(dy[S..,D..], idx[S..]) scatter-adds them back.
Tensor refGather(const RefCall& c) {
  const Tensor& x = *c.in[0];
  const Tensor& idx = *c.in[1];
  Tensor r = Tensor::zeros(c.shape);
  const bool forward = c.node.op == Op::Gather;
  const Extents& table = forward ? x.shape : c.shape;
  const std::int64_t rows = table[0], row = (forward ? x.numel() : r.numel()) / std::max<std::int64_t>(1, rows);
  for (std::int64_t s = 0; s < idx.numel(); ++s) {
    const double id = idx.data[s];
    if (id < 0 || id >= static_cast<double>(rows))
      throw std::runtime_error(fmt::format("gather index {} out of range [0, {})", id, rows));
    const auto t = static_cast<std::int64_t>(id);
    for (std::int64_t j = 0; j < row; ++j) {
      if (forward) r.data[s * row + j] = x.data[t * row + j];
      else r.data[t * row + j] += x.data[s * row + j];
    }
  }
  return r;
}

// out[..., c] = 1 where indices[...] = c; an index outside [0, classes) gives a row of zeros.
Tensor refOneHot(const RefCall& c) {
  const Tensor& idx = *c.in[0];
  const std::int64_t classes = c.node.attrs.getInt("classes");
  Tensor r = Tensor::zeros(c.shape);
  for (std::int64_t s = 0; s < idx.numel(); ++s) {
    const double id = idx.data[s];
    if (id >= 0 && id < static_cast<double>(classes)) r.data[s * classes + static_cast<std::int64_t>(id)] = 1;
  }
  return r;
}

// The value everywhere, then x's elements at their shifted positions.
Tensor refPad(const RefCall& c) {
  const Tensor& x = *c.in[0];
  const Ints& before = c.node.attrs.getInts("before");
  Tensor r = Tensor::zeros(c.shape);
  std::fill(r.data.begin(), r.data.end(), c.node.attrs.getFloat("value"));
  const Extents xs = strides(x.shape), rs = strides(c.shape);
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    std::int64_t dst = 0, rest = i;
    for (std::size_t d = 0; d < x.shape.size(); ++d) {
      dst += (rest / xs[d] + before[d]) * rs[d];
      rest %= xs[d];
    }
    r.data[dst] = x.data[i];
  }
  return r;
}

// ---- entries -------------------------------------------------------------------------------------------------

const std::vector<AttrSpec> kSliceAttrs = {
    {"axis", AttrKind::Int}, {"start", AttrKind::Int}, {"end", AttrKind::Int}, {"step", AttrKind::Int}};

// Each operand of a concat gets its slice of dy.
void concatGrad(GradBuilder& d) {
  const std::int64_t axis = d.attrs().getInt("axis");
  const int operands = static_cast<int>(d.node().operands.size());
  std::int64_t start = 0;
  for (int i = 0; i < operands; ++i) {
    const std::int64_t len = d.type(d.x(i)).shape[static_cast<std::size_t>(axis)].size;
    d.to(i, [&] {
      if (operands == 1) return d.dy();
      return d.emit(Op::Slice, {d.dy()},
                    Attrs::of({{"axis", axis}, {"start", start}, {"end", start + len}, {"step", std::int64_t{1}}}));
    });
    start += len;
  }
}

// The adjoint of a padding is dy without the padding: a slice of every padded axis.
void padGrad(GradBuilder& d) {
  d.to(0, [&] {
    const Ints& before = d.attrs().getInts("before");
    const Shape shape = d.type(d.x(0)).shape;  // a copy: emitting nodes moves them
    NodeId g = d.dy();
    for (std::size_t i = 0; i < before.size(); ++i) {
      if (d.type(g).shape[i] == shape[i]) continue;
      g = d.emit(Op::Slice, {g},
                 Attrs::of({{"axis", static_cast<std::int64_t>(i)},
                            {"start", before[i]},
                            {"end", before[i] + shape[i].size},
                            {"step", std::int64_t{1}}}));
    }
    return g;
  });
}

std::vector<OpDef> entries() {
  return {
      {.op = Op::Reshape, .name = "reshape", .arity = 1, .carriesType = true, .typeRule = reshape,
       .doc = "the same elements in the same order, in the carried shape",
       .grad = {[](GradBuilder& d) { d.to(0, [&] { return d.emit(Op::Reshape, {d.dy()}, {}, d.type(d.x(0))); }); },
                "reshape(dy) back"},
       .reference = refReshape, .kernel = KernelKind::Layout},
      {.op = Op::Transpose, .name = "transpose", .arity = 1, .attrs = {{"perm", AttrKind::Ints}},
       .typeRule = transpose, .doc = "axis i of the result is axis perm[i] of x",
       .grad = {[](GradBuilder& d) {
                  d.to(0, [&] {
                    const auto& perm = d.attrs().getInts("perm");
                    Ints inverse(perm.size());
                    for (std::size_t i = 0; i < perm.size(); ++i)
                      inverse[static_cast<std::size_t>(perm[i])] = static_cast<std::int64_t>(i);
                    return d.emit(Op::Transpose, {d.dy()}, Attrs::of({{"perm", inverse}}));
                  });
                },
                "transpose(dy) by the inverse permutation"},
       .reference = refTranspose, .kernel = KernelKind::Layout},
      {.op = Op::Concat, .name = "concat", .arity = -1, .attrs = {{"axis", AttrKind::Int}}, .typeRule = concat,
       .doc = "the operands side by side along the axis", .grad = {concatGrad, "each operand's slice of dy"},
       .reference = refConcat, .kernel = KernelKind::Layout},
      {.op = Op::Slice, .name = "slice", .arity = 1, .attrs = kSliceAttrs, .typeRule = slice,
       .doc = "elements start, start + step, ... < end along the axis",
       .grad = {[](GradBuilder& d) {
                  d.to(0, [&] { return d.emit(Op::SliceGrad, {d.dy()}, d.attrs(), d.type(d.x(0))); });
                },
                "`slice_grad(dy)`: dy placed into zeros of x's shape"},
       .reference = refSlice, .kernel = KernelKind::Layout},
      {.op = Op::SliceGrad, .name = "slice_grad", .arity = 1, .attrs = kSliceAttrs, .carriesType = true,
       .typeRule = sliceGrad, .doc = "slice's adjoint: x placed into zeros of the carried type",
       .grad = {[](GradBuilder& d) { d.to(0, [&] { return d.emit(Op::Slice, {d.dy()}, d.attrs()); }); },
                "(second order) slice(g)"},
       .reference = refSlice, .kernel = KernelKind::Layout},
      {.op = Op::Gather, .name = "gather", .arity = 2, .typeRule = gather,
       .doc = "rows of a table [V, D...] at i32 indices [S...]: [S..., D...] (an embedding lookup)",
       .grad = {[](GradBuilder& d) {
                  d.to(0, [&] { return d.emit(Op::GatherGrad, {d.dy(), d.x(1)}, {}, d.type(d.x(0))); });
                },
                "`gather_grad(dy, idx)`: rows of dy scatter-added into the table; none to the indices"},
       .reference = refGather, .kernel = KernelKind::Gather},
      {.op = Op::OneHot, .name = "one_hot", .arity = 1, .attrs = {{"classes", AttrKind::Int}}, .typeRule = oneHot,
       .doc = "f32 rows of `classes` values, 1 at each i32 index (a row of zeros for an index out of range)",
       .grad = {zeroGradient, "none: integer indices"}, .reference = refOneHot, .kernel = KernelKind::Layout},
      {.op = Op::Pad, .name = "pad", .arity = 1,
       .attrs = {{"before", AttrKind::Ints}, {"after", AttrKind::Ints}, {"value", AttrKind::Float}},
       .typeRule = pad, .doc = "x with before[i] and after[i] elements of `value` added around axis i",
       .grad = {padGrad, "dy sliced back to x's extent on every padded axis"}, .reference = refPad,
       .kernel = KernelKind::Layout},
      {.op = Op::GatherGrad, .name = "gather_grad", .arity = 2, .carriesType = true, .typeRule = gatherGrad,
       .doc = "gather's adjoint: rows of dy added into zeros of the table's type",
       .grad = {[](GradBuilder& d) { d.to(0, [&] { return d.emit(Op::Gather, {d.dy(), d.x(1)}); }); },
                "(second order) gather(g, idx)"},
       .reference = refGather, .kernel = KernelKind::Gather},
  };
}

}  // namespace

OpFamily layoutOps() { return {"Layout", "layout.cpp", entries()}; }

}  // namespace sinter::ir::ops
