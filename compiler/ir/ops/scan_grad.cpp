// The gradient of a scan: a second loop that runs the steps backwards (docs/autodiff.md, "Loops").
//
// Forward, step t maps (c_t, x_t, p) to (c_{t+1}, y_t). Backward, step t maps the adjoint of c_{t+1} and
// dy_t to the adjoint of c_t (carried to step t-1), dx_t (stacked) and its share of dp (summed in a carry).
// The step's Jacobians are taken at its own values: the forward loop also stacks, for every step, the carries
// as they enter it and the step's values that the derivatives read (its "residuals": gate activations, the
// products the gates multiply), so the reverse body reads them instead of recomputing the step's products.
#include "compiler/ir/ops/scan_grad.h"

#include <fmt/format.h>

#include <map>
#include <memory>

#include "compiler/ir/scan.h"

namespace sinter::ir::ops {
namespace {

// Which operands of the forward scan (by index) take part in the reverse loop.
struct ReversePlan {
  std::vector<std::size_t> carries;  // floating carries: their adjoints are carried backwards
  std::vector<std::size_t> sums;     // closures that want a gradient: summed over the steps in a carry
  std::vector<std::size_t> seqs;     // sequences that want a gradient: one slice a step, stacked
  bool stackedSeed = false;          // the node differentiated is a stacked result: its adjoint is sliced
};

std::string keptName(NodeId id) { return fmt::format("kept.{}", id); }

// The body's values that the derivative part of `v` (a vjp of body: body's nodes first, same ids) reads and
// that change from step to step: computed from a carry or a step of a sequence, not from the closures alone
// (those every step shares, recomputed at no cost per step), and not inputs (sliced or saved already).
// Floating values only: a mask or index costs little to recompute from them.
std::vector<NodeId> residuals(const Graph& body, const ScanShape& s, const Graph& v) {
  const auto primal = static_cast<NodeId>(body.nodes.size());
  std::vector<bool> varies(body.nodes.size(), false), read(body.nodes.size(), false), input(body.nodes.size(), false);
  for (std::size_t i = 0; i < body.inputs.size(); ++i) {
    input[static_cast<std::size_t>(body.inputs[i])] = true;
    varies[static_cast<std::size_t>(body.inputs[i])] = !s.isClosure(i);
  }
  for (const Node& n : body.nodes)
    for (NodeId o : n.operands)
      varies[static_cast<std::size_t>(n.id)] =
          varies[static_cast<std::size_t>(n.id)] || varies[static_cast<std::size_t>(o)];
  for (const Node& n : v.nodes)
    if (n.id >= primal)
      for (NodeId o : n.operands)
        if (o < primal) read[static_cast<std::size_t>(o)] = true;
  for (const Result& r : v.results)
    if (r.node < primal) read[static_cast<std::size_t>(r.node)] = true;
  std::vector<NodeId> kept;
  for (const Node& n : body.nodes) {
    const auto i = static_cast<std::size_t>(n.id);
    if (read[i] && varies[i] && !input[i] && isFloat(n.type.dtype)) kept.push_back(n.id);
  }
  return kept;
}

// The forward body with the carries as they enter each step, then the residuals, appended as results: the
// saving loop stacks them.
std::shared_ptr<const Graph> savingBody(const Graph& body, std::int64_t carries, const std::vector<NodeId>& kept) {
  auto a = std::make_shared<Graph>(body);
  a->name = body.name + ".saving";
  for (std::size_t i = 0; i < static_cast<std::size_t>(carries); ++i)
    a->results.push_back({"saved." + body.node(body.inputs[i]).name, body.inputs[i], Result::Output});
  for (NodeId id : kept) a->results.push_back({keptName(id), id, Result::Output});
  return a;
}

// The body's results seeded and inputs differentiated by the reverse loop of one result (`stacked`: when that
// result is a stacked one, else no stacked result is seeded), or of every result of the loop (`all`).
struct VjpSpec {
  std::vector<bool> seeded, wrt;
};
VjpSpec vjpSpec(const Graph& body, const ScanShape& s, const ReversePlan& p, bool allStacked) {
  VjpSpec v{std::vector<bool>(body.results.size(), false), std::vector<bool>(body.inputs.size(), false)};
  for (std::size_t i : p.carries) v.seeded[i] = v.wrt[i] = true;
  if (p.stackedSeed) v.seeded[static_cast<std::size_t>(s.result)] = true;
  for (std::size_t r = static_cast<std::size_t>(s.carries); allStacked && r < body.results.size(); ++r)
    v.seeded[r] = isFloat(body.node(body.results[r].node).type.dtype);
  for (std::size_t i : p.sums) v.wrt[i] = true;
  for (std::size_t i : p.seqs) v.wrt[i] = true;
  return v;
}

// A closure's per-step adjoint term that is summed after the loop instead of in a carry: `matmul_tn(a, b)` (the
// weight of a product: one GEMM over every step and sample, not a small one a step) or `sum_to(b)` (a bias).
// a and b are the stacked values: an operand of the reverse loop (a sliced input) or one of its stacked results.
struct StackedTerm {
  std::size_t sum = 0;  // index in ReversePlan::sums
  bool product = false;
  struct Source {
    bool operand = true;  // an operand of the reverse loop by position, else a result of it by index
    std::size_t index = 0;
  } a, b;
};

// The reverse loop: its body, the closures (indices in ReversePlan::sums) whose adjoints it still carries,
// and the terms summed after it.
struct ReverseLoop {
  std::shared_ptr<const Graph> body;
  std::vector<std::size_t> carriedSums;
  std::vector<StackedTerm> terms;
};

// The terms of an adjoint: the operands of additions of its type, down to the others.
void addends(const Graph& v, NodeId id, std::vector<NodeId>& out) {
  const Node& n = v.node(id);
  if (n.op == Op::Add && v.node(n.operands[0]).type == n.type && v.node(n.operands[1]).type == n.type) {
    addends(v, n.operands[0], out);
    addends(v, n.operands[1], out);
  } else {
    out.push_back(id);
  }
}

// Whether the term `t` of a closure's adjoint, stacked along `axis` over the steps, sums to the closure's
// adjoint by the same op: a product of two step matrices (the stacked axis joins the contracted ones) or a
// sum of a step value to a shape whose leading axes it sums (the stacked axis among them).
bool stackable(const Graph& v, const Node& t, std::int64_t axis, std::size_t closureRank) {
  auto rank = [&](NodeId id) { return static_cast<std::int64_t>(v.node(id).type.shape.size()); };
  if (t.op == Op::MatMulTN) return rank(t.operands[0]) == 2 && rank(t.operands[1]) == 2 && axis <= 1;
  if (t.op == Op::SumTo) return axis <= rank(t.operands[0]) - static_cast<std::int64_t>(closureRank);
  return false;
}

// The reverse loop's body. Inputs: the carries' adjoints and the running sums of the closures' adjoints that
// are carried, the saved carries, the sequences, the adjoint of the stacked result and the residuals (sliced),
// the closures. Results: the carried values' next values, the sequences' adjoints, then the step values that
// the stacked terms read and no operand stacks already. The residuals become inputs, and what only computed
// them is dropped.
ReverseLoop reverseLoop(GradBuilder& d, const Graph& body, const ScanShape& s, const ReversePlan& p,
                        const std::vector<NodeId>& kept) {
  const std::size_t nin = body.inputs.size();
  const VjpSpec spec = vjpSpec(body, s, p, false);
  Graph v = d.vjp(body, spec.seeded, spec.wrt);
  // v's inputs: body's, then the seeds in result order; its results: the adjoints of the wrt inputs in order.
  std::vector<NodeId> adjointOf(nin, -1);
  for (std::size_t i = 0, r = 0; i < nin; ++i)
    if (spec.wrt[i]) adjointOf[i] = v.results[r++].node;
  auto name = [&](std::size_t i) { return body.node(body.inputs[i]).name; };

  // Each closure's adjoint: the terms that stack are summed after the loop, the rest in a carry.
  ReverseLoop loop;
  std::vector<std::pair<std::size_t, NodeId>> stacked;  // (index in p.sums, term)
  std::vector<NodeId> rest;                             // by carried sum
  for (std::size_t k = 0; k < p.sums.size(); ++k) {
    std::vector<NodeId> terms;
    addends(v, adjointOf[p.sums[k]], terms);
    NodeId carried = -1;
    for (NodeId t : terms) {
      if (stackable(v, v.node(t), s.axis, v.node(body.inputs[p.sums[k]]).type.shape.size())) stacked.emplace_back(k, t);
      else carried = carried < 0 ? t : v.addOp(Op::Add, {carried, t});
    }
    if (carried < 0) continue;
    loop.carriedSums.push_back(k);
    rest.push_back(carried);
  }

  std::vector<NodeId> inputs;
  std::vector<Result> results;
  for (std::size_t k = 0; k < p.carries.size(); ++k) {
    inputs.push_back(v.inputs[nin + k]);
    results.push_back({"d." + name(p.carries[k]), adjointOf[p.carries[k]], Result::Output});
  }
  for (std::size_t j = 0; j < loop.carriedSums.size(); ++j) {
    const std::string sum = "sum.d." + name(p.sums[loop.carriedSums[j]]);
    const NodeId in = v.addInput(sum, body.node(body.inputs[p.sums[loop.carriedSums[j]]]).type);
    inputs.push_back(in);
    results.push_back({sum, v.addOp(Op::Add, {in, rest[j]}), Result::Output});
  }
  const std::size_t slicedFrom = inputs.size();
  for (std::size_t i = 0; i < static_cast<std::size_t>(s.carries + s.seqs); ++i) inputs.push_back(body.inputs[i]);
  if (p.stackedSeed) inputs.push_back(v.inputs[nin + p.carries.size()]);
  for (NodeId id : kept) {
    Node& k = v.node(id);
    k.op = Op::Input;
    k.operands.clear();
    k.attrs = {};
    k.name = keptName(id);
    inputs.push_back(id);
  }
  const std::size_t slicedTo = inputs.size();
  for (std::size_t i = static_cast<std::size_t>(s.carries + s.seqs); i < nin; ++i) inputs.push_back(body.inputs[i]);
  for (std::size_t i : p.seqs) results.push_back({"d." + name(i), adjointOf[i], Result::Output});

  // The stacked values of the terms: a sliced input's own sequence, else a stacked result of the loop.
  auto source = [&](NodeId id) {
    for (std::size_t j = slicedFrom; j < slicedTo; ++j)
      if (inputs[j] == id) return StackedTerm::Source{true, j};
    for (std::size_t r = 0; r < results.size(); ++r)
      if (results[r].node == id && r >= loop.carriedSums.size() + p.carries.size())
        return StackedTerm::Source{false, r};
    results.push_back({fmt::format("step.{}", id), id, Result::Output});
    return StackedTerm::Source{false, results.size() - 1};
  };
  for (const auto& [k, t] : stacked) {
    const Node& n = v.node(t);
    StackedTerm term;
    term.sum = k;
    term.product = n.op == Op::MatMulTN;
    if (term.product) term.a = source(n.operands[0]);
    term.b = source(n.operands[term.product ? 1 : 0]);
    loop.terms.push_back(term);
  }
  v.name = body.name + ".reverse";
  v.inputs = std::move(inputs);
  v.results = std::move(results);
  removeDeadNodes(v);  // the forward values that only the residuals needed, the stacked terms
  loop.body = std::make_shared<const Graph>(std::move(v));
  return loop;
}

ReversePlan planReverse(const GradBuilder& d, const ScanShape& s) {
  ReversePlan p;
  for (std::size_t i = 0; i < d.node().operands.size(); ++i) {
    const int op = static_cast<int>(i);
    if (s.isCarry(i) && isFloat(d.type(d.x(op)).dtype)) p.carries.push_back(i);
    if (s.isSeq(i) && d.wants(op)) p.seqs.push_back(i);
    if (s.isClosure(i) && d.wants(op)) p.sums.push_back(i);
  }
  p.stackedSeed = s.result >= s.carries;
  return p;
}

}  // namespace

void scanGradient(GradBuilder& d) {
  const Node& n = d.node();
  const ScanShape s = ScanShape::of(n);
  int first = -1;
  for (int i = static_cast<int>(n.operands.size()) - 1; i >= 0; --i)
    if (d.wants(i)) first = i;
  if (first < 0) return;
  d.sharedBy(first);
  const ReversePlan p = planReverse(d, s);
  const Graph& body = *n.body;

  // The residuals of the reverse loop of every result of this loop: one saving body for all of them, so that
  // code generation runs the forward loop and every saving loop as one.
  // With --recompute-loops none: the reverse body recomputes them from the saved carries.
  const VjpSpec every = vjpSpec(body, s, p, true);
  const std::vector<NodeId> kept =
      d.recomputesLoops() ? std::vector<NodeId>{} : residuals(body, s, d.vjp(body, every.seeded, every.wrt));
  // The carries as they enter each step, then the residuals, stacked along the axis.
  const std::shared_ptr<const Graph> saving = savingBody(body, s.carries, kept);
  std::vector<NodeId> saved;
  for (std::size_t i = 0; i < static_cast<std::size_t>(s.carries) + kept.size(); ++i)
    saved.push_back(
        d.emitRegion(Op::Scan, n.operands, s.attrsFor(static_cast<std::int64_t>(body.results.size() + i)), saving));

  const ReverseLoop reverse = reverseLoop(d, body, s, p, kept);

  // The reverse loop's operands: the carries' adjoints start from dy for the carry this node is (zero for the
  // others) and the carried sums from zero; then its sequences and closures.
  auto zeros = [&](std::size_t i) {
    const TensorType t = d.type(d.x(static_cast<int>(i)));  // a copy: emitting nodes moves the graph's types
    return d.broadcastTo(d.scalar(0), t);
  };
  std::vector<NodeId> operands;
  for (std::size_t i : p.carries) operands.push_back(static_cast<std::int64_t>(i) == s.result ? d.dy() : zeros(i));
  for (std::size_t k : reverse.carriedSums) operands.push_back(zeros(p.sums[k]));
  operands.insert(operands.end(), saved.begin(), saved.begin() + s.carries);
  for (std::size_t i = 0; i < n.operands.size(); ++i)
    if (s.isSeq(i)) operands.push_back(n.operands[i]);
  if (p.stackedSeed) operands.push_back(d.dy());
  operands.insert(operands.end(), saved.begin() + s.carries, saved.end());
  for (std::size_t i = 0; i < n.operands.size(); ++i)
    if (s.isClosure(i)) operands.push_back(n.operands[i]);
  const ScanShape r{.axis = s.axis,
                    .carries = static_cast<std::int64_t>(p.carries.size() + reverse.carriedSums.size()),
                    .seqs = s.carries + s.seqs + (p.stackedSeed ? 1 : 0) + static_cast<std::int64_t>(kept.size()),
                    .result = 0,
                    .reverse = !s.reverse};

  auto result = [&](std::size_t k) {
    return d.emitRegion(Op::Scan, operands, r.attrsFor(static_cast<std::int64_t>(k)), reverse.body);
  };
  for (std::size_t k = 0; k < p.carries.size(); ++k) d.to(static_cast<int>(p.carries[k]), [&] { return result(k); });
  for (std::size_t j = 0; j < reverse.carriedSums.size(); ++j)
    d.to(static_cast<int>(p.sums[reverse.carriedSums[j]]), [&] { return result(p.carries.size() + j); });
  for (std::size_t k = 0; k < p.seqs.size(); ++k)
    d.to(static_cast<int>(p.seqs[k]), [&] { return result(static_cast<std::size_t>(r.carries) + k); });
  // The stacked terms: one product (or sum) over every step, after the loop.
  std::map<std::size_t, NodeId> stacks;  // one node per stacked result, whichever terms read it
  auto stack = [&](StackedTerm::Source src) {
    if (src.operand) return operands[src.index];
    auto [at, added] = stacks.try_emplace(src.index, -1);
    if (added) at->second = result(src.index);
    return at->second;
  };
  for (const StackedTerm& t : reverse.terms) {
    const int i = static_cast<int>(p.sums[t.sum]);
    d.to(i, [&] {
      const NodeId b = stack(t.b);
      return d.sumTo(t.product ? d.emit(Op::MatMulTN, {stack(t.a), b}) : b, d.x(i));
    });
  }
}

}  // namespace sinter::ir::ops
