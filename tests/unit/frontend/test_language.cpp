// The language beyond the MLP subset: operators, indexing, tuples, loops, layers, imports, the standard
// library and the example models. Each test states the graph (or the diagnostic) a construct produces.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "compiler/ir/graph.h"
#include "helpers.h"

using namespace sinter;
using namespace sinter::frontend;
using sinter::frontend::test::compile;
using sinter::frontend::test::model;

namespace {

// The ops of the forward graph's operation nodes, in order, as "op:type" (leaves left out).
std::string ops(const ir::Graph& g) {
  std::string out;
  for (const ir::Node& n : g.nodes) {
    if (n.op == ir::Op::Input || n.op == ir::Op::Param || n.op == ir::Op::Constant) continue;
    out += std::string(ir::opName(n.op)) + ":" + n.type.str() + " ";
  }
  return out;
}

std::string params(const ir::Graph& g) {
  std::string out;
  for (ir::NodeId p : g.params) out += g.node(p).name + ":" + g.node(p).type.str() + " ";
  return out;
}

const ir::Node* named(const ir::Graph& g, std::string_view name) {
  for (const ir::Node& n : g.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

// Compiles and checks that the graph verifies; returns the diagnostics' text on failure.
std::string ok(const test::Compiled& c) {
  if (!c.module) return c.text();
  auto errs = ir::verify(c.module->forward);
  std::string out;
  for (const auto& e : errs) out += e + "\n";
  return out;
}

std::string withX(std::string_view body) { return model("  input x: f32[batch, 28, 16]\n" + std::string(body)); }

}  // namespace

TEST_CASE("language: arithmetic operators and unary minus", "[language]") {
  auto c = compile(withX("  y = -x * 2 - x / 4 + x ** 2\n"));
  REQUIRE(ok(c) == "");
  CHECK(ops(c.module->forward) ==
        "neg:f32[batch,28,16] mul:f32[batch,28,16] div:f32[batch,28,16] sub:f32[batch,28,16] "
        "pow:f32[batch,28,16] add:f32[batch,28,16] ");
  // Numbers fold at compile time: 784 / 28 is the integer 28, a valid dimension.
  auto d = compile(model("  n = 784 / 28\n  input x: f32[batch, n]\n  output y = x * (2 ** -1)\n"));
  REQUIRE(ok(d) == "");
  CHECK(d.module->forward.node(d.module->forward.inputs[0]).type.str() == "f32[batch,28]");
  CHECK(d.module->forward.nodes.back().op == ir::Op::Mul);
}

TEST_CASE("language: indexing and slicing along any axis", "[language]") {
  auto c = compile(withX("  a = x[:, 3, :]\n  b = x[:, 2:5]\n  e = x[:, -1]\n  f = x[:, ::2, 0:16:4]\n"));
  REQUIRE(ok(c) == "");
  CHECK(ops(c.module->forward) ==
        "slice:f32[batch,1,16] reshape:f32[batch,16] slice:f32[batch,3,16] slice:f32[batch,1,16] "
        "reshape:f32[batch,16] slice:f32[batch,14,16] slice:f32[batch,14,4] ");
  const ir::Node& s = c.module->forward.nodes.at(2 + 0);  // after the input
  (void)s;
  CHECK(compile(withX("  a = x[0]\n")).first() ==
        "m.sn:3:9: error: cannot index axis 0 of f32[batch,28,16]: its size 'batch' is only known at run time");
  CHECK(compile(withX("  a = x[:, 28]\n")).first() ==
        "m.sn:3:12: error: index 28 is out of range for axis 1 of f32[batch,28,16] (size 28)");
  CHECK(compile(withX("  a = x[:, 5:2]\n")).first() ==
        "m.sn:3:12: error: the slice is empty: it selects 5..2 of axis 1 of f32[batch,28,16] (size 28)");
  CHECK(compile(withX("  a = x[:, :, :, 1]\n")).first() ==
        "m.sn:3:18: error: too many indices: f32[batch,28,16] has rank 3, but 4 are given");
  CHECK(compile(withX("  a = x[:, 1.5]\n")).first() ==
        "m.sn:3:12: error: an index must be an integer known at compile time, but it is the number 1.5");
}

TEST_CASE("language: keyword arguments and negative axes", "[language]") {
  auto c =
      compile(withX("  s = sum(x, axis = 1)\n  m = mean(x, axis = (1, 2), keepdims = 1)\n"
                    "  p = softmax(x, axis = -2)\n  l = log_softmax(x)\n  t = transpose(x, (0, 2, 1))\n"));
  REQUIRE(ok(c) == "");
  const ir::Graph& g = c.module->forward;
  CHECK(ops(g) ==
        "reduce_sum:f32[batch,16] reduce_mean:f32[batch,1,1] softmax:f32[batch,28,16] log_softmax:f32[batch,28,16] "
        "transpose:f32[batch,16,28] ");
  CHECK(named(g, "p")->attrs.getInt("axis") == 1);
  CHECK(named(g, "l")->attrs.getInt("axis") == 2);
  CHECK(compile(withX("  s = sum(x, axis = 3)\n")).first() ==
        "m.sn:3:21: error: axis 3 is out of range for f32[batch,28,16] (rank 3)");
  CHECK(compile(withX("  s = sum(x, axes = 1)\n")).first() ==
        "m.sn:3:14: error: function 'sum' has no parameter 'axes'; did you mean 'axis'?");
}

TEST_CASE("language: tuples, destructuring and several outputs", "[language]") {
  auto c = compile(
      "def split(x) {\n  return x[:, 0:8], x[:, 8:16]\n}\n"
      "model M {\n  input x: f32[batch, 16]\n  a, b = split(x)\n  output first = a\n  output second = b * 2\n}\n");
  REQUIRE(ok(c) == "");
  REQUIRE(c.module->forward.results.size() == 2);
  CHECK(c.module->forward.results[0].name == "first");
  CHECK(c.module->forward.results[1].name == "second");
  CHECK(compile("def two(x) {\n  return x, x\n}\nmodel M {\n  input x: f32[2]\n  a, b, c = two(x)\n}\n").first() ==
        "m.sn:6:3: error: cannot unpack a tuple of 2 values into 3 names");
}

TEST_CASE("language: static loops unroll and carry state", "[language]") {
  auto c =
      compile(withX("  param w: f32[16, 16]\n  h = x[:, 0, :]\n"
                    "  for t in 1..28 {\n    h = tanh(x[:, t, :] + h @ w)\n  }\n  output y = h\n"));
  REQUIRE(ok(c) == "");
  int tanhs = 0;
  for (const ir::Node& n : c.module->forward.nodes) tanhs += n.op == ir::Op::Tanh;
  CHECK(tanhs == 27);
  CHECK(compile(withX("  for t in 0..1000000 {\n    y = x\n  }\n")).first() ==
        "m.sn:3:12: error: the loop would unroll 1000000 times; the limit is 100000");
  CHECK(compile(withX("  n = 2.5\n  for t in 0..n {\n    y = x\n  }\n")).first() ==
        "m.sn:4:15: error: the end of a loop's range must be an integer known at compile time, but it is the "
        "number 2.5");
  CHECK(compile(withX("  y = x\n  y = x\n")).first() == "m.sn:4:3: error: redefinition of 'y'");
  CHECK(compile(withX("  for t in 0..2 {\n    x = x\n  }\n")).first() ==
        "m.sn:4:5: error: cannot assign to 'x', which is an input");
  CHECK(compile(withX("  for t in 0..2 {\n    input z: f32[2]\n  }\n")).first() ==
        "m.sn:4:5: error: 'input' is not allowed in a loop; it belongs in the top level of a model");
}

TEST_CASE("language: layers, nested instances, dotted names and shared weights", "[language]") {
  const std::string lib =
      "layer Lin(in, out, scale = 1) {\n"
      "  param w: f32[in, out] = glorot_uniform\n"
      "  param b: f32[out]\n"
      "  def forward(x) {\n"
      "    return (x @ w + b) * scale\n"
      "  }\n"
      "}\n"
      "layer Block(width) {\n"
      "  fc1 = Lin(width, width)\n"
      "  fc2 = Lin(width, width, scale = 0.5)\n"
      "  def forward(x) {\n"
      "    return fc2(relu(fc1(x)))\n"
      "  }\n"
      "}\n";
  auto c = compile(lib +
                   "model M {\n  input x: f32[batch, 8]\n  encoder = Block(8)\n"
                   "  h = encoder(encoder(x))\n  output y = encoder.fc1.w\n}\n");
  REQUIRE(ok(c) == "");
  const ir::Graph& g = c.module->forward;
  CHECK(params(g) == "encoder.fc1.w:f32[8,8] encoder.fc1.b:f32[8] encoder.fc2.w:f32[8,8] encoder.fc2.b:f32[8] ");
  int matmuls = 0;
  for (const ir::Node& n : g.nodes) matmuls += n.op == ir::Op::MatMul;
  CHECK(matmuls == 4);  // two calls of a block of two layers, one set of weights
  CHECK(compile(lib + "model M {\n  input x: f32[batch, 8]\n  fc = Lin(8, 4)\n  y = fc(x, x)\n}\n").first() ==
        "m.sn:18:13: error: 'fc.forward' takes 1 argument (x), but 2 were given");
  CHECK(compile(lib + "model M {\n  input x: f32[batch, 8]\n  fc = Lin(4, 2)\n  y = fc(x)\n}\n").first() ==
        "m.sn:5:15: error: cannot matmul f32[batch,8] by f32[4,2]: inner dimensions 8 and 4 differ");
  auto bad = compile(lib + "model M {\n  input x: f32[batch, 8]\n  fc = Lin(4, 2)\n  y = fc(x)\n}\n");
  CHECK(bad.text().find("m.sn:18:7: note: in the call of 'fc.forward' here") != std::string::npos);
  CHECK(compile(lib + "model M {\n  input x: f32[batch, 8]\n  fc = Lin(x, 2)\n}\n").first() ==
        "m.sn:17:12: error: argument 'in' of layer 'Lin' must be known at compile time (a number, a tuple or a "
        "layer), but it is a tensor f32[batch,8]; pass tensors when calling the instance");
  CHECK(compile(lib + "model M {\n  input x: f32[batch, 8]\n  fc = Lin(8, 2)\n  y = fc.v\n}\n").first() ==
        "m.sn:18:10: error: instance 'fc' of layer 'Lin' has no member 'v'; its members are in, out, scale, w, b and "
        "forward");
}

TEST_CASE("language: unnamed instances get fresh names", "[language]") {
  auto c = compile(
      "import \"nn.sn\"\nmodel M {\n  input x: f32[batch, 4]\n  y = Dense(4, 4)(x)\n"
      "  dense_1 = Dense(4, 2)\n  z = Dense(2, 4)(dense_1(y))\n}\n");
  REQUIRE(ok(c) == "");
  CHECK(params(c.module->forward) ==
        "dense_2.w:f32[4,4] dense_2.b:f32[4] dense_1.w:f32[4,2] dense_1.b:f32[2] dense_3.w:f32[2,4] "
        "dense_3.b:f32[4] ");
}

TEST_CASE("language: layers cannot be made in loops or defs, nor recurse forever", "[language]") {
  const std::string lin = "layer L(n) {\n  param w: f32[n]\n  def forward(x) {\n    return x * w\n  }\n}\n";
  CHECK(compile(lin + "def f(x) {\n  l = L(2)\n  return l(x)\n}\nmodel M {\n  input x: f32[2]\n  y = f(x)\n}\n")
            .first() ==
        "m.sn:8:7: error: layer 'L' can only be instantiated in a model or a layer's body, outside loops and 'def'; "
        "create it there and call the instance here");
  CHECK(compile("layer R() {\n  r = R()\n}\nmodel M {\n  a = R()\n}\n").first() ==
        "m.sn:2:7: error: layers nest more than 64 deep; is layer 'R' recursive?");
  CHECK(compile("def f(x) {\n  return f(x)\n}\nmodel M {\n  input x: f32[2]\n  y = f(x)\n}\n").first() ==
        "m.sn:2:10: error: calls nest more than 64 deep; is 'f' recursive?");
  CHECK(compile("def f(x) {\n  y = x\n}\nmodel M {\n  input x: f32[2]\n  y = f(x)\n}\n").first() ==
        "m.sn:1:5: error: 'f' ends without 'return'");
}

TEST_CASE("language: stop_gradient and losses combined with weights", "[language]") {
  auto c = compile(
      "model M {\n  input x: f32[batch, 4]\n  input y: i32[batch]\n  param w: f32[4, 3]\n"
      "  z = x @ w\n  a = cross_entropy(z, y)\n  b = mean(stop_gradient(z) * z)\n"
      "  loss = 1.0 * a + 0.5 * b\n}\ntrain M {\n  minimize loss\n}\n");
  REQUIRE(ok(c) == "");
  const ir::Graph& g = c.module->forward;
  REQUIRE(g.results.size() == 1);
  CHECK(g.results[0].kind == ir::Result::Loss);
  CHECK(g.node(g.results[0].node).type.str() == "f32[]");
  CHECK(ops(g).find("stop_gradient:f32[batch,3]") != std::string::npos);
}

TEST_CASE("language: imports, include paths and cycles", "[language]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "sinter_import_test";
  fs::create_directories(dir / "inc");
  auto write = [&](const fs::path& p, const std::string& text) { std::ofstream(p) << text; };
  write(dir / "inc" / "mylib.sn", "def double(x) {\n  return x * 2\n}\n");
  write(dir / "a.sn", "import \"b.sn\"\n");
  write(dir / "b.sn", "import \"a.sn\"\n");
  write(dir / "main.sn", "import \"mylib.sn\"\nmodel M {\n  input x: f32[2]\n  output y = double(x)\n}\n");
  write(dir / "cycle.sn", "import \"a.sn\"\nmodel M {\n}\n");

  DiagnosticEngine d1;
  CompileOptions opts;
  CHECK_FALSE(compileFile((dir / "main.sn").string(), d1, opts));
  CHECK(d1.all().at(0).message.find("cannot find \"mylib.sn\"") == 0);

  DiagnosticEngine d2;
  opts.includeDirs.push_back((dir / "inc").string());
  CHECK(compileFile((dir / "main.sn").string(), d2, opts));

  DiagnosticEngine d3;
  CHECK_FALSE(compileFile((dir / "cycle.sn").string(), d3, opts));
  CHECK(d3.all().at(0).message == "import cycle: a.sn imports b.sn imports a.sn");

  // The standard library comes from the default include path.
  CHECK(ok(compile("import \"nn.sn\"\nmodel M {\n  input x: f32[batch, 4]\n  fc = Dense(4, 2)\n"
                   "  output y = fc(x)\n}\n")) == "");
  fs::remove_all(dir);
}

TEST_CASE("language: every example model checks and verifies", "[language][examples]") {
  namespace fs = std::filesystem;
  int n = 0;
  for (const auto& entry : fs::directory_iterator(SINTER_SOURCE_DIR "/examples")) {
    if (entry.path().extension() != ".sn") continue;
    ++n;
    DiagnosticEngine diags;
    ModelSummary summary;
    CompileOptions opts;
    opts.summary = &summary;
    auto m = compileFile(entry.path().string(), diags, opts);
    INFO(entry.path().string() << "\n" << diags.str());
    REQUIRE(m);
    CHECK(ir::verify(m->forward).empty());
    CHECK(m->train);
    CHECK(summary.totalParams > 0);
  }
  CHECK(n >= 9);
}
