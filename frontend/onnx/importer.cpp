// The importer's state: ONNX value names to IR nodes, constants, params with their initial values.
#include "frontend/onnx/importer.h"

#include <fmt/format.h>
#include <onnx/defs/tensor_proto_util.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace sinter::onnxio {

namespace {

template <typename T>
std::vector<double> widen(const onnx::TensorProto& t) {
  const std::vector<T> v = onnx::ParseData<T>(&t);
  return {v.begin(), v.end()};
}

}  // namespace

Constant decodeTensor(const onnx::TensorProto& t) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    throw Unsupported(fmt::format("tensor '{}' keeps its data in an external file, which is not supported", t.name()));
  Constant c;
  c.name = t.name();
  c.dims.assign(t.dims().begin(), t.dims().end());
  std::int64_t n = 1;
  for (std::int64_t d : c.dims) {
    if (d < 0 || d > (std::int64_t{1} << 40) / std::max<std::int64_t>(n, 1))
      throw Unsupported(fmt::format("tensor '{}' has an invalid shape", t.name()));
    n *= d;
  }
  // ParseData checks the element count of raw data against the type, not against the dims: so do we.
  try {
    switch (t.data_type()) {
      case onnx::TensorProto::FLOAT: c.values = widen<float>(t); break;
      case onnx::TensorProto::DOUBLE: c.values = widen<double>(t); break;
      case onnx::TensorProto::INT64:
        c.values = widen<std::int64_t>(t);
        c.isFloat = false;
        break;
      case onnx::TensorProto::INT32:
        c.values = widen<std::int32_t>(t);
        c.isFloat = false;
        break;
      default:
        throw Unsupported(fmt::format("tensor '{}' has element type {}; supported: float, double, int64, int32",
                                      t.name(), onnx::TensorProto::DataType_Name(t.data_type())));
    }
  } catch (const Unsupported&) {
    throw;
  } catch (const std::exception& e) {
    throw Unsupported(fmt::format("tensor '{}' cannot be decoded: {}", t.name(), e.what()));
  }
  if (static_cast<std::int64_t>(c.values.size()) != n)
    throw Unsupported(
        fmt::format("tensor '{}' holds {} values for its shape of {} elements", t.name(), c.values.size(), n));
  return c;
}

ir::Dim Constant::dim(std::size_t i) const {
  if (const std::string s = symbol(i); !s.empty()) return ir::Dim::sym(s);
  return ir::Dim::fixed(static_cast<std::int64_t>(values.at(i)));
}

void Importer::addConstant(Constant c) {
  std::string name = c.name;
  values_.erase(name);
  constants_[name] = std::move(c);
}

const Constant* Importer::constant(const std::string& name) const {
  if (values_.count(name)) return nullptr;
  const auto it = constants_.find(name);
  if (it != constants_.end()) return &it->second;
  return outer_ ? outer_->constant(name) : nullptr;  // a body reads the outer scope's constants too
}

const Constant& Importer::requireConstant(const std::string& name, std::string_view what) const {
  if (const Constant* c = constant(name)) return *c;
  throw Unsupported(
      fmt::format("its {} ('{}') must be a constant (an initializer or a Constant node's output), "
                  "not a value computed by the graph",
                  what, name));
}

ir::NodeId Importer::value(const std::string& name) {
  if (const auto it = values_.find(name); it != values_.end()) return it->second;
  const Constant* c = constant(name);
  if (!c && outer_) return values_[name] = closure(outer_->value(name), name);  // computed in the outer scope
  if (!c) throw Unsupported(fmt::format("its input '{}' is not defined before it", name));
  if (!c->isFloat || !c->symbols.empty())
    throw Unsupported(fmt::format("its input '{}' is an integer constant (a shape), used as data", name));
  ir::NodeId id;
  if (c->values.size() == 1) {
    ir::Shape shape;
    for (std::int64_t d : c->dims) shape.push_back(ir::Dim::fixed(d));
    id = graph.addConstant(c->values[0], {ir::DType::F32, shape}, loc_);
  } else if (outer_ && !constants_.count(name)) {
    id = closure(outer_->value(name), name);  // an outer initializer: one param, however many bodies read it
  } else {
    id = param(name, Weight{c->dims, {c->values.begin(), c->values.end()}});
  }
  values_[name] = id;
  return id;
}

