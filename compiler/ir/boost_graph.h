// The Graph IR as a Boost.Graph graph, without a copy: vertices are node ids, and each node has an out-edge
// to every operand it reads (its dependences). Boost's algorithms (topological_sort, depth_first_search,
// ...) then run on the IR itself; an order they produce lists operands before their users.
#pragma once

#include <boost/graph/graph_traits.hpp>
#include <boost/iterator/counting_iterator.hpp>
#include <boost/iterator/transform_iterator.hpp>
#include <boost/property_map/property_map.hpp>

#include "compiler/ir/graph.h"

namespace sinter::ir {

// Node `user` reads node `operand` as its operand number `index` (a node reading a value twice has two).
struct OperandEdge {
  NodeId user = -1;
  std::size_t index = 0;
  NodeId operand = -1;
  bool operator==(const OperandEdge& o) const { return user == o.user && index == o.index; }
};

// The i-th operand edge of a node.
struct OperandEdgeOf {
  const Graph* graph = nullptr;
  NodeId user = -1;
  OperandEdge operator()(std::size_t i) const { return {user, i, graph->node(user).operands[i]}; }
};

}  // namespace sinter::ir

namespace boost {

template <>
struct graph_traits<sinter::ir::Graph> {
  using vertex_descriptor = sinter::ir::NodeId;
  using edge_descriptor = sinter::ir::OperandEdge;
  using directed_category = directed_tag;
  using edge_parallel_category = allow_parallel_edge_tag;
  struct traversal_category : incidence_graph_tag, vertex_list_graph_tag {};
  using vertex_iterator = counting_iterator<sinter::ir::NodeId>;
  using out_edge_iterator = transform_iterator<sinter::ir::OperandEdgeOf, counting_iterator<std::size_t>>;
  using vertices_size_type = std::size_t;
  using edges_size_type = std::size_t;
  using degree_size_type = std::size_t;
  static vertex_descriptor null_vertex() { return -1; }
};

}  // namespace boost

namespace sinter::ir {

// Boost.Graph's free functions, found by argument-dependent lookup.
using GraphTraits = boost::graph_traits<Graph>;

inline std::pair<GraphTraits::vertex_iterator, GraphTraits::vertex_iterator> vertices(const Graph& g) {
  return {GraphTraits::vertex_iterator(0), GraphTraits::vertex_iterator(static_cast<NodeId>(g.nodes.size()))};
}
inline std::size_t num_vertices(const Graph& g) { return g.nodes.size(); }
inline std::pair<GraphTraits::out_edge_iterator, GraphTraits::out_edge_iterator> out_edges(NodeId v, const Graph& g) {
  const OperandEdgeOf edge{&g, v};
  const std::size_t n = g.node(v).operands.size();
  return {GraphTraits::out_edge_iterator(boost::counting_iterator<std::size_t>(0), edge),
          GraphTraits::out_edge_iterator(boost::counting_iterator<std::size_t>(n), edge)};
}
inline std::size_t out_degree(NodeId v, const Graph& g) { return g.node(v).operands.size(); }
inline NodeId source(const OperandEdge& e, const Graph&) { return e.user; }
inline NodeId target(const OperandEdge& e, const Graph&) { return e.operand; }

// A property map over vertices that Boost's algorithms can write (a DFS color, a component), backed by a
// vector indexed by node id.
template <class T>
auto nodePropertyMap(std::vector<T>& values) {
  return boost::make_iterator_property_map(values.begin(), boost::typed_identity_property_map<NodeId>());
}

}  // namespace sinter::ir
