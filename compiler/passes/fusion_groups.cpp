#include "compiler/passes/fusion_groups.h"

#include <fmt/format.h>
#include <algorithm>

#include "compiler/passes/rewrite.h"

namespace sinter::passes {
namespace {

using ir::NodeId;
using ir::Op;

bool isGemm(Op op) { return op == Op::MatMul || op == Op::MatMulTN || op == Op::MatMulNT; }
bool isElementwise(const ir::Node& n) { return (opDef(n.op).flags & ir::kElementwise) != 0; }

class Grouper {
 public:
  explicit Grouper(const ir::Graph& g) : g_(g), users_(users(g)), groupOf_(g, -1), returned_(g, false) {
    for (const ir::Result& r : g.results) returned_[r.node] = true;
  }

  std::vector<ir::FusionGroup> run() {
    softmaxCrossEntropy();
    summedBatches();
    epilogues();
    biasGradients();
    elementwiseChains();
    for (ir::FusionGroup& grp : groups_) {
      std::sort(grp.nodes.begin(), grp.nodes.end());
      for (NodeId id : grp.nodes) {
        const bool outside = returned_[id] || std::any_of(users_[id].begin(), users_[id].end(),
                                                          [&](NodeId u) { return groupOf_[u] != groupOf_[id]; });
        if (outside) grp.stored.push_back(id);
      }
    }
    return groups_;
  }

 private:
  bool free(NodeId id) const { return groupOf_[id] < 0; }
  // The only reader of id, when it has exactly one and id is not returned.
  NodeId soleUser(NodeId id) const {
    const auto& u = users_[id];
    if (returned_[id] || u.empty()) return -1;
    return std::all_of(u.begin(), u.end(), [&](NodeId x) { return x == u[0]; }) ? u[0] : -1;
  }
  int open(ir::KernelKind k, NodeId first) {
    groups_.push_back({k, {}, {}});
    join(static_cast<int>(groups_.size()) - 1, first);
    return static_cast<int>(groups_.size()) - 1;
  }
  void join(int grp, NodeId id) {
    groupOf_[id] = grp;
    groups_[static_cast<std::size_t>(grp)].nodes.push_back(id);
  }

  // cross_entropy(logits, labels), cross_entropy_grad(dl, logits, labels) and softmax(logits): one pass
  // over the logits computes the softmax, the loss and its gradient.
  void softmaxCrossEntropy() {
    for (const ir::Node& ce : g_.nodes) {
      if (ce.op != Op::CrossEntropy || !free(ce.id)) continue;
      const int grp = open(ir::KernelKind::SoftmaxCrossEntropy, ce.id);
      for (NodeId u : users_[ce.operands[0]]) {
        const ir::Node& n = g_.node(u);
        if (!free(u)) continue;
        if ((n.op == Op::CrossEntropyGrad && n.operands[1] == ce.operands[0] && n.operands[2] == ce.operands[1]) ||
            (n.op == Op::Softmax && n.attrs.getInt("axis") + 1 == static_cast<std::int64_t>(n.type.shape.size())))
          join(grp, u);
      }
    }
  }

  // The op that continues an epilogue after cur: an elementwise op of cur's type that is its only
  // reader, or else the only unary one among its readers (an activation whose input the backward pass
  // also reads: the kernel then stores both).
  NodeId nextInChain(NodeId cur) const {
    auto fits = [&](NodeId u) {
      return u >= 0 && free(u) && isElementwise(g_.node(u)) && g_.node(u).type == g_.node(cur).type;
    };
    if (NodeId s = soleUser(cur); fits(s)) return s;
    NodeId only = -1;
    for (NodeId u : users_[cur]) {
      if (!fits(u) || opDef(g_.node(u).op).arity != 1) continue;
      if (only >= 0 && only != u) return -1;
      only = u;
    }
    return only;
  }

  // Whether every operand of `id` outside group `grp` is computed before `first`, where the group runs, or
  // is an argument (ready before any node, whatever its id).
  bool readyFor(NodeId id, int grp, NodeId first) const {
    const auto& ops = g_.node(id).operands;
    return std::all_of(ops.begin(), ops.end(), [&](NodeId o) {
      const Op op = g_.node(o).op;
      return o < first || op == Op::Input || op == Op::Param || (grp >= 0 && groupOf_[o] == grp);
    });
  }

  // A matmul and the elementwise ops after it: bias add, activation, residual add, activation gradient. The
  // chain stops at an op that reads a value computed after the matmul: a recurrent net's weight gradient
  // is a chain of adds, one per time step, each of a product computed later. A conv2d and the ops after
  // it (bias add, activation) likewise, applied to each image's output while it is in cache.
  void epilogues() {
    for (const ir::Node& n : g_.nodes) {
      const bool conv = n.op == Op::Conv2D;
      if (!(isGemm(n.op) || conv) || !free(n.id)) continue;
      NodeId next = nextInChain(n.id);
      if (next < 0 || !readyFor(next, -1, n.id + 1)) continue;
      const int grp = open(conv ? ir::KernelKind::ConvEpilogue : ir::KernelKind::GemmEpilogue, n.id);
      for (; next >= 0 && readyFor(next, grp, n.id); next = nextInChain(next)) join(grp, next);
    }
  }

