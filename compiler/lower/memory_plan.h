// Memory planning over a schedule (the graph's node order): every temporary gets a slot in one
// arena, from its liveness; values whose lifetimes do not overlap share a slot. A temporary that an
// elementwise op last reads, with the op's result of the same size, is overwritten in place. Slot
// sizes are polynomials in the symbolic dimensions (1024*batch), so one plan serves every batch size:
// at run time, offset[0] = 0 and offset[k] = alignUp(offset[k-1] + size[k-1], kArenaAlignment).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "compiler/ir/fusion_group.h"
#include "compiler/ir/graph.h"
#include "compiler/ir/node_map.h"

namespace sinter::lower {

inline constexpr std::int64_t kArenaAlignment = 64;  // bytes: one cache line, a full AVX-512 vector

using Bindings = std::map<std::string, std::int64_t>;  // symbol -> value

// A polynomial in the symbolic dimensions with non-negative integer coefficients: a byte count.
struct SymSize {
  std::map<std::vector<std::string>, std::int64_t> terms;  // sorted symbols (empty: the constant) -> coefficient

  static SymSize ofType(const ir::TensorType& t);  // bytes of a tensor of type t
  std::int64_t eval(const Bindings& b) const;      // throws std::runtime_error for an unbound symbol
  SymSize& operator+=(const SymSize& o);
  SymSize max(const SymSize& o) const;      // coefficient-wise: >= both for all symbol values >= 0
  bool dominates(const SymSize& o) const;   // every coefficient >= o's: *this >= o for all values
  SymSize alignedUp(std::int64_t a) const;  // every coefficient rounded up to a multiple of a
  std::string str() const;                  // "65536*batch + 128", "0"
};

struct MemoryPlan {
  // Per node (index = id): its slot in the arena, or -1 for arguments and results (the caller's
  // buffers); and the operand it overwrites in place, or -1.
  ir::NodeMap<int> slotOf;
  ir::NodeMap<ir::NodeId> inPlaceOf;
  ir::NodeMap<int> lastUse;       // per node: position of its last reader (its own position if none)
  std::vector<SymSize> slotSize;  // per slot: at least the size of every value it holds

  bool isTemporary(ir::NodeId id) const { return slotOf[id] >= 0; }
  // Byte offset of every slot, each a multiple of kArenaAlignment, then the arena size (one more entry).
  std::vector<std::int64_t> slotOffsets(const Bindings& b) const;
  std::int64_t arenaBytes(const Bindings& b) const { return slotOffsets(b).back(); }
  std::int64_t offset(ir::NodeId id, const Bindings& b) const {
    return slotOffsets(b)[static_cast<std::size_t>(slotOf[id])];
  }
};

// Plans the arena for g run in node order, each fused group of `kernels` (the kernel program's, or any
// groups) as one step at the position of its first member: every member is written from there on, every
// operand of a member is read until the last, and members that are not stored never reach memory. Slots are
// shared by values whose lifetimes do not overlap; when choosing among free slots the planner compares sizes
// at `reference` (the usual batch size).
MemoryPlan planMemory(const ir::Graph& g, const Bindings& reference, const std::vector<ir::FusionGroup>& kernels = {});

// Figures for a plan at one binding.
struct MemoryStats {
  int temporaries = 0, slots = 0, inPlace = 0;
  std::int64_t naiveBytes = 0;     // one buffer per temporary: the sum of their sizes
  std::int64_t peakLiveBytes = 0;  // most bytes of temporaries live at one step: a lower bound
  std::int64_t arenaBytes = 0;     // the planned arena
};
MemoryStats memoryStats(const ir::Graph& g, const MemoryPlan& plan, const Bindings& b);

// A readable report: the figures, the slots, and where every temporary lives and when.
std::string memoryReport(const ir::Graph& g, const MemoryPlan& plan, const Bindings& b);

}  // namespace sinter::lower
