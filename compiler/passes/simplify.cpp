#include "compiler/passes/simplify.h"

#include <algorithm>

#include "compiler/passes/rewrite.h"

namespace sinter::passes {
namespace {

using ir::Node;
using ir::NodeId;
using ir::Op;
using Perm = std::vector<std::int64_t>;

enum class Outcome { None, Rewritten, Replaced };

// A transpose that swaps the last two axes and keeps the leading ones: [0, 1, ..., r-1, r-2].
bool swapsLastTwo(const Node& n) {
  if (n.op != Op::Transpose) return false;
  const Perm& p = n.attrs.getInts("perm");
  const std::int64_t r = static_cast<std::int64_t>(p.size());
  if (r < 2 || p[r - 1] != r - 2 || p[r - 2] != r - 1) return false;
  for (std::int64_t i = 0; i + 2 < r; ++i)
    if (p[i] != i) return false;
  return true;
}

bool isIdentity(const Perm& p) {
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i] != static_cast<std::int64_t>(i)) return false;
  return true;
}

class Simplifier {
 public:
  explicit Simplifier(ir::Graph& g) : g_(g) {}

  bool run() {
    bool changed = false;
    for (std::size_t i = 0; i < g_.nodes.size(); ++i) {
      if (opDef(g_.nodes[i].op).flags & ir::kLeaf) continue;
      // In-place rewrites can enable further rules on the same node; a replacement ends its turn.
      for (int round = 0; round < 8; ++round) {
        const Outcome o = simplify(static_cast<NodeId>(i));
        if (o != Outcome::None) changed = true;
        if (o != Outcome::Rewritten) break;
      }
    }
    return changed;
  }

 private:
  const Node& at(NodeId id) const { return g_.node(id); }

  Outcome replaceWith(NodeId n, NodeId by) { return replaceAllUses(g_, n, by) ? Outcome::Replaced : Outcome::None; }

  // Rewrites node n in place into `op(operands) {attrs}` when the op table agrees it keeps n's type.
  Outcome rewrite(NodeId id, Op op, std::vector<NodeId> operands, ir::Attrs attrs = {}) {
    Node candidate = at(id);
    candidate.op = op;
    candidate.operands = std::move(operands);
    candidate.attrs = std::move(attrs);
    std::vector<ir::TensorType> types;
    for (NodeId o : candidate.operands) types.push_back(at(o).type);
    ir::TensorType out;
    if (!opDef(op).typeRule(candidate, types, out).empty() || !(out == candidate.type)) return Outcome::None;
    g_.node(id) = std::move(candidate);
    return Outcome::Rewritten;
  }

  // x op e == x for the identity element e: the value is x, broadcast to n's type when it is bigger.
  Outcome identityOperand(NodeId id) {
    const Node& n = at(id);
    if (n.op != Op::Add && n.op != Op::Mul && n.op != Op::Sub && n.op != Op::Div && n.op != Op::Pow)
      return Outcome::None;
    const NodeId a = n.operands[0], b = n.operands[1];
    NodeId keep = -1;
    if (n.op == Op::Add || n.op == Op::Mul) {  // commutative: the identity may stand on either side
      const double e = n.op == Op::Add ? 0 : 1;
      keep = isConstant(g_, b, e) ? a : isConstant(g_, a, e) ? b : -1;
    } else if (n.op == Op::Sub) {
      keep = isConstant(g_, b, 0) ? a : -1;
    } else if (n.op == Op::Div || n.op == Op::Pow) {
      keep = isConstant(g_, b, 1) ? a : -1;
    }
    if (keep < 0) return Outcome::None;
    if (at(keep).type == n.type) return replaceWith(id, keep);
    return rewrite(id, Op::Broadcast, {keep});
  }

  // The leaves of a tree of adds (n and the adds it reads), in no particular order.
  void addLeaves(NodeId id, std::vector<NodeId>& out, int depth) const {
    const Node& n = at(id);
    if (n.op != Op::Add || depth > 64) return out.push_back(id);
    for (NodeId o : n.operands) addLeaves(o, out, depth + 1);
  }

