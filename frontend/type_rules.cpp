#include "frontend/type_rules.h"

#include <fmt/format.h>

#include <algorithm>

namespace sinter::frontend {

TypeCheck checkElementwise(std::string_view verb, const ir::TensorType& a, const ir::TensorType& b) {
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
    if (t.shape.size() < 2)
      return TypeCheck::fail(fmt::format("matmul needs operands of rank 2 or more, but the {} operand is {} (rank {})",
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
  const std::size_t ra = a.shape.size(), rb = b.shape.size();
  if (!(a.shape[ra - 1] == b.shape[rb - 2]))
    return TypeCheck::fail(fmt::format("cannot matmul {} by {}: inner dimensions {} and {} differ", a.str(), b.str(),
                                       a.shape[ra - 1].str(), b.shape[rb - 2].str()));
  const ir::Shape lead(a.shape.begin(), a.shape.end() - 2), leadB(b.shape.begin(), b.shape.end() - 2);
  auto batch = ir::broadcastShapes(lead, leadB);
  if (!batch)
    return TypeCheck::fail(
        fmt::format("cannot matmul {} by {}: the leading (batch) dimensions do not broadcast", a.str(), b.str()));
  ir::TensorType out{a.dtype, *batch};
  out.shape.push_back(a.shape[ra - 2]);
  out.shape.push_back(b.shape[rb - 1]);
  return TypeCheck::ok(std::move(out));
}

}  // namespace sinter::frontend
