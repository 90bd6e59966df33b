// Every diagnostic of the frontend with its exact text, the caret renderer, several errors in one run,
// and inputs that must not crash, hang or overflow the stack.
#include <catch2/catch.hpp>
#include <string>

#include "frontend/diagnostics.h"
#include "helpers.h"

using namespace sinter::frontend;
using sinter::frontend::test::compile;
using sinter::frontend::test::model;

namespace {

// A model with an input `x: f32[batch, 4]`, a param `w: f32[4, 3]` and the given lines (from line 4).
std::string withXW(std::string_view body) {
  return model("  input x: f32[batch, 4]\n  param w: f32[4, 3]\n" + std::string(body));
}

const char* kTrainable =
    "model M {\n"
    "  input x: f32[batch, 4]\n"
    "  input y: i32[batch]\n"
    "  param w: f32[4, 3]\n"
    "  logits = x @ w\n"
    "  loss = cross_entropy(logits, y)\n"
    "}\n";

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Rendering

TEST_CASE("diagnostics: format of an error with a note", "[diagnostics]") {
  auto c =
      compile(model("  input image: f32[batch, 784]\n"
                    "  param w1: f32[784, 256]\n"
                    "  param b1: f32[128]\n"
                    "  h1 = relu(image @ w1 + b1)\n"));
  CHECK_FALSE(c.module);
  CHECK(c.text() ==
        "m.sn:5:24: error: cannot add f32[batch,256] and f32[128]: dimension 1 is 256 vs 128\n"
        "  h1 = relu(image @ w1 + b1)\n"
        "            ~~~~~~~~~~ ^ ~~\n"
        "m.sn:4:9: note: 'b1' declared here as f32[128]\n"
        "  param b1: f32[128]\n"
        "        ^~\n"
        "1 error generated.\n");
}

TEST_CASE("diagnostics: the caret renderer", "[diagnostics]") {
  Diagnostic d;
  d.loc = {"f", 1, 5};
  SECTION("tabs expand to 8 columns") {
    d.length = 2;
    CHECK(renderSnippet("\tab\tcd", d) == "        ab      cd\n                ^~\n");
  }
  SECTION("past the end of the line") {
    d.loc.col = 4;
    CHECK(renderSnippet("abc", d) == "abc\n   ^\n");
  }
  SECTION("control bytes and invalid UTF-8 show as '?'") {
    d.loc.col = 2;
    CHECK(renderSnippet(std::string("a\0\xff\xc3\xa9z", 6), d) == "a??\xc3\xa9z\n ^\n");
  }
  SECTION("long lines are cut around the caret") {
    d.loc.col = 1001;
    d.length = 3;
    const std::string out = renderSnippet(std::string(1000, 'a') + "XYZ" + std::string(1000, 'b'), d);
    const std::string line = out.substr(0, out.find('\n'));
    const std::string marks = out.substr(out.find('\n') + 1);
    CHECK(line.size() == 3 + 160 + 3);
    CHECK(line.substr(0, 3) == "...");
    CHECK(line.substr(63, 3) == "XYZ");
    CHECK(marks == std::string(63, ' ') + "^~~\n");
  }
}

TEST_CASE("diagnostics: summary line and diagnostics without a location", "[diagnostics]") {
  DiagnosticEngine d;
  d.error({}, "cannot open 'x.sn': No such file or directory");
  d.error({"f.sn", 0, 0}, "no model found");
  CHECK(d.str() ==
        "error: cannot open 'x.sn': No such file or directory\n"
        "f.sn: error: no model found\n"
        "2 errors generated.\n");
  DiagnosticEngine w;
  w.warning({}, "w");
  w.error({}, "e");
  CHECK(w.str() == "warning: w\nerror: e\n1 warning and 1 error generated.\n");
  CHECK(DiagnosticEngine().str().empty());
}

TEST_CASE("diagnostics: file not found", "[diagnostics]") {
  DiagnosticEngine d;
  CHECK_FALSE(compileFile("/nonexistent/x.sn", d));
  CHECK(d.str() == "error: cannot open '/nonexistent/x.sn': No such file or directory\n1 error generated.\n");
  DiagnosticEngine a;
  CHECK_FALSE(dumpAst("/nonexistent/x.sn", a));
  CHECK(a.errorCount() == 1);
}

TEST_CASE("diagnostics: empty file", "[diagnostics]") {
  auto c = compile("");
  CHECK(c.text() ==
        "m.sn: error: no model found; a model file needs a 'model Name { ... }' block\n1 error generated.\n");
  CHECK(compile("# only a comment\n\n").first() ==
        "error: no model found; a model file needs a 'model Name { ... }' block");
}

// ---------------------------------------------------------------------------------------------------
// Syntax

TEST_CASE("diagnostics: unexpected tokens", "[diagnostics]") {
  CHECK(compile(model("  input x: f32[batch 784]\n")).text() ==
        "m.sn:2:22: error: expected ']' after dimensions\n"
        "  input x: f32[batch 784]\n"
        "                     ^~~\n"
        "m.sn:2:15: note: to match this '['\n"
        "  input x: f32[batch 784]\n"
        "              ^\n"
        "1 error generated.\n");
  CHECK(compile("hello\nmodel M {\n}\n").first() ==
        "m.sn:1:1: error: expected 'import', 'layer', 'def', 'model' or 'train', found 'hello'");
  CHECK(compile(model("  x = 1 2\n")).first() ==
        "m.sn:2:9: error: expected end of line after the expression, found number '2'");
  CHECK(compile(model("  input x: f32\n")).first() ==
        "m.sn:2:15: error: expected '[' after 'f32' (write f32[] for a scalar)");
  CHECK(compile(model("  input x: f32[,]\n")).first() == "m.sn:2:16: error: expected a dimension (a number or a name)");
  CHECK(compile(model("  x: f32[2]\n")).first() ==
        "m.sn:2:4: error: expected '=' after 'x'; declarations start with 'input' or 'param'");
  CHECK(compile(model("  inptu x: f32[2]\n")).first() ==
        "m.sn:2:3: error: unknown statement 'inptu'; did you mean 'input'?");
  CHECK(
      compile(model("  ( = 1\n")).first() ==
      "m.sn:2:3: error: expected a statement (input, param, output, for, if, return or NAME = expression), found '('");
  CHECK(compile("model {\n}\n").first() == "m.sn:1:6: error: expected a model name after 'model'");
  CHECK(compile("model M\n  input x: f32[2]\n").first() == "m.sn:1:8: error: expected '{' after the model name");
}

TEST_CASE("diagnostics: operators on values that do not fit", "[diagnostics]") {
  CHECK(compile(withXW("  y = x - x\n  z = x / 2\n  u = x ** 2\n  v = -x\n")).first() == "");
  CHECK(compile(withXW("  input n: i32[batch]\n  y = -n\n")).first() ==
        "m.sn:5:7: error: unary '-' needs a floating-point tensor or a number, but its operand is i32[batch]");
  CHECK(
      compile(withXW("  input n: i32[batch]\n  y = n / 2\n")).first() ==
      "m.sn:5:9: error: cannot divide i32[batch] and the number 2: this arithmetic needs floating-point tensors; convert with f32(...)");
  CHECK(compile(withXW("  y = 1 / 0\n")).first() == "m.sn:4:9: error: division by zero");
  CHECK(compile(withXW("  y = 2 @ 3\n")).first() ==
        "m.sn:4:9: error: '@' needs tensors of rank 2 or more, not numbers");
  CHECK(compile(withXW("  y = x @ 3\n")).first() ==
        "m.sn:4:9: error: '@' needs tensors on both sides, but the right operand is the number 3");
}

TEST_CASE("diagnostics: unterminated brackets and blocks", "[diagnostics]") {
  CHECK(compile(withXW("  y = relu(x @ w\n  z = y\n")).text() ==
        "m.sn:4:17: error: expected ')' after the arguments\n"
        "  y = relu(x @ w\n"
        "                ^\n"
        "m.sn:4:11: note: to match this '('\n"
        "  y = relu(x @ w\n"
        "          ^\n"
        "1 error generated.\n");
  CHECK(compile("model M {\n  x = (1 + 2\n").first() == "m.sn:2:13: error: expected ')' after the expression");
  CHECK(compile("model M {\n  input x: f32[2]\n").text() ==
        "m.sn:2:18: error: expected '}' at the end of model 'M'\n"
        "  input x: f32[2]\n"
        "                 ^\n"
        "m.sn:1:9: note: to match this '{'\n"
        "model M {\n"
        "        ^\n"
        "1 error generated.\n");
  CHECK(compile(std::string(kTrainable) + "train M {\n  minimize loss\n").first() ==
        "m.sn:9:16: error: expected '}' at the end of the train block");
}

TEST_CASE("diagnostics: numbers out of range", "[diagnostics]") {
  CHECK(compile(withXW("  y = x * 1e999\n")).first() == "m.sn:4:11: error: number '1e999' is too large");
  CHECK(compile(withXW("  y = x * 1e-999\n")).first().empty());  // underflows to 0: harmless
}

// ---------------------------------------------------------------------------------------------------
// Names and types

TEST_CASE("diagnostics: unknown dtype", "[diagnostics]") {
  CHECK(compile(model("  input x: f16[2]\n")).text() ==
        "m.sn:2:12: error: unknown dtype 'f16'; the dtypes are f32, f64 and i32\n"
        "  input x: f16[2]\n"
        "           ^~~\n"
        "1 error generated.\n");
  CHECK(compile(model("  input x: float32[2]\n")).first() ==
        "m.sn:2:12: error: unknown dtype 'float32'; did you mean 'f32'?");
  CHECK(compile(model("  input x: f33[2]\n")).first() == "m.sn:2:12: error: unknown dtype 'f33'; did you mean 'f32'?");
}

TEST_CASE("diagnostics: dimensions", "[diagnostics]") {
  CHECK(compile(model("  input x: f32[0]\n")).first() == "m.sn:2:16: error: dimension must be positive, got 0");
  CHECK(compile(model("  input x: f32[-3]\n")).first() == "m.sn:2:16: error: dimension must be positive, got -3");
  CHECK(compile(model("  input x: f32[2.5]\n")).first() == "m.sn:2:16: error: dimension must be an integer, got 2.5");
  CHECK(compile(model("  input x: f32[2147483648]\n")).first() ==
        "m.sn:2:16: error: dimension 2147483648 is too large (the limit is 2^31 - 1 = 2147483647)");
  CHECK(compile(model("  input x: f32[99999999999999999999999999]\n")).first() ==
        "m.sn:2:16: error: dimension 99999999999999999999999999 is too large (the limit is 2^31 - 1 = 2147483647)");
  CHECK(compile(model("  input x: f32[2147483647]\n")).first().empty());
  CHECK(compile(model("  param w: f32[2147483647, 2147483647]\n")).first() ==
        "m.sn:2:12: error: f32[2147483647,2147483647] is too large: it needs more than 2^48 bytes");
}

TEST_CASE("diagnostics: params", "[diagnostics]") {
  CHECK(compile(model("  param w: f32[batch, 3]\n")).first() ==
        "m.sn:2:16: error: the shape of parameter 'w' must be fixed, but 'batch' is a symbolic dimension");
  CHECK(compile(model("  param w: i32[3]\n")).first() ==
        "m.sn:2:12: error: parameter 'w' must have a floating-point dtype (f32 or f64), not i32");
}

TEST_CASE("diagnostics: redefinition", "[diagnostics]") {
  CHECK(compile(model("  param w1: f32[2]\n  input w1: f32[3]\n")).text() ==
        "m.sn:3:9: error: redefinition of 'w1'\n"
        "  input w1: f32[3]\n"
        "        ^~\n"
        "m.sn:2:9: note: 'w1' declared here\n"
        "  param w1: f32[2]\n"
        "        ^~\n"
        "1 error generated.\n");
}

TEST_CASE("diagnostics: undefined names", "[diagnostics]") {
  CHECK(compile(model("  input image: f32[2]\n  param w2: f32[2]\n  y = image + w3\n")).text() ==
        "m.sn:4:15: error: use of undefined value 'w3'; did you mean 'w2'?\n"
        "  y = image + w3\n"
        "              ^~\n"
        "m.sn:3:9: note: 'w2' declared here\n"
        "  param w2: f32[2]\n"
        "        ^~\n"
        "1 error generated.\n");
  CHECK(compile(model("  y = nothing_like_it\n")).first() ==
        "m.sn:2:7: error: use of undefined value 'nothing_like_it'");
  CHECK(compile(model("  a = b\n  b = 1\n")).text() ==
        "m.sn:2:7: error: 'b' is used before it is defined\n"
        "  a = b\n"
        "      ^\n"
        "m.sn:3:3: note: 'b' is defined here\n"
        "  b = 1\n"
        "  ^\n"
        "1 error generated.\n");
  CHECK(compile(model("  c = c + 1\n")).first() == "m.sn:2:7: error: 'c' is used in its own definition");
  CHECK(compile(model("  c = relu\n")).first() == "m.sn:2:7: error: 'relu' is a function; call it as relu(...)");
}

TEST_CASE("diagnostics: unknown functions and initializers", "[diagnostics]") {
  CHECK(compile(withXW("  y = rleu(x)\n")).text() ==
        "m.sn:4:7: error: unknown function 'rleu'; did you mean 'relu'?\n"
        "  y = rleu(x)\n"
        "      ^~~~\n"
        "1 error generated.\n");
  CHECK(compile(withXW("  y = frobnicate(x)\n")).first() ==
        "m.sn:4:7: error: unknown function 'frobnicate'; the functions are listed in docs/language.md");
  CHECK(compile(withXW("  y = x(1)\n")).first() == "m.sn:4:7: error: 'x' is a value, not a function");
  CHECK(compile(withXW("  y = he_normal(x)\n")).first() ==
        "m.sn:4:7: error: 'he_normal' is an initializer; it can only follow '=' in a param declaration");
  CHECK(compile(model("  param w: f32[2] = glorot\n")).first() ==
        "m.sn:2:21: error: unknown initializer 'glorot'; did you mean 'glorot_uniform'?");
  CHECK(compile(model("  param w: f32[2] = xavier\n")).first() ==
        "m.sn:2:21: error: unknown initializer 'xavier'; the initializers are zeros, ones, constant, uniform, normal, "
        "glorot_uniform, he_normal and lecun_uniform");
}

TEST_CASE("diagnostics: argument counts and names", "[diagnostics]") {
  CHECK(compile(withXW("  y = relu(x, x)\n")).text() ==
        "m.sn:4:15: error: 'relu' takes 1 argument (x), but 2 were given\n"
        "  y = relu(x, x)\n"
        "              ^\n"
        "1 error generated.\n");
  CHECK(compile(withXW("  y = cross_entropy(x @ w)\n")).text() ==
        "m.sn:4:7: error: 'cross_entropy' takes 2 arguments (logits and labels), but 1 was given\n"
        "  y = cross_entropy(x @ w)\n"
        "      ^~~~~~~~~~~~~~~~~~~~\n"
        "1 error generated.\n");
  CHECK(compile(withXW("  y = softmax()\n")).first() == "m.sn:4:7: error: 'softmax' needs a value for 'x'");
  CHECK(compile(withXW("  y = relu(z = x)\n")).first() ==
        "m.sn:4:12: error: function 'relu' has no parameter 'z'; its parameters are x");
  CHECK(compile(model("  param w: f32[2] = uniform(0, low = 1)\n")).text() ==
        "m.sn:2:32: error: argument 'low' is given twice\n"
        "  param w: f32[2] = uniform(0, low = 1)\n"
        "                               ^~~\n"
        "m.sn:2:29: note: first given here\n"
        "  param w: f32[2] = uniform(0, low = 1)\n"
        "                            ^\n"
        "1 error generated.\n");
  CHECK(compile(model("  param w: f32[2] = uniform(low = -1)\n")).first() ==
        "m.sn:2:21: error: 'uniform' needs a value for 'high'");
  CHECK(compile(model("  param w: f32[2] = uniform(low = -1, 1)\n")).first() ==
        "m.sn:2:39: error: positional argument after a keyword argument");
  CHECK(compile(model("  param w: f32[2] = zeros(1)\n")).first() ==
        "m.sn:2:27: error: 'zeros' takes no arguments, but 1 was given");
  CHECK(compile(model("  param w: f32[2] = normal(sd = 1)\n")).first() ==
        "m.sn:2:28: error: initializer 'normal' has no parameter 'sd'; did you mean 'std'?");
  CHECK(compile(model("  input x: f32[2]\n  param w: f32[2] = constant(x)\n")).first() ==
        "m.sn:3:30: error: argument 'value' of 'constant' must be a number");
  CHECK(compile(model("  param w: f32[2] = uniform(1, 0)\n")).first() ==
        "m.sn:2:21: error: uniform needs low < high, got low = 1 and high = 0");
  CHECK(compile(model("  param w: f32[2] = normal(std = 0)\n")).first() ==
        "m.sn:2:21: error: normal needs a positive std, got 0");
}

TEST_CASE("diagnostics: shape and dtype mismatches", "[diagnostics]") {
  CHECK(compile(withXW("  input v: f32[5]\n  y = x * v\n")).first() ==
        "m.sn:5:9: error: cannot multiply f32[batch,4] and f32[5]: dimension 1 is 4 vs 5");
  CHECK(compile(withXW("  input n: i32[batch]\n  y = x + n\n")).first() ==
        "m.sn:5:9: error: cannot add f32[batch,4] and i32[batch]: their dtypes differ (f32 vs i32)");
  CHECK(compile(withXW("  input v: f32[other, 4]\n  y = x + v\n")).first() ==
        "m.sn:5:9: error: cannot add f32[batch,4] and f32[other,4]: dimension 0 is batch vs other");
  CHECK(compile(withXW("  input v: f32[batch, 1]\n  y = x + v * 2\n")).first().empty());  // 1 broadcasts
}

TEST_CASE("diagnostics: matmul", "[diagnostics]") {
  CHECK(compile(withXW("  y = x @ x\n")).text() ==
        "m.sn:4:9: error: cannot matmul f32[batch,4] by f32[batch,4]: inner dimensions 4 and batch differ\n"
        "  y = x @ x\n"
        "      ~ ^ ~\n"
        "m.sn:2:9: note: 'x' declared here as f32[batch,4]\n"
        "  input x: f32[batch, 4]\n"
        "        ^\n"
        "1 error generated.\n");
  CHECK(compile(withXW("  input v: f32[4]\n  y = x @ v\n")).first() ==
        "m.sn:5:9: error: matmul needs operands of rank 2 or more, but the right operand is f32[4] (rank 1)");
  CHECK(compile(withXW("  input n: i32[3, 4]\n  y = n @ w\n")).first() ==
        "m.sn:5:9: error: matmul needs floating-point operands, but the left operand is i32[3,4]");
}

TEST_CASE("diagnostics: functions' argument types", "[diagnostics]") {
  CHECK(
      compile(withXW("  input y: f32[batch]\n  l = cross_entropy(x @ w, y)\n")).text() ==
      "m.sn:5:28: error: cross_entropy needs class labels i32[N] or one-hot targets f32[batch,3] (the logits' type), got "
      "f32[batch]\n"
      "  l = cross_entropy(x @ w, y)\n"
      "                           ^\n"
      "m.sn:4:9: note: 'y' declared here as f32[batch]\n"
      "  input y: f32[batch]\n"
      "        ^\n"
      "1 error generated.\n");
  CHECK(compile(withXW("  input t: f32[batch]\n  l = mse(x @ w, t)\n")).first() ==
        "m.sn:5:7: error: 'mse' needs operands of one type, got f32[batch,3] and f32[batch]; reshape one of them");
  CHECK(
      compile(withXW("  input t: f32[batch]\n  l = bce_with_logits(x @ w, t)\n")).first() ==
      "m.sn:5:7: error: 'bce_with_logits' needs operands of one type, got f32[batch,3] and f32[batch]; reshape one of them");
  CHECK(compile(withXW("  input y: i32[batch]\n  l = cross_entropy(w, y)\n")).first() ==
        "m.sn:5:7: error: cross_entropy's logits f32[4,3] and labels i32[batch] disagree on N (4 vs batch)");
  CHECK(compile(withXW("  input y: i32[batch]\n  l = cross_entropy(y, y)\n")).first() ==
        "m.sn:5:21: error: cross_entropy needs floating-point logits of shape [N, C], got i32[batch]");
  CHECK(compile(withXW("  input n: i32[3]\n  y = relu(n)\n")).first() ==
        "m.sn:5:12: error: 'relu' needs a floating-point tensor, got i32[3]");
  CHECK(compile(withXW("  y = softmax(2)\n")).first() ==
        "m.sn:4:15: error: 'softmax' normalizes along an axis, so it needs rank 1 or more, got f32[]");
}

// ---------------------------------------------------------------------------------------------------
// Train blocks

TEST_CASE("diagnostics: train block naming an unknown model or value", "[diagnostics]") {
  CHECK(compile(std::string(kTrainable) + "train Mm {\n  minimize loss\n}\n").first() ==
        "m.sn:8:7: error: train block names unknown model 'Mm'; did you mean 'M'?");
  CHECK(compile(std::string(kTrainable) + "train Something {\n  minimize loss\n}\n").text() ==
        "m.sn:8:7: error: train block names unknown model 'Something'\n"
        "train Something {\n"
        "      ^~~~~~~~~\n"
        "m.sn:1:7: note: the model in this file is 'M'\n"
        "model M {\n"
        "      ^\n"
        "1 error generated.\n");
  CHECK(compile(std::string(kTrainable) + "train M {\n  minimize los\n}\n").first() ==
        "m.sn:9:12: error: 'minimize' names unknown value 'los'; did you mean 'loss'?");
}

TEST_CASE("diagnostics: the loss must be a floating-point scalar", "[diagnostics]") {
  CHECK(compile(std::string(kTrainable) + "train M {\n  minimize logits\n}\n").text() ==
        "m.sn:9:12: error: the loss must be a floating-point scalar (f32[] or f64[]), but 'logits' is f32[batch,3]\n"
        "  minimize logits\n"
        "           ^~~~~~\n"
        "m.sn:5:3: note: 'logits' declared here\n"
        "  logits = x @ w\n"
        "  ^~~~~~\n"
        "1 error generated.\n");
}

TEST_CASE("diagnostics: missing minimize and repeated settings", "[diagnostics]") {
  CHECK(compile(std::string(kTrainable) + "train M {\n  batch 3\n}\n").text() ==
        "m.sn:8:1: error: train block has no 'minimize' setting; add 'minimize <value>' naming the loss\n"
        "train M {\n"
        "^~~~~ ~\n"
        "1 error generated.\n");
  CHECK(compile(std::string(kTrainable) + "train M {\n  minimize loss\n  batch 3\n  batch 4\n}\n").text() ==
        "m.sn:11:3: error: 'batch' is set twice\n"
        "  batch 4\n"
        "  ^~~~~\n"
        "m.sn:10:3: note: first set here\n"
        "  batch 3\n"
        "  ^~~~~\n"
        "1 error generated.\n");
  CHECK(compile(std::string(kTrainable) + "train M {\n  minimize loss\n  epoch 3\n}\n").first() ==
        "m.sn:10:3: error: unknown train setting 'epoch'; did you mean 'epochs'?");
  CHECK(compile(std::string(kTrainable) + "train M {\n  minimize loss\n  lr 3\n}\n").first() ==
        "m.sn:10:3: error: unknown train setting 'lr'; the settings are minimize, optimizer, batch, epochs, seed, "
        "schedule, clip_norm, metrics, group and data");
}

TEST_CASE("diagnostics: metrics", "[diagnostics]") {
  // Each bad name is reported at itself, and the rest of the list is still read.
  CHECK(compile(std::string(kTrainable) + "train M {\n  minimize loss\n  metrics [acuracy, loss, los]\n}\n").text() ==
        "m.sn:10:12: error: unknown metric 'acuracy'; did you mean 'accuracy'?\n"
        "  metrics [acuracy, loss, los]\n"
        "           ^~~~~~~\n"
        "m.sn:10:27: error: unknown metric 'los'; did you mean 'loss'?\n"
        "  metrics [acuracy, loss, los]\n"
        "                          ^~~\n"
        "2 errors generated.\n");
  // Keras's spelling `metrics = [...]`: one error at the '=', and the list is checked as usual.
  CHECK(compile(std::string(kTrainable) + "train M {\n  minimize loss\n  metrics = [accuracy]\n}\n").text() ==
        "m.sn:10:11: error: train settings take no '=' (as in 'metrics [loss, accuracy]')\n"
        "  metrics = [accuracy]\n"
        "          ^\n"
        "1 error generated.\n");
}

TEST_CASE("diagnostics: optimizers and hyper-parameters", "[diagnostics]") {
  auto train = [](std::string_view opt) {
    return compile(std::string(kTrainable) + "train M {\n  minimize loss\n  optimizer " + std::string(opt) + "\n}\n")
        .first();
  };
  CHECK(train("adamx") == "m.sn:10:13: error: unknown optimizer 'adamx'; did you mean 'adam'?");
  CHECK(train("lion") ==
        "m.sn:10:13: error: unknown optimizer 'lion'; the optimizers are adam, adamw, sgd, rmsprop and adagrad");
  CHECK(train("adam(betas = 0.9)") ==
        "m.sn:10:18: error: optimizer 'adam' has no parameter 'betas'; did you mean 'beta1'?");
  CHECK(train("sgd(momentum = 0.9, decay = 1)") ==
        "m.sn:10:33: error: optimizer 'sgd' has no parameter 'decay'; its parameters are lr, momentum, nesterov, "
        "weight_decay and dampening");
  CHECK(train("adam(1, 2, 3, 4, 5, 6, 7)") ==
        "m.sn:10:36: error: 'adam' takes at most 6 arguments (lr, beta1, beta2, eps, weight_decay and amsgrad), but 7 "
        "were given");
  CHECK(train("adam(lr = 0)") == "m.sn:10:23: error: 'lr' must be positive, got 0");
  CHECK(train("adam(beta1 = 1)") == "m.sn:10:26: error: 'beta1' must be in [0, 1), got 1");
  CHECK(train("sgd(momentum = -0.5)") == "m.sn:10:28: error: 'momentum' must not be negative, got -0.5");
  CHECK(train("sgd(lr = x)") == "m.sn:10:22: error: 'lr' must be a number");
  CHECK(train("sgd(nesterov = maybe)") == "m.sn:10:28: error: 'nesterov' must be true or false");
  CHECK(train("sgd(nesterov = true)") ==
        "m.sn:10:13: error: nesterov momentum needs a positive 'momentum' and zero 'dampening'");
}

TEST_CASE("diagnostics: batch, epochs and seed", "[diagnostics]") {
  auto train = [](std::string_view setting) {
    return compile(std::string(kTrainable) + "train M {\n  minimize loss\n  " + std::string(setting) + "\n}\n").first();
  };
  CHECK(train("batch 0") == "m.sn:10:9: error: 'batch' must be a positive integer, got 0");
  CHECK(train("epochs -2") == "m.sn:10:10: error: 'epochs' must be a positive integer, got -2");
  CHECK(train("batch 6.5") == "m.sn:10:9: error: 'batch' must be an integer, got 6.5");
  CHECK(train("batch 99999999999999999999") == "m.sn:10:9: error: 'batch' value 99999999999999999999 is too large");
  CHECK(train("seed -1") == "m.sn:10:8: error: 'seed' must not be negative, got -1");
  CHECK(train("seed 99999999999999999999") ==
        "m.sn:10:8: error: 'seed' value 99999999999999999999 is too large (the limit is 2^64 - 1)");
  CHECK(train("batch") == "m.sn:10:8: error: expected an integer after 'batch'");
  CHECK(train("seed 18446744073709551615").empty());
}

TEST_CASE("diagnostics: one model and one train block per file", "[diagnostics]") {
  CHECK(compile(std::string(kTrainable) + "model N {\n}\n").first() ==
        "m.sn:8:1: error: only one model per file is supported for now");
  CHECK(compile(std::string(kTrainable) + "train M {\n  minimize loss\n}\ntrain M {\n  minimize loss\n}\n").first() ==
        "m.sn:11:1: error: only one train block per file is supported");
}

// ---------------------------------------------------------------------------------------------------
// Several errors in one run

TEST_CASE("diagnostics: every error of a file in one run, in source order", "[diagnostics]") {
  auto c = compile(
      "model M {\n"
      "  input image: f32[batch, 784]\n"
      "  input label: f32[batch]\n"
      "  param w1: f32[784, 256] = glorot_uniform\n"
      "  param b1: f32[128]\n"
      "  h1 = relu(image @ w1 + b1)\n"  // shape error: h1 gets the error type
      "  h2 = relu(h1 @ w2)\n"          // w2 undefined; h1's error is not repeated
      "  logits = h2 $ 3\n"             // lexer error: the statement is dropped, logits stays known
      "  output probs = softmax(logits)\n"
      "  loss = cross_entropy(logits, label)\n"
      "  bad = (1 + \n"
      "}\n"
      "train M {\n"
      "  minimize loss\n"
      "  batch 0\n"
      "}\n");
  CHECK_FALSE(c.module);
  CHECK(c.diags.errorCount() == 5);
  std::vector<std::string> headers;
  for (const Diagnostic& d : c.diags.all())
    if (d.severity == Diagnostic::Error) headers.push_back(d.loc.str() + ": " + d.message);
  CHECK(headers == std::vector<std::string>{
                       "m.sn:6:24: cannot add f32[batch,256] and f32[128]: dimension 1 is 256 vs 128",
                       "m.sn:7:18: use of undefined value 'w2'; did you mean 'w1'?",
                       "m.sn:8:15: unknown character '$'",
                       "m.sn:11:13: expected an expression",
                       "m.sn:15:9: 'batch' must be a positive integer, got 0",
                   });
}

TEST_CASE("diagnostics: the error limit", "[diagnostics]") {
  std::string body;
  for (int i = 0; i < 80; ++i) body += "  v" + std::to_string(i) + " = undefined_thing\n";
  auto c = compile(model(body));
  CHECK(c.diags.errorCount() == 80);
  CHECK(c.diags.limitReached());
  const std::string text = c.text();
  CHECK(text.find("error: too many errors emitted, stopping now\n80 errors generated.\n") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------------
// Robustness

TEST_CASE("robustness: binary garbage", "[robustness]") {
  std::string junk;
  std::uint32_t x = 42;
  for (int i = 0; i < (1 << 20); ++i) {
    x = x * 1664525u + 1013904223u;
    junk += static_cast<char>(x >> 24);
  }
  auto c = compile(junk);
  CHECK_FALSE(c.module);
  CHECK(c.diags.hasErrors());
  CHECK_FALSE(c.text().empty());
}

TEST_CASE("robustness: garbage inside a model", "[robustness]") {
  std::string junk = "model M {\n  input x: f32[2]\n";
  std::uint32_t s = 7;
  for (int i = 0; i < 20000; ++i) {
    s = s * 1664525u + 1013904223u;
    const char pick[] = "()[]{}+*@=:,-x 1.e\n#";
    junk += pick[(s >> 24) % (sizeof pick - 1)];
  }
  auto c = compile(junk + "\n}\n");
  CHECK_FALSE(c.module);
  CHECK(c.diags.hasErrors());
}

TEST_CASE("robustness: NUL bytes", "[robustness]") {
  auto c = compile(std::string("model M {\n  input x: f32[2]\0\n}\n", 31));
  CHECK(c.text() ==
        "m.sn:2:18: error: unknown character '\\x00'\n"
        "  input x: f32[2]?\n"
        "                 ^\n"
        "1 error generated.\n");
}

TEST_CASE("robustness: deeply nested parentheses", "[robustness]") {
  const int n = 100000;
  auto c =
      compile(model("  input a: f32[2]\n  b = " + std::string(n, '(') + "a" + std::string(n, ')') + "\n  c = b + a\n"));
  CHECK_FALSE(c.module);
  CHECK(c.diags.errorCount() == 1);  // b is broken, so c reports nothing more
  CHECK(c.first() == "m.sn:3:263: error: expression nests too deeply (more than 256 levels of parentheses and calls)");
  CHECK(compile(std::string(n, '(')).diags.hasErrors());
  CHECK(compile(model("  input a: f32[2]\n  b = " + std::string(n, '[') + "\n")).diags.hasErrors());
  CHECK(compile(model("  input a: f32[2]\n  b = " + std::string(n, '-') + "\n")).diags.hasErrors());
}

TEST_CASE("robustness: nesting just under the limit compiles", "[robustness]") {
  auto c = compile(model("  input a: f32[2]\n  b = " + std::string(255, '(') + "a" + std::string(255, ')') + "\n"));
  CHECK(c.text().empty());
  CHECK(c.module);
}

TEST_CASE("robustness: very long expressions and lines", "[robustness]") {
  std::string chain = "a";
  for (int i = 0; i < 100000; ++i) chain += " + a";
  auto c = compile(model("  input a: f32[2]\n  b = " + chain + "\n"));
  CHECK(c.first() ==
        "m.sn:3:4101: error: expression is too long (more than 1024 nested operations); split it into "
        "several statements");
  std::string ok = "a";
  for (int i = 0; i < 1000; ++i) ok += " + a";
  CHECK(compile(model("  input a: f32[2]\n  b = " + ok + "\n")).module);
  auto longName = compile(model("  b = " + std::string(1 << 20, 'q') + "\n"));
  CHECK(longName.diags.errorCount() == 1);
  CHECK(longName.diags.all().at(0).message.size() < 100);
}

TEST_CASE("robustness: huge numbers and odd line endings", "[robustness]") {
  CHECK(compile(model("  input a: f32[" + std::string(5000, '9') + "]\n")).diags.errorCount() == 1);
  CHECK(compile(model("  input a: f32[2]\n  b = a * " + std::string(5000, '9') + "\n")).diags.errorCount() == 1);
  CHECK(compile("model M {\r\n  input a: f32[2]\r\n  output b = a\r\n}\r\n").module);
  CHECK(compile("model M {\n  input a: f32[2]\n  output b = a\n}").module);  // no final line break
}

TEST_CASE("diagnostics: caret lines of declarations and train settings", "[diagnostics]") {
  CHECK(compile(model("  input x: f32[batch, 0]\n")).text() ==
        "m.sn:2:23: error: dimension must be positive, got 0\n"
        "  input x: f32[batch, 0]\n"
        "                      ^\n"
        "1 error generated.\n");
  CHECK(compile(model("  param w: f32[2] = glorot\n")).text() ==
        "m.sn:2:21: error: unknown initializer 'glorot'; did you mean 'glorot_uniform'?\n"
        "  param w: f32[2] = glorot\n"
        "                    ^~~~~~\n"
        "1 error generated.\n");
  CHECK(compile(std::string(kTrainable) + "train M {\n  minimize loss\n  optimizer adam(lr = 1e-3, betas = 0.9)\n}\n")
            .text() ==
        "m.sn:10:29: error: optimizer 'adam' has no parameter 'betas'; did you mean 'beta1'?\n"
        "  optimizer adam(lr = 1e-3, betas = 0.9)\n"
        "                            ^~~~~\n"
        "1 error generated.\n");
  CHECK(compile(std::string(kTrainable) + "train M {\n  minimize loss\n  optimizer lion\n  epochs 0\n}\n").text() ==
        "m.sn:10:13: error: unknown optimizer 'lion'; the optimizers are adam, adamw, sgd, rmsprop and adagrad\n"
        "  optimizer lion\n"
        "            ^~~~\n"
        "m.sn:11:10: error: 'epochs' must be a positive integer, got 0\n"
        "  epochs 0\n"
        "         ^\n"
        "2 errors generated.\n");
}
