// The optimizers against arithmetic done by hand (in comments) and against plain double-precision
// re-implementations of the torch.optim formulas written independently of runtime/optimizer.cpp.
#include "runtime/lr_schedule.h"
#include "runtime/optimizer.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

using sinter::rt::Optimizer;

namespace {

sinter_train_config sgdConfig(float lr, float momentum, bool nesterov, float wd) {
  sinter_train_config c{};
  c.optimizer = SINTER_OPT_SGD;
  c.lr = lr;
  c.momentum = momentum;
  c.nesterov = nesterov ? 1 : 0;
  c.weight_decay = wd;
  return c;
}

sinter_train_config adamConfig(float lr, float b1, float b2, float eps, float wd) {
  sinter_train_config c{};
  c.optimizer = SINTER_OPT_ADAM;
  c.lr = lr;
  c.beta1 = b1;
  c.beta2 = b2;
  c.eps = eps;
  c.weight_decay = wd;
  return c;
}

// Adam exactly as Kingma & Ba write it, with torch's L2 weight decay, in double.
struct RefAdam {
  double lr, b1, b2, eps, wd;
  std::vector<double> m, v;
  int t = 0;
  void step(std::vector<double>& p, const std::vector<double>& grad) {
    ++t;
    m.resize(p.size(), 0.0);
    v.resize(p.size(), 0.0);
    for (size_t i = 0; i < p.size(); ++i) {
      const double g = grad[i] + wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const double mHat = m[i] / (1 - std::pow(b1, t));
      const double vHat = v[i] / (1 - std::pow(b2, t));
      p[i] -= lr * mHat / (std::sqrt(vHat) + eps);
    }
  }
};

// torch.optim.SGD (dampening 0) in double.
struct RefSgd {
  double lr, mu, wd;
  bool nesterov;
  std::vector<double> buf;
  void step(std::vector<double>& p, const std::vector<double>& grad) {
    const bool first = buf.empty();
    buf.resize(p.size(), 0.0);
    for (size_t i = 0; i < p.size(); ++i) {
      double g = grad[i] + wd * p[i];
      if (mu != 0) {
        buf[i] = first ? g : mu * buf[i] + g;
        g = nesterov ? g + mu * buf[i] : buf[i];
      }
      p[i] -= lr * g;
    }
  }
};

// Runs `opt` for grads.size() steps on one param starting at p0 and returns the trajectory.
std::vector<std::vector<float>> run(Optimizer& opt, std::vector<float> p,
                                    const std::vector<std::vector<float>>& grads) {
  std::vector<std::vector<float>> out;
  for (const auto& g : grads) {
    float* params[] = {p.data()};
    const float* gs[] = {g.data()};
    opt.step(params, gs);
    out.push_back(p);
  }
  return out;
}

void requireClose(const std::vector<float>& got, const std::vector<double>& want, double tol = 2e-6) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": got " << got[i] << ", want " << want[i]);
    CHECK(std::abs(static_cast<double>(got[i]) - want[i]) <= tol * std::max(1.0, std::abs(want[i])));
  }
}

const std::vector<std::vector<float>> kGrads3 = {{0.5f, -1.0f, -2.0f}, {0.25f, 0.5f, -1.0f}, {-0.75f, 1.5f, 0.1f}};

}  // namespace

TEST_CASE("Adam: first step moves every weight by lr against the gradient's sign (bias correction)") {
  // Step 1: m = (1-b1) g, v = (1-b2) g^2, so m_hat = g, v_hat = g^2 and the update is
  // lr * g / (|g| + eps) = lr * sign(g) up to eps. Without bias correction it would be
  // lr * 0.1 g / (sqrt(0.001) |g|) = 3.16 lr: very different.
  auto opt = Optimizer::create(adamConfig(0.1f, 0.9f, 0.999f, 1e-8f, 0.0f), {3});
  const auto traj = run(*opt, {1.0f, -2.0f, 0.5f}, {kGrads3[0]});
  requireClose(traj[0], {0.9, -1.9, 0.6});
  CHECK(opt->steps() == 1);
}

