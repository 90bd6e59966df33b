#include "compiler/codegen/reduction_axes.h"

namespace sinter::codegen {

std::optional<std::size_t> ReductionAxes::split() const {
  for (std::size_t a = 0; a < kept.size(); ++a)
    if (kept[a].isSymbolic() || kept[a].size > 1) return a;
  return std::nullopt;
}

ReductionAxes reductionAxes(const ir::Node& n, const ir::Node& x) {
  ir::Shape kept = n.type.shape;  // sum_to: already broadcast-compatible
  if (n.op != ir::Op::SumTo) {
    kept = x.type.shape;
    for (std::int64_t a : n.attrs.getInts("axes")) kept[static_cast<std::size_t>(a)] = ir::Dim::fixed(1);
  }
  // A bias gradient's sum over the 28 x 28 positions of a channel is one loop of 784, which vectorizes
  // whole, not 28 loops of 28. (kept may have fewer axes than x, as sum_to's result does: its leading axes
  // are reduced.)
  const ir::Shape& shape = x.type.shape;
  const std::size_t lead = shape.size() - kept.size();
  auto keptAt = [&](std::size_t a) { return a < lead ? ir::Dim::fixed(1) : kept[a - lead]; };
  auto reduced = [&](std::size_t a) {
    const ir::Dim k = keptAt(a);
    return !k.isSymbolic() && k.size == 1 && (shape[a].isSymbolic() || shape[a].size != 1);
  };
  ReductionAxes r;
  for (std::size_t a = 0; a < shape.size(); ++a) {
    if (a > 0 && !shape[a].isSymbolic() && !shape[a - 1].isSymbolic() && reduced(a) == reduced(a - 1)) {
      r.x.back() = ir::Dim::fixed(r.x.back().size * shape[a].size);
      if (!reduced(a)) r.kept.back() = ir::Dim::fixed(r.kept.back().size * keptAt(a).size);
      continue;
    }
    r.x.push_back(shape[a]);
    r.kept.push_back(keptAt(a));
  }
  return r;
}

std::optional<std::size_t> reductionSplit(const ir::Node& n, const ir::Node& x) {
  if (n.op == ir::Op::ArgMax || n.op == ir::Op::Count) return std::nullopt;
  return reductionAxes(n, x).split();
}

}  // namespace sinter::codegen
