// Parameter initialization: the documented draw formulas, bounds, and determinism for a seed.
#include "runtime/init.h"
#include "runtime/philox.h"

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
  initTensor(t, seed, 0, v.data());
  return v;
}

}  // namespace

TEST_CASE("philox: Random123's known-answer vectors for philox4x32_10") {
  CHECK(philox({0, 0, 0, 0}, 0) == PhiloxBlock{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  CHECK(philox({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, 0xffffffffffffffffull) ==
        PhiloxBlock{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
  CHECK(philox({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, 0x299f31d0a4093822ull) ==
        PhiloxBlock{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
}

TEST_CASE("init: uniform draws follow the documented formula (top 24 bits of the element's Philox block)") {
  const auto t = param("u", {3}, SINTER_INIT_UNIFORM, -1.0f, 3.0f);
  const auto v = draw(t, 123);
  for (uint64_t k = 0; k < v.size(); ++k) {
    const double u = static_cast<double>(philox({static_cast<uint32_t>(k), 0, 0, 0}, 123)[0] >> 8) / 16777216.0;
    CHECK(v[k] == static_cast<float>(-1.0 + 4.0 * u));
  }
}

TEST_CASE("init: a prefix of a param is the same whatever the param's size (counter-based)") {
  const auto small = draw(param("w", {5}, SINTER_INIT_NORMAL, 0.0f, 1.0f), 42);
  const auto big = draw(param("w", {1000}, SINTER_INIT_NORMAL, 0.0f, 1.0f), 42);
  for (size_t k = 0; k < 4; ++k) CHECK(small[k] == big[k]);  // element 4 is the cos half of pair 2 in both
  CHECK(small[4] == big[4]);
}

TEST_CASE("init: glorot_normal and he_uniform") {
  const auto hu = draw(param("hu", {24, 50}, SINTER_INIT_HE_UNIFORM), 2);  // l = sqrt(6 / 24) = 0.5
  float m = 0;
  for (float x : hu) m = std::max(m, std::abs(x));
  CHECK(m < 0.5f);
  CHECK(m > 0.48f);
  const auto gn = draw(param("gn", {150, 50}, SINTER_INIT_GLOROT_NORMAL), 2);  // std = sqrt(2 / 200) = 0.1
  double s2 = 0;
  for (float x : gn) s2 += static_cast<double>(x) * x;
  CHECK(std::sqrt(s2 / gn.size()) == Approx(0.1).epsilon(0.03));
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
  // conv2d filters [out 8, in 2, 3, 3], as torch.nn.Conv2d computes them: fan_in = 2*3*3, fan_out = 8*3*3.
  computeFans(param("k", {8, 2, 3, 3}, SINTER_INIT_ZEROS), in, out);
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

TEST_CASE("init: initParams gives param i stream i") {
  const sinter_tensor_desc params[] = {param("a", {2, 3}, SINTER_INIT_GLOROT_UNIFORM),
                                       param("b", {3}, SINTER_INIT_ZEROS),
                                       param("c", {4}, SINTER_INIT_UNIFORM, 0.0f, 1.0f)};
  sinter_model_desc m{};
  m.num_params = 3;
  m.params = params;
  std::vector<float> a(6), b(3, 7.0f), c(4);
  void* ptrs[] = {a.data(), b.data(), c.data()};
  initParams(m, 11, ptrs);
  std::vector<float> ea(6), ec(4);
  initTensor(params[0], 11, 0, ea.data());
  initTensor(params[2], 11, 2, ec.data());
  CHECK(a == ea);
  CHECK(b == std::vector<float>(3, 0.0f));
  CHECK(c == ec);
}

TEST_CASE("init: SINTER_INIT_DATA copies the model's values for its param, the others draw as before") {
  const sinter_tensor_desc params[] = {param("given", {2, 2}, SINTER_INIT_DATA), param("drawn", {3}, SINTER_INIT_ONES)};
  const float values[] = {1.5f, -2, 0.25f, 8};
  const void* data[] = {values, nullptr};
  sinter_model_desc m{};
  m.num_params = 2;
  m.params = params;
  m.param_init_data = data;
  std::vector<float> a(4), b(3);
  void* ptrs[] = {a.data(), b.data()};
  initParams(m, 5, ptrs);
  CHECK(a == std::vector<float>{1.5f, -2, 0.25f, 8});
  CHECK(b == std::vector<float>(3, 1.0f));
  // A data param without its values (a malformed descriptor) is an error naming it, never a read of nothing.
  m.param_init_data = nullptr;
  CHECK_THROWS_WITH(initParams(m, 5, ptrs), Catch::Contains("'given'"));
}

TEST_CASE("init: invalid descriptions are rejected") {
  std::vector<float> v(4);
  CHECK_THROWS_WITH(initTensor(param("w", {4}, 99), 1, 0, v.data()), Catch::Contains("'w'"));
  CHECK_THROWS(initTensor(param("u", {4}, SINTER_INIT_UNIFORM, 1.0f, 0.0f), 1, 0, v.data()));
  CHECK_THROWS_WITH(fixedElementCount(param("s", {-1, 4}, SINTER_INIT_ZEROS)), Catch::Contains("symbolic"));
}
