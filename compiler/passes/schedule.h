#pragma once
#include <cstdint>

#include "compiler/ir/graph.h"

namespace sinter::passes {

// Memory-aware scheduling: reorders the nodes (keeping operands first) so that fewer bytes of
// temporaries are live at once, with a greedy list scheduler over the Boost.Graph dependence graph
// that runs next whichever ready node frees the most bytes. Symbolic dimensions count as
// kScheduleSymbolValue. Keeps the old order unless the new one has a lower peak. Returns true when it
// reordered the graph.
bool scheduleForMemory(ir::Graph& g);

inline constexpr std::int64_t kScheduleSymbolValue = 64;

// Peak bytes of temporaries (values that are neither arguments nor results) live at once when the
// nodes run in id order, with symbolic dimensions valued at `symbolValue`.
std::int64_t peakLiveBytes(const ir::Graph& g, std::int64_t symbolValue = kScheduleSymbolValue);

}  // namespace sinter::passes
