// The losses at extreme logits (±1000, ±30), where a naive formula overflows or loses everything to
// rounding: the reference interpreter and the generated code (f32 and f64) against values derived by hand,
// for the loss and for its gradient with respect to the logits; and second order through each loss.
#include <cmath>

#include "compiler/autodiff/gradcheck.h"
#include "jit_harness.h"

using namespace sinter;
using ir::Op;

namespace {

struct LossCase {
  const char* name;
  Op op;
  std::vector<std::int64_t> shape;
  std::vector<double> x, targets;  // for cross_entropy: the targets are class labels
  double loss;
  std::vector<double> grad;  // d loss / d x
};

const double kE30 = std::exp(-30.0);              // e^-30 ≈ 9.4e-14: what a logit of ±30 leaves after rounding
const double kSig30 = 1 / (1 + std::exp(-30.0));  // σ(30)

std::vector<LossCase> cases() {
  return {
      // Per element max(x, 0) - x t + log1p(e^-|x|): 0, 0, 1000, 1000, 30 + e^-30 (twice), log 2, e^-30.
      // dx = (σ(x) - t) / 8: σ(±1000) is exactly 1 or 0.
      {"bce_with_logits",
       Op::BceWithLogits,
       {2, 4},
       {1000, -1000, 1000, -1000, 30, -30, 0, 30},
       {1, 0, 0, 1, 0, 1, 0.5, 1},
       (2000 + 60 + 3 * std::log1p(kE30) + std::log(2.0)) / 8,
       {0, 0, 1.0 / 8, -1.0 / 8, kSig30 / 8, -kSig30 / 8, 0, (kSig30 - 1) / 8}},
      // mean (x - t)²: (1 + 0 + 4 + 0) / 4; dx = 2 (x - t) / 4.
      {"mse", Op::Mse, {4}, {1000, -1000, 30, -30}, {999, -1000, 28, -30}, 5.0 / 4, {0.5, 0, 1, 0}},
      // Rows: logsumexp(1000, -1000, 0) = 1000, so -log p(-1000) = 2000; logsumexp(30, -30, 0) = 30 +
      // log(1 + e^-30 + e^-60), so -log p(30) ≈ e^-30; uniform logits with targets (¼, ¼, ½) give log 3.
      // dx = (softmax(x) Σt - t) / 3.
      {"soft_cross_entropy",
       Op::SoftCrossEntropy,
       {3, 3},
       {1000, -1000, 0, 30, -30, 0, 0, 0, 0},
       {0, 1, 0, 1, 0, 0, 0.25, 0.25, 0.5},
       (2000 + std::log1p(kE30 + kE30 * kE30) + std::log(3.0)) / 3,
       {1.0 / 3, -1.0 / 3, 0, 0, 0, 0, (1.0 / 3 - 0.25) / 3, (1.0 / 3 - 0.25) / 3, (1.0 / 3 - 0.5) / 3}},
      // The same rows with class labels.
      {"cross_entropy",
       Op::CrossEntropy,
       {3, 3},
       {1000, -1000, 0, 30, -30, 0, 0, 0, 0},
       {1, 0, 2},
       (2000 + std::log1p(kE30 + kE30 * kE30) + std::log(3.0)) / 3,
       {1.0 / 3, -1.0 / 3, 0, 0, 0, 0, 1.0 / 9, 1.0 / 9, -2.0 / 9}},
  };
}

// loss = op(x, targets) with x a param, so that the train step returns d loss / dx.
ir::Module lossModule(const LossCase& c, ir::DType dtype) {
  ir::Graph g;
  g.name = "loss";
  ir::Shape shape;
  for (auto n : c.shape) shape.push_back(test::d(n));
  ir::NodeId x = g.addParam("x", {dtype, shape}, {});
  const bool labels = c.op == Op::CrossEntropy;
  ir::NodeId t = g.addInput("t", labels ? ir::TensorType{ir::DType::I32, {shape[0]}} : ir::TensorType{dtype, shape});
  g.results = {{"loss", g.addOp(c.op, {x, t}), ir::Result::Loss}};
  return test::makeModule(std::move(g));
}

std::map<std::string, ir::Tensor> lossArgs(const LossCase& c) {
  ir::Tensor x{c.shape, c.x};
  ir::Tensor t{c.op == Op::CrossEntropy ? std::vector<std::int64_t>{c.shape[0]} : c.shape, c.targets};
  return {{"x", x}, {"t", t}};
}

void checkAgainstHand(const LossCase& c, const std::vector<std::vector<double>>& got, double eps) {
  REQUIRE(got.size() == 2);
  INFO("loss " << got[0][0]);
  CHECK(std::isfinite(got[0][0]));
  CHECK(got[0][0] == Approx(c.loss).epsilon(eps));
  REQUIRE(got[1].size() == c.grad.size());
  for (std::size_t i = 0; i < c.grad.size(); ++i) {
    INFO("d loss / d x[" << i << "] = " << got[1][i]);
    CHECK(std::isfinite(got[1][i]));
    CHECK(got[1][i] == Approx(c.grad[i]).epsilon(eps).margin(eps));
  }
}

}  // namespace

