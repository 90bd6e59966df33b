// Reading an ONNX file: protobuf parsing and the checker (libonnx), the opset, then the graph's inputs,
// initializers, nodes (each through its op type's converter) and outputs.
#include <fmt/format.h>
#include <onnx/checker.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "frontend/onnx/importer.h"

namespace sinter::onnxio {
namespace {

constexpr std::int64_t kMinOpset = 11, kMaxOpset = 17;

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// The model's name, from the file's: a C identifier, since it names the library's descriptor symbol.
std::string modelName(const std::string& path) {
  std::string s = std::filesystem::path(path).stem().string();
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) s = "m" + s;
  return s;
}

// The opset of the default domain (ai.onnx), or an error message.
std::int64_t defaultOpset(const onnx::ModelProto& m, std::string& error) {
  for (const onnx::OperatorSetIdProto& o : m.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") {
      if (o.version() < kMinOpset || o.version() > kMaxOpset)
        error = fmt::format("opset {} is not supported; supported: opsets {} to {}", o.version(), kMinOpset, kMaxOpset);
      return o.version();
    }
  error = "the model imports no opset of the default domain (ai.onnx)";
  return 0;
}

class GraphReader {
 public:
  GraphReader(const std::string& path, std::int64_t opset, frontend::DiagnosticEngine& diags)
      : im_(path, static_cast<int>(opset)), diags_(diags), file_{path, 0, 0} {}

  std::optional<Imported> read(const onnx::GraphProto& g);

 private:
  Importer im_;
  frontend::DiagnosticEngine& diags_;
  ir::SourceLoc file_;
  std::set<std::string> failed_;  // outputs of nodes that failed: their users are skipped, not reported again

  void error(std::string message) { diags_.error(file_, std::move(message)); }
  void readInput(const onnx::ValueInfoProto& v);
  void readNode(const onnx::NodeProto& n, int index);
};

void GraphReader::readInput(const onnx::ValueInfoProto& v) {
  const std::string where = fmt::format("input '{}'", v.name());
  if (!v.type().has_tensor_type()) return error(where + " is not a tensor");
  const onnx::TypeProto_Tensor& t = v.type().tensor_type();
  // Integer inputs (token ids, what an embedding gathers at) become i32 inputs.
  const bool integer = t.elem_type() == onnx::TensorProto::INT64 || t.elem_type() == onnx::TensorProto::INT32;
  if (t.elem_type() != onnx::TensorProto::FLOAT && !integer)
    return error(
        fmt::format("{} has element type {}; supported: float, int64 and int32 (as i32)", where,
                    onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(t.elem_type()))));
  if (!t.has_shape()) return error(where + " has no shape");
  ir::Shape shape;
  for (int i = 0; i < t.shape().dim_size(); ++i) {
    const onnx::TensorShapeProto_Dimension& d = t.shape().dim(i);
    if (d.has_dim_value() && d.dim_value() > 0) {
      shape.push_back(ir::Dim::fixed(d.dim_value()));
    } else if (d.has_dim_param() && !d.dim_param().empty()) {
      // A symbolic (dynamic) axis: torch names it after dynamic_axes ("batch").
      std::string name;
      for (char ch : d.dim_param()) name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      if (std::isdigit(static_cast<unsigned char>(name[0]))) name = "d" + name;
      shape.push_back(ir::Dim::sym(name));
    } else {
      return error(fmt::format("{}: dim {} has neither a positive size nor a name", where, i));
    }
  }
  const ir::DType dtype = integer ? ir::DType::I32 : ir::DType::F32;
  im_.define(v.name(), im_.graph.addInput(im_.irName(v.name()), {dtype, shape}, file_));
}

void GraphReader::readNode(const onnx::NodeProto& n, int index) {
  for (const std::string& in : n.input())
    if (failed_.count(in)) {
      failed_.insert(n.output().begin(), n.output().end());
      return;
    }
  const std::string where = fmt::format("node '{}' ({}, node {} of the graph)",
                                        n.name().empty() ? n.output(0) : n.name(), n.op_type(), index + 1);
  auto fail = [&](const std::string& message) {
    error(where + ": " + message);
    failed_.insert(n.output().begin(), n.output().end());
  };
  im_.setNode(index);
  try {
    convertNode(im_, n);
  } catch (const Unsupported& e) {
    fail(e.what());
  } catch (const std::logic_error& e) {  // an IR type rule rejected the operands' shapes
    fail(fmt::format("its operands do not fit: {}", e.what()));
  }
}