  // A sum of slice_grads that place pieces side by side along one axis, covering it exactly, is the
  // concatenation of the pieces: the backward pass of slicing z into gates (an LSTM's four) then writes dz
  // in one pass instead of zero-filling four full-size gradients, copying each piece and adding them up.
  Outcome concatOfSliceGrads(NodeId id) {
    const Node& n = at(id);
    if (n.op != Op::Add) return Outcome::None;
    if (!(at(n.operands[0]).type == n.type) || !(at(n.operands[1]).type == n.type)) return Outcome::None;
    std::vector<NodeId> leaves;
    addLeaves(id, leaves, 0);
    if (leaves.size() < 2) return Outcome::None;
    const std::int64_t axis = at(leaves[0]).op == Op::SliceGrad ? at(leaves[0]).attrs.getInt("axis") : -1;
    if (axis < 0) return Outcome::None;
    for (NodeId l : leaves) {
      const Node& s = at(l);
      if (s.op != Op::SliceGrad || !(s.type == n.type) || s.attrs.getInt("axis") != axis || s.attrs.getInt("step") != 1)
        return Outcome::None;
    }
    std::sort(leaves.begin(), leaves.end(),
              [&](NodeId a, NodeId b) { return at(a).attrs.getInt("start") < at(b).attrs.getInt("start"); });
    const ir::Dim& full = n.type.shape[static_cast<std::size_t>(axis)];
    std::int64_t next = 0;
    for (NodeId l : leaves) {
      if (at(l).attrs.getInt("start") != next) return Outcome::None;
      next = at(l).attrs.getInt("end");
    }
    if (full.isSymbolic() || next != full.size) return Outcome::None;
    std::vector<NodeId> pieces;
    for (NodeId l : leaves) pieces.push_back(at(l).operands[0]);
    ir::Attrs a;
    a.set("axis", axis);
    return rewrite(id, Op::Concat, pieces, a);
  }

  // -(-x) = x
  Outcome doubleNegation(NodeId id) {
    const Node& n = at(id);
    if (n.op != Op::Neg || at(n.operands[0]).op != Op::Neg) return Outcome::None;
    return replaceWith(id, at(n.operands[0]).operands[0]);
  }

  // An identity permutation disappears; two transposes are one.
  Outcome transposeChain(NodeId id) {
    const Node& n = at(id);
    if (n.op != Op::Transpose) return Outcome::None;
    const Perm& outer = n.attrs.getInts("perm");
    if (isIdentity(outer)) return replaceWith(id, n.operands[0]);
    const Node& in = at(n.operands[0]);
    if (in.op != Op::Transpose) return Outcome::None;
    // transpose_p(transpose_q(x)) reads axis q[p[i]] of x at axis i.
    const Perm& inner = in.attrs.getInts("perm");
    Perm composed(outer.size());
    for (std::size_t i = 0; i < outer.size(); ++i) composed[i] = inner[static_cast<std::size_t>(outer[i])];
    if (isIdentity(composed)) return replaceWith(id, in.operands[0]);
    return rewrite(id, Op::Transpose, {in.operands[0]}, ir::Attrs::of({{"perm", composed}}));
  }

  // reshape, broadcast and sum_to to the type a value already has are that value; reshape(reshape(x)) and
  // broadcast(broadcast(x)) are one step.
  Outcome layoutChain(NodeId id) {
    const Node& n = at(id);
    if (n.op != Op::Reshape && n.op != Op::Broadcast && n.op != Op::SumTo) return Outcome::None;
    const Node& in = at(n.operands[0]);
    if (in.type == n.type) return replaceWith(id, in.id);
    if (in.op == n.op && n.op != Op::SumTo) return rewrite(id, n.op, {in.operands[0]});
    return Outcome::None;
  }

  // A product of a transpose reads the operand transposed instead: matmul(transpose(a), b) = matmul_tn(a, b).
  Outcome productOfTranspose(NodeId id) {
    const Node& n = at(id);
    if (n.op != Op::MatMul && n.op != Op::MatMulTN && n.op != Op::MatMulNT) return Outcome::None;
    const NodeId a = n.operands[0], b = n.operands[1];
    const bool ta = swapsLastTwo(at(a)), tb = swapsLastTwo(at(b));
    const NodeId a0 = ta ? at(a).operands[0] : -1, b0 = tb ? at(b).operands[0] : -1;
    if (n.op == Op::MatMul && ta) return rewrite(id, Op::MatMulTN, {a0, b});
    if (n.op == Op::MatMul && tb) return rewrite(id, Op::MatMulNT, {a, b0});
    if (n.op == Op::MatMulTN && ta) return rewrite(id, Op::MatMul, {a0, b});
    if (n.op == Op::MatMulNT && tb) return rewrite(id, Op::MatMul, {a, b0});
    return Outcome::None;
  }

