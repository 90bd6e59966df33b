// The optimizers as torch.optim implements them (single-tensor, non-fused paths), so that a model trained
// by Sinter follows the same trajectory as its PyTorch twin up to float rounding. Each loop keeps torch's
// operation order; branches are hoisted out of the element loops so that every loop vectorizes. Each
// optimizer is a template on the params' element type T (float or double): torch computes an f32 param's
// update in f32 and an f64 param's in f64, and so do these.
#include "runtime/optimizer.h"

#include "runtime/grouped_optimizer.h"
#include "runtime/parallel.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

namespace sinter::rt {

void Optimizer::step(float* const* params, const float* const* grads) {
  step(std::vector<void*>(params, params + sizes_.size()).data(),
       std::vector<const void*>(grads, grads + sizes_.size()).data());
}

namespace {

// The element loops are compiled for SSE2, AVX2 and AVX-512 and the best one for the CPU is picked at
// load time (GCC function multi-versioning): sqrt and division dominate Adam and RMSProp, and wider
// vectors do proportionally more of them per instruction. IEEE sqrt and division round the same at every
// width and the runtime is built with -ffp-contract=off (no FMA), so every clone computes bit-identical results.
// The bodies are templates; the multi-versioned functions are their float and double instances.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SINTER_VECTOR_CLONES __attribute__((target_clones("default", "avx2", "avx512f")))
#else
#define SINTER_VECTOR_CLONES
#endif

// Runs fn(begin, end) over the elements [0, n) of a param on the runtime's threads. Every element's update
// reads and writes that element alone, so the split changes no bit; and the threads that wrote a gradient
// (row blocks of a matrix product) find much of it still in their own caches.
template <class F>
void splitElements(int64_t n, F&& fn) {
  using Fn = std::remove_reference_t<F>;
  parallelFor([](void* env, int64_t begin, int64_t end) { (*static_cast<Fn*>(env))(begin, end); }, &fn, n, 8 * n);
}

template <class T>
T* typed(void* p) {
  return static_cast<T*>(p);
}
template <class T>
const T* typed(const void* p) {
  return static_cast<const T*>(p);
}

// True when no element is NaN or infinite, i.e. none has an exponent of all ones. Computed on the bits as the
// maximum of the exponent fields, a reduction every vector unit does in one instruction per vector; the
// floating form (an OR of !(|x| <= max)) did not vectorize and cost as much as Adam's update itself.
template <class T, class Bits>
inline bool allFiniteBody(const T* __restrict p, int64_t n) {
  static_assert(sizeof(T) == sizeof(Bits));
  // The exponent field: the bits of +infinity.
  constexpr Bits kExponent = std::bit_cast<Bits>(std::numeric_limits<T>::infinity());
  Bits highest = 0;
  for (int64_t k = 0; k < n; ++k) highest = std::max(highest, std::bit_cast<Bits>(p[k]) & kExponent);
  return highest != kExponent;
}
SINTER_VECTOR_CLONES bool allFinite(const float* p, int64_t n) { return allFiniteBody<float, uint32_t>(p, n); }
SINTER_VECTOR_CLONES bool allFinite(const double* p, int64_t n) { return allFiniteBody<double, uint64_t>(p, n); }

// Σ g² in double. Sixteen running sums instead of one: with a single sum every add waited for the one before
// (a 4-cycle chain per element), which made the grad_norm metric cost a quarter of the MLP's training step;
// independent sums vectorize. The order of the additions is fixed, so every clone gives the same bits.
template <class T>
inline double sumOfSquaresBody(const T* __restrict g, int64_t n) {
  constexpr int64_t kSums = 16;
  double partial[kSums] = {};
  int64_t k = 0;
  for (; k + kSums <= n; k += kSums)
    for (int64_t l = 0; l < kSums; ++l) partial[l] += static_cast<double>(g[k + l]) * static_cast<double>(g[k + l]);
  double sum = 0;
  for (; k < n; ++k) sum += static_cast<double>(g[k]) * static_cast<double>(g[k]);
  for (double p : partial) sum += p;
  return sum;
}
SINTER_VECTOR_CLONES double sumOfSquares(const float* g, int64_t n) { return sumOfSquaresBody(g, n); }
SINTER_VECTOR_CLONES double sumOfSquares(const double* g, int64_t n) { return sumOfSquaresBody(g, n); }

// One Adam element loop: see the class comment for the formulas. vmax is null without amsgrad.
template <class T>
struct AdamConsts {
  T wd, c1, b2, c2, stepSize, sqrtBc2, eps;
};

template <class T>
inline void adamBody(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, int64_t n,
                     AdamConsts<T> c) {
  for (int64_t k = 0; k < n; ++k) {
    const T gk = g[k] + c.wd * p[k];
    m[k] += c.c1 * (gk - m[k]);
    v[k] = c.b2 * v[k] + c.c2 * gk * gk;
    p[k] -= c.stepSize * (m[k] / (std::sqrt(v[k]) / c.sqrtBc2 + c.eps));
  }
}
SINTER_VECTOR_CLONES void adamLoop(float* p, const float* g, float* m, float* v, int64_t n, AdamConsts<float> c) {
  adamBody(p, g, m, v, n, c);
}
SINTER_VECTOR_CLONES void adamLoop(double* p, const double* g, double* m, double* v, int64_t n, AdamConsts<double> c) {
  adamBody(p, g, m, v, n, c);
}

template <class T>
inline void amsgradBody(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, T* __restrict vmax,
                        int64_t n, AdamConsts<T> c) {
  for (int64_t k = 0; k < n; ++k) {
    const T gk = g[k] + c.wd * p[k];
    m[k] += c.c1 * (gk - m[k]);
    v[k] = c.b2 * v[k] + c.c2 * gk * gk;
    vmax[k] = std::max(vmax[k], v[k]);
    p[k] -= c.stepSize * (m[k] / (std::sqrt(vmax[k]) / c.sqrtBc2 + c.eps));
  }
}
SINTER_VECTOR_CLONES void amsgradLoop(float* p, const float* g, float* m, float* v, float* vmax, int64_t n,
                                      AdamConsts<float> c) {
  amsgradBody(p, g, m, v, vmax, n, c);
}
SINTER_VECTOR_CLONES void amsgradLoop(double* p, const double* g, double* m, double* v, double* vmax, int64_t n,
                                      AdamConsts<double> c) {
  amsgradBody(p, g, m, v, vmax, n, c);
}

template <class T>
struct RmsConsts {
  T lr, alpha, c, eps, wd, mu;
};

// One RMSProp param: ga (centered) and buf (momentum) are null when unused; d is scratch of n elements.
template <class T>
inline void rmspropBody(T* __restrict p, const T* __restrict g, T* __restrict sq, T* __restrict ga, T* __restrict buf,
                        T* __restrict d, int64_t n, RmsConsts<T> c) {
  for (int64_t k = 0; k < n; ++k) {
    const T gk = g[k] + c.wd * p[k];
    sq[k] = c.alpha * sq[k] + c.c * gk * gk;
  }
  if (ga) {
    for (int64_t k = 0; k < n; ++k) {
      const T gk = g[k] + c.wd * p[k];
      ga[k] += c.c * (gk - ga[k]);
      d[k] = std::sqrt(sq[k] - ga[k] * ga[k]) + c.eps;
    }
  } else {
    for (int64_t k = 0; k < n; ++k) d[k] = std::sqrt(sq[k]) + c.eps;
  }
  if (buf) {
    for (int64_t k = 0; k < n; ++k) {
      buf[k] = c.mu * buf[k] + (g[k] + c.wd * p[k]) / d[k];
      p[k] -= c.lr * buf[k];
    }
  } else {
    for (int64_t k = 0; k < n; ++k) p[k] -= c.lr * ((g[k] + c.wd * p[k]) / d[k]);
  }
}
SINTER_VECTOR_CLONES void rmspropLoop(float* p, const float* g, float* sq, float* ga, float* buf, float* d, int64_t n,
                                      RmsConsts<float> c) {
  rmspropBody(p, g, sq, ga, buf, d, n, c);
}
SINTER_VECTOR_CLONES void rmspropLoop(double* p, const double* g, double* sq, double* ga, double* buf, double* d,
                                      int64_t n, RmsConsts<double> c) {
  rmspropBody(p, g, sq, ga, buf, d, n, c);
}

template <class T>
inline void adagradBody(T* __restrict p, const T* __restrict g, T* __restrict sum, int64_t n, T clr, T wd, T eps) {
  for (int64_t k = 0; k < n; ++k) {
    const T gk = g[k] + wd * p[k];
    sum[k] += gk * gk;
    p[k] -= clr * (gk / (std::sqrt(sum[k]) + eps));
  }
}
SINTER_VECTOR_CLONES void adagradLoop(float* p, const float* g, float* sum, int64_t n, float clr, float wd, float eps) {
  adagradBody(p, g, sum, n, clr, wd, eps);
}
SINTER_VECTOR_CLONES void adagradLoop(double* p, const double* g, double* sum, int64_t n, double clr, double wd,
                                      double eps) {
  adagradBody(p, g, sum, n, clr, wd, eps);
}

}  // namespace

void Optimizer::beginStep() {
  ++t_;
  std::fill(nonFinite_.begin(), nonFinite_.end(), 0);
}

void Optimizer::checkFinite(size_t i, const float* p, int64_t n) {
  if (!allFinite(p, n)) std::atomic_ref<unsigned char>(nonFinite_[i]).store(1, std::memory_order_relaxed);
}

void Optimizer::checkFinite(size_t i, const double* p, int64_t n) {
  if (!allFinite(p, n)) std::atomic_ref<unsigned char>(nonFinite_[i]).store(1, std::memory_order_relaxed);
}

int32_t Optimizer::nonFiniteParam() const {
  for (size_t i = 0; i < nonFinite_.size(); ++i)
    if (nonFinite_[i]) return static_cast<int32_t>(i);
  return -1;
}

namespace {

template <class T>
constexpr int32_t dtypeOf() {
  return sizeof(T) == sizeof(double) ? SINTER_F64 : SINTER_F32;
}

// One zero-filled (or `fill`-filled) buffer per param.
template <class T>
std::vector<std::vector<T>> perParam(const std::vector<int64_t>& sizes, T fill = T(0)) {
  std::vector<std::vector<T>> out;
  for (int64_t n : sizes) out.emplace_back(static_cast<size_t>(n), fill);
  return out;
}

template <class T>
void addState(std::vector<StateBuffer>& out, const char* name, std::vector<std::vector<T>>& bufs) {
  for (size_t i = 0; i < bufs.size(); ++i) out.push_back({name, static_cast<int32_t>(i), bufs[i].data(), dtypeOf<T>()});
}

// torch.optim.SGD:
//   g = grad + weight_decay * p
//   buf = g on the first step, momentum * buf + (1 - dampening) * g afterwards   (only when momentum != 0)
//   g = nesterov ? g + momentum * buf : buf
//   p -= lr * g
template <class T>
class Sgd final : public Optimizer {
 public:
  Sgd(const sinter_train_config& c, std::vector<int64_t> sizes)
      : Optimizer(c.lr, std::move(sizes), dtypeOf<T>()),
        momentum_(c.momentum),
        damp_(c.dampening),
        wd_(c.weight_decay),
        nesterov_(c.nesterov != 0) {
    if (momentum_ != T(0)) buf_ = perParam<T>(sizes_);
  }

