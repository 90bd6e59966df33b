// The ONNX importer (frontend/onnx): graphs built in code (onnx_models.h) imported and evaluated by the
// reference interpreter against hand-derived values, and every kind of bad input rejected with an error
// naming the file, the node, its op type and what is supported. tests/onnx/onnx_import_parity.py compares
// models exported by PyTorch.
#include <catch2/catch.hpp>

#include <cmath>

#include "compiler/ir/interpreter.h"
#include "frontend/onnx/onnx_import.h"
#include "tests/onnx/import_checks.h"
#include "tests/onnx/onnx_models.h"

using namespace sinter;
using onnxtest::ModelBuilder;

namespace {

using onnxtest::import;
using onnxtest::importError;

// The model's outputs for `x`, with its imported weights as the params.
std::vector<ir::Tensor> evaluate(const onnxio::Imported& m, const ir::Tensor& x) {
  return onnxtest::evaluate(m, {{"x", x}});
}

}  // namespace

TEST_CASE("a Gemm with transB imports as a matmul by the transposed weight, the batch symbolic") {
  frontend::DiagnosticEngine d;
  const auto m = import(onnxtest::mlp().bytes(), d);
  REQUIRE(m);
  CHECK(d.str().empty());
  const ir::Graph& g = m->module.forward;
  CHECK(m->module.name == "m");
  REQUIRE(g.inputs.size() == 1);
  CHECK(g.node(g.inputs[0]).type.str() == "f32[batch,2]");
  CHECK(m->weights.at("fc.weight").shape == std::vector<std::int64_t>{2, 3});  // [in, out], as Dense's
  CHECK(m->weights.at("fc.weight").data == std::vector<float>{1, 3, 5, 2, 4, 6});
  REQUIRE(g.results.size() == 1);
  CHECK(g.results[0].name == "y");
  // x = [1, 1]: x W^T + b = [3.5, -93, 11] -> relu [3.5, 0, 11] -> softmax.
  const auto y = evaluate(*m, {{1, 2}, {1, 1}});
  const double z = std::exp(3.5) + 1 + std::exp(11.0);
  CHECK(y[0].data[0] == Approx(std::exp(3.5) / z));
  CHECK(y[0].data[1] == Approx(1 / z));
  CHECK(y[0].data[2] == Approx(std::exp(11.0) / z));
}

TEST_CASE("a reshape, a padded convolution, max pooling and flatten keep the symbolic batch") {
  frontend::DiagnosticEngine d;
  const auto m = import(onnxtest::cnn().bytes(), d);
  REQUIRE(m);
  const ir::Graph& g = m->module.forward;
  CHECK(g.node(g.results[0].node).type.str() == "f32[batch,4]");
  CHECK(m->weights.at("bias").shape == std::vector<std::int64_t>{1, 1, 1});  // broadcasts over NCHW
  // The identity kernel: each 2x2 window's maximum of x, plus the bias.
  ir::Tensor x{{2, 16}, {}};
  for (int i = 0; i < 32; ++i) x.data.push_back(i == 5 ? 100 : i);
  const auto y = evaluate(*m, x);
  REQUIRE(y[0].shape == std::vector<std::int64_t>{2, 4});
  CHECK(y[0].data == std::vector<double>{100.25, 7.25, 13.25, 15.25, 21.25, 23.25, 29.25, 31.25});
}

TEST_CASE("an op type the importer lacks is an error naming the node, the op type and the supported ops") {
  ModelBuilder b = onnxtest::mlp();
  b.graph().mutable_node(1)->set_op_type("Elu");
  const std::string e = importError(b.bytes());
  CHECK_THAT(e,
             Catch::Contains("m.onnx: error: node '/Relu' (Elu, node 2 of the graph): op type Elu is not supported"));
  CHECK_THAT(e, Catch::Contains("supported: Abs, Add, And, ArgMax, AveragePool, BatchNormalization,"));
}

