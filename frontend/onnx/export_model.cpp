// The ONNX exporter: one ONNX node (or a short composition) per IR node reachable from the outputs.
#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <cmath>
#include <stdexcept>

#include <onnx/onnx_pb.h>
#include "frontend/onnx/onnx_export.h"

#include <algorithm>

namespace sinter::onnxio {
namespace {

using ir::Op;
using Ints = std::vector<std::int64_t>;

class Exporter {
 public:
  Exporter(const ir::Graph& g, const std::map<std::string, Weight>& weights) : g_(g), weights_(weights) {
    model_.set_ir_version(8);
    model_.set_producer_name("sinter");
    onnx::OperatorSetIdProto* o = model_.add_opset_import();
    o->set_domain("");
    o->set_version(kExportOpset);
    graph_ = model_.mutable_graph();
    graph_->set_name(g.name);
  }

  onnx::ModelProto run();

 private:
  const ir::Graph& g_;
  const std::map<std::string, Weight>& weights_;
  onnx::ModelProto model_;
  onnx::GraphProto* graph_ = nullptr;
  std::vector<std::string> names_;  // per IR node: its ONNX value name, once exported
  int fresh_ = 0;

  const std::string& name(ir::NodeId id);
  std::string emit(ir::NodeId id);
  // A name no IR value has: IR names have no '/'.
  std::string temp() { return fmt::format("/t{}", fresh_++); }
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& in, const std::string& out);
  std::string floatConstant(double v);
  std::string intsConstant(const Ints& v);
  void describe(onnx::ValueInfoProto* v, const std::string& n, const ir::TensorType& t);
  std::string unary(const std::string& op, ir::NodeId id);
  std::string reshape(const ir::Node& n);
  std::string window(const std::string& op, const ir::Node& n, const Ints& kernel);
  [[noreturn]] void unsupported(const ir::Node& n, const std::string& why = "") const {
    throw std::runtime_error(fmt::format("cannot export node %{} ({}){}: {}", n.id, ir::opName(n.op),
                                         n.loc.valid() ? " at " + n.loc.str() : "",
                                         why.empty() ? "the op has no ONNX form in the exporter" : why));
  }
};

void setAttr(onnx::NodeProto& n, const std::string& name, std::int64_t v) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
void setAttr(onnx::NodeProto& n, const std::string& name, double v) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(static_cast<float>(v));
}
void setAttr(onnx::NodeProto& n, const std::string& name, const Ints& v) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (std::int64_t x : v) a->add_ints(x);
}

onnx::TensorProto_DataType elemType(ir::DType t) {
  switch (t) {
    case ir::DType::F32: return onnx::TensorProto::FLOAT;
    case ir::DType::F64: return onnx::TensorProto::DOUBLE;
    case ir::DType::I32: return onnx::TensorProto::INT32;
  }
  return onnx::TensorProto::FLOAT;
}

onnx::NodeProto& Exporter::node(const std::string& op, const std::vector<std::string>& in, const std::string& out) {
  onnx::NodeProto* n = graph_->add_node();
  n->set_op_type(op);
  n->set_name(fmt::format("{}_{}", op, graph_->node_size()));
  for (const std::string& i : in) n->add_input(i);
  n->add_output(out);
  return *n;
}

std::string Exporter::floatConstant(double v) {
  onnx::TensorProto* t = graph_->add_initializer();
  t->set_name(temp());
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_float_data(static_cast<float>(v));
  return t->name();
}

std::string Exporter::intsConstant(const Ints& v) {
  onnx::TensorProto* t = graph_->add_initializer();
  t->set_name(temp());
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(static_cast<std::int64_t>(v.size()));
  for (std::int64_t x : v) t->add_int64_data(x);
  return t->name();
}

void Exporter::describe(onnx::ValueInfoProto* v, const std::string& n, const ir::TensorType& t) {
  v->set_name(n);
  onnx::TypeProto_Tensor* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elemType(t.dtype));
  onnx::TensorShapeProto* s = tt->mutable_shape();
  for (const ir::Dim& d : t.shape) {
    if (d.isSymbolic()) s->add_dim()->set_dim_param(d.symbol);
    else s->add_dim()->set_dim_value(d.size);
  }
}

const std::string& Exporter::name(ir::NodeId id) {
  if (names_[id].empty()) names_[id] = emit(id);
  return names_[id];
}

std::string Exporter::unary(const std::string& op, ir::NodeId id) {
  std::string out = temp();
  node(op, {name(g_.node(id).operands[0])}, out);
  return out;
}

// A reshape's target: fixed sizes, and each symbolic dimension as 0 (copy) where the input has it at the same
// index, or as the one -1.
std::string Exporter::reshape(const ir::Node& n) {
  const ir::Shape& in = g_.node(n.operands[0]).type.shape;
  Ints target;
  bool inferred = false;
  for (std::size_t i = 0; i < n.type.shape.size(); ++i) {
    const ir::Dim& d = n.type.shape[i];
    if (!d.isSymbolic()) target.push_back(d.size);
    else if (i < in.size() && in[i] == d) target.push_back(0);
    else if (inferred) unsupported(n, "its shape moves two symbolic dimensions");
    else {
      inferred = true;
      target.push_back(-1);
    }
  }
  std::string out = temp();
  node("Reshape", {name(n.operands[0]), intsConstant(target)}, out);
  return out;
}

