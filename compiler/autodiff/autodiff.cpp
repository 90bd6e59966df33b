// Reverse-mode differentiation: the sweep that runs each op's gradient rule (the rules sit in the op table's
// entries, compiler/ir/ops/, each next to its formula; docs/ir.md lists them).
#include "compiler/autodiff/autodiff.h"

#include <fmt/format.h>

#include <stdexcept>

#include "compiler/ir/grad_builder.h"
#include "compiler/ir/node_map.h"

namespace sinter::autodiff {
namespace {

using ir::Attrs;
using ir::Node;
using ir::NodeId;
using ir::Op;
using ir::TensorType;

ir::Graph vectorJacobianProduct(const ir::Graph& body, const std::vector<bool>& seeded, const std::vector<bool>& wrt,
                                bool recomputeLoops);

class Differentiator final : public ir::GradBuilder {
 public:
  // Differentiates with respect to `roots`: the trained params of a train step, a body's inputs in a vjp.
  Differentiator(ir::Graph& g, const std::vector<NodeId>& roots, bool recomputeLoops)
      : g_(g), adjoint_(g, -1), dependsOnRoot_(g, false) {
    graph_ = &g;
    recomputeLoops_ = recomputeLoops;
    for (NodeId r : roots) dependsOnRoot_[r] = true;
    for (const Node& n : g.nodes)
      for (NodeId o : n.operands) dependsOnRoot_[n.id] = dependsOnRoot_[n.id] || dependsOnRoot_[o];
  }

  void seed(NodeId loss) { adjoint_[loss] = constantFor(1.0, loss, g_.node(loss).type); }
  // Adds `adjoint`, a node of the graph, to the adjoint of `id`.
  void seedWith(NodeId id, NodeId adjoint) { accumulate(id, adjoint); }

  // Visits forward nodes in reverse topological order, pushing each node's adjoint to its operands.
  void run(NodeId last) {
    for (NodeId id = last; id >= 0; --id) {
      const NodeId dy = adjoint_[id];
      if (dy >= 0) pushToOperands(id, dy);
    }
    if (!missing_.empty()) {
      std::string msg = "no gradient rule for:";
      for (const auto& m : missing_) msg += "\n  " + m;
      throw std::logic_error(msg);
    }
  }

  NodeId adjointOf(NodeId id) const { return adjoint_[id]; }

  // ---- GradBuilder ----------------------------------------------------------------------------------------
  void to(int i, const std::function<NodeId()>& make) override {
    if (!needsGrad(x(i))) return;
    wrt_ = i;
    accumulate(x(i), make());
  }

  void sharedBy(int i) override { wrt_ = i; }

  // Appends a backward node marked with the forward node and operand it belongs to.
  NodeId emit(Op op, std::vector<NodeId> operands, Attrs attrs, TensorType carried) override {
    Node n;
    n.op = op;
    n.operands = std::move(operands);
    n.attrs = std::move(attrs);
    n.type = std::move(carried);  // read only by ops whose result type is carried
    n.loc = fwd_.loc;
    n.gradOf = fwd_.id;
    n.gradOperand = wrt_;
    return g_.add(std::move(n));
  }

  NodeId scalar(double v) override { return constantFor(v, fwd_.id, {type(fwd_.id).dtype, {}}); }

  bool wants(int i) const override { return needsGrad(x(i)); }

  NodeId emitRegion(Op op, std::vector<NodeId> operands, Attrs attrs, std::shared_ptr<const ir::Graph> body) override {
    Node n;
    n.op = op;
    n.operands = std::move(operands);
    n.attrs = std::move(attrs);
    n.body = std::move(body);
    n.loc = fwd_.loc;
    n.gradOf = fwd_.id;
    n.gradOperand = wrt_;
    return g_.add(std::move(n));
  }

  ir::Graph vjp(const ir::Graph& body, const std::vector<bool>& seeded, const std::vector<bool>& wrt) override {
    return vectorJacobianProduct(body, seeded, wrt, recomputeLoops_);
  }

 private:
  ir::Graph& g_;
  ir::NodeMap<NodeId> adjoint_;  // forward node -> node holding d(loss)/d(node), or -1
  ir::NodeMap<bool> dependsOnRoot_;
  std::vector<std::string> missing_;  // ops on a gradient path without a rule, with their locations
  Node fwd_;                          // a copy of the forward node whose rule runs: emitting nodes moves g_.nodes
  int wrt_ = -1;                      // and the operand it differentiates