TEST_CASE("losses at extreme logits: the interpreter matches the hand-derived values") {
  for (const LossCase& c : cases()) {
    SECTION(c.name) {
      const ir::Module m = lossModule(c, ir::DType::F64);
      std::vector<std::vector<double>> got;
      for (const ir::Tensor& t : ir::interpret(m.trainStep, lossArgs(c))) got.push_back(t.data);
      checkAgainstHand(c, got, 1e-12);
    }
  }
}

TEST_CASE("losses at extreme logits: generated code matches the hand-derived values in f32 and f64") {
  for (const LossCase& c : cases()) {
    for (ir::DType dtype : {ir::DType::F32, ir::DType::F64}) {
      SECTION(std::string(c.name) + (dtype == ir::DType::F32 ? " f32" : " f64")) {
        const ir::Module m = lossModule(c, dtype);
        auto jit = test::compileJit(m, {});
        const auto got = test::runEntry(jit->descriptor()->train_step, m.trainStep, lossArgs(c), {});
        checkAgainstHand(c, got, dtype == ir::DType::F32 ? 1e-6 : 1e-12);
        // The forward entry point computes the same loss.
        const auto forward = test::runEntry(jit->descriptor()->forward, m.forward, lossArgs(c), {});
        CHECK(forward[0][0] == Approx(c.loss).epsilon(dtype == ir::DType::F32 ? 1e-6 : 1e-12));
      }
    }
  }
}

TEST_CASE("losses: the gradient of a gradient (a gradient penalty through each loss)") {
  // L = loss(x w, t); penalty = Σ (dL/dw)². Differentiating the penalty differentiates the loss's
  // adjoint (sigmoid, softmax, log_softmax, count, ...), checked against central differences.
  for (Op op : {Op::Mse, Op::BceWithLogits, Op::SoftCrossEntropy}) {
    SECTION(std::string(ir::opName(op))) {
      ir::Graph g;
      g.name = "penalty";
      ir::NodeId x = g.addInput("x", test::f32({test::d(3), test::d(4)}));
      ir::NodeId t = g.addInput("t", test::f32({test::d(3), test::d(2)}));
      ir::NodeId w = g.addParam("w", test::f32({test::d(4), test::d(2)}), {});
      ir::NodeId target =
          op == Op::Mse ? t : g.addOp(Op::Softmax, {t}, test::lastAxis());  // probabilities for the others
      g.results = {{"loss", g.addOp(op, {g.addOp(Op::MatMul, {x, w}), target}), ir::Result::Loss}};
      ir::Graph step = autodiff::buildTrainStep(g, "loss");
      ir::NodeId gw = step.results[1].node;
      ir::Attrs all;
      all.set("axes", std::vector<std::int64_t>{0, 1});
      all.set("keepdims", std::int64_t{0});
      step.results = {{"penalty", step.addOp(Op::ReduceSum, {step.addOp(Op::Mul, {gw, gw})}, all), ir::Result::Loss}};
      REQUIRE(ir::verify(step).empty());
      for (const auto& r : autodiff::gradCheck(step, "penalty", test::randomArgs(step, 3, 9), 1000)) {
        INFO(r.param << " max abs error " << r.maxAbsError << ", max rel " << r.maxRelError);
        CHECK(r.checked > 0);
        CHECK(r.ok);
      }
    }
  }
}
