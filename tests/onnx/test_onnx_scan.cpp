// ONNX's Scan imported as the IR's scan loop (frontend/onnx/convert_scan.cpp): Scan models built in code
// evaluated by the reference interpreter against values computed here by plain loops, and malformed Scans
// rejected with an error naming the node. tests/onnx/onnx_export_ort.py round trips the recurrent examples,
// whose exports are Scans.
#include <catch2/catch.hpp>

#include <cmath>

#include "compiler/ir/interpreter.h"
#include "frontend/frontend.h"
#include "frontend/onnx/onnx_import.h"
#include "frontend/onnx/onnx_source.h"
#include "tests/onnx/import_checks.h"
#include "tests/onnx/onnx_models.h"

using namespace sinter;
using onnxtest::evaluate;
using onnxtest::import;
using onnxtest::importError;
using onnxtest::ModelBuilder;

namespace {

using Ints = std::vector<std::int64_t>;

// The graph's scan nodes.
std::vector<const ir::Node*> scans(const ir::Graph& g) {
  std::vector<const ir::Node*> out;
  for (const ir::Node& n : g.nodes)
    if (n.op == ir::Op::Scan) out.push_back(&n);
  return out;
}

// h_t = tanh(h_{t-1} W + x_t + bias) over x[batch, seq, 2] along axis 1, h0[batch, 2]: W an initializer of
// the model that the body reads from the outer scope, bias an initializer of the body itself. Outputs h (the
// last state) and hs, stacked along `outAxis` (1: [batch, seq, 2]; 0: [seq, batch, 2]).
ModelBuilder rnnScan(std::int64_t outAxis) {
  ModelBuilder b(16);
  b.input("h0", {std::string("batch"), std::int64_t{2}});
  b.input("x", {std::string("batch"), std::string("seq"), std::int64_t{2}});
  b.floats("W", {2, 2}, {0.5f, -1, 2, 0.25f});
  onnx::NodeProto& scan = b.node("Scan", {"h0", "x"}, {"h", "hs"}, "/rnn/Scan");
  ModelBuilder::attr(scan, "num_scan_inputs", std::int64_t{1});
  ModelBuilder::attr(scan, "scan_input_axes", Ints{1});
  ModelBuilder::attr(scan, "scan_output_axes", Ints{outAxis});
  onnx::GraphProto& body = ModelBuilder::graphAttr(scan, "body");
  ModelBuilder::describe(body.add_input(), "h_in", {std::string("batch"), std::int64_t{2}});
  ModelBuilder::describe(body.add_input(), "x_t", {std::string("batch"), std::int64_t{2}});
  onnx::TensorProto* bias = body.add_initializer();
  bias->set_name("bias");
  bias->set_data_type(onnx::TensorProto::FLOAT);
  bias->add_dims(2);
  bias->add_float_data(0.5f);
  bias->add_float_data(-0.5f);
  ModelBuilder::node(body, "MatMul", {"h_in", "W"}, {"hw"}, "/rnn/MatMul");
  ModelBuilder::node(body, "Add", {"hw", "x_t"}, {"pre"}, "/rnn/Add");
  ModelBuilder::node(body, "Add", {"pre", "bias"}, {"pre_b"}, "/rnn/Add_1");
  ModelBuilder::node(body, "Tanh", {"pre_b"}, {"h_out"}, "/rnn/Tanh");
  ModelBuilder::node(body, "Identity", {"h_out"}, {"y_t"}, "/rnn/Identity");
  ModelBuilder::describe(body.add_output(), "h_out", {std::string("batch"), std::int64_t{2}});
  ModelBuilder::describe(body.add_output(), "y_t", {std::string("batch"), std::int64_t{2}});
  b.output("h", {std::string("batch"), std::int64_t{2}});
  if (outAxis == 1) b.output("hs", {std::string("batch"), std::string("seq"), std::int64_t{2}});
  else b.output("hs", {std::string("seq"), std::string("batch"), std::int64_t{2}});
  return b;
}

// An outer loop over x[seq, 2, 3] whose body runs the cumulative sum over each step's 2 rows, each scaled by
// the model's weight k (read through both bodies), from the outer carry: s = s0 + k * (the sum of all rows).
ModelBuilder nestedScan() {
  ModelBuilder b(16);
  b.input("s0", {std::int64_t{3}});
  b.input("x", {std::string("seq"), std::int64_t{2}, std::int64_t{3}});
  b.floats("k", {3}, {1, 10, 100});
  onnx::NodeProto& outer = b.node("Scan", {"s0", "x"}, {"s"}, "/outer/Scan");
  ModelBuilder::attr(outer, "num_scan_inputs", std::int64_t{1});
  onnx::GraphProto& ob = ModelBuilder::graphAttr(outer, "body");
  ModelBuilder::describe(ob.add_input(), "acc", {std::int64_t{3}});
  ModelBuilder::describe(ob.add_input(), "rows", {std::int64_t{2}, std::int64_t{3}});
  onnx::NodeProto& inner = ModelBuilder::node(ob, "Scan", {"acc", "rows"}, {"acc_next"}, "/inner/Scan");
  ModelBuilder::attr(inner, "num_scan_inputs", std::int64_t{1});
  onnx::GraphProto& ib = ModelBuilder::graphAttr(inner, "body");
  ModelBuilder::describe(ib.add_input(), "a", {std::int64_t{3}});
  ModelBuilder::describe(ib.add_input(), "row", {std::int64_t{3}});
  ModelBuilder::node(ib, "Mul", {"row", "k"}, {"scaled"}, "/inner/Mul");
  ModelBuilder::node(ib, "Add", {"a", "scaled"}, {"a_next"}, "/inner/Add");
  ModelBuilder::describe(ib.add_output(), "a_next", {std::int64_t{3}});
  ModelBuilder::describe(ob.add_output(), "acc_next", {std::int64_t{3}});
  b.output("s", {std::int64_t{3}});
  return b;
}

}  // namespace

