#include "compiler/ir/ops/common.h"

#include <fmt/format.h>

#include "compiler/ir/dropout_mask.h"

namespace sinter::ir::ops {

std::string unaryFloat(const Node&, const Types& in, TensorType& out) {
  if (!isFloat(in[0].dtype)) return fmt::format("operand must be floating point, not {}", in[0].str());
  out = in[0];
  return {};
}

std::string binaryBroadcast(const Node&, const Types& in, TensorType& out) {
  if (in[0].dtype != in[1].dtype) return fmt::format("operand dtypes differ: {} vs {}", in[0].str(), in[1].str());
  auto s = broadcastShapes(in[0].shape, in[1].shape);
  if (!s) return fmt::format("shapes do not broadcast: {} vs {}", in[0].str(), in[1].str());
  out = {in[0].dtype, *s};
  return {};
}

std::string sameAsBoth(const Node&, const Types& in, TensorType& out) {
  if (!(in[0] == in[1])) return fmt::format("operand types differ: {} vs {}", in[0].str(), in[1].str());
  if (!isFloat(in[0].dtype)) return "operands must be floating point";
  out = in[0];
  return {};
}

std::string checkAxes(const Ints& axes, std::size_t rank) {
  for (std::size_t i = 0; i < axes.size(); ++i) {
    if (axes[i] < 0 || axes[i] >= static_cast<std::int64_t>(rank))
      return fmt::format("axis {} out of range for rank {}", axes[i], rank);
    if (i && axes[i] <= axes[i - 1]) return "axes must be sorted and distinct";
  }
  return {};
}

std::int64_t broadcastIndex(const Extents& in, const Extents& out, std::int64_t flat) {
  std::int64_t idx = 0, stride = 1;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::size_t od = out.size() - 1 - i;
    const std::int64_t coord = flat % out[od];
    flat /= out[od];
    if (i < in.size()) {
      const std::int64_t ext = in[in.size() - 1 - i];
      if (ext != 1) idx += coord * stride;
      stride *= ext;
    }
  }
  return idx;
}

Extents strides(const Extents& s) {
  Extents st(s.size(), 1);
  for (std::size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

AxisView::AxisView(const Extents& s, std::int64_t axis) {
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(s.size()); ++i) {
    if (i < axis) outer *= s[static_cast<std::size_t>(i)];
    else if (i == axis) len = s[static_cast<std::size_t>(i)];
    else inner *= s[static_cast<std::size_t>(i)];
  }
}

Tensor refElementwise(const RefCall& c) {
  const OpDef& def = opDef(c.node.op);
  const bool random = def.flags & kStochastic;
  Tensor r = Tensor::zeros(c.shape);
  std::vector<double> x(c.in.size() + (random ? 1 : 0));
  for (std::int64_t i = 0; i < r.numel(); ++i) {
    for (std::size_t k = 0; k < c.in.size(); ++k) x[k] = c.in[k]->data[broadcastIndex(c.in[k]->shape, c.shape, i)];
    // Dropout's mask: drawn from the step's seed while training, all ones otherwise.
    if (random)
      x.back() = c.mode.training ? dropoutScale(c.mode.seed, c.node.attrs.getInt("salt"), i, c.node.attrs.getFloat("p"))
                                 : 1.0;
    r.data[static_cast<std::size_t>(i)] = def.scalar.f64(c.node.attrs, c.node.type.dtype, x.data());
  }
  return r;
}

OpDef elementwiseEntry(Op op, std::string_view name, int arity, unsigned flags, TypeRule typeRule,
                       std::string_view doc, ScalarFormula f, Gradient g, Builtin builtin) {
  return {.op = op,
          .name = name,
          .arity = arity,
          .flags = kElementwise | flags,
          .typeRule = typeRule,
          .doc = doc,
          .scalar = f,
          .grad = g,
          .reference = refElementwise,
          .kernel = KernelKind::Elementwise,
          .builtin = builtin};
}

}  // namespace sinter::ir::ops
