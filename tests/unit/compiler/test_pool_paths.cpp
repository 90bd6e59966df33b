// Pooling and its gradients against the f64 interpreter, on both kernels: windows that tile the image
// (kernel = stride, no padding, the image a whole number of windows: whole vectors of windows per row,
// split into window columns by shuffles, the row's last vector masked) and the general windows (overlap,
// padding, or an image that is not a whole number of windows). Shapes cover rows of windows shorter than
// a vector, longer than one, exactly one or two vectors, windows 2, 3 and 5 wide, f64, a symbolic batch, and
// ties in the max, whose gradient goes to the window's first maximum.
// NaN and windows of -inf (no maximum) are checked on both kernels too.
#include <cmath>
#include <limits>

#include "op_cases.h"

using namespace sinter;
using ir::Op;
using namespace sinter::test::ops;

namespace {

struct PoolShape {
  std::int64_t C, H, W, k0, k1, s0, s1, p0, p1, images;  // images 0: a symbolic batch
};

bool tiles(const PoolShape& s) {
  return s.p0 == 0 && s.p1 == 0 && s.k0 == s.s0 && s.k1 == s.s1 && s.H % s.k0 == 0 && s.W % s.k1 == 0;
}

// y = pool(x * w) with the input x [n, C, H, W] and the parameter w [H, W]: the train step runs the pool's
// gradient, and w's gradient Σ_n,c dy_pool x shows which element of each window received dy. With `ties`,
// x is rounded to integers and w is 1, so that most windows hold their maximum more than once.
void check(Op op, const PoolShape& s, ir::DType dtype, bool ties) {
  INFO(ir::opName(op) << " C " << s.C << " " << s.H << "x" << s.W << " kernel " << s.k0 << "x" << s.k1 << " stride "
                      << s.s0 << "," << s.s1 << " padding " << s.p0 << "," << s.p1 << " images " << s.images
                      << (dtype == ir::DType::F64 ? " f64" : " f32") << (ties ? " ties" : ""));
  Builder b;
  const ir::Dim n = s.images ? test::d(s.images) : test::batch();
  const ir::NodeId x = b.g.addInput("x", {dtype, {n, test::d(s.C), test::d(s.H), test::d(s.W)}});
  const ir::NodeId w = b.g.addParam("w", {dtype, {test::d(s.H), test::d(s.W)}}, {});
  const ir::NodeId y =
      b.op(op, {b.op(Op::Mul, {x, w})},
           attrs({{"kernel", Ints{s.k0, s.k1}}, {"stride", Ints{s.s0, s.s1}}, {"padding", Ints{s.p0, s.p1}}}));
  ir::Module m = test::makeModule(wrap(b, y));
  int grads = 0;
  for (const ir::Node& node : m.trainStep.nodes) grads += node.op == Op::MaxPool2DGrad || node.op == Op::AvgPool2DGrad;
  REQUIRE(grads == 1);
  auto args = argsFor(b, 7);
  if (ties) {
    std::int64_t equalNeighbours = 0;
    std::vector<double>& xs = args.at("x").data;
    for (double& v : xs) v = std::round(v);
    for (std::size_t k = 1; k < xs.size(); ++k) equalNeighbours += xs[k] == xs[k - 1];
    REQUIRE(equalNeighbours > static_cast<std::int64_t>(xs.size()) / 4);
    for (double& v : args.at("w").data) v = 1;
  }
  auto jit = test::compileJit(m, {});
  const double eps = dtype == ir::DType::F64 ? 1e-12 : 1e-4;
  test::compareWithInterpreter(m.forward, jit->descriptor()->forward, args, {3}, eps, eps, {false, 0});
  test::compareWithInterpreter(m.trainStep, jit->descriptor()->train_step, args, {3}, eps, eps, {true, 1});
}

void checkBoth(const PoolShape& s, bool tiled) {
  CHECK(tiles(s) == tiled);
  for (ir::DType dtype : {ir::DType::F32, ir::DType::F64}) {
    check(Op::MaxPool2D, s, dtype, false);
    check(Op::MaxPool2D, s, dtype, true);
    check(Op::AvgPool2D, s, dtype, false);
  }
}

}  // namespace

TEST_CASE("pooling whose windows tile the image matches the interpreter, ties included") {
  // The CNN's first pool: rows of 14 windows (one masked vector with 16 lanes, 8 and a masked 6 with 8).
  checkBoth({2, 28, 28, 2, 2, 2, 2, 0, 0, 3}, true);
  // The CNN's second: rows of 5 windows, a vector of 8 lanes.
  checkBoth({3, 10, 10, 2, 2, 2, 2, 0, 0, 2}, true);
  // Rows of 37 windows: whole vectors, then a masked one; one input row per window.
  checkBoth({2, 3, 74, 1, 2, 1, 2, 0, 0, 2}, true);
  // Rows of exactly 16 windows: no masked vector.
  checkBoth({1, 4, 32, 2, 2, 2, 2, 0, 0, 2}, true);
  // Windows 3 and 5 wide (and 3 and 2 high): input rows split into 3 or 5 window columns.
  checkBoth({2, 6, 15, 3, 5, 3, 5, 0, 0, 2}, true);
  checkBoth({2, 4, 27, 2, 3, 2, 3, 0, 0, 2}, true);
  // A symbolic batch (run with 3 images).
  checkBoth({2, 12, 18, 2, 2, 2, 2, 0, 0, 0}, true);
}