TEST_CASE("a Scan that sums the rows of a sequence imports as one scan loop, of a symbolic length") {
  frontend::DiagnosticEngine d;
  const auto m = import(onnxtest::scanCumsum().bytes(), d);
  REQUIRE(m);
  CHECK(d.str().empty());
  const ir::Graph& g = m->module.forward;
  const auto loop = scans(g);
  REQUIRE(loop.size() == 2);  // the final sum and the stacked running sums: one loop, one body
  CHECK(loop[0]->body == loop[1]->body);
  CHECK(loop[0]->attrs.str() == "{axis = 0, carries = 1, result = 0, reverse = 0, seqs = 1}");
  CHECK(g.node(g.results[1].node).type.str() == "f32[seq,3]");
  CHECK(loop[0]->loc.str() == "m.onnx:1:1");  // the Scan node, the first of the graph
  // Four rows, then one: the trip count is the symbol's run-time value.
  const auto y =
      evaluate(*m, {{"s0", {{3}, {100, 200, 300}}}, {"x", {{4, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}}});
  CHECK(y[0].data == std::vector<double>{122, 226, 330});
  CHECK(y[1].shape == Ints{4, 3});
  CHECK(y[1].data == std::vector<double>{101, 202, 303, 105, 207, 309, 112, 215, 318, 122, 226, 330});
  const auto one = evaluate(*m, {{"s0", {{3}, {0, 0, 0}}}, {"x", {{1, 3}, {7, 8, 9}}}});
  CHECK(one[1].data == std::vector<double>{7, 8, 9});
}

TEST_CASE("a reverse Scan steps from the last row and stacks each step's value at its row") {
  frontend::DiagnosticEngine d;
  const auto m = import(onnxtest::scanCumsum(true).bytes(), d);
  REQUIRE(m);
  CHECK(scans(m->module.forward)[0]->attrs.getInt("reverse") == 1);
  const auto y = evaluate(*m, {{"s0", {{3}, {100, 200, 300}}}, {"x", {{3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}}}});
  CHECK(y[0].data == std::vector<double>{112, 215, 318});
  // ys[t] = s0 + x[t] + ... + x[2].
  CHECK(y[1].data == std::vector<double>{112, 215, 318, 111, 213, 315, 107, 208, 309});
}

TEST_CASE("a Scan body reads an outer weight and its own initializer as closures, along axis 1 or transposed") {
  for (const std::int64_t outAxis : {1, 0}) {
    CAPTURE(outAxis);
    frontend::DiagnosticEngine d;
    const auto m = import(rnnScan(outAxis).bytes(), d);
    REQUIRE(m);
    CHECK(d.str().empty());
    const ir::Graph& g = m->module.forward;
    // Both weights are params of the model (a body has none), passed to the loop after its carry and sequence.
    CHECK(m->weights.count("W"));
    CHECK(m->weights.at("bias").data == std::vector<float>{0.5f, -0.5f});
    const ir::Node& loop = *scans(g)[0];
    CHECK(loop.attrs.getInt("axis") == 1);
    REQUIRE(loop.operands.size() == 4);
    CHECK(g.node(loop.operands[2]).op == ir::Op::Param);
    CHECK(g.node(loop.operands[3]).op == ir::Op::Param);
    CHECK(loop.body->params.empty());
    CHECK(g.node(g.results[1].node).type.str() == (outAxis == 1 ? "f32[batch,seq,2]" : "f32[seq,batch,2]"));
    CHECK(g.node(g.results[1].node).op == (outAxis == 1 ? ir::Op::Scan : ir::Op::Transpose));

    // Batch 2, 3 steps, against the recurrence computed here.
    const std::int64_t batch = 2, steps = 3;
    const std::vector<double> h0{0.1, -0.2, 0.3, 0.4};
    std::vector<double> x;
    for (int i = 0; i < batch * steps * 2; ++i) x.push_back(std::sin(0.7 * i));
    const double w[2][2] = {{0.5, -1}, {2, 0.25}}, bias[2] = {0.5, -0.5};
    const auto y = evaluate(*m, {{"h0", {{batch, 2}, h0}}, {"x", {{batch, steps, 2}, x}}});
    double worst = 0;
    for (std::int64_t bi = 0; bi < batch; ++bi) {
      double h[2] = {h0[bi * 2], h0[bi * 2 + 1]};
      for (std::int64_t t = 0; t < steps; ++t) {
        double next[2];
        for (int j = 0; j < 2; ++j)
          next[j] = std::tanh(h[0] * w[0][j] + h[1] * w[1][j] + x[(bi * steps + t) * 2 + j] + bias[j]);
        for (int j = 0; j < 2; ++j) {
          h[j] = next[j];
          const std::int64_t at = outAxis == 1 ? (bi * steps + t) * 2 + j : (t * batch + bi) * 2 + j;
          worst = std::max(worst, std::abs(y[1].data[static_cast<std::size_t>(at)] - h[j]));
        }
      }
      for (int j = 0; j < 2; ++j) worst = std::max(worst, std::abs(y[0].data[bi * 2 + j] - h[j]));
    }
    CHECK(worst < 1e-12);
  }
}

TEST_CASE("scan inputs and outputs on other axes than the loop's are transposed to it and from it") {
  SECTION("a sequence along axis 1, its running sums stacked along axis 0") {
    // The cumulative sum over x[3, seq] along its last axis: the loop steps along axis 1, and its stacked
    // [3, seq] is transposed to [seq, 3].
    ModelBuilder b = onnxtest::scanCumsum();
    b.graph().mutable_input(1)->Clear();
    ModelBuilder::describe(b.graph().mutable_input(1), "x", {std::int64_t{3}, std::string("seq")});
    ModelBuilder::attr(*b.graph().mutable_node(0), "scan_input_axes", Ints{-1});
    frontend::DiagnosticEngine d;
    const auto m = import(b.bytes(), d);
    REQUIRE(m);
    CHECK(d.str().empty());
    const ir::Graph& g = m->module.forward;
    CHECK(scans(g)[0]->attrs.getInt("axis") == 1);
    CHECK(g.node(g.results[1].node).op == ir::Op::Transpose);
    const auto y = evaluate(*m, {{"s0", {{3}, {0, 0, 0}}}, {"x", {{3, 2}, {1, 2, 3, 4, 5, 6}}}});
    CHECK(y[1].shape == Ints{2, 3});
    CHECK(y[1].data == std::vector<double>{1, 3, 5, 3, 7, 11});
  }
  SECTION("two sequences along different axes") {
    // s += a[t] + b[:, t] for a[seq, 3] along axis 0 and b[3, seq] along axis 1: the loop runs along axis 0,
    // b transposed to [seq, 3].
    ModelBuilder b(16);
    b.input("s0", {std::int64_t{3}});
    b.input("a", {std::string("seq"), std::int64_t{3}});
    b.input("b", {std::int64_t{3}, std::string("seq")});
    onnx::NodeProto& scan = b.node("Scan", {"s0", "a", "b"}, {"s"}, "/Scan");
    ModelBuilder::attr(scan, "num_scan_inputs", std::int64_t{2});
    ModelBuilder::attr(scan, "scan_input_axes", Ints{0, 1});
    onnx::GraphProto& body = ModelBuilder::graphAttr(scan, "body");
    for (const char* in : {"s_in", "a_t", "b_t"}) ModelBuilder::describe(body.add_input(), in, {std::int64_t{3}});
    ModelBuilder::node(body, "Add", {"s_in", "a_t"}, {"u"});
    ModelBuilder::node(body, "Add", {"u", "b_t"}, {"s_out"});
    ModelBuilder::describe(body.add_output(), "s_out", {std::int64_t{3}});
    b.output("s", {std::int64_t{3}});
    frontend::DiagnosticEngine d;
    const auto m = import(b.bytes(), d);
    REQUIRE(m);
    CHECK(d.str().empty());
    const ir::Graph& g = m->module.forward;
    CHECK(scans(g)[0]->attrs.getInt("axis") == 0);
    CHECK(g.node(scans(g)[0]->operands[2]).op == ir::Op::Transpose);
    // a's rows sum to [5, 7, 9]; b = [[10, 20], [30, 40], [50, 60]]'s columns to [30, 70, 110].
    const auto y = evaluate(
        *m, {{"s0", {{3}, {0, 0, 0}}}, {"a", {{2, 3}, {1, 2, 3, 4, 5, 6}}}, {"b", {{3, 2}, {10, 20, 30, 40, 50, 60}}}});
    CHECK(y[0].data == std::vector<double>{35, 77, 119});
  }
}

TEST_CASE("a Scan inside a Scan's body reads the outermost graph's weight through both bodies") {
  const ModelBuilder b = nestedScan();
  frontend::DiagnosticEngine d;
  const auto m = import(b.bytes(), d);
  REQUIRE(m);
  CHECK(d.str().empty());
  const ir::Node& loop = *scans(m->module.forward)[0];
  REQUIRE(loop.operands.size() == 3);  // s0, x, and k for the inner body
  CHECK(m->module.forward.node(loop.operands[2]).name == "k");
  const auto y = evaluate(*m, {{"s0", {{3}, {0, 0, 0}}}, {"x", {{2, 2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}}});
  CHECK(y[0].data == std::vector<double>{22, 260, 3000});
}

TEST_CASE("malformed and unsupported Scans are errors naming the node, never a crash") {
  auto cumsum = [] { return onnxtest::scanCumsum(); };
  SECTION("num_scan_inputs beyond the inputs") {
    ModelBuilder b = cumsum();
    b.graph().mutable_node(0)->mutable_attribute(0)->set_i(3);
    CHECK_THAT(importError(b.bytes()), Catch::Contains("node '/Scan' (Scan, node 1 of the graph): num_scan_inputs "
                                                       "= 3 does not fit its 2 inputs"));
  }
  SECTION("a body with another number of inputs") {
    ModelBuilder b = cumsum();
    onnx::GraphProto& body = *b.graph().mutable_node(0)->mutable_attribute(1)->mutable_g();
    ModelBuilder::describe(body.add_input(), "extra", {std::int64_t{3}});
    CHECK_THAT(importError(b.bytes()), Catch::Contains("its body takes 3 inputs, but the node passes 2 (1 state "
                                                       "variables, then 1 scan inputs)"));
  }
  SECTION("a node with more outputs than its body") {
    ModelBuilder b = cumsum();
    b.graph().mutable_node(0)->add_output("more");
    CHECK_THAT(importError(b.bytes()), Catch::Contains("its body returns 2 outputs and the node has 3"));
  }
  SECTION("no body") {
    ModelBuilder b = cumsum();
    b.graph().mutable_node(0)->mutable_attribute()->DeleteSubrange(1, 1);
    CHECK_THAT(importError(b.bytes()), Catch::Contains("body"));  // the ONNX checker's error or ours
  }
  SECTION("directions that differ between the input and the output") {
    ModelBuilder b = cumsum();
    ModelBuilder::attr(*b.graph().mutable_node(0), "scan_output_directions", Ints{1});
    CHECK_THAT(importError(b.bytes()),
               Catch::Contains("scan_input_directions [0] and scan_output_directions [1] are not supported"));
  }
  SECTION("an axis the sequence lacks") {
    ModelBuilder b = cumsum();
    ModelBuilder::attr(*b.graph().mutable_node(0), "scan_input_axes", Ints{2});
    CHECK_THAT(importError(b.bytes()), Catch::Contains("scan input 1 ('x') is axis 2, not an axis of a rank-2 value"));
  }
  SECTION("an axis list of the wrong length") {
    ModelBuilder b = cumsum();
    ModelBuilder::attr(*b.graph().mutable_node(0), "scan_output_axes", Ints{0, 0});
    CHECK_THAT(importError(b.bytes()), Catch::Contains("scan_output_axes has 2 entries for its 1 scan outputs"));
  }
  SECTION("an op the importer lacks in the body") {
    ModelBuilder b = cumsum();
    b.graph().mutable_node(0)->mutable_attribute(1)->mutable_g()->mutable_node(1)->set_op_type("Elu");
    CHECK_THAT(importError(b.bytes()), Catch::Contains("node '/Scan' (Scan, node 1 of the graph): its body's node "
                                                       "'/body/Identity' (Elu, node 2 of the body): op type Elu is "
                                                       "not supported; supported: Abs,"));
  }
  SECTION("a body whose next state has another shape than the state") {
    ModelBuilder b = cumsum();
    onnx::GraphProto& body = *b.graph().mutable_node(0)->mutable_attribute(1)->mutable_g();
    onnx::NodeProto& add = *body.mutable_node(0);
    add.set_op_type("Concat");  // s_out = concat(s_in, x_t): 6 values for a state of 3
    ModelBuilder::attr(add, "axis", std::int64_t{0});
    const std::string e = importError(b.bytes());
    CHECK_THAT(e, Catch::Contains("(Scan, node 1 of the graph): its operands do not fit"));
    CHECK_THAT(e, Catch::Contains("the body's next value of carry 0 is f32[6], not f32[3]"));
  }
  SECTION("a body input declared with another shape than the loop passes") {
    ModelBuilder b = cumsum();
    onnx::GraphProto& body = *b.graph().mutable_node(0)->mutable_attribute(1)->mutable_g();
    body.mutable_input(1)->Clear();
    ModelBuilder::describe(body.mutable_input(1), "x_t", {std::int64_t{4}});
    CHECK_THAT(importError(b.bytes()),
               Catch::Contains("its body's input 'x_t' is declared as another type than the f32[3] the loop passes"));
  }
  SECTION("every truncation of the file is one error") {
    const std::string whole = cumsum().bytes();
    for (std::size_t n = 0; n < whole.size(); n += 5) {
      frontend::DiagnosticEngine d;
      CAPTURE(n);
      CHECK_FALSE(import(whole.substr(0, n), d));
      CHECK(d.errorCount() == 1);
    }
  }
}

// ---- `sinter import -o`: a Scan written as a loop over sequences ------------------------------------------------

namespace {

// The model file written for `b` compiles, and with its weights computes what the imported graph computes.
std::string checkWrittenSource(const ModelBuilder& b, const std::map<std::string, ir::Tensor>& inputs) {
  frontend::DiagnosticEngine d;
  const auto m = import(b.bytes(), d);
  REQUIRE(m);
  const onnxio::ModelSource src = onnxio::writeModelSource(*m, "m.onnx");
  INFO(src.text);
  const auto written = frontend::compileSource(src.text, "m.sn", d);
  INFO(d.str());
  REQUIRE(written);
  std::map<std::string, ir::Tensor> args = inputs;
  for (const auto& [name, w] : src.weights) args[name] = ir::Tensor{w.shape, {w.data.begin(), w.data.end()}};
  const auto got = ir::interpret(written->forward, args);
  const auto want = evaluate(*m, inputs);
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].shape == want[i].shape);
    CHECK(got[i].data == want[i].data);  // the same ops in the same order: the same doubles
  }
  CHECK(scans(written->forward).size() == scans(m->module.forward).size());  // still a loop, not unrolled
  return src.text;
}

}  // namespace