// Conv and the pools: the IR pads both sides alike.
std::string Exporter::window(const std::string& op, const ir::Node& n, const Ints& kernel) {
  std::vector<std::string> in;
  for (ir::NodeId o : n.operands) in.push_back(name(o));
  std::string out = temp();
  onnx::NodeProto& x = node(op, in, out);
  const Ints& p = n.attrs.getInts("padding");
  setAttr(x, "kernel_shape", kernel);
  setAttr(x, "pads", Ints{p[0], p[1], p[0], p[1]});
  setAttr(x, "strides", n.attrs.getInts("stride"));
  if (n.attrs.has("dilation")) setAttr(x, "dilations", n.attrs.getInts("dilation"));
  if (op == "AveragePool") setAttr(x, "count_include_pad", std::int64_t{1});
  return out;
}

std::string Exporter::emit(ir::NodeId id) {
  const ir::Node& n = g_.node(id);
  auto in = [&](int i) { return name(n.operands[static_cast<std::size_t>(i)]); };
  auto binary = [&](const std::string& op) {
    std::string out = temp();
    node(op, {in(0), in(1)}, out);
    return out;
  };
  switch (n.op) {
    case Op::Input:
    case Op::Param: return n.name;
    case Op::Constant: {
      if (!n.type.shape.empty()) {
        Ints dims;
        for (const ir::Dim& d : n.type.shape) {
          if (d.isSymbolic()) unsupported(n, "a constant of symbolic shape");
          dims.push_back(d.size);
        }
        std::string out = temp();
        node("Expand", {floatConstant(n.scalar), intsConstant(dims)}, out);
        return out;
      }
      return floatConstant(n.scalar);
    }
    case Op::Neg: return unary("Neg", id);
    case Op::Exp: return unary("Exp", id);
    case Op::Log: return unary("Log", id);
    case Op::Sqrt: return unary("Sqrt", id);
    case Op::Abs: return unary("Abs", id);
    case Op::Sign: return unary("Sign", id);
    case Op::Erf: return unary("Erf", id);
    case Op::Sigmoid: return unary("Sigmoid", id);
    case Op::Tanh: return unary("Tanh", id);
    case Op::Relu: return unary("Relu", id);
    case Op::Softplus: return unary("Softplus", id);
    case Op::Softsign: return unary("Softsign", id);
    case Op::Hardswish: return unary("HardSwish", id);
    case Op::StopGradient:
    case Op::Dropout: return in(0);  // inference
    case Op::LeakyRelu: {
      std::string out = unary("LeakyRelu", id);
      setAttr(*graph_->mutable_node(graph_->node_size() - 1), "alpha", n.attrs.getFloat("alpha"));
      return out;
    }
    case Op::Gelu: {  // x · ½ (1 + erf(x / √2)): opset 17 has no Gelu
      const std::string x = in(0), e = temp(), one = temp(), half = temp();
      std::string out = temp();
      const std::string scaled = temp();
      node("Mul", {x, floatConstant(1 / std::sqrt(2.0))}, scaled);
      node("Erf", {scaled}, e);
      node("Add", {e, floatConstant(1)}, one);
      node("Mul", {one, floatConstant(0.5)}, half);
      node("Mul", {x, half}, out);
      return out;
    }
    case Op::Silu: {
      const std::string s = temp();
      std::string out = temp();
      node("Sigmoid", {in(0)}, s);
      node("Mul", {in(0), s}, out);
      return out;
    }
    case Op::Add: return binary("Add");
    case Op::Sub: return binary("Sub");
    case Op::Mul: return binary("Mul");
    case Op::Div: return binary("Div");
    case Op::Pow: return binary("Pow");
    case Op::Maximum: return binary("Max");
    case Op::Minimum: return binary("Min");
    case Op::MatMul: return binary("MatMul");
    case Op::Softmax:
    case Op::LogSoftmax: {
      std::string out = temp();
      setAttr(node(n.op == Op::Softmax ? "Softmax" : "LogSoftmax", {in(0)}, out), "axis", n.attrs.getInt("axis"));
      return out;
    }
    case Op::ReduceSum:
    case Op::ReduceMean:
    case Op::ReduceMax: {
      std::string out = temp();
      const Ints& axes = n.attrs.getInts("axes");
      onnx::NodeProto& r = n.op == Op::ReduceSum
                               ? node("ReduceSum", {in(0), intsConstant(axes)}, out)
                               : node(n.op == Op::ReduceMean ? "ReduceMean" : "ReduceMax", {in(0)}, out);
      if (n.op != Op::ReduceSum) setAttr(r, "axes", axes);
      setAttr(r, "keepdims", n.attrs.getInt("keepdims"));
      return out;
    }
    case Op::Reshape: return reshape(n);
    case Op::Transpose: {
      std::string out = temp();
      setAttr(node("Transpose", {in(0)}, out), "perm", n.attrs.getInts("perm"));
      return out;
    }
    case Op::Concat: {
      std::vector<std::string> xs;
      for (ir::NodeId o : n.operands) xs.push_back(name(o));
      std::string out = temp();
      setAttr(node("Concat", xs, out), "axis", n.attrs.getInt("axis"));
      return out;
    }
    case Op::Slice: {
      std::string out = temp();
      node("Slice",
           {in(0), intsConstant({n.attrs.getInt("start")}), intsConstant({n.attrs.getInt("end")}),
            intsConstant({n.attrs.getInt("axis")}), intsConstant({n.attrs.getInt("step")})},
           out);
      return out;
    }
    case Op::Pad: {
      Ints pads = n.attrs.getInts("before");
      for (std::int64_t a : n.attrs.getInts("after")) pads.push_back(a);
      std::string out = temp();
      node("Pad", {in(0), intsConstant(pads), floatConstant(n.attrs.getFloat("value"))}, out);
      return out;
    }
    case Op::Conv2D: {
      const ir::Shape& w = g_.node(n.operands[1]).type.shape;
      return window("Conv", n, {w[2].size, w[3].size});
    }
    case Op::MaxPool2D: return window("MaxPool", n, n.attrs.getInts("kernel"));
    case Op::AvgPool2D: return window("AveragePool", n, n.attrs.getInts("kernel"));
    case Op::Mish:
    case Op::LogicalNot:
    case Op::Cast:
    case Op::ReluGrad:
    case Op::LeakyReluGrad:
    case Op::GeluGrad:
    case Op::DropoutGrad:
    case Op::Less:
    case Op::LessEqual:
    case Op::Greater:
    case Op::GreaterEqual:
    case Op::Equal:
    case Op::NotEqual:
    case Op::LogicalAnd:
    case Op::LogicalOr:
    case Op::Where:
    case Op::Count:
    case Op::ArgMax:
    case Op::SumTo:
    case Op::Broadcast:
    case Op::SoftmaxGrad:
    case Op::LogSoftmaxGrad:
    case Op::SliceGrad:
    case Op::Gather:
    case Op::GatherGrad:
    case Op::OneHot:
    case Op::MatMulTN:
    case Op::MatMulNT:
    case Op::Conv2DGradInput:
    case Op::Conv2DGradWeight:
    case Op::MaxPool2DGrad:
    case Op::AvgPool2DGrad:
    case Op::CrossEntropy:
    case Op::CrossEntropyGrad:
    case Op::SoftCrossEntropy:
    case Op::Mse:
    case Op::BceWithLogits:
    case Op::Scan: unsupported(n);
  }
  unsupported(n);
}

