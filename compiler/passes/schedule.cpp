#include "compiler/passes/schedule.h"

#include <algorithm>
#include <boost/graph/topological_sort.hpp>
#include <iterator>
#include <set>
#include <stdexcept>

#include "compiler/ir/boost_graph.h"
#include "compiler/ir/node_map.h"
#include "compiler/passes/rewrite.h"

namespace sinter::passes {
namespace {

using ir::NodeId;

bool isArgument(const ir::Node& n) { return n.op == ir::Op::Input || n.op == ir::Op::Param; }

std::int64_t bytes(const ir::Node& n, std::int64_t symbolValue) {
  std::int64_t b = static_cast<std::int64_t>(ir::dtypeSize(n.type.dtype));
  for (const ir::Dim& d : n.type.shape) b *= d.isSymbolic() ? symbolValue : d.size;
  return b;
}

// Bytes a node occupies in the arena: arguments and results live in the caller's buffers.
ir::NodeMap<std::int64_t> temporaryBytes(const ir::Graph& g, std::int64_t symbolValue) {
  ir::NodeMap<std::int64_t> out(g, 0);
  for (const ir::Node& n : g.nodes)
    if (!isArgument(n)) out[n.id] = bytes(n, symbolValue);
  for (const ir::Result& r : g.results) out[r.node] = 0;
  return out;
}

// Peak live bytes of an order: a value is live from the step that computes it to its last user.
std::int64_t peakOf(const ir::Graph& g, const std::vector<NodeId>& order, const ir::NodeMap<std::int64_t>& size) {
  ir::NodeMap<std::size_t> pos(g), last(g, 0);
  for (std::size_t i = 0; i < order.size(); ++i) pos[order[i]] = i;
  for (const ir::Node& n : g.nodes) {
    last[n.id] =
        std::max(last[n.id], pos[n.id]);
    for (NodeId o : n.operands)
      last[o] =
          std::max(last[o], pos[n.id]);
  }
  std::vector<std::int64_t> delta(order.size() + 1, 0);
  for (const ir::Node& n : g.nodes) {
    delta[pos[n.id]] += size[n.id];
    delta[last[n.id] + 1] -= size[n.id];
  }
  std::int64_t live = 0, peak = 0;
  for (std::int64_t d : delta) peak = std::max(peak, live += d);
  return peak;
}

// The greedy list scheduler. Arguments come first in their old order; a constant runs just before
// its first user; among the ready computed nodes, the one with the largest (bytes freed - bytes
// allocated) runs next, ties going to the earlier node. A backward node also waits for the forward
// node it differentiates (the verifier wants it later), though it does not read it.
std::vector<NodeId> greedyOrder(const ir::Graph& g, const ir::NodeMap<std::int64_t>& size) {
  const ir::NodeMap<std::vector<NodeId>> usersOf = users(g);
  const std::size_t n = g.nodes.size();
  auto lazy = [&](NodeId v) { return g.node(v).op == ir::Op::Constant && g.node(v).gradOf < 0; };
  ir::NodeMap<int> pending(n, 0), pendingUsers(n, 0);
  ir::NodeMap<std::vector<NodeId>> waiters(n);  // nodes that must follow v without reading it
  for (const ir::Node& node : g.nodes) {
    const NodeId v = node.id;
    pendingUsers[v] = static_cast<int>(usersOf[v].size());
    for (NodeId o : node.operands)
      if (!lazy(o) && !isArgument(g.node(o))) ++pending[v];
    const NodeId of = node.gradOf;
    if (of >= 0 && !isArgument(g.node(of)) && !lazy(of)) {
      waiters[of].push_back(v);
      ++pending[v];
    }
  }
  std::vector<NodeId> order;
  ir::NodeMap<bool> done(n, false);
  auto emit = [&](NodeId v) {
    done[v] = true;
    order.push_back(v);
  };
  for (const ir::Node& node : g.nodes)
    if (isArgument(node)) emit(node.id);
  for (const ir::Node& node : g.nodes)  // constants nothing computed uses
    if (lazy(node.id) && usersOf[node.id].empty()) emit(node.id);
  std::set<NodeId> ready;
  for (const ir::Node& node : g.nodes)
    if (!done[node.id] && !lazy(node.id) && pending[node.id] == 0) ready.insert(node.id);
  while (!ready.empty()) {
    NodeId best = *ready.begin();
    std::int64_t bestScore = INT64_MIN;
    for (NodeId v : ready) {
      std::int64_t score = -size[v];
      const std::set<NodeId> operands(g.node(v).operands.begin(), g.node(v).operands.end());
      for (NodeId o : operands) {
        const auto usesHere = std::count(usersOf[o].begin(), usersOf[o].end(), v);
        if (!done[o]) score -= size[o];  // a constant materialized now
        else if (pendingUsers[o] == usesHere) score += size[o];
      }
      if (score > bestScore) {
        bestScore = score;
        best = v;
      }
    }
    ready.erase(best);
    for (NodeId o : g.node(best).operands) {
      if (!done[o]) emit(o);  // a constant, just before its first user
      --pendingUsers[o];
    }
    emit(best);
    for (NodeId u : usersOf[best])
      if (--pending[u] == 0) ready.insert(u);
    for (NodeId w : waiters[best])
      if (--pending[w] == 0) ready.insert(w);
  }
  if (order.size() != n) throw std::logic_error("schedule: the graph has a cycle or an unreachable node");
  return order;
}

}  // namespace

std::int64_t peakLiveBytes(const ir::Graph& g, std::int64_t symbolValue) {
  std::vector<NodeId> order(g.nodes.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<NodeId>(i);
  return peakOf(g, order, temporaryBytes(g, symbolValue));
}

bool scheduleForMemory(ir::Graph& g) {
  // Boost's topological sort, run on the IR graph itself (compiler/ir/boost_graph.h), checks that the
  // dependences form a DAG: it throws not_a_dag otherwise.
  std::vector<NodeId> topo;
  std::vector<boost::default_color_type> colors(g.nodes.size());
  boost::topological_sort(g, std::back_inserter(topo), boost::color_map(ir::nodePropertyMap(colors)));
  const ir::NodeMap<std::int64_t> size = temporaryBytes(g, kScheduleSymbolValue);
  std::vector<NodeId> order = greedyOrder(g, size);
  std::vector<NodeId> identity(g.nodes.size());
  for (std::size_t i = 0; i < identity.size(); ++i) identity[i] = static_cast<NodeId>(i);
  if (order == identity || peakOf(g, order, size) >= peakOf(g, identity, size)) return false;
  ir::reorderNodes(g, order);
  return true;
}

}  // namespace sinter::passes
