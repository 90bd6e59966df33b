#include "compiler/passes/cse.h"

#include <algorithm>
#include <bit>
#include <functional>
#include <unordered_map>

#include "compiler/passes/rewrite.h"

namespace sinter::passes {
namespace {

std::size_t mix(std::size_t h, std::size_t v) { return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)); }

// a+b == b+a: the operands of commutative ops compare as a sorted pair.
bool commutative(ir::Op op) {
  return op == ir::Op::Add || op == ir::Op::Mul || op == ir::Op::Maximum || op == ir::Op::Minimum;
}

std::vector<ir::NodeId> operandKey(const ir::Node& n) {
  std::vector<ir::NodeId> ops = n.operands;
  if (commutative(n.op)) std::sort(ops.begin(), ops.end());
  return ops;
}

std::size_t hashNode(const ir::Node& n) {
  std::size_t h = std::hash<int>()(static_cast<int>(n.op));
  for (ir::NodeId o : operandKey(n)) h = mix(h, std::hash<int>()(o));
  h = mix(h, std::hash<std::string>()(n.attrs.str()));
  h = mix(h, std::hash<std::string>()(n.type.str()));
  return mix(h, std::hash<std::uint64_t>()(std::bit_cast<std::uint64_t>(n.scalar)));
}

// Same value for sure: inputs and params are distinct by definition, so only computed nodes and
// constants compare; constants compare bit for bit (so 0 and -0 stay apart).
bool sameValue(const ir::Node& a, const ir::Node& b) {
  return a.op == b.op && operandKey(a) == operandKey(b) && a.attrs == b.attrs && a.type == b.type && a.body == b.body &&
         std::bit_cast<std::uint64_t>(a.scalar) == std::bit_cast<std::uint64_t>(b.scalar);
}

}  // namespace

bool eliminateCommonSubexpressions(ir::Graph& g) {
  std::unordered_multimap<std::size_t, ir::NodeId> seen;
  bool changed = false;
  // Operands are visited first and replaced in their users as we go, so duplicates of duplicates
  // are found in the same sweep.
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    if (n.op == ir::Op::Input || n.op == ir::Op::Param || opDef(n.op).flags & ir::kStochastic) continue;
    const std::size_t h = hashNode(n);
    auto [b, e] = seen.equal_range(h);
    auto same = std::find_if(b, e, [&](const auto& kv) { return sameValue(g.node(kv.second), n); });
    if (same == e) {
      seen.emplace(h, n.id);
      continue;
    }
    changed |= replaceAllUses(g, n.id, same->second);
  }
  return changed;
}

}  // namespace sinter::passes
