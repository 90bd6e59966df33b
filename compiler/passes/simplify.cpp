#include "compiler/passes/simplify.h"

#include "compiler/passes/rewrite.h"

namespace sinter::passes {
namespace {

using ir::Node;
using ir::NodeId;
using ir::Op;
using Perm = std::vector<std::int64_t>;

enum class Outcome { None, Rewritten, Replaced };

bool isBroadcastingBinary(Op op) {
  switch (op) {
    case Op::Add:
    case Op::Sub:
    case Op::Mul:
    case Op::Div:
    case Op::Pow:
    case Op::Maximum:
    case Op::Minimum:
    case Op::GreaterEqual: return true;
    default: return false;
  }
}

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
      if (opInfo(g_.nodes[i].op).flags & ir::kLeaf) continue;
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
    if (!opInfo(op).typeRule(candidate, types, out).empty() || !(out == candidate.type)) return Outcome::None;
    g_.node(id) = std::move(candidate);
    return Outcome::Rewritten;
  }

  // x op e == x for the identity element e: the value is x, broadcast to n's type when it is bigger.
  Outcome identityOperand(NodeId id) {
    const Node& n = at(id);
    const NodeId a = n.operands[0], b = n.operands[1];
    NodeId keep = -1;
    switch (n.op) {
      case Op::Add:
        keep = isConstant(g_, b, 0) ? a : isConstant(g_, a, 0) ? b : -1;
        break;
      case Op::Mul:
        keep = isConstant(g_, b, 1) ? a : isConstant(g_, a, 1) ? b : -1;
        break;
      case Op::Sub: keep = isConstant(g_, b, 0) ? a : -1; break;
      case Op::Div:
      case Op::Pow: keep = isConstant(g_, b, 1) ? a : -1; break;
      default: return Outcome::None;
    }
    if (keep < 0) return Outcome::None;
    if (at(keep).type == n.type) return replaceWith(id, keep);
    return rewrite(id, Op::Broadcast, {keep});
  }

  Outcome simplify(NodeId id) {
    const Node& n = at(id);
    switch (n.op) {
      case Op::Add:
      case Op::Sub:
      case Op::Mul:
      case Op::Div:
      case Op::Pow:
        if (auto o = identityOperand(id); o != Outcome::None) return o;
        break;
      case Op::Neg:
        if (at(n.operands[0]).op == Op::Neg) return replaceWith(id, at(n.operands[0]).operands[0]);
        break;
      case Op::Transpose: {
        const Perm& outer = n.attrs.getInts("perm");
        if (isIdentity(outer)) return replaceWith(id, n.operands[0]);
        const Node& in = at(n.operands[0]);
        if (in.op != Op::Transpose) break;
        // transpose_p(transpose_q(x)) reads axis q[p[i]] of x at axis i.
        const Perm& inner = in.attrs.getInts("perm");
        Perm composed(outer.size());
        for (std::size_t i = 0; i < outer.size(); ++i) composed[i] = inner[static_cast<std::size_t>(outer[i])];
        if (isIdentity(composed)) return replaceWith(id, in.operands[0]);
        ir::Attrs a;
        a.set("perm", composed);
        return rewrite(id, Op::Transpose, {in.operands[0]}, a);
      }
      case Op::Reshape:
      case Op::Broadcast:
      case Op::SumTo: {
        const Node& in = at(n.operands[0]);
        if (in.type == n.type) return replaceWith(id, in.id);
        // reshape(reshape(x)) and broadcast(broadcast(x)) are one step.
        if (in.op == n.op && n.op != Op::SumTo) return rewrite(id, n.op, {in.operands[0]});
        break;
      }
      case Op::MatMul:
      case Op::MatMulTN:
      case Op::MatMulNT: {
        const NodeId a = n.operands[0], b = n.operands[1];
        const bool ta = swapsLastTwo(at(a)), tb = swapsLastTwo(at(b));
        const NodeId a0 = ta ? at(a).operands[0] : -1, b0 = tb ? at(b).operands[0] : -1;
        if (n.op == Op::MatMul && ta) return rewrite(id, Op::MatMulTN, {a0, b});
        if (n.op == Op::MatMul && tb) return rewrite(id, Op::MatMulNT, {a, b0});
        if (n.op == Op::MatMulTN && ta) return rewrite(id, Op::MatMul, {a0, b});
        if (n.op == Op::MatMulNT && tb) return rewrite(id, Op::MatMul, {a, b0});
        break;
      }
      default: break;
    }
    // An explicit broadcast feeding an op that broadcasts by itself is redundant.
    if (isBroadcastingBinary(n.op))
      for (std::size_t i = 0; i < 2; ++i)
        if (at(n.operands[i]).op == Op::Broadcast) {
          std::vector<NodeId> ops = n.operands;
          ops[i] = at(n.operands[i]).operands[0];
          if (auto o = rewrite(id, n.op, ops, n.attrs); o != Outcome::None) return o;
        }
    return Outcome::None;
  }

  ir::Graph& g_;
};

}  // namespace

bool simplifyAlgebra(ir::Graph& g) { return Simplifier(g).run(); }

}  // namespace sinter::passes