ir::NodeId Importer::closure(ir::NodeId id, std::string_view name) {
  closures.push_back(id);
  return graph.addInput(irName(name), outer_->type(id), loc_);
}

ir::NodeId Importer::param(std::string_view onnxName, Weight w) {
  if (outer_) return closure(outer_->param(onnxName, std::move(w)), onnxName);  // params live in the model
  ir::Shape shape;
  for (std::int64_t d : w.shape) shape.push_back(ir::Dim::fixed(d));
  std::string name = irName(onnxName);
  // The param starts from the initializer's values: a library built from the file computes the ONNX model
  // with no weights file loaded. `weights` keeps them too, for `sinter import`'s safetensors and its renaming.
  ir::Init init;
  init.kind = ir::Init::Data;
  init.data = std::make_shared<const std::vector<float>>(w.data);
  const ir::NodeId id = graph.addParam(name, {ir::DType::F32, shape}, std::move(init), loc_);
  weights[name] = std::move(w);
  return id;
}

ir::NodeId Importer::scalar(double v) { return graph.addConstant(v, {ir::DType::F32, {}}, loc_); }

ir::NodeId Importer::op(ir::Op o, std::vector<ir::NodeId> operands, ir::Attrs attrs) {
  return graph.addOp(o, std::move(operands), std::move(attrs), loc_);
}

ir::NodeId Importer::typed(ir::Op o, std::vector<ir::NodeId> operands, ir::TensorType t, ir::Attrs attrs) {
  return graph.addTyped(o, std::move(operands), std::move(t), std::move(attrs), loc_);
}

ir::NodeId Importer::add(ir::Node n) {
  n.loc = loc_;
  return graph.add(std::move(n));
}

std::string Importer::irName(std::string_view name) {
  std::string s;
  for (char ch : name) {
    const bool ok = std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.';
    s += ok ? ch : '_';
  }
  // torch names computed values "/fc1/Gemm_output_0" and weights "onnx::Conv_25": the leading '_'s go.
  s.erase(0, s.find_first_not_of("_."));
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) s = "v" + s;
  int& uses = names_[s];
  return ++uses == 1 ? s : irName(fmt::format("{}_{}", s, uses));
}

std::int64_t NodeAttrs::i(std::string_view name, std::int64_t fallback) const {
  const onnx::AttributeProto* a = find(name);
  return a ? a->i() : fallback;
}

double NodeAttrs::f(std::string_view name, double fallback) const {
  const onnx::AttributeProto* a = find(name);
  return a ? a->f() : fallback;
}

std::vector<std::int64_t> NodeAttrs::ints(std::string_view name, std::vector<std::int64_t> fallback) const {
  const onnx::AttributeProto* a = find(name);
  return a ? std::vector<std::int64_t>(a->ints().begin(), a->ints().end()) : std::move(fallback);
}

std::string NodeAttrs::s(std::string_view name, const std::string& fallback) const {
  const onnx::AttributeProto* a = find(name);
  return a ? a->s() : fallback;
}

const onnx::GraphProto* NodeAttrs::graph(std::string_view name) const {
  const onnx::AttributeProto* a = find(name);
  return a && a->has_g() ? &a->g() : nullptr;
}

const onnx::AttributeProto* NodeAttrs::find(std::string_view name) const {
  for (const onnx::AttributeProto& a : node_.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

std::string input(const onnx::NodeProto& n, int i) { return i < n.input_size() ? n.input(i) : std::string(); }

const std::vector<OpConverter>& converters() {
  static const std::vector<OpConverter> table = [] {
    std::vector<OpConverter> t;
    addMathConverters(t);
    addNnConverters(t);
    addLayoutConverters(t);
    addShapeConverters(t);
    addReduceConverters(t);
    addRnnConverters(t);
    addScanConverters(t);
    std::sort(t.begin(), t.end(), [](const OpConverter& a, const OpConverter& b) { return a.op < b.op; });
    return t;
  }();
  return table;
}

}  // namespace sinter::onnxio
