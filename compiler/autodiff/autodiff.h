// Reverse-mode differentiation on the Graph IR. The gradient graph is ordinary IR: it is printed,
// verified and compiled like the forward graph.
#pragma once

#include <string>

#include "compiler/ir/graph.h"

namespace sinter::autodiff {

struct GradOptions {
  // A loop's gradient stores only the carries entering each step and recomputes the step's other values in
  // the reverse loop, instead of also storing the values its derivative reads (docs/autodiff.md, "Loops").
  bool recomputeLoops = false;
};

// Returns the training step of `forward`: its nodes, followed by the backward nodes that compute the
// gradient of the scalar result named `lossName` with respect to every param. Results: the loss
// (Result::Loss), then "grad.<param>" (Result::Grad) for each trained param (not the states) in param
// order, then forward's State results; a param that does not reach the loss gets a zero gradient. Throws std::invalid_argument when lossName is not a scalar
// floating result, and std::logic_error when a node on the path has no gradient rule.
ir::Graph buildTrainStep(const ir::Graph& forward, const std::string& lossName, const GradOptions& opts = {});

}  // namespace sinter::autodiff