  // An explicit broadcast feeding an op that broadcasts by itself is redundant.
  Outcome redundantBroadcast(NodeId id) {
    const Node& n = at(id);
    if (!(ir::opDef(n.op).flags & ir::kBroadcasting)) return Outcome::None;
    for (std::size_t i = 0; i < n.operands.size(); ++i)
      if (at(n.operands[i]).op == Op::Broadcast) {
        std::vector<NodeId> ops = n.operands;
        ops[i] = at(n.operands[i]).operands[0];
        if (auto o = rewrite(id, n.op, ops, n.attrs); o != Outcome::None) return o;
      }
    return Outcome::None;
  }

  // relu_grad(max_pool2d_grad(dy, r), r) = max_pool2d_grad(relu_grad(dy, p), r) with p = max_pool2d(r) over
  // the same windows: the pool's gradient reaches only each window's first maximum, whose value is p, so
  // the ReLU's mask can be tested on the pooled values instead of on every element of r (a quarter of them
  // for a 2x2 pool; the CNN's backward pass read and wrote its largest tensor once more for the mask). The
  // same bits: each term of dy is kept or dropped on the same value and summed in the same order.
  Outcome reluGradThroughMaxPool(NodeId id) {
    const Node& n = at(id);
    if (n.op != Op::ReluGrad) return Outcome::None;
    const NodeId poolGrad = n.operands[0], r = n.operands[1];
    const Node& pg = at(poolGrad);
    if (pg.op != Op::MaxPool2DGrad || pg.operands[1] != r) return Outcome::None;
    // The pool's gradient is rewritten in place into the mask, so nothing else may read it.
    const auto uses = users(g_);
    if (uses[poolGrad].size() != 1) return Outcome::None;
    for (const ir::Result& res : g_.results)
      if (res.node == poolGrad) return Outcome::None;
    NodeId pooled = -1;  // defined before the gradient, which takes its place
    for (NodeId u : uses[r])
      if (u < poolGrad && at(u).op == Op::MaxPool2D && at(u).attrs == pg.attrs) pooled = u;
    if (pooled < 0) return Outcome::None;
    const Node before = pg;
    Node& mask = g_.node(poolGrad);
    mask.op = Op::ReluGrad;
    mask.operands = {before.operands[0], pooled};
    mask.attrs = {};
    mask.type = at(before.operands[0]).type;
    if (rewrite(id, Op::MaxPool2DGrad, {poolGrad, r}, before.attrs) == Outcome::None) {
      g_.node(poolGrad) = before;
      return Outcome::None;
    }
    // Each node keeps saying which forward node's gradient it computes, and where that node came from.
    Node& routed = g_.node(id);
    std::swap(mask.loc, routed.loc);
    std::swap(mask.name, routed.name);
    std::swap(mask.gradOf, routed.gradOf);
    std::swap(mask.gradOperand, routed.gradOperand);
    return Outcome::Rewritten;
  }

  // The rules in the order they are tried; each looks at the node's op itself and the first that applies
  // ends the turn.
  Outcome simplify(NodeId id) {
    using Rule = Outcome (Simplifier::*)(NodeId);
    for (Rule rule : {&Simplifier::concatOfSliceGrads, &Simplifier::identityOperand, &Simplifier::doubleNegation,
                      &Simplifier::transposeChain, &Simplifier::layoutChain, &Simplifier::productOfTranspose,
                      &Simplifier::redundantBroadcast, &Simplifier::reluGradThroughMaxPool})
      if (const Outcome o = (this->*rule)(id); o != Outcome::None) return o;
    return Outcome::None;
  }

  ir::Graph& g_;
};

}  // namespace

bool simplifyAlgebra(ir::Graph& g) { return Simplifier(g).run(); }

}  // namespace sinter::passes
