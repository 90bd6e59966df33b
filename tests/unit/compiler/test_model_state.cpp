// States and the train mode, from source text to values: BatchNorm1D of the standard library elaborated in
// both modes and run by the f64 interpreter against the formulas written out here (torch.nn.BatchNorm1d's),
// and the verifier's rules for states.
#include <catch2/catch.hpp>
#include <cmath>

#include "compiler/autodiff/autodiff.h"
#include "compiler/ir/interpreter.h"
#include "frontend/frontend.h"

using namespace sinter;

namespace {

const char* const kSource = R"(import "nn.sn"
model BN {
  input x: f32[batch, 3]
  input y: i32[batch]
  bn = BatchNorm1D(3, momentum = 0.25)
  output z = bn(x)
  loss = cross_entropy(z, y)
}
train BN {
  minimize loss
}
)";

constexpr int kN = 4, kC = 3;

std::map<std::string, ir::Tensor> arguments() {
  std::map<std::string, ir::Tensor> a;
  a["x"] = ir::Tensor::zeros({kN, kC});
  for (int i = 0; i < kN * kC; ++i) a["x"].data[static_cast<std::size_t>(i)] = std::sin(1.7 * i) * (1 + i % 3);
  a["y"] = ir::Tensor::zeros({kN});
  for (int i = 0; i < kN; ++i) a["y"].data[static_cast<std::size_t>(i)] = i % kC;
  a["bn.gamma"] = ir::Tensor::zeros({kC});
  a["bn.beta"] = ir::Tensor::zeros({kC});
  a["bn.running_mean"] = ir::Tensor::zeros({kC});
  a["bn.running_var"] = ir::Tensor::zeros({kC});
  for (int c = 0; c < kC; ++c) {
    a["bn.gamma"].data[static_cast<std::size_t>(c)] = 0.5 + c;
    a["bn.beta"].data[static_cast<std::size_t>(c)] = 0.1 * c - 0.2;
    a["bn.running_mean"].data[static_cast<std::size_t>(c)] = 0.3 * c;
    a["bn.running_var"].data[static_cast<std::size_t>(c)] = 1.5 + c;
  }
  return a;
}

double at(const ir::Tensor& t, int i) { return t.data[static_cast<std::size_t>(i)]; }

}  // namespace

TEST_CASE("BatchNorm1D normalizes by the batch and updates its states when training, by the states otherwise") {
  frontend::DiagnosticEngine diags;
  auto m = frontend::compileSource(kSource, "bn.sn", diags);
  INFO(diags.str());
  REQUIRE(m);
  REQUIRE(m->trainForward);
  // Inference and the train mode share their arguments; only the train mode has the states' next values.
  CHECK(ir::print(m->forward).substr(0, 200) == ir::print(*m->trainForward).substr(0, 200));
  CHECK(m->forward.trainedParams().size() == 2);
  CHECK(m->forward.params.size() == 4);
  const auto args = arguments();
  const double eps = 1e-5, momentum = 0.25;

  const std::vector<ir::Tensor> train = ir::interpret(*m->trainForward, args);  // z, loss, mean, var
  REQUIRE(m->trainForward->results.size() == 4);
  CHECK(m->trainForward->results[2].kind == ir::Result::State);
  CHECK(m->trainForward->results[2].name == "bn.running_mean");
  for (int c = 0; c < kC; ++c) {
    double mean = 0, var = 0;
    for (int i = 0; i < kN; ++i) mean += at(args.at("x"), i * kC + c) / kN;
    for (int i = 0; i < kN; ++i) var += std::pow(at(args.at("x"), i * kC + c) - mean, 2) / kN;
    for (int i = 0; i < kN; ++i) {
      const double want = (at(args.at("x"), i * kC + c) - mean) / std::sqrt(var + eps) * at(args.at("bn.gamma"), c) +
                          at(args.at("bn.beta"), c);
      CHECK(at(train[0], i * kC + c) == Approx(want).epsilon(1e-12));
    }
    CHECK(at(train[2], c) == Approx((1 - momentum) * at(args.at("bn.running_mean"), c) + momentum * mean));
    const double unbiased = var * kN / (kN - 1);
    CHECK(at(train[3], c) == Approx((1 - momentum) * at(args.at("bn.running_var"), c) + momentum * unbiased));
  }

  const std::vector<ir::Tensor> eval = ir::interpret(m->forward, args);  // z, loss
  REQUIRE(eval.size() == 2);
  for (int c = 0; c < kC; ++c)
    for (int i = 0; i < kN; ++i) {
      const double want = (at(args.at("x"), i * kC + c) - at(args.at("bn.running_mean"), c)) /
                              std::sqrt(at(args.at("bn.running_var"), c) + eps) * at(args.at("bn.gamma"), c) +
                          at(args.at("bn.beta"), c);
      CHECK(at(eval[0], i * kC + c) == Approx(want).epsilon(1e-12));
    }

  // The train step: gradients for gamma and beta only, then the states' next values as computed above.
  const ir::Graph step = autodiff::buildTrainStep(*m->trainForward, "loss");
  REQUIRE(step.results.size() == 5);
  CHECK(step.results[1].name == "grad.bn.gamma");
  CHECK(step.results[2].name == "grad.bn.beta");
  CHECK(step.results[3].kind == ir::Result::State);
  const std::vector<ir::Tensor> s = ir::interpret(step, args);
  for (int c = 0; c < kC; ++c) CHECK(at(s[4], c) == Approx(at(train[3], c)).epsilon(1e-15));
}

TEST_CASE("the verifier keeps states after the trained params and their results typed") {
  frontend::DiagnosticEngine diags;
  auto m = frontend::compileSource(kSource, "bn.sn", diags);
  REQUIRE(m);
  ir::Graph g = *m->trainForward;
  CHECK(ir::verify(g).empty());

  ir::Graph order = g;
  std::swap(order.params[1], order.params[2]);
  CHECK_THAT(ir::verify(order).back(), Catch::Contains("param 'bn.beta' is listed after a state"));

  ir::Graph named = g;
  named.results[2].name = "bn.gamma";
  CHECK_THAT(ir::verify(named).back(), Catch::Contains("state result 'bn.gamma' names no state"));

  ir::Graph typed = g;
  typed.results[3].node = typed.results[0].node;
  CHECK_THAT(ir::verify(typed).back(), Catch::Contains("state result 'bn.running_var' is f32[batch,3] but the state "
                                                       "is f32[3]"));

  ir::Graph input = g;
  input.node(input.inputs[0]).state = true;
  CHECK_THAT(ir::verify(input).back(), Catch::Contains("is marked as state but is not a param"));
}
