// Where every value of a graph lives when the graph runs as one generated function. This is the naive
// plan of the thin slice (one buffer per temporary, live for the whole call); liveness-based planning
// in one arena replaces it later without changing the generated function's signature.
#pragma once

#include <string>
#include <vector>

#include "compiler/ir/graph.h"
#include "compiler/ir/node_map.h"

namespace sinter::lower {

struct Slot {
  enum Kind { Argument, Result, Temporary, Unused };
  Kind kind = Unused;
  int buffer = -1;  // Argument and Result: index into the function's buffers array
};

struct Copy {
  int buffer;       // result buffer to fill
  ir::NodeId from;  // node whose value it receives
};

struct BufferPlan {
  std::vector<std::string> symbols;  // symbolic dims, in sym_dims order
  ir::NodeMap<Slot> home;            // per node: where its value is computed
  std::vector<Copy> copies;          // results that share their node with an argument or another result
  int numBuffers = 0;                // arguments (inputs, params) then results
};

// ABI: buffers = inputs..., params..., results...; sym_dims follow `symbols`.
BufferPlan planBuffers(const ir::Graph& g, std::vector<std::string> symbols);

}  // namespace sinter::lower