  NodeId constantFor(double v, NodeId of, TensorType t) {
    NodeId id = g_.addConstant(v, std::move(t), g_.node(of).loc);
    g_.node(id).gradOf = of;
    g_.node(id).gradOperand = of == fwd_.id ? wrt_ : -1;
    return id;
  }

  void accumulate(NodeId target, NodeId grad) {
    NodeId& slot = adjoint_[target];
    slot = slot < 0 ? grad : emit(Op::Add, {slot, grad}, {}, {});
  }

  bool needsGrad(NodeId id) const {
    const Node& n = g_.node(id);
    return ir::isFloat(n.type.dtype) && dependsOnRoot_[id];
  }

  void pushToOperands(NodeId id, NodeId dy) {
    fwd_ = g_.node(id);
    node_ = &fwd_;
    dy_ = dy;
    wrt_ = -1;
    const ir::GradRule rule = ir::opDef(fwd_.op).grad.rule;
    if (rule) return rule(*this);
    bool needed = false;
    for (std::size_t i = 0; i < fwd_.operands.size(); ++i) needed = needed || needsGrad(fwd_.operands[i]);
    if (needed)
      missing_.push_back(
          fmt::format("{} at {}", ir::opName(fwd_.op), fwd_.loc.valid() ? fwd_.loc.str() : "<no location>"));
  }
};

// See GradBuilder::vjp. The body's nodes come first, so that the backward nodes can read them: a loop's
// reverse body recomputes its step's forward values from the saved carries.
ir::Graph vectorJacobianProduct(const ir::Graph& body, const std::vector<bool>& seeded, const std::vector<bool>& wrt,
                                bool recomputeLoops) {
  ir::Graph v = body;
  v.name = body.name + ".vjp";
  v.results.clear();
  std::vector<NodeId> roots;
  for (std::size_t i = 0; i < body.inputs.size(); ++i)
    if (wrt[i]) roots.push_back(body.inputs[i]);
  const NodeId last = static_cast<NodeId>(body.nodes.size()) - 1;
  Differentiator d(v, roots, recomputeLoops);
  for (std::size_t r = 0; r < body.results.size(); ++r) {
    if (!seeded[r]) continue;
    const ir::Result& res = body.results[r];
    d.seedWith(res.node, v.addInput("d." + res.name, body.node(res.node).type));
  }
  d.run(last);
  for (std::size_t i = 0; i < body.inputs.size(); ++i) {
    if (!wrt[i]) continue;
    const Node& in = body.node(body.inputs[i]);
    NodeId adj = d.adjointOf(in.id);
    if (adj < 0) adj = v.addConstant(0.0, in.type, in.loc);
    v.results.push_back({"d." + in.name, adj, ir::Result::Output});
  }
  return v;
}

}  // namespace

ir::Graph buildTrainStep(const ir::Graph& forward, const std::string& lossName, const GradOptions& opts) {
  const ir::Result* loss = forward.findResult(lossName);
  if (!loss) throw std::invalid_argument(fmt::format("'{}' is not a result of graph @{}", lossName, forward.name));
  const ir::TensorType& lt = forward.node(loss->node).type;
  if (!lt.shape.empty() || !ir::isFloat(lt.dtype))
    throw std::invalid_argument(fmt::format("the loss '{}' must be a floating scalar, not {}", lossName, lt.str()));

  ir::Graph g = forward;
  g.name = forward.name + ".train_step";
  g.results.clear();
  Differentiator d(g, forward.trainedParams(), opts.recomputeLoops);
  d.seed(loss->node);
  d.run(loss->node);

  g.results.push_back({lossName, loss->node, ir::Result::Loss});
  for (NodeId p : forward.trainedParams()) {
    NodeId grad = d.adjointOf(p);
    if (grad < 0) grad = g.addConstant(0.0, g.node(p).type, g.node(p).loc);  // the param does not reach the loss
    g.results.push_back({"grad." + g.node(p).name, grad, ir::Result::Grad});
  }
  // The states' next values come through as computed by the forward pass (in train mode).
  for (const ir::Result& r : forward.results)
    if (r.kind == ir::Result::State) g.results.push_back(r);
  return g;
}

}  // namespace sinter::autodiff