onnx::ModelProto Exporter::run() {
  names_.assign(g_.nodes.size(), "");
  for (ir::NodeId id : g_.params) {
    const ir::Node& p = g_.node(id);
    const auto w = weights_.find(p.name);
    if (w == weights_.end()) throw std::runtime_error(fmt::format("no value for param '{}'", p.name));
    onnx::TensorProto* t = graph_->add_initializer();
    t->set_name(p.name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (std::int64_t d : w->second.shape) t->add_dims(d);
    t->set_raw_data(w->second.data.data(), w->second.data.size() * sizeof(float));
  }
  for (ir::NodeId id : g_.inputs) names_[id] = g_.node(id).name;
  bool any = false;
  for (const ir::Result& r : g_.results) {
    if (r.kind != ir::Result::Output) continue;  // inference: the outputs, not the loss
    any = true;
    const std::string value = name(r.node);
    node("Identity", {value}, r.name);
    describe(graph_->add_output(), r.name, g_.node(r.node).type);
  }
  if (!any) throw std::runtime_error("the model has no output besides its loss: nothing to export");
  // The inputs the outputs need (a label read only by the loss is left out), in the graph's order.
  for (ir::NodeId id : g_.inputs)
    for (const onnx::NodeProto& n : graph_->node())
      if (std::find(n.input().begin(), n.input().end(), g_.node(id).name) != n.input().end()) {
        describe(graph_->add_input(), g_.node(id).name, g_.node(id).type);
        break;
      }
  // Only the params the outputs read: drop the others' initializers (a param used only by the loss).
  auto* inits = graph_->mutable_initializer();
  for (int i = inits->size() - 1; i >= 0; --i) {
    bool used = false;
    for (const onnx::NodeProto& n : graph_->node())
      used = used || std::find(n.input().begin(), n.input().end(), inits->Get(i).name()) != n.input().end();
    if (!used) inits->DeleteSubrange(i, 1);
  }
  return model_;
}

}  // namespace

std::string exportGraph(const ir::Graph& g, const std::map<std::string, Weight>& weights) {
  onnx::ModelProto m = Exporter(g, weights).run();
  try {
    onnx::checker::check_model(m);
    onnx::ShapeInferenceOptions strict{true, 1, true};
    onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), strict);
    onnx::checker::check_model(m);
  } catch (const std::exception& e) {
    throw std::logic_error(fmt::format("the exported model fails the ONNX checker: {}", e.what()));
  }
  return m.SerializeAsString();
}

}  // namespace sinter::onnxio
