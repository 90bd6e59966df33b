#include "compiler/ir/interpreter.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <stdexcept>

namespace sinter::ir {

Tensor Tensor::zeros(std::vector<std::int64_t> s) {
  Tensor t;
  t.shape = std::move(s);
  t.data.assign(static_cast<std::size_t>(t.numel()), 0.0);
  return t;
}

std::int64_t Tensor::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

namespace {

using Extents = std::vector<std::int64_t>;

Extents concrete(const Shape& s, const std::map<std::string, std::int64_t>& syms) {
  Extents out;
  for (const Dim& d : s) {
    if (!d.isSymbolic()) {
      out.push_back(d.size);
      continue;
    }
    auto it = syms.find(d.symbol);
    if (it == syms.end()) throw std::runtime_error("unbound symbolic dimension '" + d.symbol + "'");
    out.push_back(it->second);
  }
  return out;
}

// Index of the element of `in` (broadcast to `out`) that out's flat index `flat` reads.
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

template <class F>
Tensor binary(const Tensor& a, const Tensor& b, const Extents& shape, F f) {
  Tensor r = Tensor::zeros(shape);
  for (std::int64_t i = 0; i < r.numel(); ++i)
    r.data[i] = f(a.data[broadcastIndex(a.shape, shape, i)], b.data[broadcastIndex(b.shape, shape, i)]);
  return r;
}

// C[M,N] = op(A) op(B), reading A as [M,K] (or [K,M] when transA) and B as [K,N] (or [N,K] when transB).
Tensor matmul(const Tensor& a, const Tensor& b, bool transA, bool transB) {
  const std::int64_t M = transA ? a.shape[1] : a.shape[0], K = transA ? a.shape[0] : a.shape[1];
  const std::int64_t N = transB ? b.shape[0] : b.shape[1];
  Tensor c = Tensor::zeros({M, N});
  for (std::int64_t i = 0; i < M; ++i)
    for (std::int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (std::int64_t k = 0; k < K; ++k)
        s += (transA ? a.data[k * M + i] : a.data[i * K + k]) * (transB ? b.data[j * K + k] : b.data[k * N + j]);
      c.data[i * N + j] = s;
    }
  return c;
}

Tensor softmaxRows(const Tensor& x) {
  Tensor y = x;
  const std::int64_t C = x.shape.back(), rows = x.numel() / C;
  for (std::int64_t r = 0; r < rows; ++r) {
    double* row = &y.data[r * C];
    const double mx = *std::max_element(row, row + C);
    double sum = 0;
    for (std::int64_t c = 0; c < C; ++c) sum += (row[c] = std::exp(row[c] - mx));
    for (std::int64_t c = 0; c < C; ++c) row[c] /= sum;
  }
  return y;
}

std::int64_t label(const Tensor& labels, std::int64_t i, std::int64_t C) {
  const double l = labels.data[i];
  if (l < 0 || l >= static_cast<double>(C)) throw std::runtime_error(fmt::format("label {} out of range [0, {})", l, C));
  return static_cast<std::int64_t>(l);
}

}  // namespace

std::vector<Tensor> interpretAll(const Graph& g, const std::map<std::string, Tensor>& args) {
  // Bind symbolic dimensions from the arguments.
  std::map<std::string, std::int64_t> syms;
  for (const auto* list : {&g.inputs, &g.params})
    for (NodeId id : *list) {
      const Node& n = g.node(id);
      auto it = args.find(n.name);
      if (it == args.end()) throw std::runtime_error("missing argument '" + n.name + "'");
      if (it->second.shape.size() != n.type.shape.size())
        throw std::runtime_error(fmt::format("argument '{}' has rank {}, expected {}", n.name, it->second.shape.size(), n.type.shape.size()));
      for (std::size_t d = 0; d < n.type.shape.size(); ++d)
        if (n.type.shape[d].isSymbolic()) syms.emplace(n.type.shape[d].symbol, it->second.shape[d]);
    }

  std::vector<Tensor> v(g.nodes.size());
  for (const Node& n : g.nodes) {
    const Extents shape = concrete(n.type.shape, syms);
    auto in = [&](int i) -> const Tensor& { return v[static_cast<std::size_t>(n.operands[static_cast<std::size_t>(i)])]; };
    Tensor r;
    switch (n.op) {
      case Op::Input:
      case Op::Param:
        r = args.at(n.name);
        if (r.shape != shape || static_cast<std::int64_t>(r.data.size()) != r.numel())
          throw std::runtime_error(fmt::format("argument '{}' does not have type {}", n.name, n.type.str()));
        break;
      case Op::Constant:
        r = Tensor::zeros(shape);
        std::fill(r.data.begin(), r.data.end(), n.scalar);
        break;
      case Op::Add: r = binary(in(0), in(1), shape, [](double a, double b) { return a + b; }); break;
      case Op::Mul: r = binary(in(0), in(1), shape, [](double a, double b) { return a * b; }); break;
      case Op::Relu:
        r = in(0);
        for (double& x : r.data) x = x > 0 ? x : 0;
        break;
      case Op::ReluGrad:  // dy * (x > 0)
        r = binary(in(0), in(1), shape, [](double dy, double x) { return x > 0 ? dy : 0.0; });
        break;
      case Op::MatMul: r = matmul(in(0), in(1), false, false); break;
      case Op::MatMulTN: r = matmul(in(0), in(1), true, false); break;
      case Op::MatMulNT: r = matmul(in(0), in(1), false, true); break;
      case Op::Softmax: r = softmaxRows(in(0)); break;
      case Op::SoftmaxGrad: {  // dx = y * (dy - sum(dy * y))
        const Tensor &dy = in(0), &y = in(1);
        r = Tensor::zeros(shape);
        const std::int64_t C = shape.back(), rows = r.numel() / C;
        for (std::int64_t i = 0; i < rows; ++i) {
          double dot = 0;
          for (std::int64_t c = 0; c < C; ++c) dot += dy.data[i * C + c] * y.data[i * C + c];
          for (std::int64_t c = 0; c < C; ++c) r.data[i * C + c] = y.data[i * C + c] * (dy.data[i * C + c] - dot);
        }
        break;
      }
      case Op::CrossEntropy: {  // mean_i(-log softmax(x_i)[label_i])
        const Tensor p = softmaxRows(in(0));
        const std::int64_t N = p.shape[0], C = p.shape[1];
        double s = 0;
        for (std::int64_t i = 0; i < N; ++i) s -= std::log(p.data[i * C + label(in(1), i, C)]);
        r = Tensor::zeros({});
        r.data[0] = s / static_cast<double>(N);
        break;
      }
      case Op::CrossEntropyGrad: {  // dloss * (softmax(x) - onehot(label)) / N
        r = softmaxRows(in(1));
        const std::int64_t N = r.shape[0], C = r.shape[1];
        for (std::int64_t i = 0; i < N; ++i) r.data[i * C + label(in(2), i, C)] -= 1.0;
        for (double& x : r.data) x *= in(0).data[0] / static_cast<double>(N);
        break;
      }
      case Op::SumTo: {
        r = Tensor::zeros(shape);
        const Tensor& x = in(0);
        for (std::int64_t i = 0; i < x.numel(); ++i) r.data[broadcastIndex(shape, x.shape, i)] += x.data[i];
        break;
      }
      case Op::Broadcast: {
        r = Tensor::zeros(shape);
        for (std::int64_t i = 0; i < r.numel(); ++i) r.data[i] = in(0).data[broadcastIndex(in(0).shape, shape, i)];
        break;
      }
    }
    v[static_cast<std::size_t>(n.id)] = std::move(r);
  }
  return v;
}

std::vector<Tensor> interpret(const Graph& g, const std::map<std::string, Tensor>& args) {
  std::vector<Tensor> all = interpretAll(g, args);
  std::vector<Tensor> out;
  for (const Result& r : g.results) out.push_back(all.at(static_cast<std::size_t>(r.node)));
  return out;
}

}  // namespace sinter::ir
