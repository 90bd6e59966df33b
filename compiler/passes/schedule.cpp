#include "compiler/passes/schedule.h"

#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/topological_sort.hpp>
#include <iterator>
#include <set>
#include <stdexcept>

#include "compiler/passes/rewrite.h"

namespace sinter::passes {
namespace {

using ir::NodeId;
using Dag = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS>;

bool isArgument(const ir::Node& n) { return n.op == ir::Op::Input || n.op == ir::Op::Param; }

std::int64_t bytes(const ir::Node& n, std::int64_t symbolValue) {
  std::int64_t b = static_cast<std::int64_t>(ir::dtypeSize(n.type.dtype));
  for (const ir::Dim& d : n.type.shape) b *= d.isSymbolic() ? symbolValue : d.size;
  return b;
}

// Bytes a node occupies in the arena: arguments and results live in the caller's buffers.
std::vector<std::int64_t> temporaryBytes(const ir::Graph& g, std::int64_t symbolValue) {
  std::vector<std::int64_t> out(g.nodes.size(), 0);
  for (const ir::Node& n : g.nodes)
    if (!isArgument(n)) out[static_cast<std::size_t>(n.id)] = bytes(n, symbolValue);
  for (const ir::Result& r : g.results) out[static_cast<std::size_t>(r.node)] = 0;
  return out;
}

// Peak live bytes of an order: a value is live from the step that computes it to its last user.
std::int64_t peakOf(const ir::Graph& g, const std::vector<NodeId>& order, const std::vector<std::int64_t>& size) {
  std::vector<std::size_t> pos(g.nodes.size()), last(g.nodes.size(), 0);
  for (std::size_t i = 0; i < order.size(); ++i) pos[static_cast<std::size_t>(order[i])] = i;
  for (const ir::Node& n : g.nodes) {
    last[static_cast<std::size_t>(n.id)] =
        std::max(last[static_cast<std::size_t>(n.id)], pos[static_cast<std::size_t>(n.id)]);
    for (NodeId o : n.operands)
      last[static_cast<std::size_t>(o)] =
          std::max(last[static_cast<std::size_t>(o)], pos[static_cast<std::size_t>(n.id)]);
  }
  std::vector<std::int64_t> delta(order.size() + 1, 0);
  for (const ir::Node& n : g.nodes) {
    delta[pos[static_cast<std::size_t>(n.id)]] += size[static_cast<std::size_t>(n.id)];
    delta[last[static_cast<std::size_t>(n.id)] + 1] -= size[static_cast<std::size_t>(n.id)];
  }
  std::int64_t live = 0, peak = 0;
  for (std::int64_t d : delta) peak = std::max(peak, live += d);
  return peak;
}

// The greedy list scheduler. Arguments come first in their old order; a constant runs just before
// its first user; among the ready computed nodes, the one with the largest (bytes freed - bytes
// allocated) runs next, ties going to the earlier node. A backward node also waits for the forward
// node it differentiates (the verifier wants it later), though it does not read it.
std::vector<NodeId> greedyOrder(const ir::Graph& g, const Dag& dag, const std::vector<std::int64_t>& size) {
  const std::size_t n = g.nodes.size();
  auto lazy = [&](std::size_t v) { return g.nodes[v].op == ir::Op::Constant && g.nodes[v].gradOf < 0; };
  std::vector<int> pending(n, 0), pendingUsers(n, 0);
  std::vector<std::vector<std::size_t>> waiters(n);  // nodes that must follow v without reading it
  for (std::size_t v = 0; v < n; ++v) {
    pendingUsers[v] = static_cast<int>(boost::out_degree(v, dag));
    for (auto [e, end] = boost::in_edges(v, dag); e != end; ++e)
      if (!lazy(boost::source(*e, dag)) && !isArgument(g.nodes[boost::source(*e, dag)])) ++pending[v];
    const NodeId of = g.nodes[v].gradOf;
    if (of >= 0 && !isArgument(g.node(of)) && !lazy(static_cast<std::size_t>(of))) {
      waiters[static_cast<std::size_t>(of)].push_back(v);
      ++pending[v];
    }
  }
  std::vector<NodeId> order;
  std::vector<bool> done(n, false);
  auto emit = [&](std::size_t v) {
    done[v] = true;
    order.push_back(static_cast<NodeId>(v));
  };
  for (std::size_t v = 0; v < n; ++v)
    if (isArgument(g.nodes[v])) emit(v);
  for (std::size_t v = 0; v < n; ++v)  // constants nothing computed uses
    if (lazy(v) && boost::out_degree(v, dag) == 0) emit(v);
  std::set<std::size_t> ready;
  for (std::size_t v = 0; v < n; ++v)
    if (!done[v] && !lazy(v) && pending[v] == 0) ready.insert(v);
  while (!ready.empty()) {
    std::size_t best = *ready.begin();
    std::int64_t bestScore = INT64_MIN;
    for (std::size_t v : ready) {
      std::int64_t score = -size[v];
      std::set<std::size_t> operands;
      for (auto [e, end] = boost::in_edges(v, dag); e != end; ++e) operands.insert(boost::source(*e, dag));
      for (std::size_t o : operands) {
        int usesHere = 0;
        for (auto [e, end] = boost::out_edges(o, dag); e != end; ++e) usesHere += boost::target(*e, dag) == v;
        if (!done[o]) score -= size[o];  // a constant materialized now
        else if (pendingUsers[o] == usesHere) score += size[o];
      }
      if (score > bestScore) {
        bestScore = score;
        best = v;
      }
    }
    ready.erase(best);
    for (auto [e, end] = boost::in_edges(best, dag); e != end; ++e) {
      const std::size_t o = boost::source(*e, dag);
      if (!done[o]) emit(o);  // a constant, just before its first user
      --pendingUsers[o];
    }
    emit(best);
    for (auto [e, end] = boost::out_edges(best, dag); e != end; ++e)
      if (--pending[boost::target(*e, dag)] == 0) ready.insert(boost::target(*e, dag));
    for (std::size_t w : waiters[best])
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
  Dag dag(g.nodes.size());
  for (const ir::Node& n : g.nodes)
    for (NodeId o : n.operands) boost::add_edge(static_cast<std::size_t>(o), static_cast<std::size_t>(n.id), dag);
  // Boost checks that the dependences form a DAG (it throws not_a_dag otherwise).
  std::vector<std::size_t> topo;
  boost::topological_sort(dag, std::back_inserter(topo));
  const std::vector<std::int64_t> size = temporaryBytes(g, kScheduleSymbolValue);
  std::vector<NodeId> order = greedyOrder(g, dag, size);
  std::vector<NodeId> identity(g.nodes.size());
  for (std::size_t i = 0; i < identity.size(); ++i) identity[i] = static_cast<NodeId>(i);
  if (order == identity || peakOf(g, order, size) >= peakOf(g, identity, size)) return false;
  reorder(g, order);
  return true;
}

}  // namespace sinter::passes
