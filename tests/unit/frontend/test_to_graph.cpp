// The forward graph built from a model: nodes in order, types, names, locations, results and the
// train configuration.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"
#include "helpers.h"

using namespace sinter;
using frontend::test::compile;
using frontend::test::model;

namespace {

// The model of the language's reference example.
const char* kFashion = R"(# comments run from '#' to the end of the line
model FashionMLP {
  input image: f32[batch, 784]        # symbolic dims are identifiers
  input label: i32[batch]
  param w1: f32[784, 256] = glorot_uniform      # initializer, optional (default zeros)
  param b1: f32[256] = zeros
  param w2: f32[256, 10] = normal(std = 0.01)
  param b2: f32[10]
  h1 = relu(image @ w1 + b1)
  logits = h1 @ w2 + b2
  output probs = softmax(logits)
  loss = cross_entropy(logits, label)
}

train FashionMLP {
  minimize loss
  optimizer adam(lr = 1e-3)
  batch 64
  epochs 5
  seed 42
}
)";

// "op name type @line:col" per node.
std::vector<std::string> describe(const ir::Graph& g) {
  std::vector<std::string> out;
  for (const ir::Node& n : g.nodes)
    out.push_back(std::string(ir::opName(n.op)) + " " + (n.name.empty() ? "-" : n.name) + " " + n.type.str() + " @" +
                  std::to_string(n.loc.line) + ":" + std::to_string(n.loc.col));
  return out;
}

}  // namespace

TEST_CASE("to_graph: the reference example", "[to_graph]") {
  auto c = compile(kFashion, "fashion.sn");
  INFO(c.text());
  REQUIRE(c.module);
  const ir::Module& m = *c.module;
  const ir::Graph& g = m.forward;
  CHECK(m.name == "FashionMLP");
  CHECK(g.name == "FashionMLP");
  CHECK(describe(g) == std::vector<std::string>{
                           "input image f32[batch,784] @3:9",
                           "input label i32[batch] @4:9",
                           "param w1 f32[784,256] @5:9",
                           "param b1 f32[256] @6:9",
                           "param w2 f32[256,10] @7:9",
                           "param b2 f32[10] @8:9",
                           "matmul - f32[batch,256] @9:19",
                           "add - f32[batch,256] @9:24",
                           "relu h1 f32[batch,256] @9:8",
                           "matmul - f32[batch,10] @10:15",
                           "add logits f32[batch,10] @10:20",
                           "softmax probs f32[batch,10] @11:18",
                           "cross_entropy loss f32[] @12:10",
                       });
  CHECK(g.nodes[6].operands == std::vector<ir::NodeId>{0, 2});
  CHECK(g.nodes[7].operands == std::vector<ir::NodeId>{6, 3});
  CHECK(g.nodes[12].operands == std::vector<ir::NodeId>{10, 1});
  CHECK(g.nodes[0].loc.file == "fashion.sn");
  CHECK(g.inputs == std::vector<ir::NodeId>{0, 1});
  CHECK(g.params == std::vector<ir::NodeId>{2, 3, 4, 5});
  REQUIRE(g.results.size() == 2);
  CHECK(g.results[0].name == "probs");
  CHECK(g.results[0].node == 11);
  CHECK(g.results[0].kind == ir::Result::Output);
  CHECK(g.results[1].name == "loss");
  CHECK(g.results[1].node == 12);
  CHECK(g.results[1].kind == ir::Result::Loss);
  CHECK(ir::verify(g).empty());
  CHECK(m.trainStep.nodes.empty());
}

TEST_CASE("to_graph: initializers", "[to_graph]") {
  auto c = compile(kFashion);
  REQUIRE(c.module);
  const ir::Graph& g = c.module->forward;
  CHECK(g.nodes[2].init.kind == ir::Init::GlorotUniform);
  CHECK(g.nodes[3].init.kind == ir::Init::Zeros);
  CHECK(g.nodes[4].init.kind == ir::Init::Normal);
  CHECK(g.nodes[4].init.a == 0);
  CHECK(g.nodes[4].init.b == 0.01);
  CHECK(g.nodes[5].init.kind == ir::Init::Zeros);

  auto d =
      compile(model("  param a: f32[2] = ones\n"
                    "  param b: f32[2] = constant(0.5)\n"
                    "  param c: f32[2] = uniform(-0.1, high = 0.2)\n"
                    "  param d: f32[2, 3] = he_normal()\n"
                    "  param e: f32[2, 3] = lecun_uniform\n"
                    "  param f: f64[2] = normal(1, 3)\n"));
  REQUIRE(d.module);
  const auto& n = d.module->forward.nodes;
  CHECK(ir::initStr(n[0].init) == "ones");
  CHECK(ir::initStr(n[1].init) == "constant(0.5)");
  CHECK(ir::initStr(n[2].init) == "uniform(-0.1, 0.2)");
  CHECK(ir::initStr(n[3].init) == "he_normal");
  CHECK(ir::initStr(n[4].init) == "lecun_uniform");
  CHECK(ir::initStr(n[5].init) == "normal(1, 3)");
  CHECK(n[5].type.str() == "f64[2]");
}

