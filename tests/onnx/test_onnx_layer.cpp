// `import "m.onnx" as Backbone` in a model file (docs/onnx.md): the ONNX models of onnx_models.h, written into a
// temporary directory, used as layers. The model file's graph, run by the f64 reference interpreter with the
// params' initial values (Init::Data), computes what the imported ONNX graph computes with its initializers, and
// hand-derived values; params are named after the instance and start from the file's values.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "compiler/autodiff/autodiff.h"
#include "compiler/ir/interpreter.h"
#include "frontend/frontend.h"
#include "frontend/onnx/onnx_import.h"
#include "tests/onnx/onnx_models.h"

using namespace sinter;
namespace fs = std::filesystem;

namespace {

// Writes a file whole or not at all: ctest runs this executable's test cases in parallel processes, which
// write the same files, and a reader must never see one half written.
void writeAtomically(const fs::path& path, const std::string& bytes) {
  const fs::path tmp = path.string() + ".tmp" + std::to_string(::getpid());
  std::ofstream(tmp, std::ios::binary) << bytes;
  fs::rename(tmp, path);
}

// A directory of the build tree holding the test's ONNX files.
fs::path modelDir() {
  const fs::path dir = SINTER_BINARY_DIR "/tests/onnx/layer_models";
  fs::create_directories(dir);
  writeAtomically(dir / "mlp.onnx", onnxtest::mlp().bytes());
  writeAtomically(dir / "cnn.onnx", onnxtest::cnn().bytes());
  onnxtest::ModelBuilder two;  // two inputs sharing the batch axis, two outputs: s = a + b, d = a - b
  two.input("a", {std::string("batch"), std::int64_t{2}});
  two.input("b", {std::string("batch"), std::int64_t{2}});
  two.node("Add", {"a", "b"}, {"s"}, "/Add");
  two.node("Sub", {"a", "b"}, {"d"}, "/Sub");
  two.output("s", {std::string("batch"), std::int64_t{2}});
  two.output("d", {std::string("batch"), std::int64_t{2}});
  writeAtomically(dir / "two.onnx", two.bytes());
  return dir;
}

std::optional<ir::Module> compile(const std::string& text, frontend::DiagnosticEngine& d) {
  frontend::CompileOptions opts;
  opts.onnxLoader = onnxio::onnxLayerLoader();
  return frontend::compileSource(text, (modelDir() / "ft.sn").string(), d, opts);
}

// The params' initial values (Init::Data) as interpreter arguments, with the inputs given.
std::map<std::string, ir::Tensor> arguments(const ir::Graph& g, std::map<std::string, ir::Tensor> inputs) {
  for (ir::NodeId id : g.params) {
    const ir::Node& p = g.node(id);
    REQUIRE(p.init.kind == ir::Init::Data);
    std::vector<std::int64_t> shape;
    for (const ir::Dim& dim : p.type.shape) shape.push_back(dim.size);
    inputs[p.name] = ir::Tensor{shape, {p.init.data->begin(), p.init.data->end()}};
  }
  return inputs;
}

std::vector<ir::Tensor> runOnnx(const onnxtest::ModelBuilder& b, const ir::Tensor& x) {
  frontend::DiagnosticEngine d;
  auto m = onnxio::importBytes(b.bytes(), "m.onnx", d);
  REQUIRE(m);
  std::map<std::string, ir::Tensor> args{{"x", x}};
  for (const auto& [name, w] : m->weights) args[name] = ir::Tensor{w.shape, {w.data.begin(), w.data.end()}};
  return ir::interpret(m->module.forward, args);
}

}  // namespace

