// A value per node of a graph, indexed by NodeId: the side tables that passes, planners and emitters keep
// beside a graph (users, liveness, arena slots, adjoints), without a cast at every use.
#pragma once

#include <cstddef>
#include <vector>

#include "compiler/ir/graph.h"

namespace sinter::ir {

template <class T>
class NodeMap {
 public:
  NodeMap() = default;
  // One value per node of g (or per id below n), each `init`.
  explicit NodeMap(const Graph& g, const T& init = T{}) : values_(g.nodes.size(), init) {}
  explicit NodeMap(std::size_t n, const T& init = T{}) : values_(n, init) {}

  typename std::vector<T>::reference operator[](NodeId id) { return values_[index(id)]; }
  typename std::vector<T>::const_reference operator[](NodeId id) const { return values_[index(id)]; }
  std::size_t size() const { return values_.size(); }
  void assign(std::size_t n, const T& init) { values_.assign(n, init); }
  void fill(const T& v) { values_.assign(values_.size(), v); }
  // For a graph that grows while the map is in use (autodiff appends backward nodes).
  void resize(std::size_t n, const T& init = T{}) { values_.resize(n, init); }
  auto begin() const { return values_.begin(); }
  auto end() const { return values_.end(); }

 private:
  static std::size_t index(NodeId id) { return static_cast<std::size_t>(id); }
  std::vector<T> values_;
};

}  // namespace sinter::ir
