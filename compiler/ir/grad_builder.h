// What a gradient rule sees. Each op's rule sits in its entry (compiler/ir/ops/) and is written against this
// interface; compiler/autodiff implements it (the reverse sweep, adjoint sums, which operands need a
// gradient), so that the IR knows nothing of autodiff and a rule reads as its formula:
//
//   .grad = {[](GradBuilder& d) { d.to(0, [&] { return d.emit(Op::Mul, {d.dy(), d.y()}); }); }, "dy · y"},
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "compiler/ir/graph.h"

namespace sinter::ir {

class GradBuilder {
 public:
  const Node& node() const { return *node_; }  // the forward node being differentiated
  NodeId y() const { return node_->id; }       // its value
  NodeId x(int i) const { return node_->operands[static_cast<std::size_t>(i)]; }
  NodeId dy() const { return dy_; }  // d loss / d y
  const TensorType& type(NodeId id) const { return graph_->node(id).type; }
  const Attrs& attrs() const { return node_->attrs; }

  // Adds make()'s value to operand i's adjoint when operand i needs one (it depends on a param and is
  // floating point); make() is not called otherwise. The nodes it emits are marked `grad(y, wrt i)`.
  virtual void to(int i, const std::function<NodeId()>& make) = 0;
  // Marks the nodes emitted from here on as differentiating operand i: for a value that the adjoints of
  // several operands share, built before the first to().
  virtual void sharedBy(int i) = 0;
  // Appends a backward node; `carried` is its type for ops that carry theirs (reshape, sum_to, ...).
  virtual NodeId emit(Op op, std::vector<NodeId> operands, Attrs attrs = {}, TensorType carried = {}) = 0;
  // A constant scalar of y's dtype.
  virtual NodeId scalar(double v) = 0;

  // ---- for region ops (scan) ----------------------------------------------------------------------------------
  // Whether operand i needs a gradient: to(i, ...) would call its make().
  virtual bool wants(int i) const = 0;
  // Appends a backward node that holds a body (the scan's rule emits loops).
  virtual NodeId emitRegion(Op op, std::vector<NodeId> operands, Attrs attrs, std::shared_ptr<const Graph> body) = 0;
  // Reverse mode inside a body, the vector-Jacobian product of `body`: a graph that takes body's inputs, then
  // one adjoint "d.<name>" per result r with seeded[r] (of its type), and returns "d.<name>" for each input i
  // with wrt[i]: the sum over the seeded results of adjoint · d result / d input (zeros where none reaches).
  virtual Graph vjp(const Graph& body, const std::vector<bool>& seeded, const std::vector<bool>& wrt) = 0;
  // Whether a loop's gradient recomputes each step's values from the saved carries rather than storing them
  // (`--recompute-loops`: less memory for long sequences, a step's forward products run again backwards).
  bool recomputesLoops() const { return recomputeLoops_; }

  // ---- shared steps of the rules, built on emit ----------------------------------------------------------
  // v summed over the axes it was broadcast along, to the type of `operand` (undoes broadcasting).
  NodeId sumTo(NodeId v, NodeId operand);
  // v broadcast to type t (the identity when it has it).
  NodeId broadcastTo(NodeId v, const TensorType& t);
  // v, a value of y's type where y is a reduction, with the reduced axes as size 1 so that it broadcasts
  // against the reduction's operand.
  NodeId keepDims(NodeId v);
  // The number of elements of v along `axes`, or of all of v, as a scalar of v's dtype.
  NodeId count(NodeId v, std::vector<std::int64_t> axes);
  NodeId countAll(NodeId v);

 protected:
  ~GradBuilder() = default;
  const Graph* graph_ = nullptr;
  bool recomputeLoops_ = false;
  const Node* node_ = nullptr;
  NodeId dy_ = -1;
};

}  // namespace sinter::ir
