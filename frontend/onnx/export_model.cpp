// The ONNX exporter: one ONNX node (or a short composition) per IR node reachable from the outputs.
#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include <onnx/onnx_pb.h>
#include "compiler/ir/scan.h"
#include "frontend/onnx/onnx_export.h"

#include <algorithm>
#include <set>

namespace sinter::onnxio {
namespace {

using ir::Op;
using Ints = std::vector<std::int64_t>;

class Exporter {
 public:
  Exporter(const ir::Graph& g, const std::map<std::string, Weight>& weights)
      : g_(g), weights_(weights), fresh_(&ownFresh_) {
    model_.set_ir_version(8);
    model_.set_producer_name("sinter");
    onnx::OperatorSetIdProto* o = model_.add_opset_import();
    o->set_domain("");
    o->set_version(kExportOpset);
    graph_ = model_.mutable_graph();
    graph_->set_name(g.name);
    names_.assign(g_.nodes.size(), "");
  }

  onnx::ModelProto run();

 private:
  // A scan's body, written into `target`, the graph attribute of an ONNX Scan node: its nodes read the values
  // of the enclosing graph by name (ONNX's outer scope), and share its counter of fresh names, since ONNX
  // wants every name of a model defined once.
  Exporter(const ir::Graph& body, Exporter& outer, onnx::GraphProto* target)
      : g_(body), weights_(outer.weights_), graph_(target), fresh_(outer.fresh_) {
    names_.assign(g_.nodes.size(), "");
  }

  const ir::Graph& g_;
  const std::map<std::string, Weight>& weights_;
  onnx::ModelProto model_;
  onnx::GraphProto* graph_ = nullptr;
  std::vector<std::string> names_;  // per IR node: its ONNX value name, once exported
  int ownFresh_ = 0;
  int* fresh_;
  // The ONNX Scan nodes written so far: the IR node of the loop's first exported result, and the value names
  // of the loop's results (a loop's results are several IR nodes, one ONNX node).
  std::vector<std::pair<ir::NodeId, std::vector<std::string>>> scans_;