TEST_CASE("Adam: three steps match Kingma & Ba's formulas") {
  const std::vector<float> p0 = {1.0f, -2.0f, 0.5f};
  auto opt = Optimizer::create(adamConfig(0.1f, 0.9f, 0.999f, 1e-8f, 0.0f), {3});
  const auto traj = run(*opt, p0, kGrads3);
  // Step 2 by hand, element 0 (g1 = 0.5, g2 = 0.25):
  //   m = 0.9*0.05 + 0.1*0.25 = 0.07          m_hat = 0.07 / 0.19 = 0.368421
  //   v = 0.999*0.00025 + 0.001*0.0625 = 0.00031225   v_hat = 0.00031225 / 0.001999 = 0.156203
  //   p = 0.9 - 0.1 * 0.368421 / 0.395225 = 0.9 - 0.093218 = 0.806782
  CHECK(traj[1][0] == Approx(0.806782).epsilon(1e-5));
  RefAdam ref{0.1, 0.9, 0.999, 1e-8, 0.0, {}, {}};
  std::vector<double> p(p0.begin(), p0.end());
  for (size_t s = 0; s < kGrads3.size(); ++s) {
    ref.step(p, std::vector<double>(kGrads3[s].begin(), kGrads3[s].end()));
    INFO("step " << s + 1);
    requireClose(traj[s], p);
  }
}

TEST_CASE("Adam: weight decay is L2 added to the gradient") {
  const std::vector<float> p0 = {1.0f, -2.0f, 0.5f};
  auto opt = Optimizer::create(adamConfig(0.01f, 0.8f, 0.99f, 1e-6f, 0.5f), {3});
  const auto traj = run(*opt, p0, kGrads3);
  // Step 1, element 1: g = -1 + 0.5 * -2 = -2, update = lr * sign(g) = -0.01 -> p = -1.99.
  // Element 0: g = 0.5 + 0.5 = 1 -> 0.99. Element 2: g = -2 + 0.25 = -1.75 -> 0.51.
  requireClose(traj[0], {0.99, -1.99, 0.51}, 1e-5);
  RefAdam ref{0.01, 0.8, 0.99, 1e-6, 0.5, {}, {}};
  std::vector<double> p(p0.begin(), p0.end());
  for (size_t s = 0; s < kGrads3.size(); ++s) {
    ref.step(p, std::vector<double>(kGrads3[s].begin(), kGrads3[s].end()));
    INFO("step " << s + 1);
    requireClose(traj[s], p);
  }
}

TEST_CASE("Adam: large eps dominates the denominator") {
  // eps = 1: step 1 update = lr * g / (|g| + 1); g = 1 -> 0.5 lr.
  auto opt = Optimizer::create(adamConfig(0.2f, 0.9f, 0.999f, 1.0f, 0.0f), {1});
  const auto traj = run(*opt, {0.0f}, {{1.0f}});
  requireClose(traj[0], {-0.1});
}

TEST_CASE("SGD with momentum: three steps by hand") {
  // lr 0.1, momentum 0.9, p0 = [1, -2]
  // step 1: buf = g1 = [1, 2]                       p = [0.9, -2.2]
  // step 2: buf = 0.9*[1, 2] + [0.5, -1] = [1.4, 0.8]     p = [0.76, -2.28]
  // step 3: buf = 0.9*[1.4, 0.8] + [-1, 0] = [0.26, 0.72] p = [0.734, -2.352]
  auto opt = Optimizer::create(sgdConfig(0.1f, 0.9f, false, 0.0f), {2});
  const auto traj = run(*opt, {1.0f, -2.0f}, {{1.0f, 2.0f}, {0.5f, -1.0f}, {-1.0f, 0.0f}});
  requireClose(traj[0], {0.9, -2.2});
  requireClose(traj[1], {0.76, -2.28});
  requireClose(traj[2], {0.734, -2.352});
}

TEST_CASE("SGD with Nesterov momentum: three steps by hand") {
  // update = g + 0.9 * buf, buf as in the plain momentum test:
  // step 1: [1, 2] + 0.9*[1, 2] = [1.9, 3.8]                 p = [0.81, -2.38]
  // step 2: [0.5, -1] + 0.9*[1.4, 0.8] = [1.76, -0.28]       p = [0.634, -2.352]
  // step 3: [-1, 0] + 0.9*[0.26, 0.72] = [-0.766, 0.648]     p = [0.7106, -2.4168]
  auto opt = Optimizer::create(sgdConfig(0.1f, 0.9f, true, 0.0f), {2});
  const auto traj = run(*opt, {1.0f, -2.0f}, {{1.0f, 2.0f}, {0.5f, -1.0f}, {-1.0f, 0.0f}});
  requireClose(traj[0], {0.81, -2.38});
  requireClose(traj[1], {0.634, -2.352});
  requireClose(traj[2], {0.7106, -2.4168});
}