  using Optimizer::step;
  void step(void* const* params, const void* const* grads) override {
    beginStep();
    const T lr = lr_, mu = momentum_, wd = wd_, keep = T(1) - damp_;
    const bool first = t_ == 1;
    for (size_t i = 0; i < sizes_.size(); ++i) {
      splitElements(sizes_[i], [&](int64_t from, int64_t to) {
        T* __restrict p = typed<T>(params[i]) + from;
        const T* __restrict g = typed<T>(grads[i]) + from;
        const int64_t n = to - from;
        if (mu == T(0)) {
          for (int64_t k = 0; k < n; ++k) p[k] -= lr * (g[k] + wd * p[k]);
          checkFinite(i, p, n);
          return;
        }
        T* __restrict b = buf_[i].data() + from;
        if (first)
          for (int64_t k = 0; k < n; ++k) b[k] = g[k] + wd * p[k];
        else
          for (int64_t k = 0; k < n; ++k) b[k] = mu * b[k] + keep * (g[k] + wd * p[k]);
        if (nesterov_)
          for (int64_t k = 0; k < n; ++k) p[k] -= lr * ((g[k] + wd * p[k]) + mu * b[k]);
        else
          for (int64_t k = 0; k < n; ++k) p[k] -= lr * b[k];
        checkFinite(i, p, n);
      });
    }
  }