TEST_CASE("every unsupported node is reported, and the nodes that use its output are not") {
  ModelBuilder b = onnxtest::mlp();
  b.graph().mutable_node(0)->set_op_type("Elu");  // Gemm's inputs are not Elu's, but the checker only sees ops
  b.graph().mutable_node(0)->clear_attribute();
  b.graph().mutable_node(0)->mutable_input()->DeleteSubrange(1, 2);
  b.graph().mutable_node(2)->set_op_type("Hardmax");
  frontend::DiagnosticEngine d;
  CHECK_FALSE(import(b.bytes(), d));
  CHECK(d.errorCount() == 1);  // Relu and Hardmax only see Elu's output
  CHECK_THAT(d.str(), Catch::Contains("op type Elu is not supported"));
}

TEST_CASE("unsupported attribute values are errors naming the node and the value") {
  SECTION("Gemm transA") {
    ModelBuilder b = onnxtest::mlp();
    ModelBuilder::attr(*b.graph().mutable_node(0), "transA", std::int64_t{1});
    CHECK_THAT(importError(b.bytes()), Catch::Contains("node '/fc/Gemm' (Gemm, node 1 of the graph): transA = 1 is "
                                                       "not supported"));
  }
  SECTION("grouped convolution") {
    ModelBuilder b = onnxtest::cnn();
    ModelBuilder::attr(*b.graph().mutable_node(1), "group", std::int64_t{2});
    CHECK_THAT(importError(b.bytes()), Catch::Contains("(Conv, node 2 of the graph): group = 2 is not supported"));
  }
  SECTION("asymmetric pads") {
    ModelBuilder b = onnxtest::cnn();
    b.graph().mutable_node(1)->mutable_attribute(0)->set_ints(2, 0);
    CHECK_THAT(importError(b.bytes()), Catch::Contains("pads [1, 1, 0, 1] differ between the two sides"));
  }
  SECTION("ceil mode pooling") {
    ModelBuilder b = onnxtest::cnn();
    ModelBuilder::attr(*b.graph().mutable_node(2), "ceil_mode", std::int64_t{1});
    CHECK_THAT(importError(b.bytes()),
               Catch::Contains("node '/MaxPool' (MaxPool, node 3 of the graph): ceil_mode = 1"));
  }
  SECTION("an attribute of the op's schema that the importer does not read") {
    ModelBuilder b = onnxtest::mlp();
    onnx::NodeProto& c = b.node("Constant", {}, {"s"}, "/Constant");
    onnx::AttributeProto* a = c.add_attribute();
    a->set_name("value_string");
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s("text");
    CHECK_THAT(importError(b.bytes()),
               Catch::Contains("node '/Constant' (Constant, node 4 of the graph): attribute 'value_string' is not "
                               "supported; supported: value, value_float, value_floats, value_int, value_ints"));
  }
  SECTION("an attribute outside the op's schema (the ONNX checker's error)") {
    ModelBuilder b = onnxtest::mlp();
    ModelBuilder::attr(*b.graph().mutable_node(1), "alpha", std::int64_t{1});
    CHECK_THAT(importError(b.bytes()), Catch::Contains("the ONNX checker says: Unrecognized attribute: alpha for "
                                                       "operator Relu"));
  }
}

TEST_CASE("opsets outside 11 to 17 are errors") {
  for (std::int64_t opset : {9, 10}) {
    CAPTURE(opset);
    ModelBuilder b = onnxtest::mlp(opset);
    CHECK_THAT(importError(b.bytes()), Catch::Contains("m.onnx: error: opset " + std::to_string(opset) +
                                                       " is not supported; supported: opsets 11 to 17"));
  }
  ModelBuilder b = onnxtest::mlp(11);  // and an op of another domain
  b.graph().mutable_node(1)->set_domain("com.microsoft");
  onnx::OperatorSetIdProto* o = b.model().add_opset_import();
  o->set_domain("com.microsoft");
  o->set_version(1);
  CHECK_THAT(importError(b.bytes()), Catch::Contains("domain 'com.microsoft' is not supported"));
}

