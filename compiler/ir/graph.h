// The Graph IR: an append-only list of SSA nodes in topological order, with named arguments and results.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "compiler/ir/attrs.h"
#include "compiler/ir/op.h"
#include "compiler/ir/types.h"

namespace sinter::ir {

using NodeId = int;
class Graph;

// How a parameter is initialized before training.
struct Init {
  // Data: every element given, in row-major order (the initializers of an ONNX model imported as a layer,
  // docs/onnx.md): the compiled model holds them, and the runtime copies them in.
  enum Kind { Zeros, Ones, Constant, Uniform, Normal, GlorotUniform, HeNormal, LecunUniform, Data };
  Kind kind = Zeros;
  double a = 0, b = 0;  // constant: a; uniform: [a, b); normal: mean a, std b
  std::shared_ptr<const std::vector<float>> data = nullptr;  // Data: one value per element; shared, never mutated
};
std::string initStr(const Init& i);  // "glorot_uniform", "normal(0, 0.01)", "values(100352)"

struct Node {
  NodeId id = -1;
  Op op = Op::Constant;
  std::vector<NodeId> operands;
  TensorType type;
  SourceLoc loc;
  Attrs attrs;           // compile-time parameters (see the op table)
  std::string name;      // input/param name; for other nodes the user's value name, if any
  double scalar = 0;     // constant: the value every element holds
  Init init;             // param: initializer
  bool state = false;    // param: state (a buffer such as a running mean): not trained, no gradient; the train
                         //   step's State results give its next value
  NodeId gradOf = -1;    // backward nodes: the forward node whose operand they differentiate
  int gradOperand = -1;  //   and which operand of it
  // Region ops (scan): the graph run at each step. Shared, never mutated: the nodes that read one loop's
  // several results hold the same body, and the printer writes it once.
  std::shared_ptr<const Graph> body;
};

struct Result {
  // State: the value a state param holds after the train step (named as the param).
  enum Kind { Output, Loss, Grad, State };
  std::string name;
  NodeId node = -1;
  Kind kind = Output;
};

class Graph {
 public:
  std::string name;
  std::vector<Node> nodes;      // node i has id i; operands always have smaller ids
  std::vector<NodeId> inputs;   // Input nodes, in ABI order
  std::vector<NodeId> params;   // Param nodes, in ABI order: the trained ones, then the states
  std::vector<Result> results;  // in ABI order

  // Appends a node, assigns its id and (for non-leaves) infers its type with the op table's rule.
  // Throws std::logic_error when the type rule rejects it: the frontend checks shapes first, so a
  // rejection here is a compiler bug, not a user error.
  NodeId add(Node n);
  NodeId addInput(std::string name, TensorType t, SourceLoc loc = {});
  NodeId addParam(std::string name, TensorType t, Init init, SourceLoc loc = {});
  NodeId addConstant(double value, TensorType t, SourceLoc loc = {});
  NodeId addOp(Op op, std::vector<NodeId> operands, SourceLoc loc = {}, std::string name = {});
  NodeId addOp(Op op, std::vector<NodeId> operands, Attrs attrs, SourceLoc loc = {}, std::string name = {});
  // For ops whose result type is given rather than inferred (reshape, sum_to, broadcast, *_grad).
  NodeId addTyped(Op op, std::vector<NodeId> operands, TensorType type, Attrs attrs = {}, SourceLoc loc = {});

  const Node& node(NodeId id) const { return nodes.at(static_cast<size_t>(id)); }
  Node& node(NodeId id) { return nodes.at(static_cast<size_t>(id)); }
  // Symbolic dimension names in order of first appearance over the arguments and nodes.
  std::vector<std::string> symbols() const;
  const Result* findResult(std::string_view name) const;
  // The params that are trained: those before the first state.
  std::vector<NodeId> trainedParams() const;
};

// The keyword of an argument in the textual IR and in dumps: "input", "param" or "state".
std::string_view argKeyword(const Node& n);

// Dead-code elimination: drops every node that no result depends on (inputs and params stay: they are the
// graph's ABI) and renumbers the rest. Returns true when it removed something.
bool removeDeadNodes(Graph& g);

// Puts g's nodes in `order` (every node once, operands before users) and renumbers them: node ids,
// operands, backward marks, arguments and results.
void reorderNodes(Graph& g, const std::vector<NodeId>& order);

// Checks every invariant of a graph; returns one message per problem (empty when valid).
std::vector<std::string> verify(const Graph& g);

// Textual form (see docs/ir.md).
std::string print(const Graph& g);

// A string literal as the printer and the DOT writer write it: quotes and backslashes escaped, newlines as \n.
std::string quote(const std::string& s);

}  // namespace sinter::ir

// Most users of the graph ask the op table about its nodes; it needs Node and Graph defined first.
#include "compiler/ir/op_table.h"  // IWYU pragma: export