TEST_CASE("to_graph: train configuration", "[to_graph]") {
  SECTION("the example") {
    auto c = compile(kFashion);
    REQUIRE(c.module);
    REQUIRE(c.module->train);
    const ir::TrainConfig& t = *c.module->train;
    CHECK(t.loss == "loss");
    CHECK(t.optimizer == ir::TrainConfig::Adam);
    CHECK(t.lr == 1e-3);
    CHECK(t.beta1 == 0.9);
    CHECK(t.beta2 == 0.999);
    CHECK(t.eps == 1e-8);
    CHECK(t.weightDecay == 0);
    CHECK(t.batch == 64);
    CHECK(t.epochs == 5);
    CHECK(t.seed == 42);
  }
  const std::string base =
      "model M {\n  input x: f32[n, 2]\n  input y: i32[n]\n  param w: f32[2, 2]\n"
      "  loss = cross_entropy(x @ w, y)\n}\n";
  SECTION("defaults") {
    auto c = compile(base + "train M {\n  minimize loss\n}\n");
    REQUIRE(c.module);
    const ir::TrainConfig& t = *c.module->train;
    CHECK(t.optimizer == ir::TrainConfig::Adam);
    CHECK(t.lr == 1e-3);
    CHECK(t.batch == 32);
    CHECK(t.epochs == 1);
    CHECK(t.seed == 0);
    CHECK(t.metrics == 0);  // the task's, chosen by the training driver
  }
  SECTION("metrics: the loss is always among them, listed or not") {
    auto metricsOf = [&](const std::string& list) {
      auto c = compile(base + "train M {\n  minimize loss\n  metrics " + list + "\n}\n");
      INFO(c.text());
      REQUIRE(c.module);
      return c.module->train->metrics;
    };
    CHECK(metricsOf("[accuracy]") == (ir::TrainConfig::MetricLoss | ir::TrainConfig::MetricAccuracy));
    CHECK(metricsOf("[loss, accuracy]") == (ir::TrainConfig::MetricLoss | ir::TrainConfig::MetricAccuracy));
    CHECK(metricsOf("[accuracy, loss]") == (ir::TrainConfig::MetricLoss | ir::TrainConfig::MetricAccuracy));
    CHECK(metricsOf("[loss]") == ir::TrainConfig::MetricLoss);
    CHECK(metricsOf("[]") == ir::TrainConfig::MetricLoss);
    CHECK(metricsOf("[mae, rmse, r2]") == (ir::TrainConfig::MetricLoss | ir::TrainConfig::MetricMae |
                                           ir::TrainConfig::MetricRmse | ir::TrainConfig::MetricR2));
    CHECK(metricsOf("[top_k_accuracy, perplexity]") ==
          (ir::TrainConfig::MetricLoss | ir::TrainConfig::MetricTopK | ir::TrainConfig::MetricPerplexity));
  }
  SECTION("sgd with positional and keyword arguments") {
    auto c = compile(base +
                     "train M {\n  optimizer sgd(0.1, 0.9, nesterov = true, weight_decay = 5e-4)\n  minimize loss\n"
                     "  seed 18446744073709551615\n}\n");
    INFO(c.text());
    REQUIRE(c.module);
    const ir::TrainConfig& t = *c.module->train;
    CHECK(t.optimizer == ir::TrainConfig::SGD);
    CHECK(t.lr == 0.1);
    CHECK(t.momentum == 0.9);
    CHECK(t.nesterov);
    CHECK(t.weightDecay == 5e-4);
    CHECK(t.seed == 18446744073709551615u);
  }
  SECTION("sgd defaults") {
    auto c = compile(base + "train M {\n  minimize loss\n  optimizer sgd\n}\n");
    REQUIRE(c.module);
    CHECK(c.module->train->lr == 0.01);
    CHECK(c.module->train->momentum == 0);
    CHECK_FALSE(c.module->train->nesterov);
  }
  SECTION("adam, every hyper-parameter") {
    auto c = compile(base +
                     "train M {\n  minimize loss\n  optimizer adam(0.01, 0.8, beta2 = 0.99, eps = 1e-6, "
                     "weight_decay = 0.1)\n}\n");
    REQUIRE(c.module);
    const ir::TrainConfig& t = *c.module->train;
    CHECK(t.lr == 0.01);
    CHECK(t.beta1 == 0.8);
    CHECK(t.beta2 == 0.99);
    CHECK(t.eps == 1e-6);
    CHECK(t.weightDecay == 0.1);
  }
  SECTION("param groups: patterns pick params in param order, settings start from the optimizer's") {
    const std::string two =
        "model M {\n  input x: f32[n, 2]\n  input y: i32[n]\n  param w: f32[2, 2]\n  param b: f32[2]\n"
        "  param w2: f32[2, 2]\n  loss = cross_entropy(x @ w + b, y) + mean(w2)\n}\n";
    auto c = compile(two +
                     "train M {\n  minimize loss\n  group no_decay(\"b\", \"w?\", weight_decay = 0)\n"
                     "  optimizer adamw(lr = 0.01, beta1 = 0.8, weight_decay = 0.1)\n"
                     "  group fast(\"w\", lr = 0.1, amsgrad = true)\n}\n");
    INFO(c.text());
    REQUIRE(c.module);
    const ir::TrainConfig& t = *c.module->train;
    REQUIRE(t.groups.size() == 2);
    CHECK(t.groups[0].name == "no_decay");
    CHECK(t.groups[0].params == std::vector<std::string>{"b", "w2"});
    CHECK(t.groups[0].config.weightDecay == 0);
    CHECK(t.groups[0].config.lr == 0.01);  // the optimizer's, set after the group in the block
    CHECK(t.groups[0].config.beta1 == 0.8);
    CHECK(t.groups[1].params == std::vector<std::string>{"w"});
    CHECK(t.groups[1].config.lr == 0.1);
    CHECK(t.groups[1].config.weightDecay == 0.1);
    CHECK(t.groups[1].config.amsgrad);
    CHECK(t.groups[1].config.groups.empty());
    CHECK(t.weightDecay == 0.1);
  }
  SECTION("linear and one-cycle schedules") {
    auto c = compile(base +
                     "train M {\n  minimize loss\n  schedule linear(0.5, end_factor = 0.1, total_iters = 7, "
                     "per_epoch = true, warmup = 3)\n}\n");
    INFO(c.text());
    REQUIRE(c.module);
    const ir::TrainConfig& t = *c.module->train;
    CHECK(t.schedule == ir::TrainConfig::Linear);
    CHECK(t.startFactor == 0.5);
    CHECK(t.endFactor == 0.1);
    CHECK(t.totalIters == 7);
    CHECK(t.schedPerEpoch);
    CHECK(t.warmupSteps == 3);
    auto d = compile(base + "train M {\n  minimize loss\n  schedule one_cycle(pct_start = 0.25, div_factor = 10)\n}\n");
    REQUIRE(d.module);
    const ir::TrainConfig& u = *d.module->train;
    CHECK(u.schedule == ir::TrainConfig::OneCycle);
    CHECK(u.pctStart == 0.25);
    CHECK(u.divFactor == 10);
    CHECK(u.finalDivFactor == 1e4);
    CHECK_FALSE(u.schedPerEpoch);
  }
  SECTION("no train block") {
    auto c = compile(base);
    REQUIRE(c.module);
    CHECK_FALSE(c.module->train);
    CHECK(c.module->forward.results.empty());
  }
}

