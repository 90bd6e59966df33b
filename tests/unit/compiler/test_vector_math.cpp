// The f32 exp, log, log1p, tanh and erf that generated code computes inline (compiler/codegen/vector_math.cpp)
// against libm in double precision, over sweeps of the whole range, and their special values exactly. erf is
// not an op of its own: it is checked through gelu and gelu_grad, the two ops that use it.
#include <cmath>
#include <limits>
#include <numbers>

#include "jit_harness.h"

using namespace sinter;
using ir::Op;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// exp, log, tanh, sigmoid, softplus and gelu of one input vector, and gelu_grad with dy = 1, compiled, at
// the given points.
std::map<std::string, std::vector<double>> evaluate(const std::vector<double>& xs) {
  ir::Graph g;
  g.name = "VectorMath";
  auto x = g.addInput("x", test::f32({test::batch()}));
  auto ones = g.addInput("ones", test::f32({test::batch()}));
  for (Op op : {Op::Exp, Op::Log, Op::Tanh, Op::Sigmoid, Op::Softplus, Op::Gelu})
    g.results.push_back({std::string(ir::opName(op)), g.addOp(op, {x}), ir::Result::Output});
  g.results.push_back({"gelu_grad", g.addOp(Op::GeluGrad, {ones, x}), ir::Result::Output});
  ir::Module m;
  m.name = g.name;
  m.forward = g;
  auto jit = test::compileJit(m, {});
  ir::Tensor in = ir::Tensor::zeros({static_cast<std::int64_t>(xs.size())});
  in.data = xs;
  ir::Tensor one = ir::Tensor::zeros({static_cast<std::int64_t>(xs.size())});
  one.data.assign(xs.size(), 1.0);
  const auto out = test::runEntry(jit->descriptor()->forward, m.forward, {{"x", in}, {"ones", one}},
                                  {static_cast<std::int64_t>(xs.size())});
  std::map<std::string, std::vector<double>> r;
  for (std::size_t i = 0; i < g.results.size(); ++i) r[g.results[i].name] = out[i];
  return r;
}

std::vector<double> sweep(double lo, double hi, int n) {
  std::vector<double> v;
  for (int i = 0; i <= n; ++i) v.push_back(static_cast<double>(static_cast<float>(lo + (hi - lo) * i / n)));
  return v;
}

// |got - want| within `ulps` units in the last place of a float at want's magnitude (or `floor`).
void requireClose(const char* what, const std::vector<double>& xs, const std::vector<double>& got,
                  double (*ref)(double), double ulps, double floor = 0) {
  double worst = 0, at = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double want = ref(xs[i]);
    const double tol = std::max(ulps * std::ldexp(1.0, std::ilogb(std::max(std::abs(want), 1e-37)) - 23), floor);
    const double err = std::abs(got[i] - want) / tol;
    if (err > worst) worst = err, at = xs[i];
  }
  INFO(what << ": worst error " << worst << " of the tolerance, at x = " << at);
  CHECK(worst <= 1.0);
}

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }
double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }
double logd(double x) { return std::log(x); }
double expd(double x) { return std::exp(x); }
double tanhd(double x) { return std::tanh(x); }
double phi(double x) { return 0.5 * (1 + std::erf(x / std::sqrt(2.0))); }  // the normal distribution's CDF
double gelu(double x) { return x * phi(x); }
double geluGrad(double x) { return phi(x) + x * std::exp(-0.5 * x * x) / std::sqrt(2 * std::numbers::pi); }

}  // namespace

TEST_CASE("inline f32 exp, tanh, sigmoid and softplus are within a few ulp of libm") {
  std::vector<double> xs = sweep(-87, 88.7, 40000);
  for (double x : sweep(-1e-3, 1e-3, 2000)) xs.push_back(x);
  const auto r = evaluate(xs);
  requireClose("exp", xs, r.at("exp"), expd, 2);
  requireClose("tanh", xs, r.at("tanh"), tanhd, 2, 1e-45);
  requireClose("sigmoid", xs, r.at("sigmoid"), sigmoid, 4, 1e-38);
  requireClose("softplus", xs, r.at("softplus"), softplus, 4, 1e-38);
}

