// A naive reference interpreter in f64: the oracle that passes, autodiff and code generation are tested
// against. Clarity over speed; every op is written the obvious way.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"

namespace sinter::ir {

struct Tensor {
  std::vector<std::int64_t> shape;
  std::vector<double> data;  // row-major; integer tensors hold whole numbers

  static Tensor zeros(std::vector<std::int64_t> shape);
  std::int64_t numel() const;
};

// How random ops behave: dropout drops only while training, with masks drawn from `seed` (the value the
// training driver passes a train step in sym_dims[num_syms]).
struct RunMode {
  bool training = true;
  std::uint64_t seed = 0;
};

// Evaluates every node of g. args maps input and param names to values; symbolic dimensions are
// bound from the arguments' shapes. Returns the value of every node (index = node id). Throws
// std::runtime_error on a missing argument or a shape that disagrees with the graph.
std::vector<Tensor> interpretAll(const Graph& g, const std::map<std::string, Tensor>& args, RunMode mode = {});

// The values of g.results, in order.
std::vector<Tensor> interpret(const Graph& g, const std::map<std::string, Tensor>& args, RunMode mode = {});

}  // namespace sinter::ir