TEST_CASE("corrupt and truncated files are errors, never a crash") {
  CHECK_THAT(importError("\x0a\xff\xff\xff\xff\x0f garbage"), Catch::Contains("m.onnx: error: not an ONNX model"));
  const std::string whole = onnxtest::cnn().bytes();
  for (std::size_t n = 0; n < whole.size(); n += 7) {  // every cut gives one error, whichever
    frontend::DiagnosticEngine d;
    const auto m = import(whole.substr(0, n), d);
    CAPTURE(n);
    CHECK_FALSE(m);
    CHECK(d.errorCount() == 1);
  }
  frontend::DiagnosticEngine d;
  CHECK_FALSE(onnxio::importFile("/nonexistent/model.onnx", d));
  CHECK_THAT(d.str(), Catch::Contains("/nonexistent/model.onnx: error: cannot read the file"));
}

TEST_CASE("shapes a graph cannot state are errors: merging the batch into another dim, an unnamed axis") {
  ModelBuilder b = onnxtest::cnn();
  onnx::TensorProto& shape = *b.graph().mutable_initializer(0);  // [-1, 8]: the -1 would be 2 batch
  shape.clear_int64_data();
  shape.add_int64_data(-1);
  shape.add_int64_data(8);
  shape.set_dims(0, 2);
  CHECK_THAT(importError(b.bytes()), Catch::Contains("node '/Reshape' (Reshape, node 1 of the graph): its -1 would "
                                                     "merge symbolic dimension 'batch' with other dims"));
  ModelBuilder u = onnxtest::mlp();
  u.graph().mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->clear_dim_param();
  CHECK_THAT(importError(u.bytes()), Catch::Contains("input 'x': dim 0 has neither a positive size nor a name"));
}

TEST_CASE("operands whose shapes do not fit are errors naming the node") {
  ModelBuilder b = onnxtest::mlp();
  b.graph().mutable_initializer(1)->add_dims(1);  // bias [3, 1]: broadcasts to [batch, 3]? no: [3, 3]
  b.graph().mutable_initializer(1)->set_dims(0, 2);
  b.graph().mutable_initializer(1)->set_dims(1, 2);
  b.graph().mutable_initializer(1)->add_float_data(1);
  const std::string e = importError(b.bytes());
  CHECK_THAT(e, Catch::Contains("node '/fc/Gemm' (Gemm, node 1 of the graph): its operands do not fit"));
}

namespace {

// y = LayerNormalization(x[batch, 4], scale, bias) at opset 17 (over the last axis), epsilon 0.
ModelBuilder layerNorm() {
  ModelBuilder b(17);
  b.input("x", {std::string("batch"), std::int64_t{4}});
  b.floats("scale", {4}, {1, 2, 1, 1});
  b.floats("bias", {4}, {0, 0, 0, 10});
  onnx::NodeProto& n = b.node("LayerNormalization", {"x", "scale", "bias"}, {"y"}, "/ln/LayerNormalization");
  onnx::AttributeProto* eps = n.add_attribute();
  eps->set_name("epsilon");
  eps->set_type(onnx::AttributeProto::FLOAT);
  eps->set_f(0);
  b.output("y", {std::string("batch"), std::int64_t{4}});
  return b;
}

}  // namespace

TEST_CASE("LayerNormalization normalizes over the last axis, then scales and shifts") {
  frontend::DiagnosticEngine d;
  const auto m = import(layerNorm().bytes(), d);
  REQUIRE(m);
  // [1, 2, 3, 4]: mean 2.5, variance 1.25; (x - 2.5) / sqrt(1.25) * scale + bias.
  const auto y = evaluate(*m, {{1, 4}, {1, 2, 3, 4}});
  const double s = std::sqrt(1.25);
  CHECK(y[0].data[0] == Approx(-1.5 / s));
  CHECK(y[0].data[1] == Approx(2 * -0.5 / s));
  CHECK(y[0].data[2] == Approx(0.5 / s));
  CHECK(y[0].data[3] == Approx(1.5 / s + 10));
}