TEST_CASE("to_graph: literals become constants of the dtype they meet", "[to_graph]") {
  auto c = compile(model("  input x: f64[3]\n  input y: f32[3]\n  a = 2 * x\n  b = y + -1.5\n  output k = 4\n"));
  REQUIRE(c.module);
  CHECK(describe(c.module->forward) == std::vector<std::string>{
                                           "input x f64[3] @2:9",
                                           "input y f32[3] @3:9",
                                           "constant - f64[] @4:7",
                                           "mul a f64[3] @4:9",
                                           "constant - f32[] @5:11",
                                           "add b f32[3] @5:9",
                                           "constant k f32[] @6:14",
                                       });
  CHECK(c.module->forward.nodes[2].scalar == 2);
  CHECK(c.module->forward.nodes[4].scalar == -1.5);
  CHECK(ir::verify(c.module->forward).empty());
}

TEST_CASE("to_graph: keyword arguments reach the op in parameter order", "[to_graph]") {
  auto c =
      compile(model("  input l: i32[n]\n  input z: f32[n, 4]\n  output e = cross_entropy(labels = l, logits = z)\n"));
  REQUIRE(c.module);
  const ir::Node& ce = c.module->forward.nodes.back();
  CHECK(ce.op == ir::Op::CrossEntropy);
  CHECK(ce.operands == std::vector<ir::NodeId>{1, 0});
}

