// `sinter import -o`: imported ONNX models (onnx_models.h) written as model files. The text is checked
// whole for the small models; the file, compiled by the frontend with the weights written for it, computes
// what the imported graph computes (both run by the f64 reference interpreter). tests/onnx/onnx_run_parity.py
// does the same for PyTorch's exports, against PyTorch.
#include <catch2/catch.hpp>

#include "compiler/ir/interpreter.h"
#include "frontend/frontend.h"
#include "frontend/onnx/onnx_import.h"
#include "frontend/onnx/onnx_source.h"
#include "frontend/onnx/source_names.h"
#include "tests/onnx/onnx_models.h"

using namespace sinter;

namespace {

onnxio::Imported imported(const onnxtest::ModelBuilder& b) {
  frontend::DiagnosticEngine d;
  auto m = onnxio::importBytes(b.bytes(), "m.onnx", d);
  REQUIRE(m);
  return std::move(*m);
}

std::vector<ir::Tensor> evaluate(const ir::Graph& g, const std::map<std::string, onnxio::Weight>& weights,
                                 const ir::Tensor& x) {
  std::map<std::string, ir::Tensor> args{{"x", x}};
  for (const auto& [name, w] : weights) args[name] = ir::Tensor{w.shape, {w.data.begin(), w.data.end()}};
  return ir::interpret(g, args);
}

// The written file compiles, and with its weights computes the imported graph's outputs for `x`.
void checkSameOutputs(const onnxio::Imported& m, const onnxio::ModelSource& src, const ir::Tensor& x) {
  frontend::DiagnosticEngine d;
  const auto written = frontend::compileSource(src.text, "m.sn", d);
  INFO(d.str());
  REQUIRE(written);
  const auto want = evaluate(m.module.forward, m.weights, x);
  const auto got = evaluate(written->forward, src.weights, x);
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].shape == want[i].shape);
    for (std::size_t k = 0; k < got[i].data.size(); ++k) CHECK(got[i].data[k] == Approx(want[i].data[k]));
  }
}

}  // namespace

TEST_CASE("an MLP's Gemm is a Dense layer named after its module, its weight stored [in, out]") {
  const onnxio::Imported m = imported(onnxtest::mlp());
  const onnxio::ModelSource src = onnxio::writeModelSource(m, "dir/m.onnx");
  CHECK(src.text ==
        "# m.onnx imported by `sinter import` (docs/onnx.md): the weights file beside it holds the params.\n"
        "import \"nn.sn\"\n"
        "\n"
        "model m {\n"
        "  input x: f32[batch, 2]\n"
        "\n"
        "  fc = Dense(2, 3)\n"
        "\n"
        "  h = fc(x)\n"
        "  output y = softmax(relu(h), axis = 1)\n"
        "}\n");
  REQUIRE(src.weights.size() == 2);
  CHECK(src.weights.at("fc.w").shape == std::vector<std::int64_t>{2, 3});
  CHECK(src.weights.at("fc.w").data == std::vector<float>{1, 3, 5, 2, 4, 6});  // ONNX's [out, in] transposed
  CHECK(src.weights.at("fc.b").data == std::vector<float>{0.5F, -100, 0});
  checkSameOutputs(m, src, {{2, 2}, {1, 1, -2, 0.5}});
}

TEST_CASE("a padded convolution with its bias is a Conv2D layer, pooling and reshapes are built-in ops") {
  const onnxio::Imported m = imported(onnxtest::cnn());
  const onnxio::ModelSource src = onnxio::writeModelSource(m, "m.onnx");
  CHECK_THAT(src.text, Catch::Contains("  conv = Conv2D(1, 1, 3, padding = 1)\n"));
  CHECK_THAT(src.text, Catch::Contains("  img = reshape(x, (-1, 1, 4, 4))\n"));
  CHECK_THAT(src.text, Catch::Contains("max_pool2d(c, 2)"));
  CHECK(src.weights.at("conv.b").shape == std::vector<std::int64_t>{1, 1, 1});
  ir::Tensor x{{2, 16}, {}};
  for (int i = 0; i < 32; ++i) x.data.push_back(i % 7 - 3.5);
  checkSameOutputs(m, src, x);
}

