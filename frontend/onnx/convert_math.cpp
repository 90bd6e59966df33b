// ONNX's arithmetic, activations, matrix products, softmax and the ops that vanish in inference (Dropout,
// Identity), and Constant nodes.
#include <fmt/format.h>

#include <algorithm>

#include <cmath>

#include "frontend/onnx/importer.h"

namespace sinter::onnxio {
namespace {

using ir::Op;

void unary(Importer& im, const onnx::NodeProto& n, Op o) { im.define(n.output(0), im.op(o, {im.value(n.input(0))})); }

void binary(Importer& im, const onnx::NodeProto& n, Op o) {
  if (n.input_size() != 2) throw Unsupported(fmt::format("it has {} operands; supported: 2", n.input_size()));
  const ir::NodeId a = im.value(n.input(0)), b = im.value(n.input(1));
  im.define(n.output(0), im.op(o, {a, b}));
}

// A constant [rows, cols] matrix transposed, as a weight.
Weight transposed(const Constant& c) {
  if (c.dims.size() != 2) throw Unsupported(fmt::format("its weight '{}' must be a matrix", c.name));
  const std::int64_t rows = c.dims[0], cols = c.dims[1];
  Weight w{{cols, rows}, std::vector<float>(c.values.size())};
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t k = 0; k < cols; ++k) w.data[k * rows + r] = static_cast<float>(c.values[r * cols + k]);
  return w;
}

// Y = alpha A B + beta C, with B transposed when transB. A constant B with transB is stored transposed, so
// that the product is Dense's x @ w with w[in, out].
void gemm(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
  if (a.i("transA", 0) != 0) throw Unsupported("transA = 1 is not supported");
  const double alpha = a.f("alpha", 1), beta = a.f("beta", 1);
  const ir::NodeId x = im.value(n.input(0));
  const std::string& bName = n.input(1);
  ir::NodeId w;
  if (const Constant* b = im.constant(bName); b && a.i("transB", 0) != 0 && b->isFloat) {
    w = im.param(bName, transposed(*b));
  } else {
    w = im.value(bName);
    if (a.i("transB", 0) != 0)
      w = im.op(Op::Transpose, {w}, ir::Attrs::of({{"perm", std::vector<std::int64_t>{1, 0}}}));
  }
  ir::NodeId y = im.op(Op::MatMul, {x, w});
  if (alpha != 1) y = im.op(Op::Mul, {y, im.scalar(alpha)});
  if (const std::string cName = input(n, 2); !cName.empty()) {
    ir::NodeId c;
    const Constant* cc = im.constant(cName);
    if (cc && cc->isFloat && beta != 1 && cc->values.size() > 1) {  // the scaled bias is the param
      Weight b{cc->dims, {}};
      for (double v : cc->values) b.data.push_back(static_cast<float>(beta * v));
      c = im.param(cName, std::move(b));
    } else {
      c = im.value(cName);
      if (beta != 1) c = im.op(Op::Mul, {c, im.scalar(beta)});
    }
    y = im.op(Op::Add, {y, c});
  }
  im.define(n.output(0), y);
}

void matmul(Importer& im, const onnx::NodeProto& n, const NodeAttrs&) { binary(im, n, Op::MatMul); }

// The axis of a softmax: opsets before 13 flatten the dims from `axis` on (default 1), which is the usual
// softmax only when the axis is the last one or every later dim is 1; opset 13 takes one axis (default -1).
std::int64_t softmaxAxis(Importer& im, ir::NodeId x, const NodeAttrs& a) {
  const auto rank = static_cast<std::int64_t>(im.type(x).shape.size());
  std::int64_t axis = a.i("axis", im.opset() < 13 ? 1 : -1);
  if (axis < -rank || axis >= rank) throw Unsupported(fmt::format("axis {} is out of range for rank {}", axis, rank));
  if (axis < 0) axis += rank;
  if (im.opset() < 13)
    for (std::int64_t d = axis + 1; d < rank; ++d)
      if (!(im.type(x).shape[d] == ir::Dim::fixed(1)))
        throw Unsupported(
            fmt::format("before opset 13, axis {} flattens {} dims into one; only the last axis is "
                        "supported",
                        axis, rank - axis));
  return axis;
}

void softmax(Importer& im, const onnx::NodeProto& n, Op o, const NodeAttrs& a) {
  const ir::NodeId x = im.value(n.input(0));
  im.define(n.output(0), im.op(o, {x}, ir::Attrs::of({{"axis", softmaxAxis(im, x, a)}})));
}

// Dropout is the identity in inference; its mask output and training mode are not.
void dropout(Importer& im, const onnx::NodeProto& n, const NodeAttrs&) {
  if (n.output_size() > 1 && !n.output(1).empty()) throw Unsupported("its mask output is not supported");
  if (const std::string t = input(n, 2); !t.empty()) {
    const Constant* mode = im.constant(t);
    if (!mode || mode->values.empty() || mode->values[0] != 0)
      throw Unsupported("training_mode must be a constant false: inference only");
  }
  im.define(n.output(0), im.value(n.input(0)));
}

// torch writes Identity nodes for initializers of equal value (bn2.weight = Identity(bn1.weight)): the
// output of one on a constant is that constant.
void identity(Importer& im, const onnx::NodeProto& n, const NodeAttrs&) {
  if (const Constant* c = im.constant(n.input(0))) {
    Constant copy = *c;
    copy.name = n.output(0);
    return im.addConstant(std::move(copy));
  }
  im.define(n.output(0), im.value(n.input(0)));
}

// A Constant node's value is known at import time, as an initializer's is.
void constant(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
  Constant c;
  c.name = n.output(0);
  if (a.has("value")) {
    for (const onnx::AttributeProto& attr : n.attribute())
      if (attr.name() == "value") c = decodeTensor(attr.t());
    c.name = n.output(0);
  } else if (a.has("value_float")) {
    c.values = {a.f("value_float", 0)};
  } else if (a.has("value_floats")) {
    for (const onnx::AttributeProto& attr : n.attribute())
      if (attr.name() == "value_floats") c.values.assign(attr.floats().begin(), attr.floats().end());
    c.dims = {static_cast<std::int64_t>(c.values.size())};
  } else if (a.has("value_int")) {
    c.values = {static_cast<double>(a.i("value_int", 0))};
    c.isFloat = false;
  } else if (a.has("value_ints")) {
    for (std::int64_t v : a.ints("value_ints")) c.values.push_back(static_cast<double>(v));
    c.dims = {static_cast<std::int64_t>(c.values.size())};
    c.isFloat = false;
  } else {
    throw Unsupported("it has none of value, value_float(s), value_int(s)");
  }
  im.addConstant(std::move(c));
}

// The IR has no bool: a truth value is 1 or 0 in a number type, as its comparisons and logical ops give. A cast
// to bool of one of those is the value itself; of another float, `x != 0` (ONNX: nonzero is true, NaN too).
bool isTruthValue(const ir::Node& x) {
  static const Op kTruth[] = {Op::Less,  Op::LessEqual,  Op::Greater,   Op::GreaterEqual, Op::Equal,
                              Op::NotEqual, Op::LogicalAnd, Op::LogicalOr, Op::LogicalNot};
  return std::find(std::begin(kTruth), std::end(kTruth), x.op) != std::end(kTruth);
}

void castToBool(Importer& im, const onnx::NodeProto& n) {
  const ir::NodeId x = im.value(n.input(0));
  if (isTruthValue(im.graph.node(x))) return im.define(n.output(0), x);
  if (im.type(x).dtype != ir::DType::F32) throw Unsupported("to = BOOL of an integer is not supported; supported: of a float");
  im.define(n.output(0), im.op(Op::NotEqual, {x, im.scalar(0)}));
}

// Cast between float and the integers (int64 and int32 are the IR's i32): to an integer truncates toward
// zero, as ONNX's does.
void cast(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
  const std::int64_t to = a.i("to", 0);
  if (to == onnx::TensorProto::BOOL) return castToBool(im, n);
  ir::DType dtype = ir::DType::F32;
  if (to == onnx::TensorProto::INT64 || to == onnx::TensorProto::INT32) dtype = ir::DType::I32;
  else if (to != onnx::TensorProto::FLOAT && to != onnx::TensorProto::DOUBLE)
    throw Unsupported(fmt::format("to = {} is not supported; supported: FLOAT, DOUBLE (as float), INT64, INT32",
                                  onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(to))));
  if (const Constant* c = im.constant(n.input(0))) {  // a shape's cast stays a constant
    Constant copy = *c;
    copy.name = n.output(0);
    copy.isFloat = dtype == ir::DType::F32;
    if (!copy.isFloat)
      for (double& v : copy.values) v = std::trunc(v);
    return im.addConstant(std::move(copy));
  }
  const ir::NodeId x = im.value(n.input(0));
  if (im.type(x).dtype == dtype) return im.define(n.output(0), x);
  im.define(n.output(0), im.typed(Op::Cast, {x}, {dtype, im.type(x).shape}));
}

}  // namespace

