// SGD and Adam as torch.optim implements them (single-tensor, non-fused paths), so that a model trained
// by Sinter follows the same trajectory as its PyTorch twin up to float rounding.
#include "runtime/optimizer.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace sinter::rt {
namespace {

// torch.optim.SGD with dampening 0:
//   g = grad + weight_decay * p
//   buf = g on the first step, momentum * buf + g afterwards      (only when momentum != 0)
//   g = nesterov ? g + momentum * buf : buf
//   p -= lr * g
class Sgd final : public Optimizer {
public:
  Sgd(const sinter_train_config& c, std::vector<int64_t> sizes)
      : Optimizer(c.lr, std::move(sizes)), momentum_(c.momentum), wd_(c.weight_decay), nesterov_(c.nesterov != 0) {
    if (momentum_ != 0.0f)
      for (int64_t n : sizes_) buf_.emplace_back(static_cast<size_t>(n), 0.0f);
  }

  void step(float* const* params, const float* const* grads) override {
    ++t_;
    const float lr = lr_, mu = momentum_, wd = wd_;
    const bool first = t_ == 1;
    for (size_t i = 0; i < sizes_.size(); ++i) {
      float* __restrict p = params[i];
      const float* __restrict g = grads[i];
      const int64_t n = sizes_[i];
      if (mu == 0.0f) {
        for (int64_t k = 0; k < n; ++k) p[k] -= lr * (g[k] + wd * p[k]);
        continue;
      }
      float* __restrict b = buf_[i].data();
      // Branches hoisted out of the loops so that each loop vectorizes.
      if (first)
        for (int64_t k = 0; k < n; ++k) b[k] = g[k] + wd * p[k];
      else
        for (int64_t k = 0; k < n; ++k) b[k] = mu * b[k] + (g[k] + wd * p[k]);
      if (nesterov_)
        for (int64_t k = 0; k < n; ++k) p[k] -= lr * ((g[k] + wd * p[k]) + mu * b[k]);
      else
        for (int64_t k = 0; k < n; ++k) p[k] -= lr * b[k];
    }
  }

private:
  float momentum_, wd_;
  bool nesterov_;
  std::vector<std::vector<float>> buf_;
};

// torch.optim.Adam (amsgrad off):
//   g = grad + weight_decay * p
//   m = b1 * m + (1 - b1) * g      (computed as m + (1 - b1) * (g - m), torch's lerp)
//   v = b2 * v + (1 - b2) * g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// which is lr * m_hat / (sqrt(v_hat) + eps) with torch's placement of eps.
class Adam final : public Optimizer {
public:
  Adam(const sinter_train_config& c, std::vector<int64_t> sizes)
      : Optimizer(c.lr, std::move(sizes)), b1_(c.beta1), b2_(c.beta2), eps_(c.eps), wd_(c.weight_decay) {
    for (int64_t n : sizes_) {
      m_.emplace_back(static_cast<size_t>(n), 0.0f);
      v_.emplace_back(static_cast<size_t>(n), 0.0f);
    }
  }

  void step(float* const* params, const float* const* grads) override {
    ++t_;
    // Bias corrections once per step, in double: b^t underflows gracefully and loses no precision.
    const double bc1 = 1.0 - std::pow(static_cast<double>(b1_), static_cast<double>(t_));
    const double bc2 = 1.0 - std::pow(static_cast<double>(b2_), static_cast<double>(t_));
    const float stepSize = static_cast<float>(lr_ / bc1);
    const float sqrtBc2 = static_cast<float>(std::sqrt(bc2));
    const float b2 = b2_, eps = eps_, wd = wd_;
    const float c1 = 1.0f - b1_, c2 = 1.0f - b2;
    // The expressions keep torch's operation order (m via lerp, eps added after the division by
    // sqrt(bc2)) so that float rounding stays as close to it as possible.
    for (size_t i = 0; i < sizes_.size(); ++i) {
      float* __restrict p = params[i];
      const float* __restrict g = grads[i];
      float* __restrict m = m_[i].data();
      float* __restrict v = v_[i].data();
      const int64_t n = sizes_[i];
      for (int64_t k = 0; k < n; ++k) {
        const float gk = g[k] + wd * p[k];
        m[k] += c1 * (gk - m[k]);
        v[k] = b2 * v[k] + c2 * gk * gk;
        p[k] -= stepSize * (m[k] / (std::sqrt(v[k]) / sqrtBc2 + eps));
      }
    }
  }

private:
  float b1_, b2_, eps_, wd_;
  std::vector<std::vector<float>> m_, v_;
};

}  // namespace

std::unique_ptr<Optimizer> Optimizer::create(const sinter_train_config& config, std::vector<int64_t> paramSizes) {
  for (int64_t n : paramSizes)
    if (n < 0) throw std::invalid_argument("optimizer: negative parameter size " + std::to_string(n));
  switch (config.optimizer) {
  case SINTER_OPT_SGD:
    return std::unique_ptr<Optimizer>(new Sgd(config, std::move(paramSizes)));
  case SINTER_OPT_ADAM:
    return std::unique_ptr<Optimizer>(new Adam(config, std::move(paramSizes)));
  default:
    throw std::invalid_argument("optimizer: unknown optimizer kind " + std::to_string(config.optimizer));
  }
}

}  // namespace sinter::rt