TEST_CASE("sinter import -o writes a Scan as a loop over sequences: carried names, steps, stacks, reverse") {
  const std::map<std::string, ir::Tensor> in{{"s0", {{3}, {100, 200, 300}}},
                                             {"x", {{4, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}}};
  // The carried name is new (s0, an input, keeps its value); the outputs keep the ONNX names.
  CHECK(checkWrittenSource(onnxtest::scanCumsum(), in) ==
        "# m.onnx imported by `sinter import` (docs/onnx.md): the weights file beside it holds the params.\n"
        "\n"
        "model m {\n"
        "  input s0: f32[3]\n"
        "  input x: f32[seq, 3]\n"
        "\n"
        "  s_2 = s0\n"
        "  for x_t_step in x along 0 {\n"
        "    add2 = s_2 + x_t_step\n"
        "    s_2 = add2\n"
        "    stack ys_2 = add2\n"
        "  }\n"
        "  output s = s_2\n"
        "  output ys = ys_2\n"
        "}\n");
  CHECK_THAT(checkWrittenSource(onnxtest::scanCumsum(true), in),
             Catch::Contains("  for x_t_step in x along 0 reverse {\n"));
}

TEST_CASE("sinter import -o: a loop's closures are the model's params, its axis the Scan's, a loop in a loop") {
  SECTION("an outer weight and the body's own initializer, along axis 1, stacked along axis 1 or 0") {
    std::vector<double> x;
    for (int i = 0; i < 12; ++i) x.push_back(std::sin(0.7 * i));
    for (const std::int64_t outAxis : {1, 0}) {
      const std::string text =
          checkWrittenSource(rnnScan(outAxis), {{"h0", {{2, 2}, {0.1, -0.2, 0.3, 0.4}}}, {"x", {{2, 3, 2}, x}}});
      CHECK_THAT(text, Catch::Contains("  param W: f32[2, 2]\n  param bias: f32[2]\n"));
      CHECK_THAT(text, Catch::Contains(" in x along 1 {\n"));
    }
  }
  SECTION("a Scan in a Scan's body") {
    const ModelBuilder b = nestedScan();
    const std::string text =
        checkWrittenSource(b, {{"s0", {{3}, {1, 2, 3}}}, {"x", {{2, 2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}}});
    CHECK_THAT(text, Catch::Contains("\n    for "));  // the inner loop, inside the outer one
  }
  SECTION("a constant of the body whose symbolic dimension only a model input has") {
    // s += x_t + (the column sums of ones[n, 3]): the shape [n, 3] is read by Shape outside the loop, from y,
    // which the body does not read; the file writes it as dim(y, 0) inside the loop.
    ModelBuilder b(16);
    b.input("s0", {std::int64_t{3}});
    b.input("x", {std::string("seq"), std::int64_t{3}});
    b.input("y", {std::string("n"), std::int64_t{2}});
    b.ints("three", {3});
    b.ints("axis0", {0});
    b.floats("one", {}, {1});
    onnx::NodeProto& shape = b.node("Shape", {"y"}, {"n_"});
    ModelBuilder::attr(shape, "end", std::int64_t{1});
    ModelBuilder::attr(b.node("Concat", {"n_", "three"}, {"shp"}), "axis", std::int64_t{0});
    onnx::NodeProto& scan = b.node("Scan", {"s0", "x"}, {"s"}, "/Scan");
    ModelBuilder::attr(scan, "num_scan_inputs", std::int64_t{1});
    onnx::GraphProto& body = ModelBuilder::graphAttr(scan, "body");
    for (const char* in : {"s_in", "x_t"}) ModelBuilder::describe(body.add_input(), in, {std::int64_t{3}});
    ModelBuilder::node(body, "Expand", {"one", "shp"}, {"ones"});
    ModelBuilder::attr(ModelBuilder::node(body, "ReduceSum", {"ones", "axis0"}, {"n3"}), "keepdims", std::int64_t{0});
    ModelBuilder::node(body, "Add", {"s_in", "x_t"}, {"u"});
    ModelBuilder::node(body, "Add", {"u", "n3"}, {"s_out"});
    ModelBuilder::describe(body.add_output(), "s_out", {std::int64_t{3}});
    b.output("s", {std::int64_t{3}});
    const std::map<std::string, ir::Tensor> in{
        {"s0", {{3}, {0, 0, 0}}}, {"x", {{2, 3}, {1, 2, 3, 4, 5, 6}}}, {"y", {{5, 2}, std::vector<double>(10, 0)}}};
    frontend::DiagnosticEngine d;
    const auto m = import(b.bytes(), d);
    REQUIRE(m);
    CHECK(evaluate(*m, in)[0].data == std::vector<double>{15, 17, 19});  // x's column sums + 2 steps * n = 5
    CHECK_THAT(checkWrittenSource(b, in), Catch::Contains("  for x_t_step in x along 0 {\n"
                                                          "    add6 = s_2 + x_t_step + sum(ones((dim(y, 0), 3)), "
                                                          "axis = 0)\n"));
  }
  SECTION("carries that swap, and a stacked previous state") {
    // (a, b) <- (b, a + x_t), stacking the previous a: a Fibonacci-like recurrence whose body results are
    // body inputs of other carries, which the written body copies before assigning the carried names.
    ModelBuilder b(16);
    b.input("a0", {std::int64_t{1}});
    b.input("b0", {std::int64_t{1}});
    b.input("x", {std::string("seq"), std::int64_t{1}});
    onnx::NodeProto& scan = b.node("Scan", {"a0", "b0", "x"}, {"a", "b", "as"}, "/Scan");
    ModelBuilder::attr(scan, "num_scan_inputs", std::int64_t{1});
    onnx::GraphProto& body = ModelBuilder::graphAttr(scan, "body");
    for (const char* in : {"a_in", "b_in", "x_t"}) ModelBuilder::describe(body.add_input(), in, {std::int64_t{1}});
    ModelBuilder::node(body, "Add", {"a_in", "x_t"}, {"sum"});
    for (const char* out : {"b_in", "sum", "a_in"}) ModelBuilder::describe(body.add_output(), out, {std::int64_t{1}});
    b.output("a", {std::int64_t{1}});
    b.output("b", {std::int64_t{1}});
    b.output("as", {std::string("seq"), std::int64_t{1}});
    const std::map<std::string, ir::Tensor> in{
        {"a0", {{1}, {1}}}, {"b0", {{1}, {2}}}, {"x", {{4, 1}, {10, 20, 30, 40}}}};
    frontend::DiagnosticEngine d;
    const auto m = import(b.bytes(), d);
    REQUIRE(m);
    // By hand: (1, 2) -> (2, 11) -> (11, 22) -> (22, 41) -> (41, 62); stacked a: 1, 2, 11, 22.
    const auto y = evaluate(*m, in);
    CHECK(y[0].data == std::vector<double>{41});
    CHECK(y[1].data == std::vector<double>{62});
    CHECK(y[2].data == std::vector<double>{1, 2, 11, 22});
    CHECK_THAT(checkWrittenSource(b, in), Catch::Contains("_before = "));
  }
}