TEST_CASE("onnx layer: an imported MLP computes the ONNX graph's outputs, its params starting from the file") {
  frontend::DiagnosticEngine d;
  auto m = compile(
      "import \"mlp.onnx\" as Backbone\n"
      "model ft {\n"
      "  input image: f32[n, 2]\n"
      "  bb = Backbone()\n"
      "  output probs = bb(image)\n"
      "  output twice = bb(image * 2)\n"  // a second call: the same params
      "}\n",
      d);
  INFO(d.str());
  REQUIRE(m);
  const ir::Graph& g = m->forward;
  REQUIRE(g.params.size() == 2);
  CHECK(g.node(g.params[0]).name == "bb.fc.weight");
  CHECK(g.node(g.params[1]).name == "bb.fc.bias");
  // Gemm's transB weight [3, 2] is stored [in, out], as the importer stores it.
  CHECK(*g.node(g.params[0]).init.data == std::vector<float>{1, 3, 5, 2, 4, 6});
  CHECK(*g.node(g.params[1]).init.data == std::vector<float>{0.5F, -100, 0});
  CHECK(g.node(g.inputs[0]).type.str() == "f32[n,2]");  // the graph's 'batch' bound to the model's 'n'
  const ir::Tensor x{{2, 2}, {1, 1, -2, 0.5}};
  const std::vector<ir::Tensor> got = ir::interpret(g, arguments(g, {{"image", x}}));
  const std::vector<ir::Tensor> want = runOnnx(onnxtest::mlp(), x);
  REQUIRE(got.size() == 2);
  CHECK(got[0].shape == want[0].shape);
  for (std::size_t k = 0; k < got[0].data.size(); ++k) CHECK(got[0].data[k] == Approx(want[0].data[k]));
  // By hand, row 1: relu(x W^T + b) = relu([1+2+0.5, 3+4-100, 5+6]) = [3.5, 0, 11]; softmax of it.
  const double e1 = std::exp(3.5 - 11), e2 = std::exp(-11.0), sum = e1 + e2 + 1;
  CHECK(got[0].data[0] == Approx(e1 / sum));
  CHECK(got[0].data[1] == Approx(e2 / sum));
  CHECK(got[0].data[2] == Approx(1 / sum));
  const std::vector<ir::Tensor> doubled = runOnnx(onnxtest::mlp(), ir::Tensor{{2, 2}, {2, 2, -4, 1}});
  for (std::size_t k = 0; k < got[1].data.size(); ++k) CHECK(got[1].data[k] == Approx(doubled[0].data[k]));
}

TEST_CASE("onnx layer: a CNN as a layer with a loss and a train block is differentiated, groups name its params") {
  frontend::DiagnosticEngine d;
  auto m = compile(
      "import \"nn.sn\"\n"
      "import \"cnn.onnx\" as Features\n"
      "model ft {\n"
      "  input image: f32[batch, 16]\n"
      "  input label: i32[batch]\n"
      "  features = Features()\n"
      "  head = Dense(4, 3)\n"
      "  logits = head(features(image))\n"
      "  output probs = softmax(logits)\n"
      "  loss = cross_entropy(logits, label)\n"
      "}\n"
      "train ft {\n"
      "  minimize loss\n"
      "  optimizer adam(lr = 1e-3)\n"
      "  group frozen(\"features.*\", lr = 0)\n"
      "}\n",
      d);
  INFO(d.str());
  REQUIRE(m);
  REQUIRE(m->train);
  REQUIRE(m->train->groups.size() == 1);
  CHECK(m->train->groups[0].params == std::vector<std::string>{"features.w", "features.bias"});
  const ir::Graph step = autodiff::buildTrainStep(m->forward, "loss");
  std::vector<std::string> grads;
  for (const ir::Result& r : step.results)
    if (r.kind == ir::Result::Grad) grads.push_back(r.name);
  CHECK(grads.size() == 4);  // features.w, features.bias, head.w, head.b
  ir::Tensor x{{2, 16}, {}};
  for (int i = 0; i < 32; ++i) x.data.push_back(i % 7 - 3.5);
  // The features equal the ONNX graph's (the head's params are glorot: only the layer's part is compared).
  const std::vector<ir::Tensor> want = runOnnx(onnxtest::cnn(), x);
  frontend::DiagnosticEngine d2;
  auto features = compile(
      "import \"cnn.onnx\" as Features\nmodel f {\n  input image: f32[batch, 16]\n  output y = Features()(image)\n}\n", d2);
  REQUIRE(features);
  const std::vector<ir::Tensor> got = ir::interpret(features->forward, arguments(features->forward, {{"image", x}}));
  REQUIRE(got[0].data.size() == want[0].data.size());
  for (std::size_t k = 0; k < got[0].data.size(); ++k) CHECK(got[0].data[k] == Approx(want[0].data[k]));
  CHECK(features->forward.node(features->forward.params[0]).name == "features_1.w");
}

TEST_CASE("onnx layer: inputs in the graph's order, several outputs as a tuple in the graph's order") {
  frontend::DiagnosticEngine d;
  auto m = compile(
      "import \"two.onnx\" as Two\n"
      "model ft {\n"
      "  input x: f32[batch, 2]\n"
      "  input y: f32[batch, 2]\n"
      "  s, diff = Two()(x, y)\n"
      "  output first = s\n"
      "  output second = diff\n"
      "}\n",
      d);
  INFO(d.str());
  REQUIRE(m);
  CHECK(m->forward.params.empty());
  const std::vector<ir::Tensor> got =
      ir::interpret(m->forward, {{"x", ir::Tensor{{1, 2}, {5, 1}}}, {"y", ir::Tensor{{1, 2}, {2, 3}}}});
  REQUIRE(got.size() == 2);
  CHECK(got[0].data == std::vector<double>{7, 4});   // x + y
  CHECK(got[1].data == std::vector<double>{3, -2});  // x - y: a is the first input
}
