// Losses: each the mean of a per-sample or per-element loss, a scalar. Only cross_entropy has a backward op
// of its own (fused with the softmax by code generation); the others' gradients are built from
// differentiable ops, so that a gradient penalty can differentiate through them.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "compiler/ir/ops/common.h"

namespace sinter::ir::ops {
namespace {

// ---- type rules ------------------------------------------------------------------------------------------------

// cross_entropy(logits[N,C], labels[N] i32) -> []: mean over N.
std::string crossEntropy(const Node&, const Types& in, TensorType& out) {
  if (in[0].shape.size() != 2 || !isFloat(in[0].dtype)) return "logits must be a floating [N,C] tensor";
  if (in[1].shape.size() != 1 || in[1].dtype != DType::I32) return "labels must be i32[N]";
  if (!(in[0].shape[0] == in[1].shape[0])) return "logits and labels disagree on N";
  out = {in[0].dtype, {}};
  return {};
}

// cross_entropy_grad(dloss[], logits[N,C], labels[N]) -> [N,C].
std::string crossEntropyGrad(const Node& n, const Types& in, TensorType& out) {
  if (!in[0].shape.empty()) return "dloss must be a scalar";
  TensorType scalar;
  if (auto e = crossEntropy(n, {in[1], in[2]}, scalar); !e.empty()) return e;
  out = in[1];
  return {};
}

// soft_cross_entropy(logits[N,C], targets[N,C]) -> []: mean over N of -Σ_c t log_softmax(x).
std::string softCrossEntropy(const Node&, const Types& in, TensorType& out) {
  if (in[0].shape.size() != 2 || !isFloat(in[0].dtype)) return "logits must be a floating [N,C] tensor";
  if (!(in[0] == in[1]))
    return fmt::format("targets {} must have the type of the logits {}", in[1].str(), in[0].str());
  out = {in[0].dtype, {}};
  return {};
}

// mse(pred, target), bce_with_logits(logits, targets) -> []: the mean over every element. The operands
// have one type: a loss that broadcast [N,1] against [N] would quietly average an N×N matrix.
std::string elementwiseLoss(const Node&, const Types& in, TensorType& out) {
  if (!isFloat(in[0].dtype)) return "operands must be floating point";
  if (!(in[0] == in[1])) return fmt::format("operand types differ: {} vs {}", in[0].str(), in[1].str());
  out = {in[0].dtype, {}};
  return {};
}

// ---- reference kernels -------------------------------------------------------------------------------------

std::int64_t label(const Tensor& labels, std::int64_t i, std::int64_t C) {
  const double l = labels.data[i];
  if (l < 0 || l >= static_cast<double>(C))
    throw std::runtime_error(fmt::format("label {} out of range [0, {})", l, C));
  return static_cast<std::int64_t>(l);
}

// max + log Σ e^(x − max) of a row of C logits.
double logSumExp(const double* row, std::int64_t C) {
  double mx = -INFINITY, sum = 0;
  for (std::int64_t c = 0; c < C; ++c) mx = std::max(mx, row[c]);
  for (std::int64_t c = 0; c < C; ++c) sum += std::exp(row[c] - mx);
  return mx + std::log(sum);
}

Tensor scalar(double v) {
  Tensor r = Tensor::zeros({});
  r.data[0] = v;
  return r;
}

// mean_i(logsumexp(x_i) - x_i[label_i])
Tensor refCrossEntropy(const RefCall& c) {
  const Tensor& logits = *c.in[0];
  const std::int64_t N = logits.shape[0], C = logits.shape[1];
  double s = 0;
  for (std::int64_t i = 0; i < N; ++i) {
    const double* row = &logits.data[i * C];
    s += logSumExp(row, C) - row[label(*c.in[1], i, C)];
  }
  return scalar(s / static_cast<double>(N));
}

// dloss (softmax(x) - onehot(label)) / N
Tensor refCrossEntropyGrad(const RefCall& c) {
  const double dloss = c.in[0]->data[0];
  const Tensor& logits = *c.in[1];
  const std::int64_t N = logits.shape[0], C = logits.shape[1];
  Tensor r = Tensor::zeros(logits.shape);
  for (std::int64_t i = 0; i < N; ++i) {
    const double* row = &logits.data[i * C];
    const double lse = logSumExp(row, C);
    for (std::int64_t k = 0; k < C; ++k) r.data[i * C + k] = std::exp(row[k] - lse);
    r.data[i * C + label(*c.in[2], i, C)] -= 1.0;
  }
  for (double& x : r.data) x *= dloss / static_cast<double>(N);
  return r;
}

// Mean over rows of Σ_c t_c (logsumexp(x) - x_c), which is -Σ_c t_c log_softmax(x)_c.
Tensor refSoftCrossEntropy(const RefCall& c) {
  const Tensor &x = *c.in[0], &t = *c.in[1];
  const std::int64_t N = x.shape[0], C = x.shape[1];
  double s = 0;
  for (std::int64_t i = 0; i < N; ++i) {
    const double* row = &x.data[i * C];
    const double lse = logSumExp(row, C);
    for (std::int64_t k = 0; k < C; ++k) s += t.data[i * C + k] * (lse - row[k]);
  }
  return scalar(s / static_cast<double>(N));
}

// mse: mean (x - t)²;  bce_with_logits: mean of max(x, 0) - x t + log1p(e^-|x|), which is
// -[t log σ(x) + (1 - t) log(1 - σ(x))] without log 0 or overflow.
Tensor refElementwiseLoss(const RefCall& c) {
  const Tensor &x = *c.in[0], &t = *c.in[1];
  double s = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const double v = x.data[i], y = t.data[i];
    s += c.node.op == Op::Mse ? (v - y) * (v - y) : std::max(v, 0.0) - v * y + std::log1p(std::exp(-std::fabs(v)));
  }
  return scalar(s / static_cast<double>(x.numel()));
}

// ---- entries -------------------------------------------------------------------------------------------------

std::vector<OpDef> entries() {
  return {
      // L = mean(logsumexp(x) - x[label]): dx = dL (softmax(x) - onehot) / N
      {.op = Op::CrossEntropy, .name = "cross_entropy", .arity = 2, .flags = kReduction, .typeRule = crossEntropy,
       .doc = "mean over rows of logsumexp(logits) − logits[label], with i32 labels",
       .grad = {[](GradBuilder& d) {
                  d.to(0, [&] { return d.emit(Op::CrossEntropyGrad, {d.dy(), d.x(0), d.x(1)}); });
                },
                "`cross_entropy_grad(dL, logits, labels)` = dL (softmax(logits) − onehot(labels)) / N; none to "
                "labels"},
       .reference = refCrossEntropy, .kernel = KernelKind::CrossEntropy},
      {.op = Op::CrossEntropyGrad, .name = "cross_entropy_grad", .arity = 3, .typeRule = crossEntropyGrad,
       .doc = "cross_entropy's gradient (dL, logits, labels): dL (softmax(logits) − onehot(labels)) / N",
       .grad = {nullptr, "none"}, .reference = refCrossEntropyGrad, .kernel = KernelKind::CrossEntropy},
      // L = mean_i Σ_c t (lse(x_i) - x_ic): dx = dL (softmax(x) Σ_c t - t) / N, dt = -dL log_softmax(x) / N
      {.op = Op::SoftCrossEntropy, .name = "soft_cross_entropy", .arity = 2, .flags = kReduction,
       .typeRule = softCrossEntropy, .doc = "mean over rows of −Σ_c t_c log_softmax(x)_c, with one-hot or soft targets",
       .grad = {[](GradBuilder& d) {
                  d.sharedBy(0);
                  const NodeId scale = d.emit(Op::Div, {d.dy(), d.count(d.x(0), {0})});
                  d.to(0, [&] {
                    const Attrs rows = Attrs::of({{"axes", Ints{1}}, {"keepdims", std::int64_t{1}}});
                    const NodeId mass = d.emit(Op::ReduceSum, {d.x(1)}, rows);  // 1 for one-hot and probabilities
                    const NodeId p = d.emit(Op::Softmax, {d.x(0)}, Attrs::of({{"axis", std::int64_t{1}}}));
                    return d.emit(Op::Mul, {d.emit(Op::Sub, {d.emit(Op::Mul, {p, mass}), d.x(1)}), scale});
                  });
                  d.to(1, [&] {
                    const NodeId logp = d.emit(Op::LogSoftmax, {d.x(0)}, Attrs::of({{"axis", std::int64_t{1}}}));
                    return d.emit(Op::Mul, {logp, d.emit(Op::Neg, {scale})});
                  });
                },
                "dx = dL (softmax(x) · Σ_c t − t) / N (softmax − t for one-hot targets), dt = −dL log_softmax(x) / N"},
       .reference = refSoftCrossEntropy, .kernel = KernelKind::Loss},
      // L = mean (a - b)²: da = dL 2 (a - b) / n, db = -da
      {.op = Op::Mse, .name = "mse", .arity = 2, .flags = kReduction, .typeRule = elementwiseLoss,
       .doc = "mean of (a − b)² over every element",
       .grad = {[](GradBuilder& d) {
                  d.sharedBy(0);
                  const NodeId diff = d.emit(Op::Sub, {d.x(0), d.x(1)});
                  const NodeId twice = d.emit(Op::Mul, {d.dy(), d.scalar(2)});
                  const NodeId da = d.emit(Op::Mul, {diff, d.emit(Op::Div, {twice, d.countAll(d.x(0))})});
                  d.to(0, [&] { return da; });
                  d.to(1, [&] { return d.emit(Op::Neg, {da}); });
                },
                "da = dL · 2 (a − b) / n, db = −da (n = `count` of every element)"},
       .reference = refElementwiseLoss, .kernel = KernelKind::Loss},
      // L = mean softplus(x) - x t: dx = dL (σ(x) - t) / n, dt = -dL x / n
      {.op = Op::BceWithLogits, .name = "bce_with_logits", .arity = 2, .flags = kReduction,
       .typeRule = elementwiseLoss,
       .doc = "mean of max(x, 0) − x t + log1p(e^−|x|): binary cross-entropy of σ(x), without overflow",
       .grad = {[](GradBuilder& d) {
                  d.sharedBy(0);
                  const NodeId scale = d.emit(Op::Div, {d.dy(), d.countAll(d.x(0))});
                  d.to(0, [&] {
                    return d.emit(Op::Mul, {d.emit(Op::Sub, {d.emit(Op::Sigmoid, {d.x(0)}), d.x(1)}), scale});
                  });
                  d.to(1, [&] { return d.emit(Op::Mul, {d.x(0), d.emit(Op::Neg, {scale})}); });
                },
                "dx = dL (σ(x) − t) / n, dt = −dL x / n"},
       .reference = refElementwiseLoss, .kernel = KernelKind::Loss},
  };
}

}  // namespace

OpFamily lossOps() { return {"Losses", "losses.cpp", entries()}; }

}  // namespace sinter::ir::ops
