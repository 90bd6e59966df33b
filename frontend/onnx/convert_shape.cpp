// Shape computations that torch.onnx.export writes for x.view(x.size(0), -1) and the like (Shape, Gather,
// Unsqueeze, Concat on constants), folded at import time with symbolic dimensions kept; and Unsqueeze,
// Squeeze, Concat and Pad on values.
#include <fmt/format.h>

#include <algorithm>

#include "frontend/onnx/importer.h"

namespace sinter::onnxio {
namespace {

using ir::Op;
using Ints = std::vector<std::int64_t>;

std::int64_t normalizedAxis(std::int64_t axis, std::int64_t rank) {
  if (axis < -rank || axis >= rank) throw Unsupported(fmt::format("axis {} is out of range for rank {}", axis, rank));
  return axis < 0 ? axis + rank : axis;
}

// The axes of Unsqueeze and Squeeze: an attribute before opset 13, a constant input from 13 on.
Ints axesOf(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
  if (im.opset() < 13) return a.ints("axes");
  Ints axes;
  if (const std::string name = input(n, 1); !name.empty())
    for (double v : im.requireConstant(name, "axes").values) axes.push_back(static_cast<std::int64_t>(v));
  return axes;
}

ir::NodeId reshapeTo(Importer& im, ir::NodeId x, ir::Shape shape) {
  if (im.type(x).shape == shape) return x;
  return im.typed(Op::Reshape, {x}, {im.type(x).dtype, std::move(shape)});
}

// A value's shape as a constant vector: its fixed sizes, and its symbolic dims by name.
void shape(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
  ir::Shape s;
  if (const Constant* c = im.constant(n.input(0)))
    for (std::int64_t d : c->dims) s.push_back(ir::Dim::fixed(d));
  else s = im.type(im.value(n.input(0))).shape;
  const auto rank = static_cast<std::int64_t>(s.size());
  auto clamp = [rank](std::int64_t i) { return std::clamp(i < 0 ? i + rank : i, std::int64_t{0}, rank); };
  const std::int64_t start = clamp(a.i("start", 0)), end = clamp(a.i("end", rank));
  Constant c;
  c.name = n.output(0);
  c.isFloat = false;
  for (std::int64_t i = start; i < end; ++i) {
    c.values.push_back(s[i].isSymbolic() ? 0.0 : static_cast<double>(s[i].size));
    c.symbols.push_back(s[i].symbol);
  }
  c.dims = {static_cast<std::int64_t>(c.values.size())};
  im.addConstant(std::move(c));
}

// Gather of a value at constant indices (x[:, 0], a few rows): a slice per index along the axis, then the
// indices' shape in the axis's place.
void gatherConstantIndices(Importer& im, const onnx::NodeProto& n, std::int64_t axis, const Constant& idx) {
  const ir::NodeId x = im.value(n.input(0));
  const ir::Shape& in = im.type(x).shape;
  const auto rank = static_cast<std::int64_t>(in.size());
  axis = normalizedAxis(axis, rank);
  if (in[axis].isSymbolic())
    throw Unsupported(fmt::format("its axis {} is the symbolic dimension '{}'", axis, in[axis].symbol));
  std::vector<ir::NodeId> rows;
  for (double v : idx.values) {
    const std::int64_t i = normalizedAxis(static_cast<std::int64_t>(v), in[axis].size);
    rows.push_back(im.op(Op::Slice, {x},
                         ir::Attrs::of({{"axis", axis}, {"start", i}, {"end", i + 1}, {"step", std::int64_t{1}}})));
  }
  ir::NodeId y = rows.size() == 1 ? rows[0] : im.op(Op::Concat, rows, ir::Attrs::of({{"axis", axis}}));
  ir::Shape out(in.begin(), in.begin() + axis);
  for (std::int64_t d : idx.dims) out.push_back(ir::Dim::fixed(d));
  out.insert(out.end(), in.begin() + axis + 1, in.end());
  im.define(n.output(0), reshapeTo(im, y, out));
}

// Gather: of a constant vector at constant indices (a shape's entries), folded; of a value at constant
// indices, slices; of a table's rows (axis 0) at computed integer indices, the IR's gather (an embedding).
void gather(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
  const Constant* data = im.constant(n.input(0));
  const Constant* indices = im.constant(n.input(1));
  if (indices && indices->isFloat) throw Unsupported("its indices are floating-point");
  if (indices && (!data || data->dims.size() != 1 || !indices->symbols.empty()))
    return gatherConstantIndices(im, n, a.i("axis", 0), *indices);
  if (!indices) {
    const ir::NodeId table = im.value(n.input(0)), idx = im.value(n.input(1));
    if (im.type(idx).dtype != ir::DType::I32)
      throw Unsupported(
          fmt::format("its indices '{}' are {}: integer indices are supported", n.input(1), im.type(idx).str()));
    if (normalizedAxis(a.i("axis", 0), static_cast<std::int64_t>(im.type(table).shape.size())) != 0)
      throw Unsupported("gathering at computed indices is supported along axis 0 (a table's rows) only");
    return im.define(n.output(0), im.op(Op::Gather, {table, idx}));
  }
  if (normalizedAxis(a.i("axis", 0), 1) != 0) throw Unsupported("axis must be 0");
  const Constant& idx = *indices;
  Constant c;
  c.name = n.output(0);
  c.dims = idx.dims;
  c.isFloat = data->isFloat;
  const auto size = static_cast<std::int64_t>(data->values.size());
  for (double v : idx.values) {
    const std::int64_t i = normalizedAxis(static_cast<std::int64_t>(v), size);
    c.values.push_back(data->values[i]);
    c.symbols.push_back(data->symbol(i));
  }
  im.addConstant(std::move(c));
}

// ConstantOfShape: a float fill of a (constant, possibly symbolic) shape is a constant node, what torch
// writes for an RNN's zero initial state [dirs, batch, hidden]; an integer fill of a fixed shape folds.
void constantOfShape(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
  const Constant& shape = im.requireConstant(n.input(0), "shape");
  Constant fill;
  fill.values = {0.0};
  for (const onnx::AttributeProto& attr : n.attribute())
    if (attr.name() == "value") fill = decodeTensor(attr.t());
  if (a.has("value") && fill.values.size() != 1) throw Unsupported("its value must hold one element");
  if (fill.isFloat) {
    ir::Shape dims;
    for (std::size_t i = 0; i < shape.values.size(); ++i) dims.push_back(shape.dim(i));
    return im.define(n.output(0), im.graph.addConstant(fill.values[0], {ir::DType::F32, dims}, {}));
  }
  if (!shape.symbols.empty()) throw Unsupported("an integer fill of a symbolic shape is not supported");
  Constant c;
  c.name = n.output(0);
  c.isFloat = false;
  std::int64_t count = 1;
  for (double d : shape.values) {
    c.dims.push_back(static_cast<std::int64_t>(d));
    count *= c.dims.back();
  }
  if (count < 0 || count > (std::int64_t{1} << 24)) throw Unsupported("its shape is invalid or too large to fold");
  c.values.assign(static_cast<std::size_t>(count), fill.values[0]);
  im.addConstant(std::move(c));
}

void unsqueeze(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
  Ints axes = axesOf(im, n, a);
  const Constant* c = im.constant(n.input(0));
  const ir::NodeId x = c ? -1 : im.value(n.input(0));
  std::vector<ir::Dim> dims;
  if (c)
    for (std::int64_t d : c->dims) dims.push_back(ir::Dim::fixed(d));
  else dims = im.type(x).shape;
  const auto rank = static_cast<std::int64_t>(dims.size() + axes.size());
  for (std::int64_t& axis : axes) axis = normalizedAxis(axis, rank);
  std::sort(axes.begin(), axes.end());
  for (std::int64_t axis : axes) dims.insert(dims.begin() + axis, ir::Dim::fixed(1));
  if (!c) return im.define(n.output(0), reshapeTo(im, x, dims));
  Constant out = *c;
  out.name = n.output(0);
  out.dims.clear();
  for (const ir::Dim& d : dims) out.dims.push_back(d.size);
  im.addConstant(std::move(out));
}

void squeeze(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
  const ir::NodeId x = im.value(n.input(0));
  const ir::Shape& in = im.type(x).shape;
  Ints axes = axesOf(im, n, a);
  for (std::int64_t& axis : axes) axis = normalizedAxis(axis, static_cast<std::int64_t>(in.size()));
  ir::Shape out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const bool listed = std::find(axes.begin(), axes.end(), static_cast<std::int64_t>(i)) != axes.end();
    const bool one = in[i] == ir::Dim::fixed(1);
    if (listed && !one) throw Unsupported(fmt::format("dim {} of {} is not 1", i, im.type(x).str()));
    if (!(axes.empty() ? one : listed)) out.push_back(in[i]);
  }
  im.define(n.output(0), reshapeTo(im, x, out));
}

// Concat of constant vectors (shapes) folds; of values, it is the IR's concat.
void concat(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
  bool constants = true;
  for (const std::string& in : n.input()) constants = constants && im.constant(in) && im.constant(in)->dims.size() == 1;
  if (constants) {
    Constant c;
    c.name = n.output(0);
    for (const std::string& in : n.input()) {
      const Constant& part = *im.constant(in);
      c.isFloat = part.isFloat;
      for (std::size_t i = 0; i < part.values.size(); ++i) {
        c.values.push_back(part.values[i]);
        c.symbols.push_back(part.symbol(i));
      }
    }
    c.dims = {static_cast<std::int64_t>(c.values.size())};
    return im.addConstant(std::move(c));
  }
  std::vector<ir::NodeId> xs;
  for (const std::string& in : n.input()) xs.push_back(im.value(in));
  const auto rank = static_cast<std::int64_t>(im.type(xs[0]).shape.size());
  const std::int64_t axis = normalizedAxis(a.i("axis", 0), rank);
  im.define(n.output(0), xs.size() == 1 ? xs[0] : im.op(Op::Concat, xs, ir::Attrs::of({{"axis", axis}})));
}

// Pad with constant pads [begin..., end...] and mode "constant"; all-zero pads (torch writes them before an
// AveragePool) vanish.
void pad(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) {
  if (a.s("mode", "constant") != "constant") throw Unsupported("only mode \"constant\" is supported");
  const ir::NodeId x = im.value(n.input(0));
  const std::size_t rank = im.type(x).shape.size();
  const Constant& pads = im.requireConstant(n.input(1), "pads");
  if (pads.values.size() != 2 * rank)
    throw Unsupported(fmt::format("it has {} pads for rank {}", pads.values.size(), rank));
  double value = 0;
  if (const std::string v = input(n, 2); !v.empty()) value = im.requireConstant(v, "constant_value").values.at(0);
  Ints before, after;
  for (std::size_t i = 0; i < rank; ++i) {
    before.push_back(static_cast<std::int64_t>(pads.values[i]));
    after.push_back(static_cast<std::int64_t>(pads.values[i + rank]));
  }
  const bool none = std::all_of(before.begin(), before.end(), [](auto p) { return p == 0; }) &&
                    std::all_of(after.begin(), after.end(), [](auto p) { return p == 0; });
  if (none) return im.define(n.output(0), x);
  for (std::size_t i = 0; i < rank; ++i)
    if (before[i] < 0 || after[i] < 0) throw Unsupported("negative pads (cropping) are not supported");
  im.define(n.output(0), im.op(Op::Pad, {x}, ir::Attrs::of({{"before", before}, {"after", after}, {"value", value}})));
}


// Expand: x broadcast by NumPy's rules to a shape, whose entries may be symbols that Shape read (a zero state
// of the input's batch, as `sinter export` writes it).
void expand(Importer& im, const onnx::NodeProto& n, const NodeAttrs&) {
  const Constant& to = im.requireConstant(n.input(1), "the shape of an Expand");
  const ir::NodeId x = im.value(n.input(0));
  const ir::Shape& in = im.type(x).shape;
  const std::size_t rank = std::max(in.size(), to.values.size());
  ir::Shape out(rank);
  for (std::size_t k = 0; k < rank; ++k) {  // aligned on the last axis
    const std::size_t back = rank - 1 - k;
    const bool inHas = back < in.size(), toHas = back < to.values.size();
    const ir::Dim a = inHas ? in[in.size() - 1 - back] : ir::Dim::fixed(1);
    const ir::Dim b = toHas ? to.dim(to.values.size() - 1 - back) : ir::Dim::fixed(1);
    if (b == ir::Dim::fixed(1)) out[k] = a;
    else if (a == ir::Dim::fixed(1) || a == b) out[k] = b;
    else throw Unsupported(fmt::format("its input {} does not broadcast to the shape's axis {} ({})", im.type(x).str(), k, b.str()));
  }
  if (out == in) return im.define(n.output(0), x);
  im.define(n.output(0), im.typed(Op::Broadcast, {x}, {im.type(x).dtype, out}));
}

}  // namespace

void addShapeConverters(std::vector<OpConverter>& t) {
  t.push_back({"Expand", {}, expand});
  t.push_back({"Shape", {"start", "end"}, shape});
  t.push_back({"Gather", {"axis"}, gather});
  t.push_back({"Unsqueeze", {"axes"}, unsqueeze});
  t.push_back({"Squeeze", {"axes"}, squeeze});
  t.push_back({"Concat", {"axis"}, concat});
  t.push_back({"Pad", {"mode"}, pad});
  t.push_back({"ConstantOfShape", {"value"}, constantOfShape});
}

}  // namespace sinter::onnxio