  std::vector<StateBuffer> state() override {
    std::vector<StateBuffer> out;
    addState(out, "momentum_buffer", buf_);
    return out;
  }

 private:
  T momentum_, damp_, wd_;
  bool nesterov_;
  std::vector<std::vector<T>> buf_;
};

// torch.optim.Adam and torch.optim.AdamW:
//   AdamW: p *= 1 - lr * weight_decay (decoupled), g = grad
//   Adam:  g = grad + weight_decay * p (L2)
//   m = b1 * m + (1 - b1) * g      (computed as m + (1 - b1) * (g - m), torch's lerp)
//   v = b2 * v + (1 - b2) * g^2
//   amsgrad: vmax = max(vmax, v), and vmax replaces v below
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// which is lr * m_hat / (sqrt(v_hat) + eps) with torch's placement of eps.
template <class T>
class Adam final : public Optimizer {
 public:
  Adam(const sinter_train_config& c, std::vector<int64_t> sizes, bool decoupled)
      : Optimizer(c.lr, std::move(sizes), dtypeOf<T>()),
        b1_(c.beta1),
        b2_(c.beta2),
        eps_(c.eps),
        wd_(c.weight_decay),
        decoupled_(decoupled),
        amsgrad_(c.amsgrad != 0) {
    m_ = perParam<T>(sizes_);
    v_ = perParam<T>(sizes_);
    if (amsgrad_) vmax_ = perParam<T>(sizes_);
  }

