// Reference kernels: matrix products, convolution, pooling and the losses.
#include <fmt/format.h>
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "compiler/ir/interpreter_kernels.h"

namespace sinter::ir::ref {

Tensor matmul(const Tensor& a, const Tensor& b, bool transA, bool transB, const Extents& shape) {
  const std::size_t ra = a.shape.size(), r = shape.size();
  const std::int64_t M = shape[r - 2], N = shape[r - 1], K = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const Extents batch(shape.begin(), shape.end() - 2), ab(a.shape.begin(), a.shape.end() - 2),
      bb(b.shape.begin(), b.shape.end() - 2);
  std::int64_t batches = 1;
  for (auto d : batch) batches *= d;
  Tensor c = Tensor::zeros(shape);
  for (std::int64_t t = 0; t < batches; ++t) {
    const double* A = &a.data[broadcastIndex(ab, batch, t) * M * K];
    const double* B = &b.data[broadcastIndex(bb, batch, t) * K * N];
    double* C = &c.data[t * M * N];
    for (std::int64_t i = 0; i < M; ++i)
      for (std::int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (std::int64_t k = 0; k < K; ++k)
          s += (transA ? A[k * M + i] : A[i * K + k]) * (transB ? B[j * K + k] : B[k * N + j]);
        C[i * N + j] = s;
      }
  }
  return c;
}

namespace {

struct Window {
  std::int64_t k[2], s[2], p[2], d[2] = {1, 1};
};

Window window(const Node& n, bool conv) {
  Window w{};
  auto get = [&](const char* name, std::int64_t* v) {
    const auto& x = n.attrs.getInts(name);
    v[0] = x[0];
    v[1] = x[1];
  };
  get("stride", w.s);
  get("padding", w.p);
  if (conv) get("dilation", w.d);
  else get("kernel", w.k);
  return w;
}

}  // namespace

// conv2d(x, w) -> y; conv2d_grad_input(dy, w) -> dx; conv2d_grad_weight(x, dy) -> dw. One loop nest visits
// every (output element, kernel tap) pair: y[n,o,i,j] += x[n,c,i s - p + kh d, j s - p + kw d] w[o,c,kh,kw].
Tensor convolution(const Node& n, const Tensor& a, const Tensor& b, const Extents& shape) {
  Window win = window(n, true);
  const Extents& xs = n.op == Op::Conv2DGradInput ? shape : a.shape;
  const Extents& ws = n.op == Op::Conv2DGradWeight ? shape : b.shape;
  const std::int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], O = ws[0], KH = ws[2], KW = ws[3];
  const std::int64_t OH = (H + 2 * win.p[0] - win.d[0] * (KH - 1) - 1) / win.s[0] + 1;
  const std::int64_t OW = (W + 2 * win.p[1] - win.d[1] * (KW - 1) - 1) / win.s[1] + 1;
  Tensor r = Tensor::zeros(shape);
  for (std::int64_t nn = 0; nn < N; ++nn)
    for (std::int64_t o = 0; o < O; ++o)
      for (std::int64_t i = 0; i < OH; ++i)
        for (std::int64_t j = 0; j < OW; ++j) {
          const std::int64_t yi = ((nn * O + o) * OH + i) * OW + j;
          for (std::int64_t c = 0; c < C; ++c)
            for (std::int64_t kh = 0; kh < KH; ++kh)
              for (std::int64_t kw = 0; kw < KW; ++kw) {
                const std::int64_t h = i * win.s[0] - win.p[0] + kh * win.d[0],
                                   w = j * win.s[1] - win.p[1] + kw * win.d[1];
                if (h < 0 || h >= H || w < 0 || w >= W) continue;
                const std::int64_t xi = ((nn * C + c) * H + h) * W + w, wi = ((o * C + c) * KH + kh) * KW + kw;
                switch (n.op) {
                  case Op::Conv2D: r.data[yi] += a.data[xi] * b.data[wi]; break;
                  case Op::Conv2DGradInput: r.data[xi] += a.data[yi] * b.data[wi]; break;
                  default: r.data[wi] += a.data[xi] * b.data[yi]; break;
                }
              }
        }
  return r;
}