TEST_CASE("to_graph: aliases and outputs", "[to_graph]") {
  auto c =
      compile(model("  input x: f32[2]\n  y = relu(x)\n  z = y\n  output a = z\n  output b = x\n  output c = y + z\n"));
  REQUIRE(c.module);
  const ir::Graph& g = c.module->forward;
  REQUIRE(g.nodes.size() == 3);
  CHECK(g.nodes[1].name == "y");  // `z = y` adds no node and renames nothing
  CHECK(g.nodes[2].name == "c");
  CHECK(g.nodes[2].operands == std::vector<ir::NodeId>{1, 1});
  REQUIRE(g.results.size() == 3);
  CHECK(g.results[0].name == "a");
  CHECK(g.results[0].node == 1);
  CHECK(g.results[1].name == "b");
  CHECK(g.results[1].node == 0);
  CHECK(ir::verify(g).empty());
}

TEST_CASE("to_graph: an output that is also the loss appears once, as the loss", "[to_graph]") {
  auto c = compile(
      "model M {\n  input x: f32[n, 2]\n  input y: i32[n]\n  output p = x\n"
      "  output loss = cross_entropy(x, y)\n}\ntrain M {\n  minimize loss\n}\n");
  REQUIRE(c.module);
  const auto& r = c.module->forward.results;
  REQUIRE(r.size() == 2);
  CHECK(r[0].name == "p");
  CHECK(r[1].name == "loss");
  CHECK(r[1].kind == ir::Result::Loss);
  CHECK(ir::verify(c.module->forward).empty());
}

TEST_CASE("to_graph: inputs and params come first even when declared late", "[to_graph]") {
  auto c = compile(model("  input x: f32[n, 2]\n  h = relu(x)\n  param w: f32[2, 3]\n  output o = h @ w\n"));
  REQUIRE(c.module);
  CHECK(describe(c.module->forward) == std::vector<std::string>{
                                           "input x f32[n,2] @2:9",
                                           "param w f32[2,3] @4:9",
                                           "relu h f32[n,2] @3:7",
                                           "matmul o f32[n,3] @5:16",
                                       });
}

TEST_CASE("to_graph: examples/fashion_mlp.sn", "[to_graph][examples]") {
  frontend::DiagnosticEngine diags;
  auto m = frontend::compileFile(SINTER_SOURCE_DIR "/examples/fashion_mlp.sn", diags);
  INFO(diags.str());
  REQUIRE(m);
  CHECK(diags.all().empty());
  const ir::Graph& g = m->forward;
  CHECK(g.inputs.size() == 2);
  CHECK(g.params.size() == 6);
  std::vector<std::string> params;
  for (ir::NodeId id : g.params)
    params.push_back(g.node(id).name + ": " + g.node(id).type.str() + " = " + ir::initStr(g.node(id).init));
  CHECK(params == std::vector<std::string>{"w1: f32[784,256] = he_normal", "b1: f32[256] = zeros",
                                           "w2: f32[256,128] = he_normal", "b2: f32[128] = zeros",
                                           "w3: f32[128,10] = glorot_uniform", "b3: f32[10] = zeros"});
  REQUIRE(g.results.size() == 2);
  CHECK(g.results[0].name == "probs");
  CHECK(g.node(g.results[0].node).type.str() == "f32[batch,10]");
  CHECK(g.results[1].name == "loss");
  CHECK(g.results[1].kind == ir::Result::Loss);
  REQUIRE(m->train);
  CHECK(m->train->optimizer == ir::TrainConfig::Adam);
  CHECK(m->train->lr == 1e-3);
  CHECK(m->train->batch == 64);
  CHECK(m->train->epochs == 5);
  CHECK(m->train->seed == 1);
  CHECK(ir::verify(g).empty());

  frontend::DiagnosticEngine astDiags;
  auto dump = frontend::dumpAst(SINTER_SOURCE_DIR "/examples/fashion_mlp.sn", astDiags);
  REQUIRE(dump);
  CHECK(dump->find("    Let h1 <14:3>\n      Call relu <14:8>\n") != std::string::npos);
}