  using Optimizer::step;
  void step(void* const* params, const void* const* grads) override {
    beginStep();
    // Bias corrections once per step, in double: b^t underflows gracefully and loses no precision.
    const double bc1 = 1.0 - std::pow(static_cast<double>(b1_), static_cast<double>(t_));
    const double bc2 = 1.0 - std::pow(static_cast<double>(b2_), static_cast<double>(t_));
    const T lr = lr_;
    const T shrink = decoupled_ ? T(1) - lr * wd_ : T(1);
    const AdamConsts<T> c{decoupled_ ? T(0) : wd_,        T(1) - b1_, b2_, T(1) - b2_, static_cast<T>(lr_ / bc1),
                          static_cast<T>(std::sqrt(bc2)), eps_};
    for (size_t i = 0; i < sizes_.size(); ++i) {
      T* __restrict p = typed<T>(params[i]);
      const T* g = typed<T>(grads[i]);
      splitElements(sizes_[i], [&](int64_t b, int64_t e) {
        if (decoupled_)
          for (int64_t k = b; k < e; ++k) p[k] *= shrink;
        if (amsgrad_) amsgradLoop(p + b, g + b, m_[i].data() + b, v_[i].data() + b, vmax_[i].data() + b, e - b, c);
        else adamLoop(p + b, g + b, m_[i].data() + b, v_[i].data() + b, e - b, c);
        checkFinite(i, p + b, e - b);
      });
    }
  }

