// Small ONNX models built in code with libonnx's protobuf classes, for the importer's unit tests and the
// seeds of its fuzz target: each a few nodes, with hand-chosen weights whose outputs can be derived by hand.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace sinter::onnxtest {

using DimSpec = std::variant<std::int64_t, std::string>;  // a fixed size or a symbolic axis's name

class ModelBuilder {
 public:
  explicit ModelBuilder(std::int64_t opset = 13) {
    model_.set_ir_version(7);
    model_.set_producer_name("sinter-tests");
    onnx::OperatorSetIdProto* o = model_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    model_.mutable_graph()->set_name("g");
  }

  onnx::GraphProto& graph() { return *model_.mutable_graph(); }
  onnx::ModelProto& model() { return model_; }
  std::string bytes() const { return model_.SerializeAsString(); }

  void input(const std::string& name, const std::vector<DimSpec>& dims) { describe(graph().add_input(), name, dims); }
  void output(const std::string& name, const std::vector<DimSpec>& dims) { describe(graph().add_output(), name, dims); }

  static void describe(onnx::ValueInfoProto* v, const std::string& name, const std::vector<DimSpec>& dims) {
    v->set_name(name);
    onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    onnx::TensorShapeProto* s = t->mutable_shape();
    for (const DimSpec& d : dims) {
      if (std::holds_alternative<std::int64_t>(d)) s->add_dim()->set_dim_value(std::get<std::int64_t>(d));
      else s->add_dim()->set_dim_param(std::get<std::string>(d));
    }
  }

  void floats(const std::string& name, const std::vector<std::int64_t>& dims, const std::vector<float>& values) {
    onnx::TensorProto* t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (std::int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
  }

  void ints(const std::string& name, const std::vector<std::int64_t>& values) {
    onnx::TensorProto* t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<std::int64_t>(values.size()));
    for (std::int64_t v : values) t->add_int64_data(v);
  }

  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& name = "") {
    return node(graph(), op, inputs, outputs, name);
  }
  // A node of graph `g`: the model's, or a body's (a Scan's graph attribute).
  static onnx::NodeProto& node(onnx::GraphProto& g, const std::string& op, const std::vector<std::string>& inputs,
                               const std::vector<std::string>& outputs, const std::string& name = "") {
    onnx::NodeProto* n = g.add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? "/" + op + "_" + std::to_string(g.node_size()) : name);
    for (const std::string& i : inputs) n->add_input(i);
    for (const std::string& o : outputs) n->add_output(o);
    return *n;
  }

  // The graph attribute `name` of node `n`, added empty.
  static onnx::GraphProto& graphAttr(onnx::NodeProto& n, const std::string& name) {
    onnx::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::GRAPH);
    a->mutable_g()->set_name(name);
    return *a->mutable_g();
  }

  static void attr(onnx::NodeProto& n, const std::string& name, std::int64_t v) {
    onnx::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr(onnx::NodeProto& n, const std::string& name, const std::string& v) {
    onnx::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
  }
  static void attr(onnx::NodeProto& n, const std::string& name, const std::vector<std::int64_t>& v) {
    onnx::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (std::int64_t x : v) a->add_ints(x);
  }

 private:
  onnx::ModelProto model_;
};

// y = softmax(relu(x W^T + b)) for x[batch, 2], W[3, 2] (Gemm with transB, as torch's Linear), b[3].
inline ModelBuilder mlp(std::int64_t opset = 13) {
  ModelBuilder b(opset);
  b.input("x", {std::string("batch"), std::int64_t{2}});
  b.floats("fc.weight", {3, 2}, {1, 2, 3, 4, 5, 6});
  b.floats("fc.bias", {3}, {0.5f, -100, 0});
  ModelBuilder::attr(b.node("Gemm", {"x", "fc.weight", "fc.bias"}, {"h"}, "/fc/Gemm"), "transB", std::int64_t{1});
  b.node("Relu", {"h"}, {"r"}, "/Relu");
  b.node("Softmax", {"r"}, {"y"}, "/Softmax");
  b.output("y", {std::string("batch"), std::int64_t{3}});
  return b;
}

// y = flatten(maxpool2(conv3x3(reshape(x, [-1, 1, 4, 4])))) for x[batch, 16]: a 1-channel convolution with
// padding 1, then 2x2 max pooling.
inline ModelBuilder cnn(std::int64_t opset = 13) {
  ModelBuilder b(opset);
  b.input("x", {std::string("batch"), std::int64_t{16}});
  b.ints("shape", {-1, 1, 4, 4});
  b.floats("w", {1, 1, 3, 3}, {0, 0, 0, 0, 1, 0, 0, 0, 0});  // the identity kernel
  b.floats("bias", {1}, {0.25f});
  b.node("Reshape", {"x", "shape"}, {"img"}, "/Reshape");
  onnx::NodeProto& conv = b.node("Conv", {"img", "w", "bias"}, {"c"}, "/conv/Conv");
  ModelBuilder::attr(conv, "pads", std::vector<std::int64_t>{1, 1, 1, 1});
  ModelBuilder::attr(conv, "kernel_shape", std::vector<std::int64_t>{3, 3});
  onnx::NodeProto& pool = b.node("MaxPool", {"c"}, {"p"}, "/MaxPool");
  ModelBuilder::attr(pool, "kernel_shape", std::vector<std::int64_t>{2, 2});
  ModelBuilder::attr(pool, "strides", std::vector<std::int64_t>{2, 2});
  b.node("Flatten", {"p"}, {"y"}, "/Flatten");
  b.output("y", {std::string("batch"), std::int64_t{4}});
  return b;
}

// A Scan that sums the rows of x[seq, 3] (seq symbolic) onto s0[3]: output s is the sum after the last step,
// ys[t] the running sum after step t. `reverse` steps from the last row and stacks each step's sum at its row
// (scan_input_directions and scan_output_directions 1): ys[t] = s0 + x[t] + ... + x[seq - 1].
inline ModelBuilder scanCumsum(bool reverse = false, std::int64_t opset = 16) {
  ModelBuilder b(opset);
  b.input("s0", {std::int64_t{3}});
  b.input("x", {std::string("seq"), std::int64_t{3}});
  onnx::NodeProto& scan = b.node("Scan", {"s0", "x"}, {"s", "ys"}, "/Scan");
  ModelBuilder::attr(scan, "num_scan_inputs", std::int64_t{1});
  if (reverse) {
    ModelBuilder::attr(scan, "scan_input_directions", std::vector<std::int64_t>{1});
    ModelBuilder::attr(scan, "scan_output_directions", std::vector<std::int64_t>{1});
  }
  onnx::GraphProto& body = ModelBuilder::graphAttr(scan, "body");
  ModelBuilder::describe(body.add_input(), "s_in", {std::int64_t{3}});
  ModelBuilder::describe(body.add_input(), "x_t", {std::int64_t{3}});
  ModelBuilder::node(body, "Add", {"s_in", "x_t"}, {"s_out"}, "/body/Add");
  ModelBuilder::node(body, "Identity", {"s_out"}, {"y_t"}, "/body/Identity");
  ModelBuilder::describe(body.add_output(), "s_out", {std::int64_t{3}});
  ModelBuilder::describe(body.add_output(), "y_t", {std::int64_t{3}});
  b.output("s", {std::int64_t{3}});
  b.output("ys", {std::string("seq"), std::int64_t{3}});
  return b;
}

}  // namespace sinter::onnxtest