TEST_CASE("attention-block ops with unsupported attribute values are errors naming the node") {
  SECTION("LayerNormalization's training outputs") {
    ModelBuilder b = layerNorm();
    b.graph().mutable_node(0)->add_output("mean");
    CHECK_THAT(importError(b.bytes()),
               Catch::Contains("node '/ln/LayerNormalization' (LayerNormalization, node 1 of the graph): its Mean "
                               "and InvStdDev outputs"));
  }
  SECTION("Gather at computed indices along another axis than 0") {
    ModelBuilder b(13);
    b.input("x", {std::string("batch"), std::int64_t{4}});
    b.floats("table", {5, 3}, std::vector<float>(15, 1));
    b.node("Cast", {"x"}, {"ids"}, "/Cast").add_attribute()->CopyFrom([] {
      onnx::AttributeProto a;
      a.set_name("to");
      a.set_type(onnx::AttributeProto::INT);
      a.set_i(onnx::TensorProto::INT64);
      return a;
    }());
    ModelBuilder::attr(b.node("Gather", {"table", "ids"}, {"y"}, "/Gather"), "axis", std::int64_t{1});
    b.output("y", {std::string("batch"), std::int64_t{5}, std::int64_t{4}});
    CHECK_THAT(importError(b.bytes()), Catch::Contains("node '/Gather' (Gather, node 2 of the graph): gathering at "
                                                       "computed indices is supported along axis 0"));
  }
}

namespace {

// A GRU of hidden size 1 over x[2, batch, 1] (two steps): W = [z 0, r 0, h 1], R = [0, 0, 1], the
// candidate's recurrent bias 0.5; its output Y_h [1, batch, 1].
ModelBuilder gru(std::int64_t linearBeforeReset) {
  ModelBuilder b(13);
  b.input("x", {std::int64_t{2}, std::string("batch"), std::int64_t{1}});
  b.floats("W", {1, 3, 1}, {0, 0, 1});
  b.floats("R", {1, 3, 1}, {0, 0, 1});
  b.floats("B", {1, 6}, {0, 0, 0, 0, 0, 0.5f});
  onnx::NodeProto& n = b.node("GRU", {"x", "W", "R", "B"}, {"", "h"}, "/rnn/GRU");
  ModelBuilder::attr(n, "hidden_size", std::int64_t{1});
  ModelBuilder::attr(n, "linear_before_reset", linearBeforeReset);
  b.output("h", {std::int64_t{1}, std::string("batch"), std::int64_t{1}});
  return b;
}

}  // namespace

TEST_CASE("a GRU unrolls over the sequence, with the reset gate before or after the recurrent product") {
  // x = [1, 0], h0 = 0: z = r = sigmoid(0) = 0.5 at both steps, h_t = 0.5 cand_t + 0.5 h_{t-1}.
  for (const std::int64_t lbr : {0, 1}) {
    frontend::DiagnosticEngine d;
    const auto m = import(gru(lbr).bytes(), d);
    REQUIRE(m);
    const auto y = evaluate(*m, {{2, 1, 1}, {1, 0}});
    // linear_before_reset 1: cand = tanh(W x + r (R h + 0.5)); 0: cand = tanh(W x + R (r h) + 0.5).
    const double h1 = 0.5 * std::tanh(lbr ? 1.25 : 1.5);
    const double h2 = 0.5 * std::tanh(lbr ? 0.5 * (h1 + 0.5) : 0.5 * h1 + 0.5) + 0.5 * h1;
    CHECK(y[0].data[0] == Approx(h2));
  }
}