  std::vector<StateBuffer> state() override {
    std::vector<StateBuffer> out;
    addState(out, "exp_avg", m_);
    addState(out, "exp_avg_sq", v_);
    addState(out, "max_exp_avg_sq", vmax_);
    return out;
  }

 private:
  T b1_, b2_, eps_, wd_;
  bool decoupled_, amsgrad_;
  std::vector<std::vector<T>> m_, v_, vmax_;
};

// torch.optim.RMSprop:
//   g = grad + weight_decay * p
//   sq = alpha * sq + (1 - alpha) * g^2
//   centered: ga = ga + (1 - alpha) * (g - ga);  avg = sqrt(sq - ga^2) + eps
//   otherwise: avg = sqrt(sq) + eps
//   momentum > 0: buf = momentum * buf + g / avg;  p -= lr * buf
//   otherwise:    p -= lr * g / avg
template <class T>
class RmsProp final : public Optimizer {
 public:
  RmsProp(const sinter_train_config& c, std::vector<int64_t> sizes)
      : Optimizer(c.lr, std::move(sizes), dtypeOf<T>()),
        alpha_(c.alpha),
        eps_(c.eps),
        wd_(c.weight_decay),
        momentum_(c.momentum),
        centered_(c.centered != 0) {
    sq_ = perParam<T>(sizes_);
    if (momentum_ > T(0)) buf_ = perParam<T>(sizes_);
    if (centered_) ga_ = perParam<T>(sizes_);
  }

  using Optimizer::step;
  void step(void* const* params, const void* const* grads) override {
    beginStep();
    const RmsConsts<T> c{lr_, alpha_, T(1) - alpha_, eps_, wd_, momentum_};
    for (size_t i = 0; i < sizes_.size(); ++i) {
      avg_.resize(static_cast<size_t>(sizes_[i]));
      splitElements(sizes_[i], [&](int64_t b, int64_t e) {
        rmspropLoop(typed<T>(params[i]) + b, typed<T>(grads[i]) + b, sq_[i].data() + b,
                    centered_ ? ga_[i].data() + b : nullptr, momentum_ > T(0) ? buf_[i].data() + b : nullptr,
                    avg_.data() + b, e - b, c);
        checkFinite(i, typed<T>(params[i]) + b, e - b);
      });
    }
  }

  std::vector<StateBuffer> state() override {
    std::vector<StateBuffer> out;
    addState(out, "square_avg", sq_);
    addState(out, "momentum_buffer", buf_);
    addState(out, "grad_avg", ga_);
    return out;
  }

 private:
  T alpha_, eps_, wd_, momentum_;
  bool centered_;
  std::vector<std::vector<T>> sq_, buf_, ga_;
  std::vector<T> avg_;  // scratch: the denominator of one param
};

// torch.optim.Adagrad:
//   g = grad + weight_decay * p
//   clr = lr / (1 + (t - 1) * lr_decay)
//   sum += g^2                      (sum starts at initial_accumulator_value)
//   p -= clr * g / (sqrt(sum) + eps)
template <class T>
class Adagrad final : public Optimizer {
 public:
  Adagrad(const sinter_train_config& c, std::vector<int64_t> sizes)
      : Optimizer(c.lr, std::move(sizes), dtypeOf<T>()), decay_(c.lr_decay), eps_(c.eps), wd_(c.weight_decay) {
    sum_ = perParam<T>(sizes_, static_cast<T>(c.initial_accumulator));
  }

