#include "compiler/lower/memory_plan.h"

#include <fmt/format.h>
#include <algorithm>
#include <stdexcept>

#include "compiler/ir/scan.h"

namespace sinter::lower {

// ---- SymSize ------------------------------------------------------------------------------------

SymSize SymSize::ofType(const ir::TensorType& t) {
  std::vector<std::string> syms;
  std::int64_t c = static_cast<std::int64_t>(ir::dtypeSize(t.dtype));
  for (const ir::Dim& d : t.shape) {
    if (d.isSymbolic()) syms.push_back(d.symbol);
    else c *= d.size;
  }
  std::sort(syms.begin(), syms.end());
  SymSize s;
  s.terms[syms] = c;
  return s;
}

std::int64_t SymSize::eval(const Bindings& b) const {
  std::int64_t total = 0;
  for (const auto& [syms, c] : terms) {
    std::int64_t v = c;
    for (const std::string& s : syms) {
      auto it = b.find(s);
      if (it == b.end())
        throw std::runtime_error(fmt::format("no value for the symbolic dimension '{}' (use --bind {}=N)", s, s));
      v *= it->second;
    }
    total += v;
  }
  return total;
}

SymSize& SymSize::operator+=(const SymSize& o) {
  for (const auto& [syms, c] : o.terms) terms[syms] += c;
  return *this;
}

SymSize SymSize::max(const SymSize& o) const {
  SymSize r = *this;
  for (const auto& [syms, c] : o.terms) r.terms[syms] = std::max(r.terms[syms], c);
  return r;
}

bool SymSize::dominates(const SymSize& o) const {
  for (const auto& [syms, c] : o.terms) {
    auto it = terms.find(syms);
    if (c > (it == terms.end() ? 0 : it->second)) return false;
  }
  return true;
}

SymSize SymSize::alignedUp(std::int64_t a) const {
  SymSize r;
  for (const auto& [syms, c] : terms)
    if (c) r.terms[syms] = (c + a - 1) / a * a;
  return r;
}

std::string SymSize::str() const {
  std::string out;
  // Highest degree first: "65536*batch + 128".
  for (auto it = terms.rbegin(); it != terms.rend(); ++it) {
    if (!it->second) continue;
    if (!out.empty()) out += " + ";
    out += std::to_string(it->second);
    for (const std::string& s : it->first) out += "*" + s;
  }
  return out.empty() ? "0" : out;
}

// ---- planning -----------------------------------------------------------------------------------

namespace {

bool isArgument(const ir::Node& n) { return n.op == ir::Op::Input || n.op == ir::Op::Param; }

// A loop's per-step values stacked over its steps (a saving loop's saved carries among them): sized by the
// trip count, so the report names them.
bool isStacked(const ir::Node& n) {
  if (n.op != ir::Op::Scan) return false;
  const ir::ScanShape s = ir::ScanShape::of(n);
  return s.result >= s.carries;
}

}  // namespace

MemoryPlan planMemory(const ir::Graph& g, const Bindings& reference, const std::vector<ir::FusionGroup>& kernels) {
  const std::size_t n = g.nodes.size();
  MemoryPlan plan;
  plan.slotOf.assign(n, -1);
  plan.inPlaceOf.assign(n, -1);
  plan.lastUse.assign(n, 0);
  // A node runs over [start, end]: its own position, or its fused kernel's first to last member.
  ir::NodeMap<int> start(n), end(n), readers(n, 0);
  ir::NodeMap<bool> temporary(n, true), fused(n, false);
  for (const ir::Node& node : g.nodes) start[node.id] = end[node.id] = node.id;
  for (const ir::FusionGroup& k : kernels) {
    if (!k.fused()) continue;  // a node alone runs at its own position
    for (ir::NodeId id : k.nodes) {
      start[id] = k.nodes.front();
      end[id] = k.nodes.back();
      fused[id] = true;
      if (!k.stores(id))
        temporary[id] = false;  // lives in registers only
    }
  }
  for (const ir::Node& node : g.nodes) {
    plan.lastUse[node.id] = end[node.id];
    if (isArgument(node)) temporary[node.id] = false;
    for (ir::NodeId o : node.operands) {
      plan.lastUse[o] = std::max(plan.lastUse[o], end[node.id]);
      ++readers[o];
    }
  }
  for (const ir::Result& r : g.results) temporary[r.node] = false;

  std::vector<int> busyUntil;  // per slot: last use of the value it holds
  for (const ir::Node& node : g.nodes) {
    const ir::NodeId id = node.id;
    if (!temporary[id]) continue;
    const SymSize size = SymSize::ofType(node.type);
    // In place: an elementwise op may write over an operand of its own size that it reads last. In a
    // fused kernel the operand must have no other reader: the kernel's other members (a GEMM on other
    // threads among them) read it while this one writes.
    if (opDef(node.op).flags & ir::kElementwise) {
      for (ir::NodeId o : node.operands) {
        const ir::NodeId oi = o;
        const bool lastReader =
            fused[id] ? readers[oi] == 1 && plan.lastUse[oi] == end[id] : plan.lastUse[oi] == node.id;
        if (temporary[oi] && lastReader && g.node(o).type.shape == node.type.shape &&
            ir::dtypeSize(g.node(o).type.dtype) == ir::dtypeSize(node.type.dtype)) {
          plan.inPlaceOf[id] = o;
          plan.slotOf[id] = plan.slotOf[oi];
          busyUntil[static_cast<std::size_t>(plan.slotOf[id])] = plan.lastUse[id];
          break;
        }
      }
      if (plan.inPlaceOf[id] >= 0) continue;
    }
    // Otherwise a free slot: the smallest that holds it for every value of the symbols, else the
    // biggest it holds (that slot grows to its size); slots of unrelated shapes are not mixed, since
    // their coefficient-wise maximum would be the sum.
    int fit = -1, grow = -1;
    for (std::size_t s = 0; s < busyUntil.size(); ++s) {
      if (busyUntil[s] >= start[id]) continue;  // still read by this node (its kernel) or later
      const std::int64_t have = plan.slotSize[s].eval(reference);
      if (plan.slotSize[s].dominates(size)) {
        if (fit < 0 || have < plan.slotSize[static_cast<std::size_t>(fit)].eval(reference)) fit = static_cast<int>(s);
      } else if (size.dominates(plan.slotSize[s])) {
        if (grow < 0 || have > plan.slotSize[static_cast<std::size_t>(grow)].eval(reference))
          grow = static_cast<int>(s);
      }
    }
    int best = fit >= 0 ? fit : grow;
    if (best < 0) {
      best = static_cast<int>(busyUntil.size());
      busyUntil.push_back(-1);
      plan.slotSize.emplace_back();
    }
    const std::size_t s = static_cast<std::size_t>(best);
    plan.slotSize[s] = plan.slotSize[s].max(size);
    busyUntil[s] = plan.lastUse[id];
    plan.slotOf[id] = best;
  }
  return plan;
}

std::vector<std::int64_t> MemoryPlan::slotOffsets(const Bindings& b) const {
  std::vector<std::int64_t> out = {0};
  for (const SymSize& s : slotSize)
    out.push_back((out.back() + s.eval(b) + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment);
  return out;
}

MemoryStats memoryStats(const ir::Graph& g, const MemoryPlan& plan, const Bindings& b) {
  MemoryStats st;
  st.slots = static_cast<int>(plan.slotSize.size());
  st.arenaBytes = plan.arenaBytes(b);
  std::vector<std::int64_t> delta(g.nodes.size() + 1, 0);
  for (const ir::Node& n : g.nodes) {
    if (!plan.isTemporary(n.id)) continue;
    const std::int64_t bytes = SymSize::ofType(n.type).eval(b);
    ++st.temporaries;
    st.inPlace += plan.inPlaceOf[n.id] >= 0;
    st.naiveBytes += bytes;
    // A value overwritten in place shares its bytes with its successor.
    delta[static_cast<std::size_t>(n.id)] += plan.inPlaceOf[n.id] >= 0 ? 0 : bytes;
    bool overwritten = false;
    for (const ir::Node& u : g.nodes)
      if (plan.inPlaceOf[u.id] == n.id) overwritten = true;
    if (!overwritten) delta[static_cast<std::size_t>(plan.lastUse[n.id]) + 1] -= bytes;
  }
  // In-place chains hand their bytes down: the last value of a chain releases them.
  std::int64_t live = 0;
  for (std::int64_t d : delta) st.peakLiveBytes = std::max(st.peakLiveBytes, live += d);
  return st;
}

std::string memoryReport(const ir::Graph& g, const MemoryPlan& plan, const Bindings& b) {
  const MemoryStats st = memoryStats(g, plan, b);
  std::string binding;
  for (const auto& [k, v] : b) binding += fmt::format("{}{}={}", binding.empty() ? "" : ", ", k, v);
  auto kib = [](std::int64_t x) { return fmt::format("{:.1f} KiB", static_cast<double>(x) / 1024); };
  std::string out = fmt::format("memory plan for @{}{}\n", g.name, binding.empty() ? "" : " at " + binding);
  out += fmt::format("  temporaries     {:>4}   naive sum {:>12} bytes ({})\n", st.temporaries, st.naiveBytes,
                     kib(st.naiveBytes));
  out += fmt::format("  peak live               {:>12} bytes ({})\n", st.peakLiveBytes, kib(st.peakLiveBytes));
  const double saved =
      st.naiveBytes ? 100.0 * static_cast<double>(st.naiveBytes - st.arenaBytes) / static_cast<double>(st.naiveBytes)
                    : 0;
  out += fmt::format("  arena slots     {:>4}   planned   {:>12} bytes ({}), {:.1f}% below the naive sum\n", st.slots,
                     st.arenaBytes, kib(st.arenaBytes), saved);
  out += fmt::format("  in place        {:>4}   elementwise ops overwrite an operand they read last\n", st.inPlace);
  int stacked = 0;
  std::int64_t stackedBytes = 0;
  for (const ir::Node& n : g.nodes)
    if (plan.isTemporary(n.id) && isStacked(n)) {
      ++stacked;
      stackedBytes += SymSize::ofType(n.type).eval(b);
    }
  if (stacked)
    out += fmt::format("  stacked         {:>4}   loop results, every step kept: {} bytes ({})\n", stacked,
                       stackedBytes, kib(stackedBytes));
  out += fmt::format("  slots start at {}-byte boundaries: offset[k] = alignUp(offset[k-1] + size[k-1], {})\n",
                     kArenaAlignment, kArenaAlignment);
  out += "  slot        offset          size  size in symbols\n";
  const std::vector<std::int64_t> offsets = plan.slotOffsets(b);
  for (std::size_t s = 0; s < plan.slotSize.size(); ++s)
    out +=
        fmt::format("  {:>4}  {:>12}  {:>12}  {}\n", s, offsets[s], plan.slotSize[s].eval(b), plan.slotSize[s].str());
  out += "  value  op                     type               slot  live      bytes\n";
  for (const ir::Node& n : g.nodes) {
    if (!plan.isTemporary(n.id)) continue;
    const ir::NodeId ip = plan.inPlaceOf[n.id];
    out += fmt::format("  %{:<5} {:<22} {:<18} {:>4}  {:>3}..{:<3} {:>8}{}{}\n", n.id, ir::opName(n.op), n.type.str(),
                       plan.slotOf[n.id], n.id, plan.lastUse[n.id], SymSize::ofType(n.type).eval(b),
                       ip >= 0 ? fmt::format("  in place of %{}", ip) : "",
                       isStacked(n) ? fmt::format("  stacked: {}", SymSize::ofType(n.type).str()) : "");
  }
  return out;
}

}  // namespace sinter::lower