void addMathConverters(std::vector<OpConverter>& t) {
  // Elementwise ops with one operand and no attributes: the IR op of the same meaning.
  static const std::pair<std::string_view, Op> kUnary[] = {
      {"Relu", Op::Relu}, {"Sigmoid", Op::Sigmoid},   {"Tanh", Op::Tanh},         {"Exp", Op::Exp},
      {"Log", Op::Log},   {"Sqrt", Op::Sqrt},         {"Neg", Op::Neg},           {"Abs", Op::Abs},
      {"Erf", Op::Erf},   {"Softplus", Op::Softplus}, {"Softsign", Op::Softsign}, {"Sign", Op::Sign}};
  for (const auto& [name, o] : kUnary)
    t.push_back({name, {}, [o = o](Importer& im, const onnx::NodeProto& n, const NodeAttrs&) { unary(im, n, o); }});
  // Broadcasting binary ops (NumPy's rules in both); Max and Min of exactly two operands.
  static const std::pair<std::string_view, Op> kBinary[] = {{"Add", Op::Add},    {"Sub", Op::Sub}, {"Mul", Op::Mul},
                                                            {"Div", Op::Div},    {"Pow", Op::Pow}, {"Max", Op::Maximum},
                                                            {"Min", Op::Minimum}};
  for (const auto& [name, o] : kBinary)
    t.push_back({name, {}, [o = o](Importer& im, const onnx::NodeProto& n, const NodeAttrs&) { binary(im, n, o); }});
  // Comparisons and logic: ONNX's bools are the IR's 1 and 0 (see castToBool).
  static const std::pair<std::string_view, Op> kTruth[] = {
      {"Less", Op::Less},   {"LessOrEqual", Op::LessEqual}, {"Greater", Op::Greater}, {"GreaterOrEqual", Op::GreaterEqual},
      {"Equal", Op::Equal}, {"And", Op::LogicalAnd},        {"Or", Op::LogicalOr}};
  for (const auto& [name, o] : kTruth)
    t.push_back({name, {}, [o = o](Importer& im, const onnx::NodeProto& n, const NodeAttrs&) { binary(im, n, o); }});
  t.push_back({"Not", {}, [](Importer& im, const onnx::NodeProto& n, const NodeAttrs&) { unary(im, n, Op::LogicalNot); }});
  t.push_back({"Where", {}, [](Importer& im, const onnx::NodeProto& n, const NodeAttrs&) {
                 const ir::NodeId c = im.value(n.input(0)), x = im.value(n.input(1)), y = im.value(n.input(2));
                 im.define(n.output(0), im.op(Op::Where, {c, x, y}));
               }});
  t.push_back({"Gemm", {"alpha", "beta", "transA", "transB"}, gemm});
  t.push_back({"MatMul", {}, matmul});
  t.push_back({"LeakyRelu", {"alpha"}, [](Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
                 const ir::NodeId x = im.value(n.input(0));
                 im.define(n.output(0), im.op(Op::LeakyRelu, {x}, ir::Attrs::of({{"alpha", a.f("alpha", 0.01)}})));
               }});
  t.push_back({"Softmax", {"axis"}, [](Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
                 softmax(im, n, Op::Softmax, a);
               }});
  t.push_back({"LogSoftmax", {"axis"}, [](Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
                 softmax(im, n, Op::LogSoftmax, a);
               }});
  t.push_back({"Dropout", {"ratio", "seed", "is_test"}, dropout});
  t.push_back({"Identity", {}, identity});
  t.push_back({"Cast", {"to"}, cast});
  t.push_back({"Constant", {"value", "value_float", "value_floats", "value_int", "value_ints"}, constant});
}

}  // namespace sinter::onnxio
