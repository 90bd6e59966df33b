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