TEST_CASE("SGD: plain and with weight decay, against the reference") {
  // Plain SGD, wd 0.1, step 1: g = [1 + 0.1, 2 - 0.2] = [1.1, 1.8] -> p = [0.89, -2.18].
  auto plain = Optimizer::create(sgdConfig(0.1f, 0.0f, false, 0.1f), {2});
  const auto traj = run(*plain, {1.0f, -2.0f}, {{1.0f, 2.0f}});
  requireClose(traj[0], {0.89, -2.18});

  for (bool nesterov : {false, true}) {
    INFO("nesterov " << nesterov);
    const std::vector<float> p0 = {1.0f, -2.0f, 0.5f};
    auto opt = Optimizer::create(sgdConfig(0.05f, 0.8f, nesterov, 0.3f), {3});
    const auto got = run(*opt, p0, kGrads3);
    RefSgd ref{0.05, 0.8, 0.3, nesterov, {}};
    std::vector<double> p(p0.begin(), p0.end());
    for (size_t s = 0; s < kGrads3.size(); ++s) {
      ref.step(p, std::vector<double>(kGrads3[s].begin(), kGrads3[s].end()));
      requireClose(got[s], p);
    }
  }
}

TEST_CASE("Optimizers update several params of different sizes independently") {
  // Two params, sizes 2 and 1: each must follow its own reference trajectory.
  auto opt = Optimizer::create(adamConfig(0.05f, 0.9f, 0.999f, 1e-8f, 0.01f), {2, 1});
  std::vector<float> a = {1.0f, 2.0f}, b = {-3.0f};
  RefAdam ra{0.05, 0.9, 0.999, 1e-8, 0.01, {}, {}}, rb = ra;
  std::vector<double> pa = {1.0, 2.0}, pb = {-3.0};
  const std::vector<std::vector<float>> ga = {{0.1f, -0.2f}, {0.3f, 0.0f}}, gb = {{5.0f}, {-1.0f}};
  for (size_t s = 0; s < ga.size(); ++s) {
    float* params[] = {a.data(), b.data()};
    const float* grads[] = {ga[s].data(), gb[s].data()};
    opt->step(params, grads);
    ra.step(pa, {ga[s][0], ga[s][1]});
    rb.step(pb, {gb[s][0]});
    requireClose(a, pa);
    requireClose(b, pb);
  }
}

TEST_CASE("Optimizer: the learning rate can change between steps") {
  auto opt = Optimizer::create(sgdConfig(0.1f, 0.0f, false, 0.0f), {1});
  std::vector<float> p = {1.0f};
  const std::vector<float> g = {1.0f};
  float* params[] = {p.data()};
  const float* grads[] = {g.data()};
  opt->step(params, grads);  // 1 - 0.1 = 0.9
  opt->setLr(0.5f);
  CHECK(opt->lr() == 0.5f);
  opt->step(params, grads);  // 0.9 - 0.5 = 0.4
  CHECK(p[0] == Approx(0.4f));
  CHECK(opt->steps() == 2);
}

