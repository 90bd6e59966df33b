// Parameter initialization: the documented draw formulas, bounds, and determinism for a seed.
#include "runtime/init.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <deque>
#include <vector>

using namespace sinter::rt;

namespace {

sinter_tensor_desc param(const char* name, const std::vector<int64_t>& dims, int32_t init, float a = 0, float b = 0) {
  // The dims vector must outlive the desc: keep them in a static pool.
  static std::deque<std::vector<int64_t>> pool;  // deque: elements never move
  pool.push_back(dims);
  return sinter_tensor_desc{name, SINTER_F32, static_cast<int32_t>(dims.size()), pool.back().data(), init, a, b};
}

std::vector<float> draw(const sinter_tensor_desc& t, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(fixedElementCount(t)));
  std::mt19937_64 rng(seed);
  initTensor(t, rng, v.data());
  return v;
}

}  // namespace

TEST_CASE("init: uniform draws follow the documented formula (top 24 bits of mt19937_64)") {
  const auto t = param("u", {3}, SINTER_INIT_UNIFORM, -1.0f, 3.0f);
  const auto v = draw(t, 123);
  std::mt19937_64 rng(123);
  for (float x : v) {
    const double u = static_cast<double>(rng() >> 40) / 16777216.0;
    CHECK(x == static_cast<float>(-1.0 + 4.0 * u));
  }
}

TEST_CASE("init: one seed gives the same values, another seed others") {
  const auto t = param("w", {8, 4}, SINTER_INIT_HE_NORMAL);
  CHECK(draw(t, 5) == draw(t, 5));
  CHECK(draw(t, 5) != draw(t, 6));
}

TEST_CASE("init: constant kinds") {
  CHECK(draw(param("z", {2, 2}, SINTER_INIT_ZEROS), 1) == std::vector<float>(4, 0.0f));
  CHECK(draw(param("o", {3}, SINTER_INIT_ONES), 1) == std::vector<float>(3, 1.0f));
  CHECK(draw(param("c", {2}, SINTER_INIT_CONSTANT, 0.25f), 1) == std::vector<float>(2, 0.25f));
}

TEST_CASE("init: glorot and lecun bounds use fan_in = dims[0], fan_out = dims[1]") {
  // [100, 50]: glorot l = sqrt(6 / 150) = 0.2; lecun l = 1 / sqrt(100) = 0.1.
  const auto glorot = draw(param("g", {100, 50}, SINTER_INIT_GLOROT_UNIFORM), 9);
  const auto lecun = draw(param("l", {100, 50}, SINTER_INIT_LECUN_UNIFORM), 9);
  float gMax = 0, lMax = 0;
  for (float x : glorot) gMax = std::max(gMax, std::abs(x));
  for (float x : lecun) lMax = std::max(lMax, std::abs(x));
  CHECK(gMax < 0.2f);
  CHECK(gMax > 0.19f);  // 5000 draws reach close to the bound
  CHECK(lMax < 0.1f);
  CHECK(lMax > 0.095f);
  int64_t in = 0, out = 0;
  computeFans(param("b", {7}, SINTER_INIT_ZEROS), in, out);
  CHECK((in == 7 && out == 7));
  computeFans(param("k", {3, 3, 2, 8}, SINTER_INIT_ZEROS), in, out);
  CHECK((in == 18 && out == 72));
}

TEST_CASE("init: normal kinds have the requested mean and spread") {
  // he_normal on [200, 100]: std = sqrt(2 / 200) = 0.1.
  const auto he = draw(param("h", {200, 100}, SINTER_INIT_HE_NORMAL), 3);
  const auto n = draw(param("n", {20000}, SINTER_INIT_NORMAL, 2.0f, 0.5f), 3);
  auto stats = [](const std::vector<float>& v, double& mean, double& sd) {
    double s = 0, s2 = 0;
    for (float x : v) s += x;
    mean = s / v.size();
    for (float x : v) s2 += (x - mean) * (x - mean);
    sd = std::sqrt(s2 / v.size());
  };
  double mean = 0, sd = 0;
  stats(he, mean, sd);
  CHECK(std::abs(mean) < 0.005);
  CHECK(sd == Approx(0.1).epsilon(0.03));
  stats(n, mean, sd);
  CHECK(mean == Approx(2.0).epsilon(0.01));
  CHECK(sd == Approx(0.5).epsilon(0.03));
}

TEST_CASE("init: initParams fills params in order from one seeded engine") {
  const sinter_tensor_desc params[] = {param("a", {2, 3}, SINTER_INIT_GLOROT_UNIFORM), param("b", {3}, SINTER_INIT_ZEROS),
                                       param("c", {4}, SINTER_INIT_UNIFORM, 0.0f, 1.0f)};
  sinter_model_desc m{};
  m.num_params = 3;
  m.params = params;
  std::vector<float> a(6), b(3, 7.0f), c(4);
  float* ptrs[] = {a.data(), b.data(), c.data()};
  initParams(m, 11, ptrs);
  // The same draws by hand: a consumes 6 draws, b none, c the next 4.
  std::mt19937_64 rng(11);
  std::vector<float> ea(6), ec(4);
  initTensor(params[0], rng, ea.data());
  initTensor(params[2], rng, ec.data());
  CHECK(a == ea);
  CHECK(b == std::vector<float>(3, 0.0f));
  CHECK(c == ec);
}

TEST_CASE("init: invalid descriptions are rejected") {
  std::mt19937_64 rng(1);
  std::vector<float> v(4);
  CHECK_THROWS_WITH(initTensor(param("w", {4}, 99), rng, v.data()), Catch::Contains("'w'"));
  CHECK_THROWS(initTensor(param("u", {4}, SINTER_INIT_UNIFORM, 1.0f, 0.0f), rng, v.data()));
  CHECK_THROWS_WITH(fixedElementCount(param("s", {-1, 4}, SINTER_INIT_ZEROS)), Catch::Contains("symbolic"));
}