TEST_CASE("pooling with overlapping, padded or leftover windows matches the interpreter, ties included") {
  checkBoth({2, 11, 10, 3, 3, 2, 2, 1, 1, 2}, false);  // overlap and padding
  checkBoth({2, 7, 9, 2, 2, 2, 2, 0, 0, 2}, false);    // a row and a column left over
  checkBoth({2, 8, 9, 2, 3, 2, 3, 0, 1, 0}, false);    // padding on one axis only, a symbolic batch
}

namespace {

// The element k of x [images, C, H, W] of plane pl at (h, w).
std::size_t xAt(const PoolShape& s, std::int64_t pl, std::int64_t h, std::int64_t w) {
  return static_cast<std::size_t>((pl * s.H + h) * s.W + w);
}

// max_pool2d and max_pool2d_grad on x holding a window of -inf (no maximum: the pool gives -inf, the
// gradient drops that window's dy) and NaNs (the maximum, as in PyTorch), compiled against the interpreter.
// (h0, w0): the top-left element of the window made all -inf, which no other window may cover wholly.
void checkNonFinite(const PoolShape& s, std::int64_t h0, std::int64_t w0) {
  const std::int64_t OH = (s.H + 2 * s.p0 - s.k0) / s.s0 + 1, OW = (s.W + 2 * s.p1 - s.k1) / s.s1 + 1;
  const Attrs a = attrs({{"kernel", Ints{s.k0, s.k1}}, {"stride", Ints{s.s0, s.s1}}, {"padding", Ints{s.p0, s.p1}}});
  for (const Op op : {Op::MaxPool2D, Op::MaxPool2DGrad}) {
    INFO(ir::opName(op) << (tiles(s) ? " tiled" : " general"));
    Builder b;
    const ir::TensorType xT = test::f32({d(s.images), d(s.C), d(s.H), d(s.W)});
    const ir::NodeId x = b.g.addInput("x", xT);
    const ir::NodeId y = op == Op::MaxPool2D
                             ? b.op(op, {x}, a)
                             : b.typed(op, {b.P("dy", {d(s.images), d(s.C), d(OH), d(OW)}), x}, xT, a);
    ir::Module m;  // forward only: max_pool2d_grad has no gradient of its own
    m.forward = wrap(b, y);
    m.name = m.forward.name;
    auto args = argsFor(b, 11);
    std::vector<double>& xs = args.at("x").data;
    const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
    for (std::int64_t kh = 0; kh < s.k0; ++kh)
      for (std::int64_t kw = 0; kw < s.k1; ++kw) xs[xAt(s, 0, h0 + kh, w0 + kw)] = -inf;
    xs[xAt(s, 1, 0, 1)] = nan;                // a NaN after a finite element of its window
    xs[xAt(s, 1, s.H - 1, s.W - 1)] = nan;    // and in the last window
    xs[xAt(s, 1, s.H - 1, s.W - 2)] = -inf;   // beside a -inf
    auto jit = test::compileJit(m, {});
    auto expect = ir::interpret(m.forward, args, {false, 0});
    auto got = test::runEntry(jit->descriptor()->forward, m.forward, args, {});
    REQUIRE(got.at(0).size() == expect.at(0).data.size());
    std::int64_t nans = 0, infs = 0;
    for (std::size_t k = 0; k < got[0].size(); ++k) {
      INFO("element " << k);
      const double e = expect[0].data[k];
      nans += std::isnan(e);
      infs += std::isinf(e);
      if (std::isnan(e)) CHECK(std::isnan(got[0][k]));
      else if (std::isinf(e)) CHECK(got[0][k] == e);
      else CHECK(got[0][k] == Approx(e).epsilon(1e-6).margin(1e-6));
    }
    // The pool shows the NaNs (in two windows or more) and the -inf window; the gradient is finite.
    CHECK((op == Op::MaxPool2D ? nans >= 2 : nans == 0));
    CHECK(infs == (op == Op::MaxPool2D ? 1 : 0));
    if (op == Op::MaxPool2DGrad) {  // the -inf window's dy went nowhere: its elements are 0 where no other window has them
      CHECK(got[0][xAt(s, 0, h0 + s.k0 - 1, w0 + s.k1 - 1)] == 0);
      CHECK(got[0][0] == Approx(expect[0].data[0]));
    }
  }
}

}  // namespace

TEST_CASE("max pooling of NaN and of a window of -inf matches the interpreter on both kernels") {
  checkNonFinite({2, 6, 4, 2, 2, 2, 2, 0, 0, 2}, 2, 0);  // tiled: the window at (2, 0)
  checkNonFinite({2, 7, 9, 3, 3, 2, 2, 1, 1, 2}, 1, 1);             // general: the window at (1, 1), with padding
}
