// A model with the standard library's Dropout, from source text to trained weights: the frontend's
// dropout calls reach generated code, which draws the interpreter's masks for a given seed, leaves
// forward() alone, and still trains.
#include <catch2/catch.hpp>
#include <random>

#include "compiler/autodiff/gradcheck.h"
#include "frontend/frontend.h"
#include "jit_harness.h"

using namespace sinter;

namespace {

constexpr std::int64_t kBatch = 32;

const char* const kSource = R"(import "nn.sn"
model Drop {
  input x: f32[batch, 4]
  input y: i32[batch]
  fc1 = Dense(4, 32)
  drop = Dropout(0.3)
  fc2 = Dense(32, 3)
  logits = fc2(drop(relu(fc1(x))))
  loss = cross_entropy(logits, y)
}
train Drop {
  minimize loss
}
)";

ir::Module compileDropModel() {
  frontend::DiagnosticEngine diags;
  auto m = frontend::compileSource(kSource, "drop.sn", diags);
  INFO(diags.str());
  REQUIRE(m);
  m->trainStep = autodiff::buildTrainStep(m->forward, "loss");
  passes::eliminateDeadCode(m->trainStep);
  return std::move(*m);
}

// Points in 4-D whose class is the largest of three fixed projections (as in tests/capi/train_tiny.c).
void makeBatch(std::map<std::string, ir::Tensor>& args, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  ir::Tensor& x = args["x"];
  ir::Tensor& y = args["y"];
  x = ir::Tensor::zeros({kBatch, 4});
  y = ir::Tensor::zeros({kBatch});
  for (std::int64_t i = 0; i < kBatch; ++i) {
    double* p = &x.data[static_cast<std::size_t>(i * 4)];
    for (int j = 0; j < 4; ++j) p[j] = u(rng);
    const double s0 = p[0] + p[1], s1 = p[2] - p[0], s2 = p[3] - p[1];
    y.data[static_cast<std::size_t>(i)] = s0 > s1 ? (s0 > s2 ? 0 : 2) : (s1 > s2 ? 1 : 2);
  }
}

}  // namespace

TEST_CASE("a model with Dropout: generated code draws the interpreter's masks", "[dropout][e2e]") {
  ir::Module m = compileDropModel();
  auto jit = test::compileJit(m, {});
  auto args = autodiff::randomArguments(m.forward, kBatch, 5);
  makeBatch(args, 1);
  // Loss and every gradient of the generated train step equal the interpreter's with the same seed.
  for (std::uint64_t seed : {1u, 2u})
    test::compareWithInterpreter(m.trainStep, jit->descriptor()->train_step, args, {kBatch}, 1e-4, 1e-5, {true, seed});
  // Which can only hold if the seed matters: another seed or no dropout gives another loss.
  const double loss1 = ir::interpret(m.trainStep, args, {true, 1})[0].data[0];
  CHECK(ir::interpret(m.trainStep, args, {true, 2})[0].data[0] != Approx(loss1));
  CHECK(ir::interpret(m.trainStep, args, {false, 1})[0].data[0] != Approx(loss1));
  // forward() does not drop: its loss is the interpreter's without training, whatever the seed.
  const double eval = ir::interpret(m.forward, args, {false, 0}).back().data[0];
  CHECK(test::runEntry(jit->descriptor()->forward, m.forward, args, {kBatch}, 7).back()[0] == Approx(eval));
}

TEST_CASE("a model with Dropout trains with SGD on generated train steps", "[dropout][e2e]") {
  ir::Module m = compileDropModel();
  auto jit = test::compileJit(m, {});
  auto args = autodiff::randomArguments(m.forward, kBatch, 3);
  const ir::Graph& step = m.trainStep;
  auto evalLoss = [&](std::uint64_t batchSeed) {
    makeBatch(args, batchSeed);
    return test::runEntry(jit->descriptor()->forward, m.forward, args, {kBatch}).back()[0];
  };
  const double before = evalLoss(1000);
  for (std::uint64_t s = 0; s < 300; ++s) {
    makeBatch(args, s);
    auto out = test::runEntry(jit->descriptor()->train_step, step, args, {kBatch}, s + 1);
    // Results: the loss, then one gradient per param in param order.
    for (std::size_t p = 0; p < step.params.size(); ++p) {
      ir::Tensor& w = args.at(step.node(step.params[p]).name);
      for (std::size_t k = 0; k < w.data.size(); ++k) w.data[k] -= 0.2 * out[1 + p][k];
    }
  }
  const double after = evalLoss(1000);
  INFO("held-out loss " << before << " -> " << after);
  CHECK(after < 0.5 * before);
}