namespace {

// Runs the optimizer of `c` and a double reference `ref(p, g)` side by side over kGrads3.
template <class Ref>
void checkAgainst(const sinter_train_config& c, Ref ref, double tol = 2e-6) {
  const std::vector<float> p0 = {1.0f, -2.0f, 0.5f};
  auto opt = Optimizer::create(c, {3});
  const auto got = run(*opt, p0, kGrads3);
  std::vector<double> p(p0.begin(), p0.end());
  for (size_t s = 0; s < kGrads3.size(); ++s) {
    ref.step(p, std::vector<double>(kGrads3[s].begin(), kGrads3[s].end()));
    INFO("step " << s + 1);
    requireClose(got[s], p, tol);
  }
}

sinter_train_config config(int32_t kind, float lr) {
  sinter_train_config c{};
  c.optimizer = kind;
  c.lr = lr;
  return c;
}

// torch.optim.SGD with dampening, in double.
struct RefSgdDamp {
  double lr, mu, damp, wd;
  std::vector<double> buf;
  void step(std::vector<double>& p, const std::vector<double>& grad) {
    const bool first = buf.empty();
    buf.resize(p.size(), 0.0);
    for (size_t i = 0; i < p.size(); ++i) {
      const double g = grad[i] + wd * p[i];
      buf[i] = first ? g : mu * buf[i] + (1 - damp) * g;
      p[i] -= lr * buf[i];
    }
  }
};

// Adam / AdamW with optional AMSGrad, as Kingma & Ba and Loshchilov & Hutter write them, in double.
struct RefAdamFull {
  double lr, b1, b2, eps, wd;
  bool decoupled, amsgrad;
  std::vector<double> m, v, vmax;
  int t = 0;
  void step(std::vector<double>& p, const std::vector<double>& grad) {
    ++t;
    m.resize(p.size(), 0.0);
    v.resize(p.size(), 0.0);
    vmax.resize(p.size(), 0.0);
    for (size_t i = 0; i < p.size(); ++i) {
      if (decoupled) p[i] *= 1 - lr * wd;
      const double g = grad[i] + (decoupled ? 0.0 : wd * p[i]);
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      vmax[i] = std::max(vmax[i], v[i]);
      const double mHat = m[i] / (1 - std::pow(b1, t));
      const double vHat = (amsgrad ? vmax[i] : v[i]) / (1 - std::pow(b2, t));
      p[i] -= lr * mHat / (std::sqrt(vHat) + eps);
    }
  }
};

struct RefRmsProp {
  double lr, alpha, eps, wd, mu;
  bool centered;
  std::vector<double> sq, ga, buf;
  void step(std::vector<double>& p, const std::vector<double>& grad) {
    sq.resize(p.size(), 0.0);
    ga.resize(p.size(), 0.0);
    buf.resize(p.size(), 0.0);
    for (size_t i = 0; i < p.size(); ++i) {
      const double g = grad[i] + wd * p[i];
      sq[i] = alpha * sq[i] + (1 - alpha) * g * g;
      double avg = sq[i];
      if (centered) {
        ga[i] = alpha * ga[i] + (1 - alpha) * g;
        avg -= ga[i] * ga[i];
      }
      const double d = std::sqrt(avg) + eps;
      if (mu > 0) {
        buf[i] = mu * buf[i] + g / d;
        p[i] -= lr * buf[i];
      } else {
        p[i] -= lr * g / d;
      }
    }
  }
};

struct RefAdagrad {
  double lr, decay, wd, init, eps;
  std::vector<double> sum;
  int t = 0;
  void step(std::vector<double>& p, const std::vector<double>& grad) {
    ++t;
    sum.resize(p.size(), init);
    const double clr = lr / (1 + (t - 1) * decay);
    for (size_t i = 0; i < p.size(); ++i) {
      const double g = grad[i] + wd * p[i];
      sum[i] += g * g;
      p[i] -= clr * g / (std::sqrt(sum[i]) + eps);
    }
  }
};

}  // namespace

TEST_CASE("SGD with dampening: v = mu v + (1 - dampening) g after the first step") {
  // lr 0.1, mu 0.9, dampening 0.9, p0 = 1, g = 1 then 1: step 1 buf = 1, p = 0.9;
  // step 2 buf = 0.9 + 0.1 = 1.0, p = 0.8.
  auto opt = Optimizer::create(
      [] {
        auto c = sgdConfig(0.1f, 0.9f, false, 0.0f);
        c.dampening = 0.9f;
        return c;
      }(),
      {1});
  const auto traj = run(*opt, {1.0f}, {{1.0f}, {1.0f}});
  requireClose(traj[1], {0.8});
  auto c = sgdConfig(0.05f, 0.8f, false, 0.3f);
  c.dampening = 0.25f;
  checkAgainst(c, RefSgdDamp{0.05, 0.8, 0.25, 0.3, {}});
}

TEST_CASE("Adam with AMSGrad keeps the largest second moment") {
  // Element 0 sees |g| 0.5, 0.25, 0.75: v shrinks at step 2, so vmax differs from v there.
  auto c = adamConfig(0.1f, 0.9f, 0.999f, 1e-8f, 0.1f);
  c.amsgrad = 1;
  checkAgainst(c, RefAdamFull{0.1, 0.9, 0.999, 1e-8, 0.1, false, true, {}, {}, {}, 0});
}

TEST_CASE("AdamW decays the weights directly, not through the gradient") {
  // Step 1, element 0: p = 1 * (1 - 0.1 * 0.5) = 0.95, then Adam's first step moves it by lr * sign(g):
  // 0.95 - 0.1 = 0.85 (with L2 Adam it would be 0.9: the decay would vanish in the normalization).
  auto c = adamConfig(0.1f, 0.9f, 0.999f, 1e-8f, 0.5f);
  c.optimizer = SINTER_OPT_ADAMW;
  auto opt = Optimizer::create(c, {1});
  requireClose(run(*opt, {1.0f}, {{0.5f}})[0], {0.85});
  checkAgainst(c, RefAdamFull{0.1, 0.9, 0.999, 1e-8, 0.5, true, false, {}, {}, {}, 0});
  c.amsgrad = 1;
  checkAgainst(c, RefAdamFull{0.1, 0.9, 0.999, 1e-8, 0.5, true, true, {}, {}, {}, 0});
}