  const std::string& name(ir::NodeId id);
  std::string emit(ir::NodeId id);
  std::string scan(const ir::Node& n);
  std::string shapeOf(const ir::Node& n, const ir::Shape& shape);
  std::string toBool(const std::string& x);
  std::string fromBool(const ir::Node& n, const std::string& x);
  // A name no IR value has: IR names have no '/'.
  std::string temp() { return fmt::format("/t{}", (*fresh_)++); }
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
  n->set_name(fmt::format("{}_{}", op, (*fresh_)++));
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

// A truth value of the IR (nonzero) as ONNX's bool, and back as 1 or 0 in the node's dtype.
std::string Exporter::toBool(const std::string& x) {
  std::string out = temp();
  setAttr(node("Cast", {x}, out), "to", std::int64_t{onnx::TensorProto::BOOL});
  return out;
}
std::string Exporter::fromBool(const ir::Node& n, const std::string& x) {
  std::string out = temp();
  setAttr(node("Cast", {x}, out), "to", std::int64_t{elemType(n.type.dtype)});
  return out;
}

// A shape as a 1-D int64 tensor, for Expand: a symbolic dimension (the batch) is read at run time from the
// first input of the graph that has it, with Shape's start and end (opset 15).
std::string Exporter::shapeOf(const ir::Node& n, const ir::Shape& shape) {
  std::vector<std::string> parts;
  Ints fixed;
  auto flush = [&] {
    if (!fixed.empty()) parts.push_back(intsConstant(fixed));
    fixed.clear();
  };
  for (const ir::Dim& d : shape) {
    if (!d.isSymbolic()) {
      fixed.push_back(d.size);
      continue;
    }
    flush();
    std::string from;
    std::int64_t axis = -1;
    for (ir::NodeId id : g_.inputs) {
      const ir::Shape& s = g_.node(id).type.shape;
      const auto at = std::find(s.begin(), s.end(), d);
      if (at == s.end()) continue;
      from = name(id);
      axis = at - s.begin();
      break;
    }
    if (axis < 0) unsupported(n, fmt::format("no input of the graph has its dimension '{}'", d.symbol));
    parts.push_back(temp());
    onnx::NodeProto& x = node("Shape", {from}, parts.back());
    setAttr(x, "start", axis);
    setAttr(x, "end", axis + 1);
  }
  flush();
  if (parts.size() == 1) return parts[0];
  std::string out = temp();
  setAttr(node("Concat", parts, out), "axis", std::int64_t{0});
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
        std::string out = temp();
        node("Expand", {floatConstant(n.scalar), shapeOf(n, n.type.shape)}, out);
        return out;
      }
      return floatConstant(n.scalar);
    }
    case Op::Broadcast: {  // NumPy's rules are ONNX's: Expand to the node's shape
      std::string out = temp();
      node("Expand", {in(0), shapeOf(n, n.type.shape)}, out);
      return out;
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
      // The IR's end is a position, -1 past the first element when stepping back; ONNX reads a negative end
      // from the back, and takes its lowest int64 for "past the first".
      std::int64_t end = n.attrs.getInt("end");
      if (end < 0) end = std::numeric_limits<std::int64_t>::min();
      node("Slice",
           {in(0), intsConstant({n.attrs.getInt("start")}), intsConstant({end}),
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
    case Op::Conv2DGradInput: {  // a transposed convolution (conv_transpose2d): ONNX's ConvTranspose
      const ir::Shape& x = g_.node(n.operands[0]).type.shape;
      const ir::Shape& w = g_.node(n.operands[1]).type.shape;
      const Ints& stride = n.attrs.getInts("stride");
      const Ints& pad = n.attrs.getInts("padding");
      const Ints dilation = n.attrs.has("dilation") ? n.attrs.getInts("dilation") : Ints{1, 1};
      Ints extra;  // the output rows and columns past the last window: ONNX's output_padding
      for (std::size_t i = 0; i < 2; ++i) {
        const ir::Dim &from = x[2 + i], &to = n.type.shape[2 + i];
        if (from.isSymbolic() || to.isSymbolic()) unsupported(n, "its image size is symbolic");
        extra.push_back(to.size - ((from.size - 1) * stride[i] - 2 * pad[i] + dilation[i] * (w[2 + i].size - 1) + 1));
      }
      const std::string out = window("ConvTranspose", n, {w[2].size, w[3].size});
      setAttr(*graph_->mutable_node(graph_->node_size() - 1), "output_padding", extra);
      return out;
    }
    case Op::MaxPool2D: return window("MaxPool", n, n.attrs.getInts("kernel"));
    case Op::AvgPool2D: return window("AveragePool", n, n.attrs.getInts("kernel"));
    case Op::Mish: {  // x tanh(softplus(x))
      const std::string sp = temp(), t = temp();
      std::string out = temp();
      node("Softplus", {in(0)}, sp);
      node("Tanh", {sp}, t);
      node("Mul", {in(0), t}, out);
      return out;
    }
    // The IR's truth values are numbers, 1 or 0, in the operands' dtype; ONNX's are bools.
    case Op::Less: return fromBool(n, binary("Less"));
    case Op::LessEqual: return fromBool(n, binary("LessOrEqual"));
    case Op::Greater: return fromBool(n, binary("Greater"));
    case Op::GreaterEqual: return fromBool(n, binary("GreaterOrEqual"));
    case Op::Equal: return fromBool(n, binary("Equal"));
    case Op::NotEqual: {  // not(a = b): true where either is NaN, as the IR's
      std::string out = temp();
      node("Not", {binary("Equal")}, out);
      return fromBool(n, out);
    }
    case Op::LogicalAnd:
    case Op::LogicalOr: {
      std::string out = temp();
      node(n.op == Op::LogicalAnd ? "And" : "Or", {toBool(in(0)), toBool(in(1))}, out);
      return fromBool(n, out);
    }
    case Op::LogicalNot: {
      std::string out = temp();
      node("Not", {toBool(in(0))}, out);
      return fromBool(n, out);
    }
    case Op::Where: {
      std::string out = temp();
      node("Where", {toBool(in(0)), in(1), in(2)}, out);
      return out;
    }
    case Op::Cast: {
      std::string out = temp();
      setAttr(node("Cast", {in(0)}, out), "to", std::int64_t{elemType(n.type.dtype)});
      return out;
    }
    case Op::Gather: {  // rows of the table: ONNX's Gather along axis 0
      std::string out = temp();
      setAttr(node("Gather", {in(0), in(1)}, out), "axis", std::int64_t{0});
      return out;
    }
    case Op::ArgMax: {  // ONNX's indices are int64; the first maximum, as the IR's
      const std::string index = temp();
      onnx::NodeProto& a = node("ArgMax", {in(0)}, index);
      setAttr(a, "axis", n.attrs.getInt("axis"));
      setAttr(a, "keepdims", std::int64_t{0});
      std::string out = temp();
      setAttr(node("Cast", {index}, out), "to", std::int64_t{onnx::TensorProto::INT32});
      return out;
    }
    case Op::ReluGrad:
    case Op::LeakyReluGrad:
    case Op::GeluGrad:
    case Op::DropoutGrad:
    case Op::Count:
    case Op::SumTo:
    case Op::SoftmaxGrad:
    case Op::LogSoftmaxGrad:
    case Op::SliceGrad:
    case Op::GatherGrad:
    case Op::OneHot:
    case Op::MatMulTN:
    case Op::MatMulNT:
    case Op::Conv2DGradWeight:
    case Op::MaxPool2DGrad:
    case Op::AvgPool2DGrad:
    case Op::CrossEntropy:
    case Op::CrossEntropyGrad:
    case Op::SoftCrossEntropy:
    case Op::Mse:
    case Op::BceWithLogits: unsupported(n);
    case Op::Scan: return scan(n);
  }
  unsupported(n);
}

// scan → ONNX's Scan (opset 16+): the carries are its state variables, the sequences its scan inputs (sliced
// along the same axis), the closures values of the outer scope that the body reads by name; the body's results
// are the next carries, then the per-step values, which Scan stacks along the axis. A reverse scan reads its
// sequences from the last step (scan_input_directions 1) and stacks each step's value at that step's index
// (scan_output_directions 1, prepending), as the IR does.
std::string Exporter::scan(const ir::Node& n) {
  const ir::ScanShape s = ir::ScanShape::of(n);
  for (const auto& [first, outs] : scans_)
    if (g_.node(first).body == n.body && ir::sameSteps(g_.node(first), n)) return outs[static_cast<std::size_t>(s.result)];
  const ir::Graph& b = *n.body;
  // The outer values first: ONNX wants a graph's nodes in order, the Scan after what its body reads.
  std::vector<std::string> operands;
  for (ir::NodeId o : n.operands) operands.push_back(name(o));
  onnx::NodeProto* x = graph_->add_node();
  x->set_op_type("Scan");
  x->set_name(fmt::format("Scan_{}", (*fresh_)++));
  for (std::size_t i = 0; i < operands.size(); ++i)
    if (!s.isClosure(i)) x->add_input(operands[i]);
  std::vector<std::string> outs;
  for (std::size_t r = 0; r < b.results.size(); ++r) {
    outs.push_back(temp());
    x->add_output(outs.back());
  }
  const std::size_t stacked = b.results.size() - static_cast<std::size_t>(s.carries);
  setAttr(*x, "num_scan_inputs", s.seqs);
  setAttr(*x, "scan_input_axes", Ints(static_cast<std::size_t>(s.seqs), s.axis));
  if (stacked) setAttr(*x, "scan_output_axes", Ints(stacked, s.axis));  // ONNX refuses an empty list
  if (s.reverse) {
    setAttr(*x, "scan_input_directions", Ints(static_cast<std::size_t>(s.seqs), 1));
    if (stacked) setAttr(*x, "scan_output_directions", Ints(stacked, 1));
  }
  onnx::AttributeProto* a = x->add_attribute();
  a->set_name("body");
  a->set_type(onnx::AttributeProto::GRAPH);
  onnx::GraphProto* body = a->mutable_g();
  body->set_name(fmt::format("{}_step", g_.name.empty() ? "scan" : g_.name));
  Exporter inner(b, *this, body);
  for (std::size_t i = 0; i < b.inputs.size(); ++i) {
    const ir::Node& arg = b.node(b.inputs[i]);
    if (s.isClosure(i)) {
      inner.names_[arg.id] = operands[i];
      continue;
    }
    inner.names_[arg.id] = temp();
    describe(body->add_input(), inner.names_[arg.id], arg.type);
  }
  for (const ir::Result& r : b.results) {
    const std::string value = inner.name(r.node), out = temp();
    inner.node("Identity", {value}, out);
    describe(body->add_output(), out, b.node(r.node).type);
  }
  scans_.push_back({n.id, outs});
  return outs[static_cast<std::size_t>(s.result)];
}

// The value names the nodes of `g` read, those of the graphs in their attributes (a Scan's body) included.
void readNames(const onnx::GraphProto& g, std::set<std::string>& out) {
  for (const onnx::NodeProto& n : g.node()) {
    out.insert(n.input().begin(), n.input().end());
    for (const onnx::AttributeProto& a : n.attribute())
      if (a.has_g()) readNames(a.g(), out);
  }
}

onnx::ModelProto Exporter::run() {
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
  std::set<std::string> read;
  readNames(*graph_, read);
  // The inputs the outputs need (a label read only by the loss is left out), in the graph's order.
  for (ir::NodeId id : g_.inputs)
    if (read.count(g_.node(id).name)) describe(graph_->add_input(), g_.node(id).name, g_.node(id).type);
  // Only the params the outputs read: drop the others' initializers (a param used only by the loss).
  auto* inits = graph_->mutable_initializer();
  for (int i = inits->size() - 1; i >= 0; --i)
    if (!read.count(inits->Get(i).name())) inits->DeleteSubrange(i, 1);
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