std::optional<Imported> GraphReader::read(const onnx::GraphProto& g) {
  for (const onnx::TensorProto& t : g.initializer()) {
    try {
      im_.addConstant(decodeTensor(t));
    } catch (const Unsupported& e) {
      error(fmt::format("initializer '{}': {}", t.name(), e.what()));
    }
  }
  for (const onnx::ValueInfoProto& v : g.input())
    if (!im_.constant(v.name())) readInput(v);  // before IR version 4 the initializers are inputs too
  if (diags_.hasErrors()) return std::nullopt;
  for (int i = 0; i < g.node_size(); ++i) readNode(g.node(i), i);
  if (diags_.hasErrors()) return std::nullopt;
  for (const onnx::ValueInfoProto& v : g.output()) {
    try {
      const ir::NodeId id = im_.value(v.name());
      im_.graph.results.push_back({im_.irName(v.name()), id, ir::Result::Output});
    } catch (const Unsupported& e) {
      error(fmt::format("output '{}': {}", v.name(), e.what()));
    }
  }
  if (diags_.hasErrors()) return std::nullopt;
  Imported out;
  out.module.name = modelName(file_.file);
  im_.graph.name = out.module.name;
  out.module.forward = std::move(im_.graph);
  out.weights = std::move(im_.weights);
  out.valueNames = std::move(im_.valueNames);
  out.recurrent = std::move(im_.recurrent);
  return out;
}

}  // namespace

void convertNode(Importer& im, const onnx::NodeProto& n) {
  if (!n.domain().empty() && n.domain() != "ai.onnx")
    throw Unsupported(fmt::format("domain '{}' is not supported; supported: ai.onnx", n.domain()));
  const auto& table = converters();
  const auto it = std::lower_bound(table.begin(), table.end(), n.op_type(),
                                   [](const OpConverter& c, const std::string& op) { return c.op < op; });
  if (it == table.end() || it->op != n.op_type())
    throw Unsupported(fmt::format("op type {} is not supported; supported: {}", n.op_type(), join(supportedOps())));
  for (const onnx::AttributeProto& a : n.attribute())
    if (std::find(it->attrs.begin(), it->attrs.end(), a.name()) == it->attrs.end()) {
      std::vector<std::string> known(it->attrs.begin(), it->attrs.end());
      throw Unsupported(fmt::format("attribute '{}' is not supported; supported: {}", a.name(),
                                    known.empty() ? std::string("none") : join(known)));
    }
  it->convert(im, n, NodeAttrs(n));
  for (const std::string& out : n.output())
    if (!out.empty() && !im.defined(out) && !im.constant(out))
      throw Unsupported(fmt::format("output '{}' is not supported", out));
}

bool isOnnxFile(const std::string& path) { return std::filesystem::path(path).extension() == ".onnx"; }

std::vector<std::string> supportedOps() {
  std::vector<std::string> ops;
  for (const OpConverter& c : converters()) ops.emplace_back(c.op);
  return ops;
}

std::optional<Imported> importBytes(std::string_view bytes, const std::string& path,
                                    frontend::DiagnosticEngine& diags) {
  const ir::SourceLoc file{path, 0, 0};
  onnx::ModelProto model;
  if (bytes.size() > static_cast<std::size_t>(INT_MAX) ||
      !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    diags.error(file, "not an ONNX model: its protobuf data is corrupt or truncated");
    return std::nullopt;
  }
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {  // onnx::checker::ValidationError and protobuf's own
    diags.error(file, fmt::format("not a valid ONNX model: the ONNX checker says: {}", e.what()));
    return std::nullopt;
  }
  std::string opsetError;
  const std::int64_t opset = defaultOpset(model, opsetError);
  if (!opsetError.empty()) {
    diags.error(file, opsetError);
    return std::nullopt;
  }
  return GraphReader(path, opset, diags).read(model.graph());
}

std::optional<Imported> importFile(const std::string& path, frontend::DiagnosticEngine& diags) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  if (in) bytes << in.rdbuf();
  if (!in || std::filesystem::is_directory(path)) {
    diags.error({path, 0, 0}, "cannot read the file");
    return std::nullopt;
  }
  return importBytes(bytes.str(), path, diags);
}

}  // namespace sinter::onnxio
