// A naive reference interpreter in f64: the oracle that passes, autodiff and code generation are tested
// against. Clarity over speed; every op is written the obvious way.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"
#include "compiler/ir/tensor.h"

namespace sinter::ir {

// Evaluates every node of g. args maps input and param names to values; symbolic dimensions are
// bound from the arguments' shapes. Returns the value of every node (index = node id). Throws
// std::runtime_error on a missing argument or a shape that disagrees with the graph.
std::vector<Tensor> interpretAll(const Graph& g, const std::map<std::string, Tensor>& args, RunMode mode = {});

// The values of g.results, in order.
std::vector<Tensor> interpret(const Graph& g, const std::map<std::string, Tensor>& args, RunMode mode = {});

}  // namespace sinter::ir