TEST_CASE("RMSProp: plain, with momentum, centered") {
  // Plain, step 1, element 0: sq = 0.01 * 0.25 = 0.0025, p = 1 - 0.01 * 0.5 / 0.05 = 0.9.
  auto c = config(SINTER_OPT_RMSPROP, 0.01f);
  c.alpha = 0.99f;
  c.eps = 1e-8f;
  auto opt = Optimizer::create(c, {1});
  requireClose(run(*opt, {1.0f}, {{0.5f}})[0], {0.9});
  checkAgainst(c, RefRmsProp{0.01, 0.99, 1e-8, 0, 0, false, {}, {}, {}}, 1e-5);
  c.momentum = 0.9f;
  c.weight_decay = 0.1f;
  checkAgainst(c, RefRmsProp{0.01, 0.99, 1e-8, 0.1, 0.9, false, {}, {}, {}}, 1e-5);
  c.centered = 1;
  c.alpha = 0.9f;
  checkAgainst(c, RefRmsProp{0.01, 0.9, 1e-8, 0.1, 0.9, true, {}, {}, {}}, 1e-5);
}

TEST_CASE("Adagrad: accumulated squares, lr decay, initial accumulator") {
  // Step 1, element 0: sum = 0.25, p = 1 - 0.1 * 0.5 / 0.5 = 0.9.
  auto c = config(SINTER_OPT_ADAGRAD, 0.1f);
  c.eps = 1e-10f;
  auto opt = Optimizer::create(c, {1});
  requireClose(run(*opt, {1.0f}, {{0.5f}})[0], {0.9});
  c.lr_decay = 0.5f;
  c.weight_decay = 0.2f;
  c.initial_accumulator = 0.1f;
  checkAgainst(c, RefAdagrad{0.1, 0.5, 0.2, 0.1, 1e-10, {}, 0});
}

TEST_CASE("Optimizer state buffers are named as in torch and restore a run exactly") {
  auto c = adamConfig(0.1f, 0.9f, 0.999f, 1e-8f, 0.0f);
  c.amsgrad = 1;
  auto a = Optimizer::create(c, {3});
  std::vector<float> pa = {1.0f, -2.0f, 0.5f};
  float* params[] = {pa.data()};
  const float* g0[] = {kGrads3[0].data()};
  a->step(params, g0);
  const auto st = a->state();
  REQUIRE(st.size() == 3);
  CHECK(st[0].name == "exp_avg");
  CHECK(st[2].name == "max_exp_avg_sq");
  // A fresh optimizer given a's state and step count continues exactly like a.
  auto b = Optimizer::create(c, {3});
  const auto sb = b->state();
  for (size_t i = 0; i < st.size(); ++i) std::memcpy(sb[i].data, st[i].data, 3 * sizeof(float));
  b->setSteps(a->steps());
  std::vector<float> pb = pa;
  float* paramsB[] = {pb.data()};
  const float* g1[] = {kGrads3[1].data()};
  a->step(params, g1);
  b->step(paramsB, g1);
  CHECK(pa == pb);
  CHECK(Optimizer::create(sgdConfig(0.1f, 0.0f, false, 0.0f), {3})->state().empty());
}

