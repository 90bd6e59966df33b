// ONNX's Scan (the form of opsets 9 to 17: num_scan_inputs, scan_input_axes and _directions,
// scan_output_axes and _directions) as the IR's scan loop (docs/ir.md, "Loops"): the state variables are its
// carries, the scan inputs its sequences, the values the body reads from the outer scope (and the params its
// nodes make) its closures. The body is imported once, by an Importer of its own, into the loop's body graph;
// each output of the node is one scan node of the loop. The sequence length may be symbolic.
//
// The IR's loop steps along one axis of every sequence and stacks along the same axis, in one direction: a
// sequence or stacked output on another axis is transposed before or after the loop, and directions that
// differ between inputs and outputs are an Unsupported error.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <memory>

#include "compiler/ir/scan.h"
#include "frontend/onnx/importer.h"

namespace sinter::onnxio {
namespace {

using ir::Op;
using Ints = std::vector<std::int64_t>;

// An attribute with one entry per scan input (or output), each 0 when it is absent.
Ints perItem(const NodeAttrs& a, std::string_view name, std::int64_t count, std::string_view items) {
  const Ints v = a.ints(name, Ints(static_cast<std::size_t>(count), 0));
  if (static_cast<std::int64_t>(v.size()) != count)
    throw Unsupported(fmt::format("{} has {} entries for its {} {}", name, v.size(), count, items));
  return v;
}

// An axis in [-rank, rank) made non-negative.
std::int64_t axisIn(std::int64_t axis, std::size_t rank, std::string_view what) {
  const auto r = static_cast<std::int64_t>(rank);
  if (axis < -r || axis >= r)
    throw Unsupported(fmt::format("{} is axis {}, not an axis of a rank-{} value", what, axis, r));
  return axis < 0 ? axis + r : axis;
}

// The permutation that moves axis `from` of a rank-`rank` value to position `to`, the others in order.
Ints moveAxis(std::int64_t from, std::int64_t to, std::size_t rank) {
  Ints perm;
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(rank); ++i)
    if (i != from) perm.push_back(i);
  perm.insert(perm.begin() + to, from);
  return perm;
}

// The direction of the whole loop: every scan input and output must step the same way.
bool reverseOf(const Ints& inDirs, const Ints& outDirs) {
  for (const Ints* v : {&inDirs, &outDirs})
    for (std::int64_t d : *v)
      if (d != 0 && d != 1) throw Unsupported(fmt::format("a scan direction is {}; supported: 0 and 1", d));
  const std::int64_t first = inDirs.empty() ? 0 : inDirs[0];
  const auto differs = [first](std::int64_t d) { return d != first; };
  if (std::any_of(inDirs.begin(), inDirs.end(), differs) || std::any_of(outDirs.begin(), outDirs.end(), differs))
    throw Unsupported(fmt::format(
        "scan_input_directions [{}] and scan_output_directions [{}] are not supported: the IR's scan steps every "
        "sequence and output one way, so they must be all 0 or all 1",
        fmt::join(inDirs, ", "), fmt::join(outDirs, ", ")));
  return first == 1;
}

// Whether a body input's declared type (where it states one) fits the type the loop passes.
void checkDeclared(const onnx::ValueInfoProto& v, const ir::TensorType& t) {
  if (!v.type().has_tensor_type()) throw Unsupported(fmt::format("its body's input '{}' is not a tensor", v.name()));
  const onnx::TypeProto_Tensor& d = v.type().tensor_type();
  const bool isInt = d.elem_type() == onnx::TensorProto::INT64 || d.elem_type() == onnx::TensorProto::INT32;
  const bool fits = d.elem_type() == onnx::TensorProto::UNDEFINED || (t.dtype == ir::DType::I32 ? isInt : !isInt);
  bool shapeFits = !d.has_shape() || d.shape().dim_size() == static_cast<int>(t.shape.size());
  for (int i = 0; shapeFits && d.has_shape() && i < d.shape().dim_size(); ++i) {
    const ir::Dim& have = t.shape[static_cast<std::size_t>(i)];
    if (d.shape().dim(i).has_dim_value() && !have.isSymbolic()) shapeFits = d.shape().dim(i).dim_value() == have.size;
  }
  if (!fits || !shapeFits)
    throw Unsupported(fmt::format("its body's input '{}' is declared as another type than the {} the loop passes",
                                  v.name(), t.str()));
}

// Imports one node of the body; an error names it, inside the Scan node that read_model.cpp names.
void bodyNode(Importer& inner, const onnx::NodeProto& n, int index) {
  const std::string where =
      fmt::format("its body's node '{}' ({}, node {} of the body)",
                  n.name().empty() && n.output_size() ? n.output(0) : n.name(), n.op_type(), index + 1);
  try {
    convertNode(inner, n);
  } catch (const Unsupported& e) {
    throw Unsupported(fmt::format("{}: {}", where, e.what()));
  } catch (const std::logic_error& e) {  // an IR type rule rejected the operands' shapes
    throw Unsupported(fmt::format("{}: its operands do not fit: {}", where, e.what()));
  }
}

void scan(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
  const onnx::GraphProto* body = a.graph("body");
  if (!body) throw Unsupported("it has no body (the graph attribute 'body')");
  const std::int64_t inputs = n.input_size(), outputs = n.output_size();
  const std::int64_t seqs = a.i("num_scan_inputs", 0);
  if (seqs < 1 || seqs > inputs)
    throw Unsupported(
        fmt::format("num_scan_inputs = {} does not fit its {} inputs: it counts the last of them, "
                    "at least one",
                    seqs, inputs));
  const std::int64_t carries = inputs - seqs;
  if (body->input_size() != inputs)
    throw Unsupported(
        fmt::format("its body takes {} inputs, but the node passes {} ({} state variables, then {} "
                    "scan inputs)",
                    body->input_size(), inputs, carries, seqs));
  if (body->output_size() != outputs || outputs < carries)
    throw Unsupported(
        fmt::format("its body returns {} outputs and the node has {}: both must be its {} state "
                    "variables, then the scan outputs",
                    body->output_size(), outputs, carries));
  const std::int64_t stacked = outputs - carries;
  const Ints inAxes = perItem(a, "scan_input_axes", seqs, "scan inputs");
  const Ints outAxes = perItem(a, "scan_output_axes", stacked, "scan outputs");
  const bool reverse = reverseOf(perItem(a, "scan_input_directions", seqs, "scan inputs"),
                                 perItem(a, "scan_output_directions", stacked, "scan outputs"));

  // The operands, and the body's inputs: a carry whole, a step of a sequence without its axis.
  std::vector<ir::NodeId> operands;
  Ints seqAxes;
  Importer inner(im);
  for (std::int64_t i = 0; i < inputs; ++i) {
    const std::string name = input(n, static_cast<int>(i));
    if (name.empty()) throw Unsupported(fmt::format("its input {} is empty", i + 1));
    operands.push_back(im.value(name));
    ir::TensorType t = im.type(operands.back());
    if (i >= carries) {
      const std::int64_t k = i - carries;
      seqAxes.push_back(axisIn(inAxes[static_cast<std::size_t>(k)], t.shape.size(),
                               fmt::format("scan input {} ('{}')", k + 1, name)));
      t = ir::stepType(t, static_cast<std::size_t>(seqAxes.back()));
    }
    const onnx::ValueInfoProto& v = body->input(static_cast<int>(i));
    checkDeclared(v, t);
    inner.define(v.name(), inner.graph.addInput(inner.irName(v.name()), t));
  }
  for (const onnx::TensorProto& t : body->initializer()) inner.addConstant(decodeTensor(t));
  for (int k = 0; k < body->node_size(); ++k) bodyNode(inner, body->node(k), k);
  for (const onnx::ValueInfoProto& v : body->output()) {
    try {
      inner.graph.results.push_back({inner.irName(v.name()), inner.value(v.name()), ir::Result::Output});
    } catch (const Unsupported& e) {
      throw Unsupported(fmt::format("its body's output '{}': {}", v.name(), e.what()));
    }
  }

  // The loop's axis: the scan inputs' common one when every per-step output can be stacked along it, else 0,
  // with each sequence on another axis transposed to it.
  std::int64_t axis =
      std::all_of(seqAxes.begin(), seqAxes.end(), [&](std::int64_t x) { return x == seqAxes[0]; }) ? seqAxes[0] : 0;
  for (std::int64_t r = carries; r < outputs; ++r)
    if (inner.graph.node(inner.graph.results[static_cast<std::size_t>(r)].node).type.shape.size() <
        static_cast<std::size_t>(axis))
      axis = 0;
  for (std::int64_t k = 0; k < seqs; ++k) {
    ir::NodeId& x = operands[static_cast<std::size_t>(carries + k)];
    if (seqAxes[static_cast<std::size_t>(k)] != axis)
      x = im.op(
          Op::Transpose, {x},
          ir::Attrs::of({{"perm", moveAxis(seqAxes[static_cast<std::size_t>(k)], axis, im.type(x).shape.size())}}));
  }
  operands.insert(operands.end(), inner.closures.begin(), inner.closures.end());
  inner.graph.name = inner.irName(body->name().empty() ? "body" : body->name());

  const ir::ScanShape shape{axis, carries, seqs, 0, reverse};
  const auto loop = std::make_shared<const ir::Graph>(std::move(inner.graph));
  for (std::int64_t r = 0; r < outputs; ++r) {
    if (n.output(static_cast<int>(r)).empty()) continue;
    ir::Node x;
    x.op = Op::Scan;
    x.operands = operands;
    x.attrs = shape.attrsFor(r);
    x.body = loop;
    ir::NodeId id = im.add(std::move(x));
    if (r >= carries) {  // a stacked output, moved to its axis
      const std::size_t rank = im.type(id).shape.size();
      const std::int64_t to =
          axisIn(outAxes[static_cast<std::size_t>(r - carries)], rank,
                 fmt::format("scan output {} ('{}')", r - carries + 1, n.output(static_cast<int>(r))));
      if (to != axis) id = im.op(Op::Transpose, {id}, ir::Attrs::of({{"perm", moveAxis(axis, to, rank)}}));
    }
    im.define(n.output(static_cast<int>(r)), id);
  }
}

}  // namespace

void addScanConverters(std::vector<OpConverter>& t) {
  t.push_back({"Scan",
               {"body", "num_scan_inputs", "scan_input_axes", "scan_input_directions", "scan_output_axes",
                "scan_output_directions"},
               scan});
}

}  // namespace sinter::onnxio
