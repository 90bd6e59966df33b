// Soundness of a memory plan, for the tests.
#pragma once

#include <catch2/catch.hpp>

#include "compiler/lower/memory_plan.h"

namespace sinter::test {

// Lifetimes [id, lastUse] that overlap must get disjoint byte ranges, unless one overwrites the other
// in place (the reader is the writer, at the reader's last use).
inline void checkNoOverlap(const ir::Graph& g, const lower::MemoryPlan& plan, const lower::Bindings& b) {
  const std::vector<std::int64_t> offsets = plan.slotOffsets(b);
  for (const ir::Node& x : g.nodes) {
    if (!plan.isTemporary(x.id)) continue;
    const std::int64_t xo = offsets[static_cast<std::size_t>(plan.slotOf[x.id])];
    const std::int64_t xs = lower::SymSize::ofType(x.type).eval(b);
    CHECK(xo % lower::kArenaAlignment == 0);
    CHECK(xo + xs <= offsets.back());
    for (const ir::Node& y : g.nodes) {
      if (y.id <= x.id || !plan.isTemporary(y.id)) continue;
      const bool overlapInTime = y.id <= plan.lastUse[x.id];
      if (!overlapInTime || plan.inPlaceOf[y.id] == x.id) continue;
      // A chain of in-place ops hands one buffer down: y may overwrite x's successor in the chain.
      bool chained = false;
      for (ir::NodeId c = plan.inPlaceOf[y.id]; c >= 0;
           c = plan.inPlaceOf[c])
        chained |= c == x.id;
      if (chained) continue;
      const std::int64_t yo = offsets[static_cast<std::size_t>(plan.slotOf[y.id])];
      const std::int64_t ys = lower::SymSize::ofType(y.type).eval(b);
      if (!(xo + xs <= yo || yo + ys <= xo))
        FAIL_CHECK("%" << x.id << " and %" << y.id << " overlap in time and in memory");
    }
  }
}

}  // namespace sinter::test
