#include "compiler/autodiff/autodiff.h"

#include <fmt/format.h>
#include <stdexcept>

namespace sinter::autodiff {
namespace {

using ir::Node;
using ir::NodeId;
using ir::Op;

class Differentiator {
 public:
  explicit Differentiator(ir::Graph& g) : g_(g), adjoint_(g.nodes.size(), -1) {}

  void seed(NodeId loss) { adjoint_[static_cast<std::size_t>(loss)] = emitConstant(1.0, g_.node(loss).type, loss); }

  // Visits forward nodes in reverse topological order, pushing each node's adjoint to its operands.
  void run(NodeId last) {
    for (NodeId id = last; id >= 0; --id) {
      const NodeId dy = adjoint_[static_cast<std::size_t>(id)];
      if (dy >= 0) pushToOperands(id, dy);
    }
  }

  NodeId adjointOf(NodeId id) const { return adjoint_[static_cast<std::size_t>(id)]; }

 private:
  ir::Graph& g_;
  std::vector<NodeId> adjoint_;  // forward node -> node holding d(loss)/d(node), or -1
  NodeId fwd_ = -1;              // the forward node whose rule is running
  int wrt_ = -1;                 // and the operand it differentiates

  NodeId emit(Op op, std::vector<NodeId> operands, ir::TensorType type = {}) {
    Node n;
    n.op = op;
    n.operands = std::move(operands);
    n.type = std::move(type);  // only sum_to and broadcast read it: they carry their result type
    n.loc = g_.node(fwd_).loc;
    n.gradOf = fwd_;
    n.gradOperand = wrt_;
    return g_.add(std::move(n));
  }

  NodeId emitConstant(double v, const ir::TensorType& t, NodeId of) {
    NodeId id = g_.addConstant(v, t, g_.node(of).loc);
    g_.node(id).gradOf = of;
    return id;
  }

  // Undoes broadcasting: the adjoint of an operand has the operand's shape.
  NodeId sumTo(NodeId dy, NodeId operand) {
    const ir::TensorType& t = g_.node(operand).type;
    if (g_.node(dy).type == t) return dy;
    return emit(Op::SumTo, {dy}, t);
  }

  void accumulate(NodeId target, NodeId grad) {
    NodeId& slot = adjoint_[static_cast<std::size_t>(target)];
    slot = slot < 0 ? grad : emit(Op::Add, {slot, grad});
  }

  bool needsGrad(NodeId id) const {
    const Node& n = g_.node(id);
    return ir::isFloat(n.type.dtype) && n.op != Op::Input && n.op != Op::Constant;
  }

  void pushToOperands(NodeId id, NodeId dy) {
    const Node n = g_.node(id);  // a copy: emitting nodes grows g_.nodes
    fwd_ = id;
    auto operand = [&](int i) { return n.operands[static_cast<std::size_t>(i)]; };
    auto to = [&](int i, auto&& makeGrad) {
      if (!needsGrad(operand(i))) return;
      wrt_ = i;
      accumulate(operand(i), makeGrad());
    };
    switch (n.op) {
      case Op::Input:
      case Op::Param:
      case Op::Constant:
        return;
      case Op::Add:  // d/da (a + b) = 1, d/db = 1, summed over broadcast axes
        to(0, [&] { return sumTo(dy, operand(0)); });
        to(1, [&] { return sumTo(dy, operand(1)); });
        return;
      case Op::Mul:  // d/da (a * b) = b, d/db = a
        to(0, [&] { return sumTo(emit(Op::Mul, {dy, operand(1)}), operand(0)); });
        to(1, [&] { return sumTo(emit(Op::Mul, {dy, operand(0)}), operand(1)); });
        return;
      case Op::Relu:  // d/dx relu(x) = [x > 0]
        to(0, [&] { return emit(Op::ReluGrad, {dy, operand(0)}); });
        return;
      case Op::MatMul:  // C = A B: dA = dC Bᵀ, dB = Aᵀ dC
        to(0, [&] { return emit(Op::MatMulNT, {dy, operand(1)}); });
        to(1, [&] { return emit(Op::MatMulTN, {operand(0), dy}); });
        return;
      case Op::Softmax:  // y = softmax(x): dx = y (dy - sum(dy y)) along the last axis
        to(0, [&] { return emit(Op::SoftmaxGrad, {dy, id}); });
        return;
      case Op::CrossEntropy:  // L = mean(-log softmax(x)[label]): dx = dL (softmax(x) - onehot) / N
        to(0, [&] { return emit(Op::CrossEntropyGrad, {dy, operand(0), operand(1)}); });
        return;
      case Op::SumTo:  // the adjoint of a sum is broadcast back
        to(0, [&] { return emit(Op::Broadcast, {dy}, g_.node(operand(0)).type); });
        return;
      case Op::Broadcast:  // the adjoint of a broadcast is summed back
        to(0, [&] { return sumTo(dy, operand(0)); });
        return;
      case Op::ReluGrad:
      case Op::MatMulTN:
      case Op::MatMulNT:
      case Op::SoftmaxGrad:
      case Op::CrossEntropyGrad:
        throw std::logic_error(fmt::format("no gradient rule for {} (second derivatives are not supported)",
                                           ir::opName(n.op)));
    }
  }
};

}  // namespace

ir::Graph buildTrainStep(const ir::Graph& forward, const std::string& lossName) {
  const ir::Result* loss = forward.findResult(lossName);
  if (!loss) throw std::invalid_argument(fmt::format("'{}' is not a result of graph @{}", lossName, forward.name));
  const ir::TensorType& lt = forward.node(loss->node).type;
  if (!lt.shape.empty() || !ir::isFloat(lt.dtype))
    throw std::invalid_argument(fmt::format("the loss '{}' must be a floating scalar, not {}", lossName, lt.str()));

  ir::Graph g = forward;
  g.name = forward.name + ".train_step";
  g.results.clear();
  Differentiator d(g);
  d.seed(loss->node);
  d.run(loss->node);

  g.results.push_back({lossName, loss->node, ir::Result::Loss});
  for (NodeId p : forward.params) {
    NodeId grad = d.adjointOf(p);
    if (grad < 0) grad = g.addConstant(0.0, g.node(p).type, g.node(p).loc);  // the param does not reach the loss
    g.results.push_back({"grad." + g.node(p).name, grad, ir::Result::Grad});
  }
  return g;
}

}  // namespace sinter::autodiff