namespace {

// A recurrent node of hidden size 2 over x[3, batch, 2] (three steps, time-major), its weights counted up so
// that every gate differs, its outputs as given ("y" Y [3, dirs, batch, 2], "h" Y_h [dirs, batch, 2]).
onnxtest::ModelBuilder recurrent(const std::string& op, const std::string& direction,
                                 const std::vector<std::string>& outputs) {
  const std::int64_t gates = op == "LSTM" ? 4 : op == "GRU" ? 3 : 1, dirs = direction == "bidirectional" ? 2 : 1;
  onnxtest::ModelBuilder b(13);
  b.input("x", {std::int64_t{3}, std::string("batch"), std::int64_t{2}});
  const auto counted = [](std::int64_t n, float scale) {
    std::vector<float> v;
    for (std::int64_t i = 0; i < n; ++i) v.push_back(scale * static_cast<float>((i * 7) % 11 - 5));
    return v;
  };
  b.floats("W", {dirs, gates * 2, 2}, counted(dirs * gates * 4, 0.1F));
  b.floats("R", {dirs, gates * 2, 2}, counted(dirs * gates * 4, -0.07F));
  b.floats("B", {dirs, gates * 4}, counted(dirs * gates * 4, 0.03F));
  onnx::NodeProto& n = b.node(op, {"x", "W", "R", "B"}, outputs, "/rnn/" + op);
  onnxtest::ModelBuilder::attr(n, "hidden_size", std::int64_t{2});
  onnxtest::ModelBuilder::attr(n, "direction", direction);
  if (op == "GRU") onnxtest::ModelBuilder::attr(n, "linear_before_reset", std::int64_t{1});
  // Y first, though the unrolling computes Y_h first: the model file's outputs keep the graph's order.
  if (!outputs[0].empty()) b.output("y", {std::int64_t{3}, dirs, std::string("batch"), std::int64_t{2}});
  if (outputs.size() > 1) b.output("h", {dirs, std::string("batch"), std::int64_t{2}});
  return b;
}

ir::Tensor sequenceInput() {
  ir::Tensor x{{3, 2, 2}, {}};
  for (int i = 0; i < 12; ++i) x.data.push_back(0.3 * (i % 5) - 0.6);
  return x;
}

}  // namespace

TEST_CASE("recurrent nodes whose sequence or reverse state alone is read are lib/nn.sn's layers") {
  SECTION("an LSTM's Y alone: .sequence, made Y's shape") {
    const onnxio::Imported m = imported(recurrent("LSTM", "forward", {"y"}));
    const onnxio::ModelSource src = onnxio::writeModelSource(m, "m.onnx");
    CHECK_THAT(src.text, Catch::Contains("  rnn_LSTM = LSTM(2, 2)\n"));
    CHECK_THAT(src.text,
               Catch::Contains("reshape(transpose(rnn_LSTM.sequence(transpose(x, (1, 0, 2))), (1, 0, 2)), (3, 1, -1, 2))"));
    CHECK_THAT(src.text, !Catch::Contains("sigmoid"));
    checkSameOutputs(m, src, sequenceInput());
  }
  SECTION("a reverse RNN's Y_h: .reversed") {
    const onnxio::Imported m = imported(recurrent("RNN", "reverse", {"", "h"}));
    const onnxio::ModelSource src = onnxio::writeModelSource(m, "m.onnx");
    CHECK_THAT(src.text, Catch::Contains("  rnn_RNN = SimpleRNN(2, 2)\n"));
    CHECK_THAT(src.text, Catch::Contains("reshape(rnn_RNN.reversed(transpose(x, (1, 0, 2))), (1, -1, 2))"));
    CHECK_THAT(src.text, !Catch::Contains("tanh"));
    checkSameOutputs(m, src, sequenceInput());
  }
  SECTION("a bidirectional GRU's Y_h: a layer and a reversed one, concatenated") {
    const onnxio::Imported m = imported(recurrent("GRU", "bidirectional", {"", "h"}));
    const onnxio::ModelSource src = onnxio::writeModelSource(m, "m.onnx");
    CHECK_THAT(src.text, Catch::Contains("  rnn_GRU = GRU(2, 2)\n  rnn_GRU_reverse = GRU(2, 2)\n"));
    CHECK_THAT(src.text, Catch::Contains("rnn_GRU_reverse.reversed("));
    CHECK_THAT(src.text, !Catch::Contains("sigmoid"));
    checkSameOutputs(m, src, sequenceInput());
  }
  SECTION("a bidirectional LSTM's Y, or an LSTM's Y and Y_h both: unrolled") {
    for (const auto& [direction, outputs] :
         {std::pair<std::string, std::vector<std::string>>{"bidirectional", {"y"}}, {"forward", {"y", "h"}}}) {
      const onnxio::Imported m = imported(recurrent("LSTM", direction, outputs));
      const onnxio::ModelSource src = onnxio::writeModelSource(m, "m.onnx");
      CHECK_THAT(src.text, !Catch::Contains("= LSTM("));
      CHECK_THAT(src.text, Catch::Contains("sigmoid"));
      checkSameOutputs(m, src, sequenceInput());
    }
  }
}

TEST_CASE("identifiers: torch's value names made readable, keywords and built-ins avoided, names unique") {
  CHECK(onnxio::SourceNames::fromValueName("/fc1/Gemm_output_0") == "fc1_gemm");
  CHECK(onnxio::SourceNames::fromValueName("23") == "v23");
  CHECK(onnxio::SourceNames::layerPath("/encoder/fc1/Gemm_output_0") == "encoder_fc1");
  CHECK(onnxio::SourceNames::layerPath("/layers/layers.0/Gemm_output_0") == "layers_0");
  CHECK(onnxio::SourceNames::layerPath("/Relu_output_0").empty());
  onnxio::SourceNames names;
  names.reserve("image");
  CHECK(names.take("image") == "image_2");
  CHECK(names.take("relu") == "relu_2");      // a built-in function
  CHECK(names.take("output") == "output_2");  // a keyword
  CHECK(names.take("onnx::Conv_25") == "onnx__Conv_25");
}