  using Optimizer::step;
  void step(void* const* params, const void* const* grads) override {
    beginStep();
    const T clr = static_cast<T>(lr_ / (1.0 + static_cast<double>(t_ - 1) * decay_));
    for (size_t i = 0; i < sizes_.size(); ++i)
      splitElements(sizes_[i], [&](int64_t b, int64_t e) {
        adagradLoop(typed<T>(params[i]) + b, typed<T>(grads[i]) + b, sum_[i].data() + b, e - b, clr, wd_, eps_);
        checkFinite(i, typed<T>(params[i]) + b, e - b);
      });
  }

  std::vector<StateBuffer> state() override {
    std::vector<StateBuffer> out;
    addState(out, "sum", sum_);
    return out;
  }

 private:
  T decay_, eps_, wd_;
  std::vector<std::vector<T>> sum_;
};

template <class T>
std::unique_ptr<Optimizer> createTyped(const sinter_train_config& config, std::vector<int64_t> paramSizes) {
  switch (config.optimizer) {
    case SINTER_OPT_SGD: return std::make_unique<Sgd<T>>(config, std::move(paramSizes));
    case SINTER_OPT_ADAM: return std::make_unique<Adam<T>>(config, std::move(paramSizes), false);
    case SINTER_OPT_ADAMW: return std::make_unique<Adam<T>>(config, std::move(paramSizes), true);
    case SINTER_OPT_RMSPROP: return std::make_unique<RmsProp<T>>(config, std::move(paramSizes));
    case SINTER_OPT_ADAGRAD: return std::make_unique<Adagrad<T>>(config, std::move(paramSizes));
    default: throw std::invalid_argument("optimizer: unknown optimizer kind " + std::to_string(config.optimizer));
  }
}

template <class T>
std::vector<double> squaredNorms(const void* const* grads, const std::vector<int64_t>& sizes) {
  std::vector<double> norms(sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    norms[i] = sumOfSquares(static_cast<const T*>(grads[i]), sizes[i]);
  }
  return norms;
}

template <class T>
double clipTyped(void* const* grads, const std::vector<int64_t>& sizes, double maxNorm) {
  double sum = 0;
  for (double s : squaredNorms<T>(grads, sizes)) sum += s;
  const double total = std::sqrt(sum);
  const double coef = maxNorm / (total + 1e-6);
  if (coef < 1.0) {
    const T f = static_cast<T>(coef);
    for (size_t i = 0; i < sizes.size(); ++i)
      for (int64_t k = 0; k < sizes[i]; ++k) typed<T>(grads[i])[k] *= f;
  }
  return total;
}

}  // namespace

std::unique_ptr<Optimizer> Optimizer::create(const sinter_train_config& config, std::vector<int64_t> paramSizes,
                                             int32_t dtype, std::vector<ParamGroup> groups) {
  for (int64_t n : paramSizes)
    if (n < 0) throw std::invalid_argument("optimizer: negative parameter size " + std::to_string(n));
  if (!groups.empty()) return createGrouped(config, std::move(paramSizes), dtype, std::move(groups));
  if (dtype == SINTER_F32) return createTyped<float>(config, std::move(paramSizes));
  if (dtype == SINTER_F64) return createTyped<double>(config, std::move(paramSizes));
  throw std::invalid_argument("optimizer: params must be f32 or f64, not dtype " + std::to_string(dtype));
}

std::vector<double> gradNorms(const void* const* grads, const std::vector<int64_t>& sizes, int32_t dtype) {
  std::vector<double> norms =
      dtype == SINTER_F64 ? squaredNorms<double>(grads, sizes) : squaredNorms<float>(grads, sizes);
  for (double& n : norms) n = std::sqrt(n);
  return norms;
}

double clipGradNorm(void* const* grads, const std::vector<int64_t>& sizes, int32_t dtype, double maxNorm) {
  return dtype == SINTER_F64 ? clipTyped<double>(grads, sizes, maxNorm) : clipTyped<float>(grads, sizes, maxNorm);
}

}  // namespace sinter::rt
