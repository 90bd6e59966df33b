// ONNX's reductions over axes (ReduceMean, ReduceSum, ReduceMax) and LayerNormalization (opset 17), which
// torch.onnx.export writes for nn.LayerNorm; at earlier opsets it writes the same computation as ReduceMean,
// Sub, Pow, ReduceMean, Add, Sqrt, Div, which these converters and the arithmetic ones import node by node.
#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "frontend/onnx/importer.h"

namespace sinter::onnxio {
namespace {

using ir::Op;
using Ints = std::vector<std::int64_t>;

// Axes in [0, rank), sorted and distinct; none means every axis.
Ints normalizedAxes(Ints axes, std::int64_t rank) {
  if (axes.empty()) {
    axes.resize(static_cast<std::size_t>(rank));
    std::iota(axes.begin(), axes.end(), 0);
  }
  for (std::int64_t& a : axes) {
    if (a < -rank || a >= rank) throw Unsupported(fmt::format("axis {} is out of range for rank {}", a, rank));
    if (a < 0) a += rank;
  }
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) throw Unsupported("an axis is listed twice");
  return axes;
}

// Reduce* of opsets 11-17: the axes an attribute, except ReduceSum's from opset 13 on (an optional constant
// input, with noop_with_empty_axes saying what none means).
void reduce(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a, Op o) {
  const ir::NodeId x = im.value(n.input(0));
  const auto rank = static_cast<std::int64_t>(im.type(x).shape.size());
  Ints axes = a.ints("axes");
  if (o == Op::ReduceSum && im.opset() >= 13) {
    if (a.has("axes")) throw Unsupported("from opset 13 on, ReduceSum's axes are an input, not an attribute");
    if (const std::string name = input(n, 1); !name.empty())
      for (double v : im.requireConstant(name, "axes").values) axes.push_back(static_cast<std::int64_t>(v));
    if (axes.empty() && a.i("noop_with_empty_axes", 0) != 0) return im.define(n.output(0), x);
  }
  if (rank == 0) return im.define(n.output(0), x);
  const std::int64_t keep = a.i("keepdims", 1) != 0 ? 1 : 0;
  im.define(n.output(0), im.op(o, {x}, ir::Attrs::of({{"axes", normalizedAxes(axes, rank)}, {"keepdims", keep}})));
}

// Y = (X - mean) / sqrt(var + epsilon) * Scale + B over the axes from `axis` on; the statistics in the
// input's precision (stash_type 1 asks for f32, which every input here is).
void layerNormalization(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
  for (int i = 1; i < n.output_size(); ++i)
    if (!n.output(i).empty()) throw Unsupported("its Mean and InvStdDev outputs (for training) are not supported");
  if (a.i("stash_type", 1) != 1) throw Unsupported("stash_type other than 1 (float) is not supported");
  const ir::NodeId x = im.value(n.input(0));
  const auto rank = static_cast<std::int64_t>(im.type(x).shape.size());
  std::int64_t axis = a.i("axis", -1);
  if (axis < -rank || axis >= rank) throw Unsupported(fmt::format("axis {} is out of range for rank {}", axis, rank));
  if (axis < 0) axis += rank;
  Ints axes;
  for (std::int64_t d = axis; d < rank; ++d) axes.push_back(d);
  const ir::Attrs over = ir::Attrs::of({{"axes", axes}, {"keepdims", std::int64_t{1}}});
  const ir::NodeId centred = im.op(Op::Sub, {x, im.op(Op::ReduceMean, {x}, over)});
  const ir::NodeId var = im.op(Op::ReduceMean, {im.op(Op::Mul, {centred, centred})}, over);
  const ir::NodeId stddev = im.op(Op::Sqrt, {im.op(Op::Add, {var, im.scalar(a.f("epsilon", 1e-5))})});
  ir::NodeId y = im.op(Op::Mul, {im.op(Op::Div, {centred, stddev}), im.value(n.input(1))});
  if (const std::string b = input(n, 2); !b.empty()) y = im.op(Op::Add, {y, im.value(b)});
  im.define(n.output(0), y);
}


// ArgMax without keepdims, of the first maximum (the IR's): i32 indices, which a Cast to int64 leaves alone.
void argMax(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
  if (a.i("keepdims", 1) != 0) throw Unsupported("keepdims = 1 is not supported; supported: 0");
  if (a.i("select_last_index", 0) != 0) throw Unsupported("select_last_index = 1 is not supported; supported: 0");
  const ir::NodeId x = im.value(n.input(0));
  const auto rank = static_cast<std::int64_t>(im.type(x).shape.size());
  std::int64_t axis = a.i("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) throw Unsupported(fmt::format("axis {} is not an axis of {}", a.i("axis", 0), im.type(x).str()));
  im.define(n.output(0), im.op(Op::ArgMax, {x}, ir::Attrs::of({{"axis", axis}})));
}

}  // namespace

void addReduceConverters(std::vector<OpConverter>& t) {
  t.push_back({"ArgMax", {"axis", "keepdims", "select_last_index"}, argMax});
  static const std::pair<std::string_view, Op> kReduce[] = {
      {"ReduceMean", Op::ReduceMean}, {"ReduceSum", Op::ReduceSum}, {"ReduceMax", Op::ReduceMax}};
  for (const auto& [name, o] : kReduce)
    t.push_back({name,
                 {"axes", "keepdims", "noop_with_empty_axes"},
                 [o = o](Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) { reduce(im, n, a, o); }});
  t.push_back({"LayerNormalization", {"axis", "epsilon", "stash_type"}, layerNormalization});
}

}  // namespace sinter::onnxio
