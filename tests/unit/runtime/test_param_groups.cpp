// Param groups (torch.optim's): each group's params follow its own hyper-parameters, against arithmetic
// done by hand in the comments; the grouped optimizer's state, step count and non-finite check speak of
// the model's params.
#include "runtime/optimizer.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

using sinter::rt::Optimizer;
using sinter::rt::ParamGroup;

namespace {

sinter_train_config config(int32_t kind, float lr, float wd) {
  sinter_train_config c{};
  c.optimizer = kind;
  c.lr = lr;
  c.weight_decay = wd;
  c.beta1 = 0.9f;
  c.beta2 = 0.999f;
  c.eps = 1e-8f;
  return c;
}

// A group of `params` with the train config's settings but lr and weight_decay.
ParamGroup group(const sinter_train_config& base, std::vector<int32_t> params, float lr, float wd) {
  sinter_train_config c = base;
  c.lr = lr;
  c.weight_decay = wd;
  return {c, std::move(params), static_cast<double>(lr) / base.lr};
}

}  // namespace

TEST_CASE("Param groups: SGD with another rate and weight decay for one param") {
  const sinter_train_config c = config(SINTER_OPT_SGD, 0.1f, 0.0f);
  auto opt = Optimizer::create(c, {2, 1}, SINTER_F32, {group(c, {1}, 0.5f, 0.1f)});
  std::vector<float> p0 = {1.0f, 2.0f}, p1 = {3.0f};
  const std::vector<float> g0 = {1.0f, 1.0f}, g1 = {2.0f};
  float* params[] = {p0.data(), p1.data()};
  const float* grads[] = {g0.data(), g1.data()};
  opt->step(params, grads);
  // p0 -= 0.1 * g0; p1 -= 0.5 * (g1 + 0.1 * p1) = 3 - 0.5 * 2.3.
  CHECK(p0[0] == Approx(0.9));
  CHECK(p0[1] == Approx(1.9));
  CHECK(p1[0] == Approx(1.85));
  // setLr(0.2) doubles every group's rate with its ratio (5): p1 -= 1.0 * (2 + 0.185).
  opt->setLr(0.2f);
  CHECK(opt->lr() == 0.2f);
  opt->step(params, grads);
  CHECK(p0[0] == Approx(0.7));
  CHECK(p1[0] == Approx(-0.335));
  // setLrs gives each group rate(its ratio): 0 for the params in no group, 0.1 * 5 for the group.
  opt->setLrs([](double ratio) { return ratio == 1.0 ? 0.0 : 0.1 * ratio; });
  opt->step(params, grads);
  CHECK(p0[0] == Approx(0.7));
  CHECK(p1[0] == Approx(-0.335 - 0.5 * (2 - 0.0335)));
}

TEST_CASE("Param groups: AdamW without weight decay for the group, as torch's no-decay group") {
  // The first Adam step moves each weight by lr against its gradient's sign (m_hat / sqrt(v_hat) = sign g,
  // up to eps); AdamW first multiplies the weight by 1 - lr * weight_decay.
  const sinter_train_config c = config(SINTER_OPT_ADAMW, 0.01f, 0.5f);
  auto opt = Optimizer::create(c, {1, 1, 1}, SINTER_F32, {group(c, {0, 2}, 0.01f, 0.0f)});
  std::vector<float> a = {2.0f}, b = {2.0f}, d = {-4.0f};
  const std::vector<float> ga = {0.3f}, gb = {0.3f}, gd = {-7.0f};
  float* params[] = {a.data(), b.data(), d.data()};
  const float* grads[] = {ga.data(), gb.data(), gd.data()};
  opt->step(params, grads);
  CHECK(a[0] == Approx(2.0 - 0.01).epsilon(1e-6));                     // grouped: no decay
  CHECK(b[0] == Approx(2.0 * (1 - 0.01 * 0.5) - 0.01).epsilon(1e-6));  // ungrouped: decayed
  CHECK(d[0] == Approx(-4.0 + 0.01).epsilon(1e-6));
}

