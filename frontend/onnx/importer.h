// The state of one ONNX graph's import (read_model.cpp walks the nodes; convert_*.cpp turn each op type into
// Graph IR nodes through it), and the table of op converters. Only this library includes libonnx's headers.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir/graph.h"
#include "frontend/onnx/onnx_import.h"

namespace sinter::onnxio {

// A node the importer cannot express (an attribute value, a shape, a non-constant operand where a constant
// is needed): read_model.cpp reports the message with the node's name and op type.
struct Unsupported : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An ONNX constant (an initializer or a Constant node's value), decoded: every element as a double.
struct Constant {
  std::string name;
  std::vector<std::int64_t> dims;
  std::vector<double> values;
  bool isFloat = true;  // float or double elements (else integers)
  // Per element, a symbolic dimension's name, or "" for a number: what Shape gives for a symbolic axis, kept
  // through Gather, Unsqueeze and Concat into a Reshape's shape. Empty when every element is a number.
  std::vector<std::string> symbols;

  std::string symbol(std::size_t i) const { return i < symbols.size() ? symbols[i] : std::string(); }
  // Element i as a dimension of a shape: a symbol, or a number (-1 and 0 keep Reshape's meanings).
  ir::Dim dim(std::size_t i) const;
};

class Importer {
 public:
  Importer(std::string path, int opset) : path_(std::move(path)), opset_(opset) {}
  // The importer of a Scan's body (convert_scan.cpp): a graph of its own, whose nodes take the Scan node's
  // location. A name the body reads from an enclosing graph (ONNX's outer scope), and every param the body
  // would make, becomes a body input, a closure: `closures` lists the enclosing graph's nodes they stand for.
  explicit Importer(Importer& outer) : path_(outer.path_), opset_(outer.opset_), loc_(outer.loc_), outer_(&outer) {}
  Importer(const Importer&) = delete;

  ir::Graph graph;
  std::map<std::string, Weight> weights;
  std::map<ir::NodeId, std::string> valueNames;  // the first ONNX value name bound to each computed node
  std::vector<ir::NodeId> closures;              // a body's: the enclosing graph's node of each closure input
  std::vector<RecurrentSite> recurrent;          // the recurrent nodes lib/nn.sn's layers compute

  int opset() const { return opset_; }
  const std::string& path() const { return path_; }
  // The node being imported, for its IR nodes' source locations: "file.onnx":<node index + 1>:1.
  void setNode(int index) { loc_ = {path_, index + 1, 1}; }

  void addConstant(Constant c);
  // The constant an ONNX value holds, or nullptr when it is computed by the graph.
  const Constant* constant(const std::string& name) const;
  // A constant the op needs at compile time (a shape, a scale): Unsupported when the value is computed.
  const Constant& requireConstant(const std::string& name, std::string_view what) const;

  // An operand: a graph input or an earlier node's output; a one-element float constant becomes a constant
  // node, any other float constant a param holding its value (once, however many nodes read it).
  ir::NodeId value(const std::string& name);
  // Binds an ONNX value name to the node that computes it.
  void define(const std::string& name, ir::NodeId id) {
    values_[name] = id;
    valueNames.emplace(id, name);
  }
  bool defined(const std::string& name) const { return values_.count(name) != 0; }

  // A new param named after `onnxName` (made a valid, unique IR name) holding `w`.
  ir::NodeId param(std::string_view onnxName, Weight w);
  ir::NodeId scalar(double v);

  ir::NodeId op(ir::Op o, std::vector<ir::NodeId> operands, ir::Attrs attrs = {});
  ir::NodeId typed(ir::Op o, std::vector<ir::NodeId> operands, ir::TensorType t, ir::Attrs attrs = {});
  // A node built whole (a scan, with its body), at the current node's location.
  ir::NodeId add(ir::Node n);
  const ir::TensorType& type(ir::NodeId id) const { return graph.node(id).type; }

  // `name` as an IR name: letters, digits, '_' and '.', not starting with a digit, unique in the graph.
  std::string irName(std::string_view name);

 private:
  std::string path_;
  int opset_;
  ir::SourceLoc loc_;
  std::map<std::string, Constant> constants_;
  std::map<std::string, ir::NodeId> values_;
  std::map<std::string, int> names_;  // IR names taken
  Importer* outer_ = nullptr;         // a body's enclosing graph's importer

  // A body's closure input standing for node `id` of the enclosing graph.
  ir::NodeId closure(ir::NodeId id, std::string_view name);
};

// A node's attributes by name, with the ONNX defaults given at each read.
class NodeAttrs {
 public:
  explicit NodeAttrs(const onnx::NodeProto& n) : node_(n) {}
  bool has(std::string_view name) const { return find(name) != nullptr; }
  std::int64_t i(std::string_view name, std::int64_t fallback) const;
  double f(std::string_view name, double fallback) const;
  std::vector<std::int64_t> ints(std::string_view name, std::vector<std::int64_t> fallback = {}) const;
  std::string s(std::string_view name, const std::string& fallback) const;
  const onnx::GraphProto* graph(std::string_view name) const;  // nullptr when absent or not a graph

 private:
  const onnx::NodeProto& node_;
  const onnx::AttributeProto* find(std::string_view name) const;
};

// An input of a node, "" when it is absent (optional inputs may be empty names or missing).
std::string input(const onnx::NodeProto& n, int i);

using Convert = std::function<void(Importer&, const onnx::NodeProto&, const NodeAttrs&)>;

struct OpConverter {
  std::string_view op;                  // the ONNX op type (domain ai.onnx)
  std::vector<std::string_view> attrs;  // the attributes it reads; any other is an error
  Convert convert;
};

// The converters of each family, in convert_math.cpp, convert_nn.cpp, convert_layout.cpp, convert_shape.cpp,
// convert_reduce.cpp, convert_rnn.cpp and convert_scan.cpp.
void addMathConverters(std::vector<OpConverter>& table);
void addNnConverters(std::vector<OpConverter>& table);
void addLayoutConverters(std::vector<OpConverter>& table);
void addShapeConverters(std::vector<OpConverter>& table);
void addReduceConverters(std::vector<OpConverter>& table);
void addRnnConverters(std::vector<OpConverter>& table);
void addScanConverters(std::vector<OpConverter>& table);
// All of them, sorted by op type.
const std::vector<OpConverter>& converters();

// Converts one node through its op type's converter (read_model.cpp): Unsupported for another domain, an
// op type or attribute the importer lacks, or an output it did not define.
void convertNode(Importer& im, const onnx::NodeProto& n);

// Decodes an initializer or a Constant node's tensor; Unsupported for external data or a string tensor.
Constant decodeTensor(const onnx::TensorProto& t);

}  // namespace sinter::onnxio
