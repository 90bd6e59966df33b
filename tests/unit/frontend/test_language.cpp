// The language beyond the MLP subset: operators, indexing, tuples, loops, layers, imports, the standard
// library and the example models. Each test states the graph (or the diagnostic) a construct produces.
#include <fmt/format.h>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "compiler/autodiff/gradcheck.h"
#include "compiler/ir/graph.h"
#include "compiler/ir/interpreter.h"
#include "frontend/builtins.h"
#include "frontend/functions.h"
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

// Builtins of the op table fold numbers with the op's own formula, the one generated code uses: softplus of a
// large number is that number (log1p(exp(x)) overflowed to infinity and was reported as undefined).
TEST_CASE("language: elementwise builtins fold numbers with the op's formula", "[language]") {
  auto c = compile(model("  input x: f32[batch, 2]\n  output y = x * (softplus(1000) - 999 + silu(0) + erf(0))\n"));
  REQUIRE(ok(c) == "");
  const ir::Graph& g = c.module->forward;
  REQUIRE(g.node(g.nodes.back().operands[1]).op == ir::Op::Constant);
  CHECK(g.node(g.nodes.back().operands[1]).scalar == 1.0);
  CHECK(compile(model("  a = log(-1)\n")).first() == "m.sn:2:11: error: 'log' of the number -1 is undefined");
  // maximum of two integers is an integer (a dimension), of an integer and a float a float.
  CHECK(ok(compile(model("  n = maximum(2, 3)\n  input x: f32[n]\n"))) == "");
  CHECK(compile(model("  n = maximum(2, 3.5)\n  input x: f32[n]\n")).first() ==
        "m.sn:3:16: error: dimension 'n' must be a positive integer, but it is the number 3.5");
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

TEST_CASE("language: a loop over a range makes an instance per run, numbered after the name it assigns", "[language]") {
  const std::string lib =
      "layer Lin(n) {\n  param w: f32[n, n] = glorot_uniform\n  def forward(x) {\n    return tanh(x @ w)\n  }\n}\n"
      "layer Tower(n, depth) {\n  blocks = ()\n  for i in 0..depth {\n    blocks = blocks + (Lin(n),)\n  }\n"
      "  def forward(x) {\n    for i in 0..depth {\n      x = blocks[i](x)\n    }\n    return x\n  }\n}\n";
  auto looped = compile(lib +
                        "model M {\n  input x: f32[batch, 4]\n  tower = Tower(4, 3)\n"
                        "  for k in 0..2 {\n    head = Lin(4)\n    x2 = head(x)\n  }\n"
                        "  output y = tower(x) + x2\n}\n");
  REQUIRE(ok(looped) == "");
  const ir::Graph& g = looped.module->forward;
  CHECK(params(g) ==
        "tower.blocks.0.w:f32[4,4] tower.blocks.1.w:f32[4,4] tower.blocks.2.w:f32[4,4] head.0.w:f32[4,4] "
        "head.1.w:f32[4,4] ");
  // The same model written out instance by instance computes the same value from the same weights.
  auto written = compile(lib +
                         "model M {\n  input x: f32[batch, 4]\n  b0 = Lin(4)\n  b1 = Lin(4)\n  b2 = Lin(4)\n"
                         "  h1 = Lin(4)\n  output y = b2(b1(b0(x))) + h1(x)\n}\n");
  REQUIRE(ok(written) == "");
  const auto args = autodiff::randomArguments(g, 2, 9);
  std::map<std::string, ir::Tensor> renamed = {{"x", args.at("x")},
                                               {"b0.w", args.at("tower.blocks.0.w")},
                                               {"b1.w", args.at("tower.blocks.1.w")},
                                               {"b2.w", args.at("tower.blocks.2.w")},
                                               {"h1.w", args.at("head.1.w")}};
  CHECK(ir::interpret(g, args)[0].data == ir::interpret(written.module->forward, renamed)[0].data);
  CHECK(compile(lib + "model M {\n  input x: f32[batch, 4, 4]\n  for r in x along 1 {\n    l = Lin(4)\n  }\n}\n")
            .first() ==
        "m.sn:22:9: error: layer 'Lin' can only be instantiated in a model or a layer's body, outside 'def' and loops "
        "over sequences; create it there and call the instance here");
}

TEST_CASE("language: layers cannot be made in loops or defs, nor recurse forever", "[language]") {
  const std::string lin = "layer L(n) {\n  param w: f32[n]\n  def forward(x) {\n    return x * w\n  }\n}\n";
  CHECK(
      compile(lin + "def f(x) {\n  l = L(2)\n  return l(x)\n}\nmodel M {\n  input x: f32[2]\n  y = f(x)\n}\n")
          .first() ==
      "m.sn:8:7: error: layer 'L' can only be instantiated in a model or a layer's body, outside 'def' and loops over sequences; "
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

TEST_CASE("language: dropout calls each get their own salt, the same ones every time", "[language][dropout]") {
  const std::string src =
      "import \"nn.sn\"\nmodel M {\n  input x: f32[batch, 8]\n  drop1 = Dropout(0.25)\n  drop2 = Dropout()\n"
      "  h = drop2(drop1(x))\n  g = drop1(h)\n"  // one instance called twice draws two masks
      "  for t in 0..2 {\n    g = dropout(g, p = 0.1)\n  }\n  output y = g\n}\n";
  auto saltsAndPs = [&] {
    auto c = compile(src);
    REQUIRE(ok(c) == "");
    CHECK(ops(c.module->forward) ==
          "dropout:f32[batch,8] dropout:f32[batch,8] dropout:f32[batch,8] dropout:f32[batch,8] dropout:f32[batch,8] ");
    std::vector<std::pair<std::int64_t, double>> out;
    for (const ir::Node& n : c.module->forward.nodes)
      if (n.op == ir::Op::Dropout) out.emplace_back(n.attrs.getInt("salt"), n.attrs.getFloat("p"));
    return out;
  };
  const auto first = saltsAndPs();
  REQUIRE(first.size() == 5);
  std::vector<double> ps;
  std::set<std::int64_t> salts;
  for (const auto& [salt, p] : first) {
    salts.insert(salt);
    ps.push_back(p);
  }
  CHECK(salts.size() == first.size());  // no two calls share a mask
  CHECK(ps == std::vector<double>{0.25, 0.5, 0.25, 0.1, 0.1});
  CHECK(saltsAndPs() == first);  // compiling again gives the same salts
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

  // A chain of imports deeper than 32 files ends in an error at the import that goes too deep.
  for (int i = 0; i < 40; ++i) write(dir / fmt::format("chain{}.sn", i), fmt::format("import \"chain{}.sn\"\n", i + 1));
  write(dir / "chain40.sn", "");
  write(dir / "deep.sn", "import \"chain0.sn\"\nmodel M {\n}\n");
  DiagnosticEngine d4;
  CHECK_FALSE(compileFile((dir / "deep.sn").string(), d4, opts));
  REQUIRE(d4.all().size() == 1);
  CHECK(d4.all()[0].message == "imports nest more than 32 deep");
  CHECK(d4.all()[0].loc.file == (dir / "chain31.sn").string());

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

TEST_CASE("docs/language.md names every built-in function, every layer and def of lib/nn.sn and every metric",
          "[language][docs]") {
  auto read = [](const std::string& path) {
    std::ifstream f(std::string(SINTER_SOURCE_DIR) + "/" + path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  };
  const std::string doc = read("docs/language.md");
  auto section = [&](const std::string& heading) {
    const auto start = doc.find(heading);
    REQUIRE(start != std::string::npos);
    return doc.substr(start, doc.find("\n## ", start + heading.size()) - start);
  };
  auto mentions = [](const std::string& text, const std::string& name) {
    return std::regex_search(text, std::regex("\\b" + name + "\\b"));
  };
  const std::string builtins = section("## Built-in functions");
  for (const BuiltinSpec& b : builtinFunctions()) {
    INFO("built-in function " << b.name);
    CHECK(mentions(builtins, std::string(b.name)));
  }
  const std::string stdlib = section("## The standard library");
  const std::string nn = read("lib/nn.sn");
  const std::regex def(R"((?:^|\n)(?:layer|def) ([A-Za-z_0-9]+))");
  int n = 0;
  for (auto it = std::sregex_iterator(nn.begin(), nn.end(), def); it != std::sregex_iterator(); ++it, ++n) {
    INFO("lib/nn.sn: " << (*it)[1]);
    CHECK(mentions(stdlib, (*it)[1]));
  }
  CHECK(n >= 17);  // the scan found the layers and defs (a broken regex finds none)
  const std::string train = section("## Train block");
  for (const MetricSpec& m : metrics()) {
    INFO("metric " << m.name);
    CHECK(train.find("| `" + std::string(m.name) + "` |") != std::string::npos);
  }
}