// Gelu's Φ is (1 + erf) / 2 in f32, so the error of erf shows up halved, next to the roundings of x / √2,
// of 1 + erf and of the product. For x < 0, 1 + erf cancels: there the error is absolute, against an ulp of 1.
TEST_CASE("gelu and gelu_grad through the inline f32 erf are within a few ulp of libm") {
  std::vector<double> xs = sweep(0, 12, 40000);
  for (double x : sweep(0, 1e-3, 2000)) xs.push_back(x);
  auto r = evaluate(xs);
  requireClose("gelu, x >= 0", xs, r.at("gelu"), gelu, 4, 1e-45);
  requireClose("gelu_grad, x >= 0", xs, r.at("gelu_grad"), geluGrad, 4);
  xs = sweep(-12, 0, 40000);
  r = evaluate(xs);
  requireClose("gelu, x < 0", xs, r.at("gelu"), gelu, 4, 12 * 0x1p-24);
  requireClose("gelu_grad, x < 0", xs, r.at("gelu_grad"), geluGrad, 4, 0x1p-24);
}

TEST_CASE("inline f32 log is within a few ulp of libm, subnormals included") {
  std::vector<double> xs;
  for (int e = -149; e <= 127; ++e)
    for (double m : {1.0, 1.1, 1.3, 1.41421, 1.5, 1.7, 1.99})
      xs.push_back(static_cast<double>(static_cast<float>(std::ldexp(m, e))));
  for (double x : sweep(0.5, 2.0, 20000)) xs.push_back(x);
  const auto r = evaluate(xs);
  // Near x = 1 the result is near 0: there the error is measured against one ulp of 1e-7 (absolute).
  requireClose("log", xs, r.at("log"), logd, 2, 2e-14);
}

TEST_CASE("inline f32 math keeps infinities, zeros and NaN") {
  const std::vector<double> xs = {kNaN, kInf, -kInf, 0.0, -0.0, 100.0, -100.0, -1.0, 20.0, -20.0};
  const auto r = evaluate(xs);
  const auto& e = r.at("exp");
  CHECK(std::isnan(e[0]));
  CHECK(e[1] == kInf);
  CHECK(e[2] == 0.0);
  CHECK(e[3] == 1.0);
  CHECK(e[5] == kInf);
  CHECK(e[6] == 0.0);
  const auto& l = r.at("log");
  CHECK(std::isnan(l[0]));
  CHECK(l[1] == kInf);
  CHECK(std::isnan(l[2]));
  CHECK(l[3] == -kInf);
  CHECK(std::isnan(l[7]));
  const auto& t = r.at("tanh");
  CHECK(std::isnan(t[0]));
  CHECK(t[1] == 1.0);
  CHECK(t[2] == -1.0);
  CHECK(t[8] == 1.0);
  CHECK(t[9] == -1.0);
  CHECK(std::isnan(r.at("sigmoid")[0]));
  CHECK(r.at("sigmoid")[6] == 0.0);
  CHECK(r.at("softplus")[5] == 100.0);
  // erf saturates to ±1: gelu(x) is x far right and 0 far left; gelu_grad is 1 and 0 there.
  const auto& g = r.at("gelu");
  CHECK(std::isnan(g[0]));
  CHECK(g[1] == kInf);
  CHECK(std::isnan(g[2]));  // -inf · Φ(-inf) = -inf · 0, as libm's erf gives too
  CHECK(g[3] == 0.0);
  CHECK(std::signbit(g[4]));
  CHECK(g[5] == 100.0);
  CHECK(g[6] == 0.0);
  CHECK(g[8] == 20.0);
  const auto& gg = r.at("gelu_grad");
  CHECK(std::isnan(gg[0]));
  CHECK(gg[3] == 0.5);
  CHECK(gg[5] == 1.0);
  CHECK(gg[6] == 0.0);
}