TEST_CASE("recurrent ops with unsupported attribute values are errors naming the node") {
  auto lstm = [](std::vector<std::string> inputs) {
    ModelBuilder b(13);
    b.input("x", {std::int64_t{2}, std::string("batch"), std::int64_t{1}});
    b.floats("W", {1, 4, 1}, {1, 1, 1, 1});
    b.floats("R", {1, 4, 1}, {1, 1, 1, 1});
    b.floats("P", {1, 3}, {1, 1, 1});
    onnx::NodeProto& n = b.node("LSTM", inputs, {"", "h"}, "/rnn/LSTM");
    ModelBuilder::attr(n, "hidden_size", std::int64_t{1});
    b.output("h", {std::int64_t{1}, std::string("batch"), std::int64_t{1}});
    return b;
  };
  SECTION("peepholes") {
    CHECK_THAT(importError(lstm({"x", "W", "R", "", "", "", "", "P"}).bytes()),
               Catch::Contains("node '/rnn/LSTM' (LSTM, node 1 of the graph): peepholes (input P) are not supported"));
  }
  SECTION("clip") {
    ModelBuilder b = lstm({"x", "W", "R"});
    onnx::AttributeProto* clip = b.graph().mutable_node(0)->add_attribute();
    clip->set_name("clip");
    clip->set_type(onnx::AttributeProto::FLOAT);
    clip->set_f(3);
    CHECK_THAT(importError(b.bytes()), Catch::Contains("(LSTM, node 1 of the graph): clip is not supported"));
  }
  SECTION("other activations") {
    ModelBuilder b = lstm({"x", "W", "R"});
    onnx::AttributeProto* acts = b.graph().mutable_node(0)->add_attribute();
    acts->set_name("activations");
    acts->set_type(onnx::AttributeProto::STRINGS);
    for (const char* a : {"Sigmoid", "Relu", "Tanh"}) acts->add_strings(a);
    CHECK_THAT(importError(b.bytes()), Catch::Contains("activations [Sigmoid, Relu, Tanh] are not supported; "
                                                       "supported: [Sigmoid, Tanh, Tanh]"));
  }
}

// What `sinter export` writes for a zero state of the input's batch and for where(x > 0, x, 0.1 x): Expand to a
// shape read by Shape (start/end) and joined to fixed sizes, and a comparison's bools cast around a Where.
TEST_CASE("Expand to a Shape-read batch, and Greater, Cast to bool and Where, against hand values") {
  ModelBuilder b(17);
  b.input("x", {std::string("batch"), std::int64_t{3}});
  b.floats("zero", {}, {0.5f});
  b.floats("tenth", {}, {0.1f});
  b.ints("two", {2});
  onnx::NodeProto& shape = b.node("Shape", {"x"}, {"n"});
  ModelBuilder::attr(shape, "start", std::int64_t{0});
  ModelBuilder::attr(shape, "end", std::int64_t{1});
  ModelBuilder::attr(b.node("Concat", {"n", "two"}, {"shape"}), "axis", std::int64_t{0});
  b.node("Expand", {"zero", "shape"}, {"state"});                 // [batch, 2] of 0.5
  b.node("Greater", {"x", "zero"}, {"gt"});
  ModelBuilder::attr(b.node("Cast", {"gt"}, {"gt_f"}), "to", std::int64_t{onnx::TensorProto::FLOAT});
  ModelBuilder::attr(b.node("Cast", {"gt_f"}, {"cond"}), "to", std::int64_t{onnx::TensorProto::BOOL});
  b.node("Mul", {"x", "tenth"}, {"small"});
  b.node("Where", {"cond", "x", "small"}, {"leaky"});
  b.output("state", {std::string("batch"), std::int64_t{2}});
  b.output("leaky", {std::string("batch"), std::int64_t{3}});
  frontend::DiagnosticEngine d;
  const auto m = import(b.bytes(), d);
  INFO(d.str());
  REQUIRE(m);
  const auto y = evaluate(*m, {{2, 3}, {-1, 0.25, 2, 0.5, 3, -4}});
  REQUIRE(y[0].shape == std::vector<std::int64_t>{2, 2});
  for (double v : y[0].data) CHECK(v == Approx(0.5));
  // Greater than 0.5: kept; else times 0.1 (0.5 itself is not greater).
  const std::vector<double> want{-0.1, 0.025, 2, 0.05, 3, -0.4};
  for (std::size_t i = 0; i < want.size(); ++i) CHECK(y[1].data[i] == Approx(want[i]));
}
