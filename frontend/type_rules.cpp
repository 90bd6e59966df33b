#include "frontend/type_rules.h"

#include <fmt/format.h>

#include <algorithm>

namespace sinter::frontend {

TypeCheck checkElementwise(ast::BinaryOp op, const ir::TensorType& a, const ir::TensorType& b) {
  const std::string_view verb = op == ast::BinaryOp::Add ? "add" : "multiply";
  if (a.dtype != b.dtype)
    return TypeCheck::fail(fmt::format("cannot {} {} and {}: their dtypes differ ({} vs {})", verb, a.str(), b.str(),
                                       ir::dtypeName(a.dtype), ir::dtypeName(b.dtype)));
  if (auto shape = ir::broadcastShapes(a.shape, b.shape)) return TypeCheck::ok({a.dtype, *shape});
  // Name the first disagreeing dimension from the right, as an axis of the broadcast result.
  const std::size_t rank = std::max(a.shape.size(), b.shape.size());
  for (std::size_t i = 0; i < std::min(a.shape.size(), b.shape.size()); ++i) {
    const ir::Dim& da = a.shape[a.shape.size() - 1 - i];
    const ir::Dim& db = b.shape[b.shape.size() - 1 - i];
    if (ir::broadcastShapes({da}, {db})) continue;
    return TypeCheck::fail(fmt::format("cannot {} {} and {}: dimension {} is {} vs {}", verb, a.str(), b.str(),
                                       rank - 1 - i, da.str(), db.str()));
  }
  return TypeCheck::fail(fmt::format("cannot {} {} and {}: the shapes do not broadcast", verb, a.str(), b.str()));
}

TypeCheck checkMatMul(const ir::TensorType& a, const ir::TensorType& b) {
  for (int i = 0; i < 2; ++i) {
    const ir::TensorType& t = i == 0 ? a : b;
    if (t.shape.size() != 2)
      return TypeCheck::fail(fmt::format("matmul needs rank-2 operands, but the {} operand is {} (rank {})",
                                         i == 0 ? "left" : "right", t.str(), t.shape.size()),
                             i);
    if (!ir::isFloat(t.dtype))
      return TypeCheck::fail(fmt::format("matmul needs floating-point operands, but the {} operand is {}",
                                         i == 0 ? "left" : "right", t.str()),
                             i);
  }
  if (a.dtype != b.dtype)
    return TypeCheck::fail(fmt::format("cannot matmul {} by {}: their dtypes differ ({} vs {})", a.str(), b.str(),
                                       ir::dtypeName(a.dtype), ir::dtypeName(b.dtype)));
  if (!(a.shape[1] == b.shape[0]))
    return TypeCheck::fail(fmt::format("cannot matmul {} by {}: inner dimensions {} and {} differ", a.str(), b.str(),
                                       a.shape[1].str(), b.shape[0].str()));
  return TypeCheck::ok({a.dtype, {a.shape[0], b.shape[1]}});
}

TypeCheck checkRelu(const Types& args) {
  if (!ir::isFloat(args[0].dtype))
    return TypeCheck::fail(fmt::format("relu needs a floating-point tensor, got {}", args[0].str()), 0);
  return TypeCheck::ok(args[0]);
}

TypeCheck checkSoftmax(const Types& args) {
  if (!ir::isFloat(args[0].dtype))
    return TypeCheck::fail(fmt::format("softmax needs a floating-point tensor, got {}", args[0].str()), 0);
  if (args[0].shape.empty())
    return TypeCheck::fail(
        fmt::format("softmax normalizes the last axis, so it needs rank 1 or more, got {}", args[0].str()), 0);
  return TypeCheck::ok(args[0]);
}

TypeCheck checkCrossEntropy(const Types& args) {
  const ir::TensorType& logits = args[0];
  const ir::TensorType& labels = args[1];
  if (logits.shape.size() != 2 || !ir::isFloat(logits.dtype))
    return TypeCheck::fail(
        fmt::format("cross_entropy needs floating-point logits of shape [N, C], got {}", logits.str()), 0);
  if (labels.dtype != ir::DType::I32 || labels.shape.size() != 1)
    return TypeCheck::fail(fmt::format("cross_entropy needs integer class labels i32[N], got {}", labels.str()), 1);
  if (!(logits.shape[0] == labels.shape[0]))
    return TypeCheck::fail(fmt::format("cross_entropy's logits {} and labels {} disagree on N ({} vs {})", logits.str(),
                                       labels.str(), logits.shape[0].str(), labels.shape[0].str()));
  return TypeCheck::ok({logits.dtype, {}});
}

}  // namespace sinter::frontend