TEST_CASE("Schedules: constant, step, exponential, cosine and warm-up") {
  sinter_train_config c{};
  c.schedule = SINTER_SCHED_CONSTANT;
  CHECK(sinter::rt::scheduledLr(c, 0.1, 57, 3, {100, 10}) == 0.1);
  c.schedule = SINTER_SCHED_STEP;
  c.step_size = 2;
  c.gamma = 0.5f;
  CHECK(sinter::rt::scheduledLr(c, 0.1, 0, 1, {100, 10}) == Approx(0.1));   // epochs 0, 1: lr
  CHECK(sinter::rt::scheduledLr(c, 0.1, 0, 2, {100, 10}) == Approx(0.05));  // epochs 2, 3: lr * gamma
  CHECK(sinter::rt::scheduledLr(c, 0.1, 0, 5, {100, 10}) == Approx(0.025));
  c.schedule = SINTER_SCHED_EXPONENTIAL;
  CHECK(sinter::rt::scheduledLr(c, 0.1, 0, 3, {100, 10}) == Approx(0.0125));  // 0.1 * 0.5^3
  c.schedule = SINTER_SCHED_COSINE;
  c.min_lr = 0.01f;
  CHECK(sinter::rt::scheduledLr(c, 0.1, 0, 0, {100, 10}) == Approx(0.1));
  CHECK(sinter::rt::scheduledLr(c, 0.1, 50, 0, {100, 10}) == Approx(0.055));  // halfway: the mean of lr and min_lr
  CHECK(sinter::rt::scheduledLr(c, 0.1, 100, 0, {100, 10}) == Approx(0.01));
  c.warmup_steps = 4;  // warm-up multiplies: (t + 1) / 4 for t < 4
  CHECK(sinter::rt::scheduledLr(c, 0.1, 0, 0, {100, 10}) == Approx(0.025));
  CHECK(sinter::rt::scheduledLr(c, 0.1, 3, 0, {100, 10}) ==
        Approx(0.01 + 0.09 * (1 + std::cos(3.141592653589793 * 0.03)) / 2));
  c.schedule = 9;
  CHECK_THROWS(sinter::rt::scheduledLr(c, 0.1, 0, 0, {1, 1}));
}

TEST_CASE("Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_") {
  // Two grads [3] and [4, 0]: global norm 5; max 1 scales both by 1 / (5 + 1e-6).
  std::vector<float> a = {3.0f}, b = {4.0f, 0.0f};
  void* grads[] = {a.data(), b.data()};
  CHECK(sinter::rt::clipGradNorm(grads, {1, 2}, SINTER_F32, 1.0) == Approx(5.0));
  CHECK(a[0] == Approx(0.6).epsilon(1e-5));
  CHECK(b[0] == Approx(0.8).epsilon(1e-5));
  // Below the limit nothing changes.
  CHECK(sinter::rt::clipGradNorm(grads, {1, 2}, SINTER_F32, 10.0) == Approx(1.0).epsilon(1e-5));
  CHECK(a[0] == Approx(0.6).epsilon(1e-5));
}

TEST_CASE("Optimizer: bad configurations are rejected") {
  sinter_train_config c = sgdConfig(0.1f, 0.0f, false, 0.0f);
  c.optimizer = 7;
  CHECK_THROWS_WITH(Optimizer::create(c, {1}), Catch::Contains("unknown optimizer"));
  CHECK_THROWS(Optimizer::create(sgdConfig(0.1f, 0.0f, false, 0.0f), {-1}));
}

TEST_CASE("f64 params: Adam and SGD update in double and match the double references to rounding") {
  // The hyper-parameters are floats in the ABI; the references take the same float values, widened.
  const float lr = 0.1f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.01f, mu = 0.8f;
  auto adam = Optimizer::create(adamConfig(lr, b1, b2, eps, wd), {3}, SINTER_F64);
  auto sgd = Optimizer::create(sgdConfig(lr, mu, true, wd), {3}, SINTER_F64);
  CHECK(adam->dtype() == SINTER_F64);
  RefAdam refAdam{lr, b1, b2, eps, wd, {}, {}};
  RefSgd refSgd{lr, mu, wd, true, {}};
  std::vector<double> pa = {1.0, -2.0, 0.5}, pb = pa, ra = pa, rb = pa;
  for (const auto& g32 : kGrads3) {
    // A gradient that f32 cannot hold: an f32 optimizer would round it (and the params) away.
    std::vector<double> g(g32.begin(), g32.end());
    for (double& x : g) x += 1e-12;
    void* pas[] = {pa.data()};
    void* pbs[] = {pb.data()};
    const void* gs[] = {g.data()};
    adam->step(pas, gs);
    sgd->step(pbs, gs);
    refAdam.step(ra, g);
    refSgd.step(rb, g);
  }
  for (size_t i = 0; i < 3; ++i) {
    INFO("element " << i);
    CHECK(pa[i] == Approx(ra[i]).epsilon(1e-14).margin(1e-15));
    CHECK(pb[i] == Approx(rb[i]).epsilon(1e-14).margin(1e-15));
  }
  // Its state is f64 too, for checkpoints.
  for (const auto& s : adam->state()) CHECK(s.dtype == SINTER_F64);
  CHECK_THROWS(Optimizer::create(adamConfig(lr, b1, b2, eps, wd), {3}, SINTER_I32));
}
