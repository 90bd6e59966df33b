// Reference kernels: elementwise ops, reductions, the softmax family and layout ops.
#include <fmt/format.h>
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "compiler/ir/interpreter_kernels.h"

namespace sinter::ir::ref {

std::int64_t broadcastIndex(const Extents& in, const Extents& out, std::int64_t flat) {
  std::int64_t idx = 0, stride = 1;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::size_t od = out.size() - 1 - i;
    const std::int64_t coord = flat % out[od];
    flat /= out[od];
    if (i < in.size()) {
      const std::int64_t ext = in[in.size() - 1 - i];
      if (ext != 1) idx += coord * stride;
      stride *= ext;
    }
  }
  return idx;
}

namespace {

constexpr double kSqrt2 = 1.4142135623730951;
constexpr double kInvSqrt2Pi = 0.3989422804014327;

double gelu(double x) { return 0.5 * x * (1 + std::erf(x / kSqrt2)); }
// d/dx x Φ(x) = Φ(x) + x φ(x)
double geluDerivative(double x) { return 0.5 * (1 + std::erf(x / kSqrt2)) + x * kInvSqrt2Pi * std::exp(-0.5 * x * x); }
// log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|)
double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }

// (outer, length, inner) of a tensor viewed along `axis`.
struct AxisView {
  std::int64_t outer = 1, len = 1, inner = 1;
  AxisView(const Extents& s, std::int64_t axis) {
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(s.size()); ++i) {
      if (i < axis) outer *= s[static_cast<std::size_t>(i)];
      else if (i == axis) len = s[static_cast<std::size_t>(i)];
      else inner *= s[static_cast<std::size_t>(i)];
    }
  }
  std::int64_t at(std::int64_t o, std::int64_t k, std::int64_t i) const { return (o * len + k) * inner + i; }
};

