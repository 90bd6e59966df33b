// Reductions over axes, the broadcasts that are their adjoints, and the softmax family along one axis.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "compiler/ir/ops/common.h"

namespace sinter::ir::ops {
namespace {

using namespace num;

// ---- type rules ------------------------------------------------------------------------------------------------

// reduce_*{axes, keepdims}: the listed axes disappear (or become 1 with keepdims).
std::string reduce(const Node& n, const Types& in, TensorType& out) {
  const auto& axes = n.attrs.getInts("axes");
  if (auto e = checkAxes(axes, in[0].shape.size()); !e.empty()) return e;
  if (!isFloat(in[0].dtype)) return "operand must be floating point";
  const bool keep = n.attrs.getInt("keepdims") != 0;
  out = {in[0].dtype, {}};
  for (std::size_t i = 0; i < in[0].shape.size(); ++i) {
    const bool reduced = std::find(axes.begin(), axes.end(), static_cast<std::int64_t>(i)) != axes.end();
    if (!reduced) out.shape.push_back(in[0].shape[i]);
    else if (keep) out.shape.push_back(Dim::fixed(1));
  }
  return {};
}

// count{axes}(x): the number of elements of x along the axes, as a scalar (symbolic sizes included).
std::string count(const Node& n, const Types& in, TensorType& out) {
  if (auto e = checkAxes(n.attrs.getInts("axes"), in[0].shape.size()); !e.empty()) return e;
  if (!isFloat(in[0].dtype)) return "operand must be floating point";
  out = {in[0].dtype, {}};
  return {};
}

// argmax{axis}(x): i32 indices, x's shape without the axis.
std::string argmax(const Node& n, const Types& in, TensorType& out) {
  const std::int64_t axis = n.attrs.getInt("axis");
  if (axis < 0 || axis >= static_cast<std::int64_t>(in[0].shape.size()))
    return fmt::format("axis {} out of range", axis);
  if (!isFloat(in[0].dtype)) return "operand must be floating point";
  out = {DType::I32, in[0].shape};
  out.shape.erase(out.shape.begin() + axis);
  return {};
}

// sum_to and broadcast carry their result type; the operand must broadcast to / from it.
std::string sumTo(const Node& n, const Types& in, TensorType& out) {
  auto s = broadcastShapes(in[0].shape, n.type.shape);
  if (!s || !(*s == in[0].shape) || in[0].dtype != n.type.dtype)
    return fmt::format("{} does not reduce to {}", in[0].str(), n.type.str());
  out = n.type;
  return {};
}

std::string broadcast(const Node& n, const Types& in, TensorType& out) {
  auto s = broadcastShapes(in[0].shape, n.type.shape);
  if (!s || !(*s == n.type.shape) || in[0].dtype != n.type.dtype)
    return fmt::format("{} does not broadcast to {}", in[0].str(), n.type.str());
  out = n.type;
  return {};
}

std::string axisOp(const Node& n, const Types& in, TensorType& out) {
  const std::int64_t axis = n.attrs.getInt("axis");
  if (axis < 0 || axis >= static_cast<std::int64_t>(in[0].shape.size()))
    return fmt::format("axis {} out of range", axis);
  if (!isFloat(in[0].dtype)) return "operand must be floating point";
  out = in[0];
  return {};
}

std::string axisGrad(const Node& n, const Types& in, TensorType& out) {
  if (auto e = sameAsBoth(n, in, out); !e.empty()) return e;
  return axisOp(n, {in[1]}, out);
}

// ---- reference kernels -------------------------------------------------------------------------------------

// reduce_sum, reduce_mean, reduce_max and count over their axes; sum_to over the broadcast ones.
Tensor refReduce(const RefCall& c) {
  const Tensor& x = *c.in[0];
  const Op op = c.node.op;
  if (op == Op::SumTo) {
    Tensor r = Tensor::zeros(c.shape);
    for (std::int64_t i = 0; i < x.numel(); ++i) r.data[broadcastIndex(c.shape, x.shape, i)] += x.data[i];
    return r;
  }
  const auto& axes = c.node.attrs.getInts("axes");
  auto reduced = [&](std::size_t d) { return std::find(axes.begin(), axes.end(), static_cast<std::int64_t>(d)) != axes.end(); };
  if (op == Op::Count) {
    Tensor r = Tensor::zeros({});
    r.data[0] = 1;
    for (std::size_t d = 0; d < x.shape.size(); ++d)
      if (reduced(d)) r.data[0] *= static_cast<double>(x.shape[d]);
    return r;
  }
  // Output shape with the reduced axes kept as 1, so that broadcastIndex maps input to output.
  Extents kept;
  for (std::size_t d = 0; d < x.shape.size(); ++d) kept.push_back(reduced(d) ? 1 : x.shape[d]);
  Tensor r = Tensor::zeros(c.shape);
  if (op == Op::ReduceMax) std::fill(r.data.begin(), r.data.end(), -INFINITY);
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    double& o = r.data[broadcastIndex(kept, x.shape, i)];
    o = op == Op::ReduceMax ? std::max(o, x.data[i]) : o + x.data[i];
  }
  if (op == Op::ReduceMean) {
    const double n = static_cast<double>(x.numel()) / static_cast<double>(std::max<std::int64_t>(1, r.numel()));
    for (double& o : r.data) o /= n;
  }
  return r;
}

// The index of the first maximum along the axis; a NaN counts as the maximum, as torch.argmax has it.
Tensor refArgMax(const RefCall& c) {
  const Tensor& x = *c.in[0];
  const AxisView v(x.shape, c.node.attrs.getInt("axis"));
  Tensor r = Tensor::zeros(c.shape);
  for (std::int64_t o = 0; o < v.outer; ++o)
    for (std::int64_t i = 0; i < v.inner; ++i) {
      std::int64_t best = 0;
      for (std::int64_t k = 1; k < v.len; ++k) {
        const double a = x.data[v.at(o, k, i)], b = x.data[v.at(o, best, i)];
        if (!std::isnan(b) && (a > b || std::isnan(a))) best = k;
      }
      r.data[o * v.inner + i] = static_cast<double>(best);
    }
  return r;
}

// softmax(x), log_softmax(x); with y: softmax_grad(dy=x, y) = y (dy − Σ dy y),
// log_softmax_grad(dy=x, y) = dy − exp(y) Σ dy.
Tensor refSoftmax(const RefCall& c) {
  const Op op = c.node.op;
  const Tensor& x = *c.in[0];
  const Tensor* y = c.in.size() > 1 ? c.in[1] : nullptr;
  const AxisView v(x.shape, c.node.attrs.getInt("axis"));
  Tensor r = Tensor::zeros(x.shape);
  for (std::int64_t o = 0; o < v.outer; ++o)
    for (std::int64_t i = 0; i < v.inner; ++i) {
      auto X = [&](std::int64_t k) { return x.data[v.at(o, k, i)]; };
      auto Y = [&](std::int64_t k) { return y->data[v.at(o, k, i)]; };
      if (op == Op::Softmax || op == Op::LogSoftmax) {
        double mx = -INFINITY, sum = 0;
        for (std::int64_t k = 0; k < v.len; ++k) mx = std::max(mx, X(k));
        for (std::int64_t k = 0; k < v.len; ++k) sum += std::exp(X(k) - mx);
        for (std::int64_t k = 0; k < v.len; ++k)
          r.data[v.at(o, k, i)] = op == Op::Softmax ? std::exp(X(k) - mx) / sum : X(k) - mx - std::log(sum);
      } else if (op == Op::SoftmaxGrad) {
        double dot = 0;
        for (std::int64_t k = 0; k < v.len; ++k) dot += X(k) * Y(k);
        for (std::int64_t k = 0; k < v.len; ++k) r.data[v.at(o, k, i)] = Y(k) * (X(k) - dot);
      } else {
        double sum = 0;
        for (std::int64_t k = 0; k < v.len; ++k) sum += X(k);
        for (std::int64_t k = 0; k < v.len; ++k) r.data[v.at(o, k, i)] = X(k) - std::exp(Y(k)) * sum;
      }
    }
  return r;
}

// ---- entries -------------------------------------------------------------------------------------------------

const AttrSpec kAxes{"axes", AttrKind::Ints}, kKeepDims{"keepdims", AttrKind::Int}, kAxis{"axis", AttrKind::Int};

OpDef reduction(Op op, std::string_view name, std::string_view doc, Gradient g) {
  return {.op = op, .name = name, .arity = 1, .flags = kReduction, .attrs = {kAxes, kKeepDims}, .typeRule = reduce,
          .doc = doc, .grad = g, .reference = refReduce, .kernel = KernelKind::Reduction};
}

OpDef alongAxis(Op op, std::string_view name, std::string_view doc, Gradient g) {
  const bool backward = op == Op::SoftmaxGrad || op == Op::LogSoftmaxGrad;
  return {.op = op, .name = name, .arity = backward ? 2 : 1, .attrs = {kAxis}, .typeRule = backward ? axisGrad : axisOp,
          .doc = doc, .grad = g, .reference = refSoftmax, .kernel = KernelKind::Softmax};
}

std::vector<OpDef> entries() {
  return {
      // d Σ x = dy broadcast back over the summed axes
      reduction(Op::ReduceSum, "reduce_sum", "Σ over the axes",
                {[](GradBuilder& d) { d.to(0, [&] { return d.broadcastTo(d.keepDims(d.dy()), d.type(d.x(0))); }); },
                 "dy broadcast back over the summed axes"}),
      // d mean x = dy / count, broadcast back
      reduction(Op::ReduceMean, "reduce_mean", "the mean over the axes",
                {[](GradBuilder& d) {
                   d.to(0, [&] {
                     const NodeId n = d.count(d.x(0), d.attrs().getInts("axes"));
                     return d.emit(Op::Div, {d.broadcastTo(d.keepDims(d.dy()), d.type(d.x(0))), n});
                   });
                 },
                 "dy broadcast back, divided by `count` of the reduced axes"}),
      // d max x = dy at the maxima, shared equally between ties (as torch.amax)
      reduction(Op::ReduceMax, "reduce_max", "the maximum over the axes",
                {[](GradBuilder& d) {
                   d.to(0, [&] {
                     const TensorType xt = d.type(d.x(0));  // a copy: emitting nodes moves them
                     const NodeId mask = d.emit(Op::GreaterEqual, {d.x(0), d.broadcastTo(d.keepDims(d.y()), xt)});
                     const NodeId ties = d.emit(
                         Op::ReduceSum, {mask},
                         Attrs::of({{"axes", d.attrs().getInts("axes")}, {"keepdims", std::int64_t{1}}}));
                     return d.emit(Op::Mul, {d.broadcastTo(d.emit(Op::Div, {d.keepDims(d.dy()), ties}), xt), mask});
                   });
                 },
                 "dy at the maxima, shared equally between ties (like `torch.amax`)"}),
      {.op = Op::Count, .name = "count", .arity = 1, .attrs = {kAxes}, .typeRule = count,
       .doc = "the number of elements along the axes, as a scalar (symbolic sizes included)",
       .grad = {zeroGradient, "none (depends on shapes only)"}, .reference = refReduce,
       .kernel = KernelKind::Reduction},
      {.op = Op::ArgMax, .name = "argmax", .arity = 1, .attrs = {kAxis}, .typeRule = argmax,
       .doc = "i32 index of the first maximum along the axis (a NaN counts as the maximum)",
       .grad = {zeroGradient, "none: integer indices"}, .reference = refArgMax, .kernel = KernelKind::Reduction},
      {.op = Op::SumTo, .name = "sum_to", .arity = 1, .flags = kReduction, .carriesType = true, .typeRule = sumTo,
       .doc = "x summed over the axes it was broadcast along, to the carried type (undoes broadcasting)",
       .grad = {[](GradBuilder& d) { d.to(0, [&] { return d.broadcastTo(d.dy(), d.type(d.x(0))); }); },
                "broadcast(dy)"},
       .reference = refReduce, .kernel = KernelKind::Reduction},
      // A copy through broadcast strides: the identity at each element of the result.
      {.op = Op::Broadcast, .name = "broadcast", .arity = 1, .carriesType = true, .typeRule = broadcast,
       .doc = "x broadcast NumPy-style to the carried type", .scalar = unaryFormula([](auto x) { return x; }),
       .grad = {[](GradBuilder& d) { d.to(0, [&] { return d.sumTo(d.dy(), d.x(0)); }); }, "sum_to(dy)"},
       .reference = refElementwise, .kernel = KernelKind::Elementwise},
      // dx = y (dy − Σ dy y) along the axis
      alongAxis(Op::Softmax, "softmax", "e^x / Σ e^x along the axis",
                {[](GradBuilder& d) { d.to(0, [&] { return d.emit(Op::SoftmaxGrad, {d.dy(), d.y()}, d.attrs()); }); },
                 "`softmax_grad(dy, y)` = y (dy − Σ dy·y) along the axis"}),
      alongAxis(Op::SoftmaxGrad, "softmax_grad", "softmax's adjoint (dy, y): y (dy − Σ dy·y)", {nullptr, "none"}),
      // dx = dy − softmax(x) Σ dy = dy − e^y Σ dy
      alongAxis(Op::LogSoftmax, "log_softmax", "x − log Σ e^x along the axis",
                {[](GradBuilder& d) {
                   d.to(0, [&] { return d.emit(Op::LogSoftmaxGrad, {d.dy(), d.y()}, d.attrs()); });
                 },
                 "`log_softmax_grad(dy, y)` = dy − e^y Σ dy along the axis"}),
      alongAxis(Op::LogSoftmaxGrad, "log_softmax_grad", "log_softmax's adjoint (dy, y): dy − e^y Σ dy",
                {nullptr, "none"}),
  };
}

}  // namespace

OpFamily reduceOps() { return {"Reductions, broadcasts and the softmax family", "reduce.cpp", entries()}; }

}  // namespace sinter::ir::ops