  // sum_to(matmul_tn(a[L.., K, M], b[L.., K, N])) down to [M, N]: a weight gradient over every step of a loop
  // or every position of a sequence. Each operand's leading axes lie in memory as K rows after K rows, so the
  // sum over L of the products is one product over L·K rows, with no [L.., M, N] between.
  void summedBatches() {
    for (const ir::Node& s : g_.nodes) {
      if (s.op != Op::SumTo || !free(s.id)) continue;
      const ir::Node& t = g_.node(s.operands[0]);
      if (t.op != Op::MatMulTN || !free(t.id) || soleUser(t.id) != s.id || t.type.shape.size() < 3) continue;
      const ir::Shape& shape = t.type.shape;
      const ir::Shape matrix(shape.end() - 2, shape.end());
      auto lead = [](const ir::Shape& x) { return ir::Shape(x.begin(), x.end() - 2); };
      const ir::Shape batch = lead(shape);
      if (!(s.type.shape == matrix) || !(lead(g_.node(t.operands[0]).type.shape) == batch) ||
          !(lead(g_.node(t.operands[1]).type.shape) == batch))
        continue;
      join(open(ir::KernelKind::GemmSummedBatches, t.id), s.id);
    }
  }

  // sum_to(dy) (a bias gradient) next to matmul_tn(x, dy) (the weight gradient): the GEMM reads every
  // row of dy anyway and can sum its columns on the way.
  void biasGradients() {
    for (const ir::Node& s : g_.nodes) {
      if (s.op != Op::SumTo || !free(s.id)) continue;
      const NodeId dy = s.operands[0];
      for (NodeId u : users_[dy]) {
        const ir::Node& t = g_.node(u);
        // A product that already has an epilogue keeps it (code generation fuses one or the other).
        if (t.op != Op::MatMulTN || t.operands[1] != dy || !free(u)) continue;
        join(open(ir::KernelKind::GemmBiasGradient, u), s.id);
        break;
      }
    }
  }

  // Producer-consumer chains of floating-point, deterministic elementwise ops of one type. n joins the group
  // of an elementwise operand p when every other operand of n comes from the group or is computed before
  // the group's first member (the whole group runs there, in node order). p may have readers outside the
  // group (an LSTM's cell state feeds the next step too): the kernel then stores it, and its readers still
  // save a pass over memory.
  void elementwiseChains() {
    auto chainable = [&](const ir::Node& n) {
      return isElementwise(n) && ir::isFloat(n.type.dtype) && !(opDef(n.op).flags & ir::kStochastic);
    };
    // A slice of a floating-point value can start a chain: the kernel then reads the sliced elements where
    // they are (an LSTM's gates, slices of one product), instead of a copy.
    // (A step down the axis, x[::-1], is copied first: the loop nests read forward.)
    auto slice = [&](const ir::Node& n) {
      return n.op == Op::Slice && ir::isFloat(n.type.dtype) && n.attrs.getInt("step") > 0;
    };
    for (const ir::Node& n : g_.nodes) {
      if (!chainable(n) || !free(n.id)) continue;
      for (NodeId p : n.operands) {
        const ir::Node& pn = g_.node(p);
        if (!(chainable(pn) || (slice(pn) && free(p))) || !(pn.type == n.type)) continue;
        const int pg = groupOf_[p];
        if (pg >= 0 && groups_[static_cast<std::size_t>(pg)].kind != ir::KernelKind::ElementwiseChain) continue;
        const NodeId first = pg >= 0 ? *std::min_element(groups_[static_cast<std::size_t>(pg)].nodes.begin(),
                                                         groups_[static_cast<std::size_t>(pg)].nodes.end())
                                     : p;
        const bool ready = std::all_of(n.operands.begin(), n.operands.end(),
                                       [&](NodeId o) { return o == p || (pg >= 0 && groupOf_[o] == pg) || o < first; });
        if (!ready) continue;
        join(pg >= 0 ? pg : open(ir::KernelKind::ElementwiseChain, p), n.id);
        break;
      }
    }
  }

  const ir::Graph& g_;
  ir::NodeMap<std::vector<NodeId>> users_;
  ir::NodeMap<int> groupOf_;
  ir::NodeMap<bool> returned_;
  std::vector<ir::FusionGroup> groups_;
};

}  // namespace

std::vector<ir::FusionGroup> findFusionGroups(const ir::Graph& g) { return Grouper(g).run(); }

std::string fusionReport(const ir::Graph& g, const std::vector<ir::FusionGroup>& groups) {
  std::size_t computed = 0, grouped = 0;
  for (const ir::Node& n : g.nodes) computed += !(opDef(n.op).flags & ir::kLeaf);
  std::string out = fmt::format("// fusion groups of @{}\n", g.name);
  for (std::size_t i = 0; i < groups.size(); ++i) {
    std::string members, stores;
    for (ir::NodeId id : groups[i].nodes)
      members += fmt::format("{}%{} {}", members.empty() ? "" : ", ", id, ir::opName(g.node(id).op));
    for (ir::NodeId id : groups[i].stored) stores += fmt::format("{}%{}", stores.empty() ? "" : ", ", id);
    out += fmt::format("//   group {:<3} {:<24} {}  (stores {})\n", i, ir::kernelKindName(groups[i].kind), members,
                       stores);
    grouped += groups[i].nodes.size();
  }
  out += fmt::format("// {} groups hold {} of {} computed nodes: {} kernels instead of {}\n", groups.size(), grouped,
                     computed, computed - grouped + groups.size(), computed);
  return out;
}

}  // namespace sinter::passes