Extents strides(const Extents& s) {
  Extents st(s.size(), 1);
  for (std::size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

}  // namespace

Tensor unary(Op op, const Attrs& attrs, const Tensor& x) {
  Tensor r = x;
  for (double& v : r.data) {
    switch (op) {
      case Op::Neg: v = -v; break;
      case Op::Exp: v = std::exp(v); break;
      case Op::Log: v = std::log(v); break;
      case Op::Sqrt: v = std::sqrt(v); break;
      case Op::Abs: v = std::fabs(v); break;
      case Op::Sign: v = (v > 0) - (v < 0); break;
      case Op::Sigmoid: v = 1 / (1 + std::exp(-v)); break;
      case Op::Tanh: v = std::tanh(v); break;
      case Op::Relu: v = v > 0 ? v : 0; break;
      case Op::LeakyRelu: v = v > 0 ? v : attrs.getFloat("alpha") * v; break;
      case Op::Gelu: v = gelu(v); break;
      case Op::Softplus: v = softplus(v); break;
      case Op::StopGradient: break;
      default: throw std::logic_error("not a unary op");
    }
  }
  return r;
}

Tensor binary(Op op, const Attrs& attrs, const Tensor& a, const Tensor& b, const Extents& shape) {
  Tensor r = Tensor::zeros(shape);
  for (std::int64_t i = 0; i < r.numel(); ++i) {
    const double x = a.data[broadcastIndex(a.shape, shape, i)], y = b.data[broadcastIndex(b.shape, shape, i)];
    double& o = r.data[i];
    switch (op) {
      case Op::Add: o = x + y; break;
      case Op::Sub: o = x - y; break;
      case Op::Mul: o = x * y; break;
      case Op::Div: o = x / y; break;
      case Op::Pow: o = std::pow(x, y); break;
      case Op::Maximum: o = std::max(x, y); break;
      case Op::Minimum: o = std::min(x, y); break;
      case Op::GreaterEqual: o = x >= y ? 1 : 0; break;
      case Op::ReluGrad: o = y > 0 ? x : 0; break;  // (dy, x)
      case Op::LeakyReluGrad: o = y > 0 ? x : attrs.getFloat("alpha") * x; break;
      case Op::GeluGrad: o = x * geluDerivative(y); break;
      default: throw std::logic_error("not a binary op");
    }
  }
  return r;
}

Tensor reduce(Op op, const Attrs& attrs, const Tensor& x, const Extents& shape) {
  if (op == Op::Broadcast) {
    Tensor r = Tensor::zeros(shape);
    for (std::int64_t i = 0; i < r.numel(); ++i) r.data[i] = x.data[broadcastIndex(x.shape, shape, i)];
    return r;
  }
  if (op == Op::SumTo) {
    Tensor r = Tensor::zeros(shape);
    for (std::int64_t i = 0; i < x.numel(); ++i) r.data[broadcastIndex(shape, x.shape, i)] += x.data[i];
    return r;
  }
  const auto& axes = attrs.getInts("axes");
  auto reduced = [&](std::size_t d) {
    return std::find(axes.begin(), axes.end(), static_cast<std::int64_t>(d)) != axes.end();
  };
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
  Tensor r = Tensor::zeros(shape);
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

// softmax(x), log_softmax(x); with y: softmax_grad(dy=x, y) = y (dy - Σ dy y),
// log_softmax_grad(dy=x, y) = dy - exp(y) Σ dy.
Tensor softmaxFamily(Op op, std::int64_t axis, const Tensor& x, const Tensor* y) {
  const AxisView v(x.shape, axis);
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

Tensor layout(const Node& n, const std::vector<const Tensor*>& in, const Extents& shape) {
  Tensor r = Tensor::zeros(shape);
  const Tensor& x = *in[0];
  switch (n.op) {
    case Op::Reshape: r.data = x.data; return r;
    case Op::Transpose: {
      const auto& perm = n.attrs.getInts("perm");
      const Extents xs = strides(x.shape), rs = strides(shape);
      for (std::int64_t i = 0; i < r.numel(); ++i) {
        std::int64_t src = 0, rest = i;
        for (std::size_t d = 0; d < shape.size(); ++d) {
          src += (rest / rs[d]) * xs[static_cast<std::size_t>(perm[d])];
          rest %= rs[d];
        }
        r.data[i] = x.data[src];
      }
      return r;
    }
    case Op::Concat: {
      const std::int64_t axis = n.attrs.getInt("axis");
      const AxisView out(shape, axis);
      std::int64_t base = 0;
      for (const Tensor* t : in) {
        const AxisView v(t->shape, axis);
        for (std::int64_t o = 0; o < v.outer; ++o)
          for (std::int64_t k = 0; k < v.len; ++k)
            for (std::int64_t i = 0; i < v.inner; ++i) r.data[out.at(o, base + k, i)] = t->data[v.at(o, k, i)];
        base += v.len;
      }
      return r;
    }
    case Op::Slice:
    case Op::SliceGrad: {
      const std::int64_t axis = n.attrs.getInt("axis"), start = n.attrs.getInt("start"), step = n.attrs.getInt("step");
      const bool grad = n.op == Op::SliceGrad;
      const AxisView big(grad ? shape : x.shape, axis), small(grad ? x.shape : shape, axis);
      for (std::int64_t o = 0; o < small.outer; ++o)
        for (std::int64_t k = 0; k < small.len; ++k)
          for (std::int64_t i = 0; i < small.inner; ++i) {
            const std::int64_t b = big.at(o, start + k * step, i), s = small.at(o, k, i);
            if (grad) r.data[b] += x.data[s];
            else r.data[s] = x.data[b];
          }
      return r;
    }
    case Op::Gather:
    case Op::GatherGrad: {
      // gather(table[V,D..], idx[S..]); gather_grad(dy[S..,D..], idx[S..]) scatter-adds rows back.
      const Tensor& idx = *in[1];
      const Extents& table = n.op == Op::Gather ? x.shape : shape;
      const std::int64_t rows = table[0],
                         row = (n.op == Op::Gather ? x.numel() : r.numel()) / std::max<std::int64_t>(1, rows);
      for (std::int64_t s = 0; s < idx.numel(); ++s) {
        const double id = idx.data[s];
        if (id < 0 || id >= static_cast<double>(rows))
          throw std::runtime_error(fmt::format("gather index {} out of range [0, {})", id, rows));
        const auto t = static_cast<std::int64_t>(id);
        for (std::int64_t j = 0; j < row; ++j) {
          if (n.op == Op::Gather) r.data[s * row + j] = x.data[t * row + j];
          else r.data[t * row + j] += x.data[s * row + j];
        }
      }
      return r;
    }
    default: throw std::logic_error("not a layout op");
  }
}

}  // namespace sinter::ir::ref