TEST_CASE("Param groups: the state is the model's, by kind then param, and restores a run exactly") {
  const sinter_train_config c = config(SINTER_OPT_ADAM, 0.01f, 0.0f);
  const std::vector<ParamGroup> groups = {group(c, {0}, 0.001f, 0.1f)};
  auto a = Optimizer::create(c, {2, 3}, SINTER_F32, groups);
  const auto st = a->state();
  REQUIRE(st.size() == 4);
  CHECK((st[0].name == "exp_avg" && st[0].param == 0));
  CHECK((st[1].name == "exp_avg" && st[1].param == 1));
  CHECK((st[2].name == "exp_avg_sq" && st[2].param == 0));
  CHECK((st[3].name == "exp_avg_sq" && st[3].param == 1));
  std::vector<float> p0 = {1.0f, -1.0f}, p1 = {0.5f, 0.25f, -2.0f};
  const std::vector<float> g0 = {0.1f, 0.2f}, g1 = {-0.3f, 0.4f, 0.5f};
  float* params[] = {p0.data(), p1.data()};
  const float* grads[] = {g0.data(), g1.data()};
  a->step(params, grads);
  auto b = Optimizer::create(c, {2, 3}, SINTER_F32, groups);
  const auto sb = b->state();
  const int64_t sizes[] = {2, 3};
  for (size_t i = 0; i < st.size(); ++i)
    std::memcpy(sb[i].data, st[i].data, static_cast<size_t>(sizes[st[i].param]) * sizeof(float));
  b->setSteps(a->steps());
  std::vector<float> q0 = p0, q1 = p1;
  float* paramsB[] = {q0.data(), q1.data()};
  a->step(params, grads);
  b->step(paramsB, grads);
  CHECK(p0 == q0);
  CHECK(p1 == q1);
  CHECK(b->steps() == 2);
}

TEST_CASE("Param groups: a non-finite update is reported by the model's param index") {
  const sinter_train_config c = config(SINTER_OPT_SGD, 0.1f, 0.0f);
  auto opt = Optimizer::create(c, {1, 1, 1}, SINTER_F32, {group(c, {1, 2}, 0.2f, 0.0f)});
  std::vector<float> p0 = {1.0f}, p1 = {1.0f}, p2 = {1.0f};
  const std::vector<float> g0 = {1.0f}, g1 = {1.0f}, g2 = {std::numeric_limits<float>::infinity()};
  float* params[] = {p0.data(), p1.data(), p2.data()};
  const float* grads[] = {g0.data(), g1.data(), g2.data()};
  opt->step(params, grads);
  CHECK(opt->nonFiniteParam() == 2);
}

TEST_CASE("Param groups: a param out of range or in two groups is refused") {
  const sinter_train_config c = config(SINTER_OPT_SGD, 0.1f, 0.0f);
  CHECK_THROWS_AS(Optimizer::create(c, {1, 1}, SINTER_F32, {group(c, {2}, 0.1f, 0.0f)}), std::invalid_argument);
  CHECK_THROWS_AS(Optimizer::create(c, {1, 1}, SINTER_F32, {group(c, {0}, 0.1f, 0.0f), group(c, {0}, 0.2f, 0.0f)}),
                  std::invalid_argument);
}

TEST_CASE("Param groups from a descriptor: indices, ratios and malformed tables") {
  sinter_model_desc m{};
  m.name = "M";
  m.num_params = 3;
  m.train = config(SINTER_OPT_ADAMW, 0.01f, 0.1f);
  sinter_param_group groups[2] = {{"no_decay", m.train}, {"head", m.train}};
  groups[0].config.weight_decay = 0;
  groups[1].config.lr = 0.05f;
  int32_t of[3] = {1, -1, 0};
  m.num_param_groups = 2;
  m.param_groups = groups;
  m.param_group = of;
  const std::vector<ParamGroup> out = sinter::rt::paramGroupsOf(m);
  REQUIRE(out.size() == 2);
  CHECK(out[0].params == std::vector<int32_t>{2});
  CHECK(out[1].params == std::vector<int32_t>{0});
  CHECK(out[0].lrRatio == 1.0);
  CHECK(out[1].lrRatio == Approx(5.0));
  CHECK(out[0].config.weight_decay == 0.0f);
  of[1] = 2;
  CHECK_THROWS_WITH(sinter::rt::paramGroupsOf(m), Catch::Contains("param 1 is in param group 2 of 2"));
  of[1] = -1;
  groups[1].config.optimizer = SINTER_OPT_SGD;
  CHECK_THROWS_WITH(sinter::rt::paramGroupsOf(m), Catch::Contains("param group 1 has another optimizer"));
  m.num_param_groups = 0;
  CHECK(sinter::rt::paramGroupsOf(m).empty());
}
