#include "compiler/ir/grad_builder.h"

#include <numeric>

namespace sinter::ir {

NodeId GradBuilder::sumTo(NodeId v, NodeId operand) {
  if (type(v) == type(operand)) return v;
  return emit(Op::SumTo, {v}, {}, type(operand));
}

NodeId GradBuilder::broadcastTo(NodeId v, const TensorType& t) {
  return type(v) == t ? v : emit(Op::Broadcast, {v}, {}, t);
}

NodeId GradBuilder::keepDims(NodeId v) {
  if (attrs().getInt("keepdims")) return v;
  TensorType kept = type(x(0));
  for (std::int64_t a : attrs().getInts("axes")) kept.shape[static_cast<std::size_t>(a)] = Dim::fixed(1);
  return emit(Op::Reshape, {v}, {}, kept);
}

NodeId GradBuilder::count(NodeId v, std::vector<std::int64_t> axes) {
  return emit(Op::Count, {v}, Attrs::of({{"axes", std::move(axes)}}));
}

NodeId GradBuilder::countAll(NodeId v) {
  std::vector<std::int64_t> axes(type(v).shape.size());
  std::iota(axes.begin(), axes.end(), 0);
  return count(v, std::move(axes));
}

}  // namespace sinter::ir
