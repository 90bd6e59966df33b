// A gradient check of every layer and loss of the standard library (lib/nn.sn): each case is a tiny model
// written in the language, whose loss is Σ layer(x) · probe with a random probe (so that every element
// of the layer's output matters), differentiated by autodiff and compared with central finite differences
// on the f64 reference interpreter (compiler/autodiff/gradcheck.h). A layer without params of its own
// (pooling, Flatten) is fed by a Conv2D, so that the check reaches through it.
#include <catch2/catch.hpp>

#include "compiler/autodiff/gradcheck.h"
#include "helpers.h"

using namespace sinter;

namespace {

struct LayerCase {
  const char* name;
  const char* declarations;  // inputs and instances
  const char* value;         // the layer's output, probed by the loss
};

// Shapes are small and odd so that a transposed index shows; `batch` is bound to 3.
const LayerCase kLayers[] = {
    {"Dense", "input x: f32[batch, 4]\n  net = Dense(4, 3)\n", "net(x)"},
    {"Dense on a rank-3 input", "input x: f32[batch, 2, 4]\n  net = Dense(4, 3)\n", "net(x)"},
    {"Conv2D with stride and padding",
     "input x: f32[batch, 2, 6, 5]\n  net = Conv2D(2, 3, 3, stride = 2, padding = 1)\n", "net(x)"},
    {"MaxPool2D", "input x: f32[batch, 2, 6, 5]\n  conv = Conv2D(2, 2, 1)\n  net = MaxPool2D(2)\n", "net(conv(x))"},
    {"AvgPool2D with padding",
     "input x: f32[batch, 2, 6, 5]\n  conv = Conv2D(2, 2, 1)\n  net = AvgPool2D(3, stride = 2, padding = 1)\n",
     "net(conv(x))"},
    {"Flatten", "input x: f32[batch, 2, 3, 2]\n  conv = Conv2D(2, 2, 1)\n  net = Flatten()\n", "net(conv(x))"},
    {"Embedding", "input ids: i32[batch, 4]\n  net = Embedding(5, 3)\n", "net(ids)"},
    {"LayerNorm", "input x: f32[batch, 6]\n  dense = Dense(6, 6)\n  net = LayerNorm(6)\n", "net(dense(x))"},
    {"SimpleRNNCell", "input x: f32[batch, 3]\n  input h: f32[batch, 4]\n  net = SimpleRNNCell(3, 4)\n", "net(x, h)"},
    {"SimpleRNN", "input x: f32[batch, 3, 2]\n  net = SimpleRNN(2, 4)\n", "net(x)"},
    {"SimpleRNN.sequence", "input x: f32[batch, 3, 2]\n  net = SimpleRNN(2, 4)\n", "net.sequence(x)"},
    {"LSTMCell (h')",
     "input x: f32[batch, 3]\n  input h: f32[batch, 4]\n  input c: f32[batch, 4]\n  net = LSTMCell(3, 4)\n",
     "net(x, h, c)[0]"},
    {"LSTMCell (c')",
     "input x: f32[batch, 3]\n  input h: f32[batch, 4]\n  input c: f32[batch, 4]\n  net = LSTMCell(3, 4)\n",
     "net(x, h, c)[1]"},
    {"LSTM", "input x: f32[batch, 3, 2]\n  net = LSTM(2, 4)\n", "net(x)"},
    {"LSTM.sequence", "input x: f32[batch, 3, 2]\n  net = LSTM(2, 4)\n", "net.sequence(x)"},
    {"GRUCell", "input x: f32[batch, 3]\n  input h: f32[batch, 4]\n  net = GRUCell(3, 4)\n", "net(x, h)"},
    {"GRU", "input x: f32[batch, 3, 2]\n  net = GRU(2, 4)\n", "net(x)"},
    {"GRU.sequence", "input x: f32[batch, 3, 2]\n  net = GRU(2, 4)\n", "net.sequence(x)"},
    {"attention", "input x: f32[batch, 3, 4]\n  q = Dense(4, 4)\n  k = Dense(4, 4)\n  v = Dense(4, 2)\n",
     "attention(q(x), k(x), v(x))"},
    {"MultiHeadAttention", "input x: f32[batch, 3, 4]\n  net = MultiHeadAttention(4, 2)\n", "net(x)"},
};

// Losses take the place of the probe: their value is the loss. Logits come from a Dense layer, so that
// the check reaches through the loss into params.
const LayerCase kLosses[] = {
    {"cross_entropy with labels", "input x: f32[batch, 4]\n  input y: i32[batch]\n  net = Dense(4, 5)\n",
     "cross_entropy(net(x), y)"},
    {"cross_entropy with soft targets", "input x: f32[batch, 4]\n  input t: f32[batch, 5]\n  net = Dense(4, 5)\n",
     "cross_entropy(net(x), softmax(t))"},
    {"soft_cross_entropy", "input x: f32[batch, 4]\n  input t: f32[batch, 5]\n  net = Dense(4, 5)\n",
     "soft_cross_entropy(net(x), softmax(t))"},
    {"mse", "input x: f32[batch, 4]\n  input t: f32[batch, 2]\n  net = Dense(4, 2)\n", "mse(net(x), t)"},
    {"mse against a learned target", "input x: f32[batch, 4]\n  a = Dense(4, 2)\n  b = Dense(4, 2)\n",
     "mse(a(x), b(x))"},
    {"bce_with_logits", "input x: f32[batch, 4]\n  input t: f32[batch, 3]\n  net = Dense(4, 3)\n",
     "bce_with_logits(net(x), sigmoid(t))"},
};

// The model of a case; with a probe of the given type ("f32[batch,3]"), the loss is Σ value · probe.
std::string modelSource(const LayerCase& c, const std::string& probeType) {
  std::string src =
      "import \"nn.sn\"\nmodel M {\n  " + std::string(c.declarations) + "  output value = " + c.value + "\n";
  src += probeType.empty() ? "  loss = value\n" : "  input probe: " + probeType + "\n  loss = sum(value * probe)\n";
  return src + "}\ntrain M {\n  minimize loss\n}\n";
}

void checkGradients(const LayerCase& c, bool probed) {
  std::string src = modelSource(c, "");
  if (probed) {
    // The probe has the value's type: compile once without it to learn the type.
    auto first = frontend::test::compile("import \"nn.sn\"\nmodel M {\n  " + std::string(c.declarations) +
                                         "  output value = " + c.value + "\n}\n");
    INFO(first.text());
    REQUIRE(first.module);
    const ir::Graph& g = first.module->forward;
    src = modelSource(c, g.node(g.findResult("value")->node).type.str());
  }
  auto compiled = frontend::test::compile(src);
  INFO(src << compiled.text());
  REQUIRE(compiled.module);
  const ir::Graph& g = compiled.module->forward;
  REQUIRE(!g.params.empty());
  const auto args = autodiff::randomArguments(g, 3, 17);
  const auto rows = autodiff::gradCheck(g, "loss", args, 400);
  REQUIRE(rows.size() == g.params.size());
  for (const auto& r : rows) {
    INFO(r.param << ": max abs error " << r.maxAbsError << ", max rel error " << r.maxRelError);
    CHECK(r.checked > 0);
    CHECK(r.ok);
  }
}

}  // namespace

TEST_CASE("nn.sn: every layer's gradients match central differences", "[nn][gradcheck]") {
  for (const LayerCase& c : kLayers) SECTION(c.name) {
      checkGradients(c, true);
    }
}

TEST_CASE("nn.sn: every loss's gradients match central differences", "[nn][gradcheck]") {
  for (const LayerCase& c : kLosses) SECTION(c.name) {
      checkGradients(c, false);
    }
}
