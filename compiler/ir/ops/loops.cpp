// Region ops: a node that holds a body graph and runs it once per step (docs/ir.md, "Loops").
//
// scan(carries..., sequences..., closures...) {axis, carries, seqs, result, reverse}
//   The body takes the carries, one step's slice of each sequence (the sequence without `axis`) and the
//   closures, in that order, and returns the carries' next values, then the values of one step. The trip
//   count is the sequences' extent along `axis`, fixed or symbolic (bound at run time like `batch`).
//   A node is one result of the loop: result < carries gives that carry after the last step; otherwise
//   the body's result `result` of every step, stacked along `axis`. The nodes of one loop's several
//   results share its operands and body; code generation runs them as one loop.
#include <fmt/format.h>

#include <stdexcept>

#include "compiler/ir/interpreter.h"
#include "compiler/ir/ops/common.h"
#include "compiler/ir/ops/scan_grad.h"
#include "compiler/ir/scan.h"

namespace sinter::ir::ops {
namespace {

// ---- type rule -------------------------------------------------------------------------------------------------

std::string checkBodyArg(const Graph& b, std::size_t i, const TensorType& want, std::string_view what) {
  const Node& arg = b.node(b.inputs[i]);
  if (!(arg.type == want))
    return fmt::format("body input %{} ({}) is {} but the scan passes {}", arg.name, what, arg.type.str(), want.str());
  return {};
}

std::string scanType(const Node& n, const Types& in, TensorType& out) {
  if (!n.body) return "a scan needs a body";
  const Graph& b = *n.body;
  const ScanShape s = ScanShape::of(n);
  if (s.carries < 0 || s.seqs < 1 || s.carries + s.seqs > static_cast<std::int64_t>(in.size()))
    return fmt::format("carries = {} and seqs = {} (at least 1) do not fit its {} operands", s.carries, s.seqs,
                       in.size());
  if (b.inputs.size() != in.size())
    return fmt::format("the body takes {} inputs but the scan passes {}", b.inputs.size(), in.size());
  if (!b.params.empty()) return "a body has no params: the scan passes them in as closures";
  if (b.results.size() < static_cast<std::size_t>(s.carries))
    return fmt::format("the body returns {} values, fewer than its {} carries", b.results.size(), s.carries);
  if (s.result < 0 || s.result >= static_cast<std::int64_t>(b.results.size()))
    return fmt::format("result {} is not one of the body's {}", s.result, b.results.size());
  const std::size_t axis = static_cast<std::size_t>(s.axis);
  const TensorType& first = in[static_cast<std::size_t>(s.carries)];
  if (s.axis < 0 || axis >= first.shape.size()) return fmt::format("axis {} is not an axis of {}", s.axis, first.str());
  const Dim trip = first.shape[axis];
  for (std::size_t i = 0; i < in.size(); ++i) {
    std::string e;
    if (s.isCarry(i)) {
      e = checkBodyArg(b, i, in[i], "a carry");
      if (e.empty() && !(b.node(b.results[i].node).type == in[i]))
        e = fmt::format("the body's next value of carry {} is {}, not {}", i, b.node(b.results[i].node).type.str(),
                        in[i].str());
    } else if (s.isSeq(i)) {
      if (in[i].shape.size() <= axis || !(in[i].shape[axis] == trip))
        e = fmt::format("sequence {} is {}: its axis {} must be the trip count {}", i, in[i].str(), s.axis, trip.str());
      else e = checkBodyArg(b, i, stepType(in[i], axis), "a step of a sequence");
    } else {
      e = checkBodyArg(b, i, in[i], "a closure");
    }
    if (!e.empty()) return e;
  }
  const TensorType& r = b.node(b.results[static_cast<std::size_t>(s.result)].node).type;
  if (s.result < s.carries) {
    out = r;
    return {};
  }
  if (axis > r.shape.size()) return fmt::format("cannot stack the body's {} along axis {}", r.str(), s.axis);
  out = r;
  out.shape.insert(out.shape.begin() + s.axis, trip);
  return {};
}

// ---- reference kernel ------------------------------------------------------------------------------------------

// Element t along `axis` of x (the axis removed), or x with `step` written there.
Tensor sliceAt(const Tensor& x, std::int64_t axis, std::int64_t t) {
  const AxisView v(x.shape, axis);
  Tensor r;
  r.shape = x.shape;
  r.shape.erase(r.shape.begin() + axis);
  r.data.resize(static_cast<std::size_t>(v.outer * v.inner));
  for (std::int64_t o = 0; o < v.outer; ++o)
    for (std::int64_t i = 0; i < v.inner; ++i)
      r.data[static_cast<std::size_t>(o * v.inner + i)] = x.data[static_cast<std::size_t>(v.at(o, t, i))];
  return r;
}

void writeAt(Tensor& x, std::int64_t axis, std::int64_t t, const Tensor& step) {
  const AxisView v(x.shape, axis);
  for (std::int64_t o = 0; o < v.outer; ++o)
    for (std::int64_t i = 0; i < v.inner; ++i)
      x.data[static_cast<std::size_t>(v.at(o, t, i))] = step.data[static_cast<std::size_t>(o * v.inner + i)];
}

// Runs the body once a step, in order (or in reverse), and keeps the one result this node is.
Tensor refScan(const RefCall& c) {
  const Graph& b = *c.node.body;
  const ScanShape s = ScanShape::of(c.node);
  const std::int64_t trip = c.in[static_cast<std::size_t>(s.carries)]->shape[static_cast<std::size_t>(s.axis)];
  std::map<std::string, Tensor> args;
  for (std::size_t i = 0; i < c.in.size(); ++i)
    if (!s.isSeq(i)) args[b.node(b.inputs[i]).name] = *c.in[i];
  const bool stacked = s.result >= s.carries;
  Tensor out = stacked ? Tensor::zeros(c.shape) : Tensor{};
  for (std::int64_t k = 0; k < trip; ++k) {
    const std::int64_t t = s.reverse ? trip - 1 - k : k;
    for (std::size_t i = 0; i < c.in.size(); ++i)
      if (s.isSeq(i)) args[b.node(b.inputs[i]).name] = sliceAt(*c.in[i], s.axis, t);
    std::vector<Tensor> step = interpret(b, args, c.mode);
    for (std::size_t i = 0; i < static_cast<std::size_t>(s.carries); ++i)
      args[b.node(b.inputs[i]).name] = std::move(step[i]);
    if (stacked) writeAt(out, s.axis, t, step[static_cast<std::size_t>(s.result)]);
  }
  return stacked ? out : args.at(b.node(b.inputs[static_cast<std::size_t>(s.result)]).name);
}

}  // namespace

OpFamily loopOps() {
  return {"Loops",
          "loops.cpp",
          {
              {.op = Op::Scan,
               .name = "scan",
               .arity = -1,
               .flags = kRegion,
               .attrs = {{"axis", AttrKind::Int},
                         {"carries", AttrKind::Int},
                         {"seqs", AttrKind::Int},
                         {"result", AttrKind::Int},
                         {"reverse", AttrKind::Int}},
               .typeRule = scanType,
               .doc = "runs its body once per step along `axis` of the sequences (the trip count, fixed or symbolic), "
                      "threading the carries; one result: a carry after the last step, or a per-step value stacked",
               .grad = {scanGradient,
                        "a reverse scan of the body's vector-Jacobian product over the carries saved at "
                        "each step (docs/autodiff.md)"},
               .reference = refScan,
               .kernel = KernelKind::Loop},
          }};
}

}  // namespace sinter::ir::ops