// max_pool2d(x), max_pool2d_grad(dy, x) (dy goes to the first maximum of each window), avg_pool2d(x)
// (padding counts in the average, as in PyTorch's default), avg_pool2d_grad(dy).
Tensor pooling(const Node& n, const std::vector<const Tensor*>& in, const Extents& shape) {
  Window win = window(n, false);
  const bool grad = n.op == Op::MaxPool2DGrad || n.op == Op::AvgPool2DGrad;
  const Extents& xs = grad ? shape : in[0]->shape;
  const Extents& ys = grad ? in[0]->shape : shape;
  const std::int64_t H = xs[2], W = xs[3], OH = ys[2], OW = ys[3], planes = xs[0] * xs[1];
  const double area = static_cast<double>(win.k[0] * win.k[1]);
  Tensor r = Tensor::zeros(shape);
  for (std::int64_t pl = 0; pl < planes; ++pl)
    for (std::int64_t i = 0; i < OH; ++i)
      for (std::int64_t j = 0; j < OW; ++j) {
        const std::int64_t yi = (pl * OH + i) * OW + j;
        double best = -INFINITY, sum = 0;
        std::int64_t arg = -1;
        for (std::int64_t kh = 0; kh < win.k[0]; ++kh)
          for (std::int64_t kw = 0; kw < win.k[1]; ++kw) {
            const std::int64_t h = i * win.s[0] - win.p[0] + kh, w = j * win.s[1] - win.p[1] + kw;
            if (h < 0 || h >= H || w < 0 || w >= W) continue;
            const std::int64_t xi = (pl * H + h) * W + w;
            if (n.op == Op::AvgPool2DGrad) {
              r.data[xi] += in[0]->data[yi] / area;
              continue;
            }
            const double v = n.op == Op::MaxPool2DGrad ? in[1]->data[xi] : in[0]->data[xi];
            sum += v;
            if (v > best) best = v, arg = xi;
          }
        switch (n.op) {
          case Op::MaxPool2D: r.data[yi] = best; break;
          case Op::AvgPool2D: r.data[yi] = sum / area; break;
          case Op::MaxPool2DGrad:
            if (arg >= 0) r.data[arg] += in[0]->data[yi];
            break;
          default: break;
        }
      }
  return r;
}

namespace {
std::int64_t label(const Tensor& labels, std::int64_t i, std::int64_t C) {
  const double l = labels.data[i];
  if (l < 0 || l >= static_cast<double>(C))
    throw std::runtime_error(fmt::format("label {} out of range [0, {})", l, C));
  return static_cast<std::int64_t>(l);
}
}  // namespace

// mean_i(logsumexp(x_i) - x_i[label_i])
Tensor crossEntropy(const Tensor& logits, const Tensor& labels) {
  const std::int64_t N = logits.shape[0], C = logits.shape[1];
  double s = 0;
  for (std::int64_t i = 0; i < N; ++i) {
    const double* row = &logits.data[i * C];
    double mx = -INFINITY, sum = 0;
    for (std::int64_t c = 0; c < C; ++c) mx = std::max(mx, row[c]);
    for (std::int64_t c = 0; c < C; ++c) sum += std::exp(row[c] - mx);
    s += mx + std::log(sum) - row[label(labels, i, C)];
  }
  Tensor r = Tensor::zeros({});
  r.data[0] = s / static_cast<double>(N);
  return r;
}

// dloss (softmax(x) - onehot(label)) / N
Tensor crossEntropyGrad(double dloss, const Tensor& logits, const Tensor& labels) {
  const std::int64_t N = logits.shape[0], C = logits.shape[1];
  Tensor r = softmaxFamily(Op::Softmax, 1, logits, nullptr);
  for (std::int64_t i = 0; i < N; ++i) r.data[i * C + label(labels, i, C)] -= 1.0;
  for (double& x : r.data) x *= dloss / static_cast<double>(N);
  return r;
}

// mse: mean (x - t)²;  bce_with_logits: mean of max(x, 0) - x t + log1p(e^-|x|), which is
// -[t log σ(x) + (1 - t) log(1 - σ(x))] without log 0 or overflow;  soft_cross_entropy: mean over rows
// of Σ_c t_c (logsumexp(x) - x_c), which is -Σ_c t_c log_softmax(x)_c.
Tensor loss(Op op, const Tensor& x, const Tensor& t) {
  double s = 0;
  std::int64_t count = x.numel();
  if (op == Op::SoftCrossEntropy) {
    const std::int64_t N = x.shape[0], C = x.shape[1];
    count = N;
    for (std::int64_t i = 0; i < N; ++i) {
      const double* row = &x.data[i * C];
      double mx = -INFINITY, sum = 0;
      for (std::int64_t c = 0; c < C; ++c) mx = std::max(mx, row[c]);
      for (std::int64_t c = 0; c < C; ++c) sum += std::exp(row[c] - mx);
      const double lse = mx + std::log(sum);
      for (std::int64_t c = 0; c < C; ++c) s += t.data[i * C + c] * (lse - row[c]);
    }
  } else {
    for (std::int64_t i = 0; i < count; ++i) {
      const double v = x.data[i], y = t.data[i];
      s += op == Op::Mse ? (v - y) * (v - y) : std::max(v, 0.0) - v * y + std::log1p(std::exp(-std::fabs(v)));
    }
  }
  Tensor r = Tensor::zeros({});
  r.data[0] = s / static_cast<double>(count);
  return r;
}

}  // namespace sinter::ir::ref
